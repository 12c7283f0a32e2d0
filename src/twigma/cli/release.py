"""Commands on release files: ``sample``, ``sample-embeddings``, ``validate``, ``croissant``."""
from __future__ import annotations

import warnings

from twigma.cli.options import abs_path as _abs, add_out, add_release, add_target


def cmd_sample(a) -> int:
    from twigma.synthetic.release import SAMPLE_N_IMAGES, SAMPLE_SEED, make_sample
    n_images = SAMPLE_N_IMAGES if a.n_images is None else a.n_images
    seed = SAMPLE_SEED if a.seed is None else a.seed
    path = make_sample(_abs(a.path), n_images=n_images, seed=seed)
    print(f"wrote {path} ({n_images:,} synthetic images, seed {seed})")
    return 0


def add_sample(sub) -> None:
    from twigma.synthetic.release import SAMPLE_N_IMAGES

    p = sub.add_parser("sample", help="write a synthetic release-format file")
    p.add_argument("path", nargs="?", help="output file (.csv or .csv.gz); default: the embedded sample")
    p.add_argument("--n-images", type=int, default=None, help=f"rows to generate (default {SAMPLE_N_IMAGES:,})")
    p.add_argument("--seed", type=int, default=None, help="random seed")
    p.set_defaults(func=cmd_sample)


def cmd_sample_embeddings(a) -> int:
    from twigma.synthetic.embeddings import make_sample_store
    root = make_sample_store()
    print(f"synthetic embeddings of the sample in {root}")
    return 0


def add_sample_embeddings(sub) -> None:
    p = sub.add_parser("sample-embeddings", help="write the synthetic embeddings of the embedded sample")
    p.set_defaults(func=cmd_sample_embeddings)


def cmd_validate(a) -> int:
    from twigma.release import load_release
    from twigma.release.dates import study_period, study_period_line
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        # the whole file is parsed and validated when it has no typed cache yet; with one, only what is
        # printed is read (the cache was made from a validated table)
        df = load_release(_abs(a.release), cache=not a.no_cache, columns=["id", "created_at", "image_name"])
    print(f"{df.attrs['source']}: OK, {len(df):,} images, {df['id'].nunique():,} tweets, "
          f"{df['created_at'].min():%Y-%m-%d} to {df['created_at'].max():%Y-%m-%d}"
          + (" (synthetic)" if df.attrs["synthetic"] else ""))
    print(study_period_line(study_period(df["created_at"])))
    forms = df.attrs.get("image_name_forms", {})
    print(f"image_name: {df.attrs.get('image_name_form')}"
          + (" (" + ", ".join(f"{v:,} {k}" for k, v in forms.items()) + ")" if len(forms) > 1 else "")
          + ("; images cannot be matched to rows (see the warning)" if forms.get("float") else ""))
    if df.attrs.get("cache"):
        print(f"typed cache: {df.attrs['cache']}")
    return 0


def add_validate(sub) -> None:
    p = sub.add_parser("validate", help="load and check a release file, build its typed cache")
    p.add_argument("release", nargs="?", default="", help="release file; default: the embedded sample")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the typed Parquet cache")
    p.set_defaults(func=cmd_validate)


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


def add_croissant(sub) -> None:
    from twigma.release.facts import NEWEST_VERSION

    p = sub.add_parser("croissant", help="Croissant 1.1 metadata (JSON-LD, Responsible-AI fields) of a release file")
    add_release(p)
    add_out(p, help="output root: writes OUT/results/croissant.json (default: the repository)")
    add_target(p, help="the JSON-LD file to write instead")
    p.add_argument("--content-url", default="", help="where others download the file (e.g. its Zenodo link); "
                                                   "default: its path relative to the JSON-LD")
    p.add_argument("--version", default="", help=f"the release's version (default {NEWEST_VERSION}, the newest Zenodo version)")
    p.add_argument("--typed", action="store_true", help="also write the loader's typed table as Parquet beside it "
                                                       "and describe that as the records' source")
    p.set_defaults(func=cmd_croissant)
