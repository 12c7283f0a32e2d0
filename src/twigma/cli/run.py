"""Commands of a run of the compendium: ``run-notebook``, ``claims``, ``robustness``, ``provenance``,
``report``, ``verify``, ``new-notebook``, ``track`` (a caption query, written into the run) and ``deps``."""
from __future__ import annotations

import os
import sys

from twigma.cli.options import abs_path as _abs, add_embeddings, add_out, add_release, add_target
from twigma.paths import RunLayout


def cmd_run_notebook(a) -> int:
    from twigma.run import params
    from twigma.run.runner import run_notebook
    given = {**params.parse_assignments(a.params), **dict(a.parameter or [])}
    run_notebook(a.notebook, release=_abs(a.release), out=_abs(a.out), embeddings=_abs(a.embeddings),
                 parameters=params.typed(a.notebook, given), timeout=a.timeout)
    return 0


def add_run_notebook(sub) -> None:
    p = sub.add_parser("run-notebook", help="execute one notebook with papermill")
    p.add_argument("notebook")
    add_release(p)
    add_out(p)
    add_embeddings(p)
    p.add_argument("--timeout", type=int, default=None, help="per-cell timeout in seconds")
    p.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"),
                   help="set one of the notebook's parameters, typed as its parameters cell declares "
                        "(-p ALPHA 0.05 -p DECLINING '[1, 3]'); repeat for more")
    p.add_argument("--params", default="", metavar="'NAME=VALUE ...'",
                   help="parameters as make's PARAMS gives them: \"ALPHA=0.05 MIN_IMAGES_PER_MONTH=50\"")
    p.set_defaults(func=cmd_run_notebook)


def cmd_claims(a) -> int:
    from twigma import paths
    from twigma.analysis.claims import DATA_VALUES
    from twigma.files import atomic_write
    from twigma.run.ledger import combine
    from twigma.run.provenance import prune
    run = RunLayout.published(_abs(a.out))
    for line in prune(run.root):  # the verdicts of notebooks removed since they ran leave the ledger
        print(f"dropped    {line}")
    table = combine(run.claims_dir)
    target = atomic_write(run.claims_csv, lambda tmp: table.to_csv(tmp, index=False))
    synthetic = (table["data"] == DATA_VALUES[True]).any()
    print(f"wrote {target}" + (" [synthetic sample]: the verdicts marked so hold by construction and say nothing about TWIGMA"
                               if synthetic else ""))
    for r in table.itertuples(index=False):
        by = "" if not r.notebook or r.notebook in paths.PAPER_NOTEBOOKS else f"  (checked by {r.notebook})"  # type: ignore[str-bytes-safe]  # pandas-stubs: a row field is any scalar
        mark = " [synthetic sample]" if r.data == DATA_VALUES[True] else ""
        print(f"  {r.claim:<4} {r.holds:<10} {r.statement}{by}{mark}")
    return 0


def add_claims(sub) -> None:
    p = sub.add_parser("claims", help="gather the claim checks into results/claims.csv")
    add_out(p)
    p.set_defaults(func=cmd_claims)


def cmd_robustness(a) -> int:
    from twigma.run import grid_runs
    kw = {"grid_path": _abs(a.grid) or None, "release": _abs(a.release), "embeddings": _abs(a.embeddings)}
    if a.step == "makefile":
        print(f"wrote {grid_runs.write_makefile(_abs(a.target), **kw)}")
    elif a.step == "run":
        if not a.spec:
            print("twigma robustness run: give the specification's id (make robustness lists them)", file=sys.stderr)
            return 2
        target = grid_runs.run_spec(a.spec, out=_abs(a.out), **kw)
        print(f"  {a.spec}: {grid_runs.find(grid_runs.read_grid(kw['grid_path']), a.spec).text}", flush=True)
        return 0 if target.exists() else 1
    else:
        table, summary = grid_runs.collect(out=_abs(a.out), **kw)
        print(f"{len(table)} claim checks over {table['spec_id'].nunique()} specifications:")
        for r in summary.itertuples(index=False):
            share = "" if r.n_specifications == 0 else f"{r.n_holds}/{r.n_specifications} hold"
            print(f"  {r.claim:<4} {share:<12} {r.verdict}" + (f" ({r.depends_on})" if r.depends_on else ""))  # type: ignore[str-bytes-safe]  # pandas-stubs: a row field is any scalar
    return 0


def add_robustness(sub) -> None:
    p = sub.add_parser("robustness", help="the specification grid of make robustness (robustness.yml)")
    p.add_argument("step", choices=["makefile", "run", "collect"],
                   help="makefile TARGET: list the specifications as make targets; run SPEC_ID: run one; "
                        "collect: write results/robustness.csv and results/robustness_summary.csv")
    p.add_argument("spec", nargs="?", default="", help="the specification's id (run)")
    p.add_argument("--grid", default="", help="grid file (default robustness.yml at the root)")
    add_release(p)
    add_embeddings(p)
    add_out(p)
    add_target(p, help="the make fragment to write (makefile)")
    p.set_defaults(func=cmd_robustness)


def cmd_provenance(a) -> int:
    from twigma.run import provenance
    run = RunLayout.published(_abs(a.out))
    if a.notes:  # make figures: say which notebooks keep a run with other parameters
        import json

        from twigma import paths
        from twigma.run.params import kept_runs_notes
        if run.manifest.exists():
            where = f" OUT='{a.out}'" if a.out else ""
            for line in kept_runs_notes(json.loads(run.manifest.read_text()), paths.NOTEBOOKS, where):
                print(line)
        return 0
    extra = [run.claims_csv, run.table("robustness"), run.table("robustness_summary"),
             run.results / "croissant.json", run.results / "croissant.typed.parquet",
             *sorted(run.results.glob("track_*.csv")), *sorted(run.figures.glob("track_*.p[dn][fg]"))]  # make track
    target = provenance.gather(run.root, extra_files=[p.relative_to(run.root).as_posix() for p in extra])
    print(f"wrote {target}")
    return 0


def add_provenance(sub) -> None:
    p = sub.add_parser("provenance", help="gather the run's provenance records into results/provenance.json")
    add_out(p)
    p.add_argument("--notes", action="store_true",
                   help="only say which notebooks of the run were made with other parameters (make run)")
    p.set_defaults(func=cmd_provenance)


def cmd_report(a) -> int:
    from twigma.run.report import build_report
    index = build_report(_abs(a.out) or None, _abs(a.target) or None, quiet=not a.verbose)
    print(f"wrote {index}\nopen it in a browser: file://{index}")
    return 0


def add_report(sub) -> None:
    p = sub.add_parser("report", help="render a run's notebooks, claims and figures as a static HTML site")
    add_out(p, help="output root of the run (default: the repository)")
    add_target(p, help="site folder (default: <out>/report)")
    p.add_argument("--verbose", action="store_true", help="show Sphinx's messages")
    p.set_defaults(func=cmd_report)


def cmd_verify(a) -> int:
    from twigma.run import provenance
    run = RunLayout.published(_abs(a.out))
    root = run.root
    try:
        report = provenance.verify(root)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for line in report.get("dropped", []):
        print(f"dropped    {line}")
    labels = {"edited": "edited since the run (bytes differ from the manifest)", "missing": "missing",
              "stale": "stale (an input changed since the run)", "unrecorded": "not made by the recorded run"}
    fixes = provenance.fixes(root, report, a.out or "")
    for kind, label in labels.items():
        for f in report[kind]:
            print(f"{kind:<10} {f}   <- {label}")
        if kind in fixes:
            print(f"  to fix the {kind} file(s): {fixes[kind]}")
    if report["unrecorded"]:
        print("  files not in the manifest are not errors: remove them, or rerun what made them through make, "
              "which records them")
    bad = sum(len(report[k]) for k in ("edited", "missing", "stale"))
    print(f"{len(report['ok'])} file(s) match {run.manifest}; {bad} problem(s)"
          + (f"; {len(report['unrecorded'])} file(s) not in the manifest" if report["unrecorded"] else ""))
    return 1 if bad else 0


def add_verify(sub) -> None:
    p = sub.add_parser("verify", help="check figures and tables against results/provenance.json")
    add_out(p)
    p.set_defaults(func=cmd_verify)


def cmd_new_notebook(a) -> int:
    from twigma.run.template import new_notebook
    path = new_notebook(a.name)
    print(f"wrote {path}\nnext: open it in JupyterLab (make lab), write its question, and run make figures; "
          f"its outputs are named after it")
    return 0


def add_new_notebook(sub) -> None:
    p = sub.add_parser("new-notebook", help="a new numbered notebook from notebooks/_template.ipynb")
    p.add_argument("name", nargs="?", default="", help="NN_topic, e.g. 10_portrait_rise")
    p.set_defaults(func=cmd_new_notebook)


def no_match_help(message: str, run: RunLayout) -> str:
    """A no-match message with the flag as the command line in use spells it (make sets ``TWIGMA_MAKE_TRACK``:
    there it is ``TRACK_ARGS=--substring``) and where the words that do occur are listed."""
    if os.environ.get("TWIGMA_MAKE_TRACK"):
        message = message.replace("try --substring", "try TRACK_ARGS=--substring")
    lists = [(run.table("caption_top_words"), "notebook 01's commonest caption words"),
             (run.results / "11_rising_subjects" / "subject_trends.csv", "notebook 11's subjects, with their trends")]
    have = [f"{p} ({what})" for p, what in lists if p.is_file()]
    return message + (" Words that do occur: " + "; ".join(have) if have else
                      f" make figures lists the words that do occur in {lists[0][0]} ({lists[0][1]})") + "."


def cmd_track(a) -> int:
    from twigma.analysis import track
    from twigma.analysis.inference import level_text
    from twigma.present import track_figure
    from twigma.present.narrative import direction_text
    from twigma.release import load_release
    query = track.compile_query(a.query, regex=a.regex, whole_words=not a.substring)  # a bad query fails first
    df = load_release(_abs(a.release))
    names = track_figure.stored_cluster_names(RunLayout.of(_abs(a.out)).results, df)
    try:
        res = track.track(df, a.query, regex=a.regex, whole_words=not a.substring, alpha=a.alpha,
                          min_images_per_month=a.min_images_per_month, names=names)
    except track.NoMatch as exc:
        raise track.NoMatch(no_match_help(str(exc), RunLayout.of(_abs(a.out)))) from None
    written = track_figure.write_track(res, _abs(a.out), synthetic=df.attrs["synthetic"], release=df.attrs["source"])
    t = res.trend.iloc[0]
    print(f"{query.describe()}: {t['n_matching']:,} of {t['n_images']:,} images ({t['share']:.2%}), "
          f"{t['first_month']} to {t['last_month']}" + (" (synthetic sample)" if df.attrs["synthetic"] else ""))
    if t["note"]:
        print(f"trend: not estimated ({t['note']})")
    else:
        print(f"trend of the monthly share ({t['n_months']} months with >= {t['min_images_per_month']} images): "
              f"{t['slope']:+.3f} log-odds/yr (odds x{t['odds_ratio_per_year']:.2f}/yr, {level_text(a.alpha)} CI "
              f"{t['ci_low']:+.3f} to {t['ci_high']:+.3f}), p = {t['p_value']:.2g}: {direction_text(t['direction'], a.alpha)}")
    top = res.clusters.sort_values("share_of_matching", ascending=False).iloc[0]
    e = res.engagement.set_index("group")["mean_log1p_likes_same_months"]
    print(f"most matches in cluster {top['cluster']} ({top['share_of_matching']:.0%} of them; lift {top['lift']:.2f}); "
          f"mean log(1+likes), same months: matching {e['matching']:.3f}, other {e['other']:.3f}")
    for p in written:
        print(f"wrote {p}")
    return 0


def add_track(sub) -> None:
    p = sub.add_parser("track", help="share of images whose captions match a query, per month, with its trend",
                       description="Find the images whose captions match QUERY (case-insensitive, whole words), "
                                   "count them per month, test the trend of their share as notebook 03 does, split "
                                   "them by cluster and compare their engagement. Writes DIR/results/track_<slug>.csv, "
                                   "track_<slug>_trend.csv, track_<slug>_by_cluster.csv, track_<slug>_engagement.csv "
                                   "and DIR/figures/track_<slug>.png/.pdf.")
    p.add_argument("query", help="a word, a phrase, or with --regex a Python regular expression")
    add_release(p)
    add_out(p)
    p.add_argument("--regex", action="store_true", help="read QUERY as a regular expression (e.g. 'cats?|kittens?')")
    p.add_argument("--substring", action="store_true", help="match inside words too (default: whole words only)")
    p.add_argument("--alpha", type=float, default=0.01, help="significance level of the trend (default 0.01, as 03)")
    p.add_argument("--min-images-per-month", type=int, default=20,
                   help="months with fewer images are left out of the trend fits (default 20, as 03)")
    p.set_defaults(func=cmd_track)


def cmd_deps(a) -> int:
    from twigma import paths
    from twigma.run import deps
    notebooks = [_abs(n) for n in a.notebooks] or sorted(paths.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    target = _abs(a.target) if a.target else paths.ROOT / "build" / "deps.mk"
    print(f"wrote {deps.write(target, notebooks)}")
    return 0


def add_deps(sub) -> None:
    p = sub.add_parser("deps", help="the notebooks' order for make (build/deps.mk) from what each declares it reads")
    p.add_argument("notebooks", nargs="*", help="the notebooks (default: every numbered one in notebooks/)")
    add_target(p, "the file to write (default: build/deps.mk, which the Makefile includes)")
    p.set_defaults(func=cmd_deps)
