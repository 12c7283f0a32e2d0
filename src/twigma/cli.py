"""Command line of the compendium: ``twigma <command>`` (also ``python -m twigma``).

Commands
--------
sample         write a synthetic release-format file (the embedded sample by default)
sample-embeddings  write the synthetic embedding store that goes with the embedded sample
validate       load a release file, report problems or a short summary, build its typed cache
croissant      Croissant 1.1 metadata (JSON-LD, with Responsible-AI fields) of a release file
run-notebook   execute one notebook with papermill, atomically (what make figures uses)
embed          CLIP embeddings of a folder of images into the embedding store
import-clip-retrieval  embeddings made by clip-retrieval (img_emb/, metadata/) into the store
data           download and validate the release table from Zenodo
rehydrate      tweets and media URLs by tweet id from the X API v2
images         download the rehydrated photos, named by image_name
refs           reference sets: MS-COCO 2017 val photographs and a WikiArt sample
claims         gather results/claims/*.csv into results/claims.csv
provenance     gather the run's provenance records into results/provenance.json
report         render a run as a static HTML site (report/index.html)
verify         check a run's figures and tables against results/provenance.json
new-notebook   a new numbered notebook from the template (make notebook NAME=NN_topic)
track          share of images whose captions match a query, per month, by cluster, with its trend
search         images closest to a text (the store's CLIP model) or to one of the store's images
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path


def _abs(p: str | None) -> str | None:
    """Command-line paths are relative to where the command is run."""
    return str(Path(p).expanduser().resolve()) if p else p


def cmd_sample(a) -> int:
    from twigma.synthetic.release import make_sample
    path = make_sample(_abs(a.path), n_images=a.n_images, seed=a.seed)
    print(f"wrote {path} ({a.n_images:,} synthetic images, seed {a.seed})")
    return 0


def cmd_validate(a) -> int:
    from twigma.release import load_release
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        df = load_release(_abs(a.release), cache=not a.no_cache)
    print(f"{df.attrs['source']}: OK, {len(df):,} images, {df['id'].nunique():,} tweets, "
          f"{df['created_at'].min():%Y-%m-%d} to {df['created_at'].max():%Y-%m-%d}"
          + (" (synthetic)" if df.attrs["synthetic"] else ""))
    forms = df.attrs.get("image_name_forms", {})
    print(f"image_name: {df.attrs.get('image_name_form')}"
          + (" (" + ", ".join(f"{v:,} {k}" for k, v in forms.items()) + ")" if len(forms) > 1 else "")
          + ("; images cannot be matched to rows (see the warning)" if forms.get("float") else ""))
    if df.attrs.get("cache"):
        print(f"typed cache: {df.attrs['cache']}")
    return 0


def cmd_croissant(a) -> int:
    import json

    from twigma.release import croissant
    target = croissant.write_croissant(_abs(a.release), _abs(a.target) or None, out=_abs(a.out),
                                       content_url=a.content_url or None, version=a.version or None, typed=a.typed)
    doc = json.loads(target.read_text())
    print(f"wrote {target} (Croissant 1.1: {doc['name']}, {len(doc['recordSet'][0]['field'])} fields)")
    for note in doc["rai:dataLimitations"]:
        if note.startswith("Croissant readers: "):
            print("  note:", note.removeprefix("Croissant readers: "))
    return 0


def cmd_run_notebook(a) -> int:
    from twigma.run.runner import run_notebook
    run_notebook(a.notebook, release=_abs(a.release), out=_abs(a.out), embeddings=_abs(a.embeddings),
                 timeout=a.timeout)
    return 0


def cmd_sample_embeddings(a) -> int:
    from twigma.synthetic.embeddings import make_sample_store
    root = make_sample_store()
    print(f"synthetic embeddings of the sample in {root}")
    return 0


def cmd_embed(a) -> int:
    from twigma.embeddings.embed import ModelSpec, dry_run, embed_folder
    spec = ModelSpec(model=a.model, pretrained=None if a.weights else (a.pretrained or None),
                     weights=_abs(a.weights) or None, model_config=_abs(a.model_config) or None,
                     activation=a.activation)
    if a.dry_run:
        d = dry_run(_abs(a.images), a.source, _abs(a.embeddings) or None, spec, device=a.device,
                    precision=a.precision)
        weights = (f"weights file {d['weights']} ({d['weights_format']}, sha256 {d['weights_sha256']}"
                   + (", the file of open_clip's openai tag" if d.get("weights_known_as") else "") + ")"
                   if d["weights"] else f"pretrained tag {d['pretrained']}" if d["pretrained"] else "random weights")
        print(f"dry run: nothing is loaded or written\n"
              f"  model       {d['model']}\n  weights     {weights}\n"
              f"  activation  {d['activation']} ({d['activation_reason']})\n"
              f"  precision   {d['precision']}\n  device      {d['device']}\n"
              f"  images      {d['n_images']:,} in {d['images']}\n"
              f"  store       {d['store']}, source {d['source']}"
              + (" (replaces the one there)" if d["replaces"] else "")
              + f"\n  libraries   open_clip {d['open_clip']}, torch {d['torch']}")
        if d["other_models"]:
            print(f"  warning     {d['other_models']}: the image analyses would refuse this store")
        return 0
    summary = embed_folder(_abs(a.images), a.source, _abs(a.embeddings) or None, spec, batch_size=a.batch_size,
                           workers=a.workers, shard_size=a.shard_size, device=a.device, precision=a.precision,
                           dtype=a.dtype, scheduler=a.scheduler or None, progress=not a.quiet)
    print(f"{a.source}: {summary['n_embedded']:,} of {summary['n_images']:,} images embedded into {summary['store']}"
          f" ({summary['n_skipped']} skipped, listed in {a.source}.skipped.csv; "
          f"{summary['shards_reused']} of {summary['n_shards']} shards reused from an earlier run)")
    return 0


def cmd_import_clip_retrieval(a) -> int:
    from twigma.embeddings.clip_import import import_clip_retrieval
    s = import_clip_retrieval(_abs(a.folder), a.source, _abs(a.embeddings) or None, model=a.model,
                              pretrained=a.pretrained or None, weights=_abs(a.weights) or None,
                              activation=a.activation, dtype=a.dtype)
    print(f"{a.source}: {s['n_embedded']:,} embeddings ({s['dim']} dimensions) from {s['n_partitions']} "
          f"clip-retrieval partition(s) written to {s['store']}, recorded as made by {a.model}"
          + (f" ({a.pretrained})" if a.pretrained else "") + (f" (weights {a.weights})" if a.weights else ""))
    return 0


def cmd_data(a) -> int:
    from twigma.fetch.zenodo import fetch_release
    path = fetch_release(_abs(a.dest) or None, record=a.record, api=a.api or None, progress=not a.quiet)
    print(f"release table: {path}\nnext: make figures RELEASE={path}")
    return 0


def cmd_rehydrate(a) -> int:
    from twigma.fetch import x_api
    ids = x_api.release_ids(_abs(a.release))
    counts = x_api.rehydrate(ids, _abs(a.store) or None, api=a.api or None, limit=a.limit, progress=not a.quiet)
    print(f"asked {counts['asked']:,} tweets: {counts['ok']:,} found, {counts['not_found']:,} deleted, "
          f"{counts['not_authorized']:,} withheld or protected, {counts['error']:,} other errors")
    print("store:", x_api.summary(_abs(a.store) or None))
    kinds = x_api.media_types(_abs(a.store) or None)
    others = {k: v for k, v in kinds.items() if k != "photo"}
    print(f"media: {kinds.get('photo', 0):,} photos (make images downloads them)"
          + (", and " + ", ".join(f"{v:,} {k}" for k, v in others.items())
             + " recorded with their type but not downloaded (their preview is a thumbnail, not the media)"
             if others else ""))
    return 0


def cmd_images(a) -> int:
    from twigma.fetch import images, x_api
    from twigma.release import load_release
    release = load_release(_abs(a.release)) if a.release.strip() else None
    if release is not None and release.attrs.get("synthetic"):
        print(f"{a.release} is the synthetic sample: its image names are made up, so there is nothing to match "
              "photos to; give the real release (make images RELEASE=data/raw/<file>) for the match rate.")
        release = None
    name_by = a.name_by
    if name_by == "auto":
        if release is None:
            name_by = "media_id"
            print("naming photos by media id (the release's documented image_name); give RELEASE to detect what "
                  "the release uses and to report the match rate")
        else:
            name_by, hits = images.choose_name_by(release, x_api.media_table(_abs(a.store) or None))
            print(f"naming photos by {name_by.replace('_', ' ')}: the release's image_name (form "
                  f"{release.attrs['image_name_form']}) matches {hits['media_id']:,} media ids and "
                  f"{hits['file_code']:,} file codes of the rehydrated photos")
    media = x_api.media_table(_abs(a.store) or None, name_by=name_by)
    counts = images.download_images(media, _abs(a.dest) or None, threads=a.threads, max_bytes=a.max_bytes,
                                    limit=a.limit, progress=not a.quiet)
    print(f"{counts['downloaded']:,} downloaded, {counts['failed']:,} failed (see {images.FAILURES}), "
          f"{counts['already_there']:,} already there, in {counts['folder']}")
    if release is not None:
        m = images.match_rate(release, counts["folder"])
        print(f"match rate: {m['matched']:,} of {m['rows']:,} rows of the release ({m['share']:.1%}) have a "
              f"downloaded photo, named by {name_by.replace('_', ' ')}")
        if release.attrs.get("image_name_forms", {}).get("float"):
            print("  the release's image_name is float-formatted (digits lost): its rows cannot be matched to "
                  "photos; download the newest release (make data) for the image analyses")
    return 0


def cmd_refs(a) -> int:
    from twigma.fetch import references
    if a.which in ("natural", "both"):
        out = references.fetch_coco(_abs(a.dest) or None, n=a.n_natural, seed=a.seed, base=a.coco_base or None,
                                    progress=not a.quiet)
        print(f"natural photographs: {out}")
    if a.which in ("art", "both"):
        out = references.fetch_wikiart(_abs(a.dest) or None, n=a.n_art, seed=a.seed, url=a.wikiart_url or None,
                                       checksum=a.wikiart_checksum or None, progress=not a.quiet)
        print(f"artworks: {out}")
    return 0


def cmd_claims(a) -> int:
    from twigma import paths
    from twigma.analysis.claims import combine
    from twigma.files import atomic_write
    root = paths.resolve(_abs(a.out), default=paths.ROOT)
    table = combine(root / "results" / "claims")
    target = atomic_write(root / "results" / "claims.csv", lambda tmp: table.to_csv(tmp, index=False))
    print(f"wrote {target}")
    for r in table.itertuples(index=False):
        by = "" if not r.notebook or r.notebook in paths.PAPER_NOTEBOOKS else f"  (checked by {r.notebook})"
        print(f"  {r.claim:<4} {r.holds:<10} {r.statement}{by}")
    return 0


def cmd_robustness(a) -> int:
    from twigma.analysis import robustness as rb
    kw = {"grid_path": _abs(a.grid) or None, "release": _abs(a.release), "embeddings": _abs(a.embeddings)}
    try:
        if a.step == "makefile":
            print(f"wrote {rb.write_makefile(_abs(a.target), **kw)}")
        elif a.step == "run":
            if not a.spec:
                print("twigma robustness run: give the specification's id (make robustness lists them)", file=sys.stderr)
                return 2
            target = rb.run_spec(a.spec, out=_abs(a.out), **kw)
            print(f"  {a.spec}: {rb.find(rb.read_grid(kw['grid_path']), a.spec).text}", flush=True)
            return 0 if target.exists() else 1
        else:
            table, summary = rb.collect(out=_abs(a.out), **kw)
            print(f"{len(table)} claim checks over {table['spec_id'].nunique()} specifications:")
            for r in summary.itertuples(index=False):
                share = "" if r.n_specifications == 0 else f"{r.n_holds}/{r.n_specifications} hold"
                print(f"  {r.claim:<4} {share:<12} {r.verdict}" + (f" ({r.depends_on})" if r.depends_on else ""))
    except rb.GridError as exc:
        print(f"twigma robustness: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_provenance(a) -> int:
    from twigma import paths
    from twigma.run import provenance
    root = paths.resolve(_abs(a.out), default=paths.ROOT)
    target = provenance.gather(root, extra_files=["results/claims.csv", "results/robustness.csv",
                                                   "results/robustness_summary.csv", "results/croissant.json",
                                                   "results/croissant.typed.parquet"])
    print(f"wrote {target}")
    return 0


def cmd_report(a) -> int:
    from twigma.run.report import build_report
    index = build_report(_abs(a.out) or None, _abs(a.target) or None, quiet=not a.verbose)
    print(f"wrote {index}\nopen it in a browser: file://{index}")
    return 0


def cmd_verify(a) -> int:
    from twigma import paths
    from twigma.run import provenance
    root = paths.resolve(_abs(a.out), default=paths.ROOT)
    try:
        report = provenance.verify(root)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    labels = {"edited": "edited since the run (bytes differ from the manifest)", "missing": "missing",
              "stale": "stale (an input changed since the run)", "unrecorded": "not made by the recorded run"}
    for kind, label in labels.items():
        for f in report[kind]:
            print(f"{kind:<10} {f}   <- {label}")
    bad = sum(len(report[k]) for k in ("edited", "missing", "stale"))
    print(f"{len(report['ok'])} file(s) match {root / provenance.MANIFEST}; {bad} problem(s)"
          + (f"; {len(report['unrecorded'])} file(s) not in the manifest" if report["unrecorded"] else ""))
    return 1 if bad else 0


def cmd_new_notebook(a) -> int:
    from twigma.run.template import new_notebook
    path = new_notebook(a.name)
    print(f"wrote {path}\nnext: open it in JupyterLab (make lab), write its question, and run make figures; "
          f"its outputs are named after it")
    return 0


def cmd_track(a) -> int:
    from twigma.analysis import track
    from twigma.paths import RunLayout
    from twigma.present import figures
    from twigma.release import load_release
    query = track.compile_query(a.query, regex=a.regex, whole_words=not a.substring)  # a bad query fails first
    df = load_release(_abs(a.release))
    names = figures.stored_cluster_names(RunLayout.of(_abs(a.out)).results, df)
    res = track.track(df, a.query, regex=a.regex, whole_words=not a.substring, alpha=a.alpha,
                      min_images_per_month=a.min_images_per_month, names=names)
    written = figures.write_track(res, _abs(a.out), synthetic=df.attrs["synthetic"], release=df.attrs["source"])
    t = res.trend.iloc[0]
    print(f"{query.describe()}: {t['n_matching']:,} of {t['n_images']:,} images ({t['share']:.2%}), "
          f"{t['first_month']} to {t['last_month']}" + (" (synthetic sample)" if df.attrs["synthetic"] else ""))
    if t["note"]:
        print(f"trend: not estimated ({t['note']})")
    else:
        print(f"trend of the monthly share ({t['n_months']} months with >= {t['min_images_per_month']} images): "
              f"{t['slope']:+.3f} log-odds/yr (odds x{t['odds_ratio_per_year']:.2f}/yr, 95% CI "
              f"{t['ci_low']:+.3f} to {t['ci_high']:+.3f}), p = {t['p_value']:.2g}: {figures.direction_text(t['direction'], a.alpha)}")
    top = res.clusters.sort_values("share_of_matching", ascending=False).iloc[0]
    e = res.engagement.set_index("group")["mean_log1p_likes_same_months"]
    print(f"most matches in cluster {top['cluster']} ({top['share_of_matching']:.0%} of them; lift {top['lift']:.2f}); "
          f"mean log(1+likes), same months: matching {e['matching']:.3f}, other {e['other']:.3f}")
    for p in written:
        print(f"wrote {p}")
    return 0


def cmd_search(a) -> int:
    from twigma import paths
    from twigma.files import atomic_write
    from twigma.release import load_release
    from twigma.embeddings.search import Searcher, SearchError, file_slug
    if (a.text is None) == (a.image is None):
        raise SearchError("give a text to search for, or --image NAME (not both)")
    release = load_release(_abs(a.release)) if a.release else None
    s = Searcher(_abs(a.embeddings) or paths.embeddings_folder(a.release, None), release, source=a.source,
                 model=a.model or None, pretrained=a.pretrained or None, weights=_abs(a.weights) or None,
                 model_config=_abs(a.model_config) or None, device=a.device)
    res = s.text(a.text, a.k) if a.text is not None else s.image(a.image, a.k)
    what = f"text {a.text!r}" if a.text is not None else f"image {a.image}"
    how = f"model {s.spec.model}" if s.spec is not None else "the image's own embedding"
    print(f"{len(res)} images of '{a.source}' in {s.root} closest to the {what} (exact cosine; {how}):")
    with pd_options():
        cols = [c for c in ("rank", "score", "image_name", "date", "cluster", "likes", "caption", "tweet_url")
                if c in res.columns]
        view = res[cols].copy()
        if "date" in view:
            view["date"] = view["date"].dt.strftime("%Y-%m-%d")
        if "caption" in view:
            view["caption"] = view["caption"].fillna("").str.slice(0, 60)
        print(view.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    if release is not None and "caption" in res and res["caption"].isna().any():
        print(f"({int(res['caption'].isna().sum())} of these images are not in {release.attrs['source']})")
    if a.out:
        target = paths.output_root(_abs(a.out)) / "results" / f"search_{file_slug(a.text, a.image)}.csv"
        print(f"wrote {atomic_write(target, lambda tmp: res.to_csv(tmp, index=False))}")
    return 0


def pd_options():
    import pandas as pd
    return pd.option_context("display.width", 200, "display.max_colwidth", 80)


#: The errors that carry a message for the user (printed as "error: ...", exit status 1), by module.
#: They are looked up only in modules already imported: a command that never imported a module
#: cannot have raised its error, and no command pays for importing the others (nbformat, torch...).
USER_ERRORS = (("twigma.release", "ReleaseError"), ("twigma.run.runner", "NotebookFailed"), ("twigma.embeddings.store", "StoreError"),
               ("twigma.embeddings.embed", "EmbedError"), ("twigma.fetch.http", "FetchError"),
               ("twigma.run.template", "NotebookNameError"), ("twigma.run.report", "ReportError"),
               ("twigma.analysis.track", "TrackError"), ("twigma.embeddings.search", "SearchError"))


def _user_errors() -> tuple:
    return tuple(getattr(sys.modules[m], name) for m, name in USER_ERRORS if m in sys.modules)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="twigma", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sample", help="write a synthetic release-format file")
    p.add_argument("path", nargs="?", help="output file (.csv or .csv.gz); default: the embedded sample")
    p.add_argument("--n-images", type=int, default=None, help="rows to generate (default 24,000)")
    p.add_argument("--seed", type=int, default=None, help="random seed")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("validate", help="load and check a release file, build its typed cache")
    p.add_argument("release", nargs="?", default="", help="release file; default: the embedded sample")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the typed Parquet cache")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("croissant", help="Croissant 1.1 metadata (JSON-LD, Responsible-AI fields) of a release file")
    p.add_argument("--release", default="", help="release file (default: the embedded sample)")
    p.add_argument("--out", default="", help="output root: writes OUT/results/croissant.json (default: the repository)")
    p.add_argument("--target", default="", help="the JSON-LD file to write instead")
    p.add_argument("--content-url", default="", help="where others download the file (e.g. its Zenodo link); "
                                                   "default: its path relative to the JSON-LD")
    p.add_argument("--version", default="", help="the release's version (default 4.0.0, the newest Zenodo version)")
    p.add_argument("--typed", action="store_true", help="also write the loader's typed table as Parquet beside it "
                                                       "and describe that as the records' source")
    p.set_defaults(func=cmd_croissant)

    p = sub.add_parser("run-notebook", help="execute one notebook with papermill")
    p.add_argument("notebook")
    p.add_argument("--release", default="", help="release file (default: the embedded sample)")
    p.add_argument("--out", default="", help="output root (default: the repository)")
    p.add_argument("--embeddings", default="", help="embedding store folder (default: the sample's, with the sample)")
    p.add_argument("--timeout", type=int, default=None, help="per-cell timeout in seconds")
    p.set_defaults(func=cmd_run_notebook)

    p = sub.add_parser("sample-embeddings", help="write the synthetic embeddings of the embedded sample")
    p.set_defaults(func=cmd_sample_embeddings)

    p = sub.add_parser("embed", help="CLIP embeddings of a folder of images into the embedding store")
    p.add_argument("images", help="folder of images (searched recursively); an image's id is its file name stem")
    p.add_argument("--source", required=True, choices=["twigma", "natural", "art"], help="which set the images are")
    p.add_argument("--embeddings", default="", help="store folder (default data/embeddings/)")
    p.add_argument("--model", default="ViT-L-14", help="open_clip model name (default ViT-L-14, the paper's)")
    p.add_argument("--pretrained", default="openai", help="open_clip pretrained tag (default openai)")
    p.add_argument("--weights", default="", help="a local checkpoint file instead of a pretrained tag")
    p.add_argument("--model-config", default="", help="JSON model configuration to register with open_clip")
    p.add_argument("--activation", default="auto", choices=["auto", "QuickGELU", "GELU"],
                   help="auto: what the weights were trained with (QuickGELU for OpenAI's); a mismatch is an error")
    p.add_argument("--dry-run", action="store_true",
                   help="print what would run (model, weights, activation, precision, device, images); load nothing")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--workers", type=int, default=None, help="image-decoding processes (default min(4, cores))")
    p.add_argument("--shard-size", type=int, default=2048, help="images per shard, the unit of resumable work")
    p.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, cuda:1, ...")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "fp16", "bf16"],
                   help="auto: fp16 on CUDA, fp32 on CPU; bf16 for bfloat16 autocast")
    p.add_argument("--dtype", default="float16", choices=["float16", "float32"], help="dtype stored in the .npy")
    p.add_argument("--scheduler", default="", help="Dask scheduler address: map shards over its workers")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_embed)

    p = sub.add_parser("import-clip-retrieval", help="embeddings made by clip-retrieval into the embedding store")
    p.add_argument("folder", help="clip-retrieval's output folder (holds img_emb/img_emb_N.npy and "
                                  "metadata/metadata_N.parquet)")
    p.add_argument("--source", required=True, choices=["twigma", "natural", "art"], help="which set the images are")
    p.add_argument("--embeddings", default="", help="store folder (default data/embeddings/)")
    p.add_argument("--model", required=True, help="open_clip name of the model clip-retrieval ran (it does not record "
                                                  "it), e.g. ViT-L-14")
    p.add_argument("--pretrained", default="", help="its pretrained tag, e.g. openai")
    p.add_argument("--weights", default="", help="or the checkpoint file it loaded")
    p.add_argument("--activation", default="auto", choices=["auto", "QuickGELU", "GELU"],
                   help="auto: what the weights were trained with (QuickGELU for OpenAI's)")
    p.add_argument("--dtype", default="float16", choices=["float16", "float32"], help="dtype stored in the .npy")
    p.set_defaults(func=cmd_import_clip_retrieval)

    p = sub.add_parser("data", help="download and validate the release table from Zenodo")
    p.add_argument("--dest", default="", help="folder (default data/raw/)")
    p.add_argument("--record", default="8031785", help="Zenodo record (its newest version is used)")
    p.add_argument("--api", default="", help="Zenodo API base (default https://zenodo.org/api or $TWIGMA_ZENODO_API)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("rehydrate", help="tweets and media URLs by tweet id from the X API (token: $X_BEARER_TOKEN)")
    p.add_argument("--release", default="", help="release file whose tweet ids to look up")
    p.add_argument("--store", default="", help="SQLite store (default data/raw/rehydrated.sqlite)")
    p.add_argument("--api", default="", help="X API base (default https://api.x.com/2 or $TWIGMA_X_API)")
    p.add_argument("--limit", type=int, default=None, help="look up at most this many new tweets")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_rehydrate)

    p = sub.add_parser("images", help="download the rehydrated photos, named by image_name")
    p.add_argument("--store", default="", help="SQLite store of make rehydrate")
    p.add_argument("--dest", default="", help="image folder (default data/raw/twigma_images/)")
    p.add_argument("--release", default="", help="release file: how its image_name names photos, and the match rate")
    p.add_argument("--name-by", default="auto", choices=["auto", "media_id", "file_code"],
                   help="name files by the photo's media id or file code; auto: whichever the release's image_name "
                        "uses (media id without --release)")
    p.add_argument("--threads", type=int, default=16)
    p.add_argument("--max-bytes", type=int, default=20_000_000, help="largest accepted image")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_images)

    p = sub.add_parser("refs", help="reference sets: MS-COCO 2017 val photographs and a WikiArt sample")
    p.add_argument("which", nargs="?", default="both", choices=["both", "natural", "art"])
    p.add_argument("--dest", default="", help="folder for natural/ and art/ (default data/raw/refs/)")
    p.add_argument("--n-natural", type=int, default=5000, help="photographs to keep (COCO val has 5,000)")
    p.add_argument("--n-art", type=int, default=5000, help="artworks to sample")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--coco-base", default="", help="COCO download base (default http://images.cocodataset.org)")
    p.add_argument("--wikiart-url", default="", help="URL of wikiart.zip (ArtGAN collection)")
    p.add_argument("--wikiart-checksum", default="", help="sha256:<hex> or md5:<hex> to pin the WikiArt archive")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_refs)

    p = sub.add_parser("claims", help="gather the claim checks into results/claims.csv")
    p.add_argument("--out", default="", help="output root (default: the repository)")
    p.set_defaults(func=cmd_claims)

    p = sub.add_parser("robustness", help="the specification grid of make robustness (robustness.yml)")
    p.add_argument("step", choices=["makefile", "run", "collect"],
                   help="makefile TARGET: list the specifications as make targets; run SPEC_ID: run one; "
                        "collect: write results/robustness.csv and results/robustness_summary.csv")
    p.add_argument("spec", nargs="?", default="", help="the specification's id (run)")
    p.add_argument("--grid", default="", help="grid file (default robustness.yml at the root)")
    p.add_argument("--release", default="", help="release file (default: the embedded sample)")
    p.add_argument("--embeddings", default="", help="embedding store folder (default: the sample's, with the sample)")
    p.add_argument("--out", default="", help="output root (default: the repository)")
    p.add_argument("--target", default="", help="the make fragment to write (makefile)")
    p.set_defaults(func=cmd_robustness)

    p = sub.add_parser("provenance", help="gather the run's provenance records into results/provenance.json")
    p.add_argument("--out", default="", help="output root (default: the repository)")
    p.set_defaults(func=cmd_provenance)

    p = sub.add_parser("report", help="render a run's notebooks, claims and figures as a static HTML site")
    p.add_argument("--out", default="", help="output root of the run (default: the repository)")
    p.add_argument("--target", default="", help="site folder (default: <out>/report)")
    p.add_argument("--verbose", action="store_true", help="show Sphinx's messages")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("verify", help="check figures and tables against results/provenance.json")
    p.add_argument("--out", default="", help="output root (default: the repository)")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("new-notebook", help="a new numbered notebook from notebooks/_template.ipynb")
    p.add_argument("name", nargs="?", default="", help="NN_topic, e.g. 10_portrait_rise")
    p.set_defaults(func=cmd_new_notebook)

    p = sub.add_parser("track", help="share of images whose captions match a query, per month, with its trend",
                       description="Find the images whose captions match QUERY (case-insensitive, whole words), "
                                   "count them per month, test the trend of their share as notebook 03 does, split "
                                   "them by cluster and compare their engagement. Writes DIR/results/track_<slug>.csv, "
                                   "track_<slug>_trend.csv, track_<slug>_by_cluster.csv, track_<slug>_engagement.csv "
                                   "and DIR/figures/track_<slug>.png/.pdf.")
    p.add_argument("query", help="a word, a phrase, or with --regex a Python regular expression")
    p.add_argument("--release", default="", help="release file (default: the embedded sample)")
    p.add_argument("--out", default="", help="output root (default: the repository)")
    p.add_argument("--regex", action="store_true", help="read QUERY as a regular expression (e.g. 'cats?|kittens?')")
    p.add_argument("--substring", action="store_true", help="match inside words too (default: whole words only)")
    p.add_argument("--alpha", type=float, default=0.01, help="significance level of the trend (default 0.01, as 03)")
    p.add_argument("--min-images-per-month", type=int, default=20,
                   help="months with fewer images are left out of the trend fits (default 20, as 03)")
    p.set_defaults(func=cmd_track)

    p = sub.add_parser("search", help="images closest to a text or to one of the store's images (exact cosine)",
                       description="Encode TEXT with the open_clip text encoder of the model that made the store "
                                   "(its meta.json) and list the K images whose embeddings are closest by cosine; "
                                   "or, with --image NAME, the images closest to that image.")
    p.add_argument("text", nargs="?", default=None, help="what to look for, e.g. 'a lighthouse at dusk'")
    p.add_argument("--image", default=None, help="search by this image_name's embedding instead of a text")
    p.add_argument("--embeddings", default="", help="store folder (default: the sample's, with the sample)")
    p.add_argument("--release", default="", help="release file: adds caption, cluster, date, likes and tweet link")
    p.add_argument("--k", type=int, default=20, help="how many images (default 20)")
    p.add_argument("--source", default="twigma", choices=["twigma", "natural", "art"], help="which set to search")
    p.add_argument("--model", default="", help="the store's open_clip model, when its meta.json does not record it")
    p.add_argument("--pretrained", default="", help="its pretrained tag")
    p.add_argument("--weights", default="", help="or its weights file (e.g. when the recorded file has moved)")
    p.add_argument("--model-config", default="", help="JSON model configuration to register with open_clip")
    p.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda, ...")
    p.add_argument("--out", default="", help="also write DIR/results/search_<slug>.csv")
    p.set_defaults(func=cmd_search)

    a = ap.parse_args(argv)
    if a.command == "sample":
        from twigma.synthetic.release import SAMPLE_N_IMAGES, SAMPLE_SEED
        a.n_images = SAMPLE_N_IMAGES if a.n_images is None else a.n_images
        a.seed = SAMPLE_SEED if a.seed is None else a.seed
    try:
        return a.func(a)
    except Exception as exc:
        if not isinstance(exc, _user_errors()):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
