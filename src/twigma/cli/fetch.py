"""Commands that download: ``data`` (the release table), ``rehydrate`` (tweets), ``images`` (their photos),
``refs`` (the reference sets). Where they download from is read from the modules' constants and
``twigma/fetch/sources.json``, never spelled here."""
from __future__ import annotations

from twigma.cli.options import abs_path as _abs, add_quiet, add_release


def cmd_data(a) -> int:
    from twigma.fetch.zenodo import fetch_release
    path = fetch_release(_abs(a.dest) or None, record=a.record, api=a.api or None, progress=not a.quiet)
    print(f"release table: {path}\nnext: make figures RELEASE={path}")
    return 0


def add_data(sub) -> None:
    from twigma.fetch.zenodo import ZENODO_API
    from twigma.release.schema import ZENODO_RECORD

    p = sub.add_parser("data", help="download and validate the release table from Zenodo")
    p.add_argument("--dest", default="", help="folder (default data/raw/)")
    p.add_argument("--record", default=ZENODO_RECORD, help="Zenodo record (its newest version is used)")
    p.add_argument("--api", default="", help=f"Zenodo API base (default {ZENODO_API} or $TWIGMA_ZENODO_API)")
    add_quiet(p)
    p.set_defaults(func=cmd_data)


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


def add_rehydrate(sub) -> None:
    from twigma.fetch.x_api import DEFAULT_STORE, TOKEN_ENV, X_API

    p = sub.add_parser("rehydrate", help=f"tweets and media URLs by tweet id from the X API (token: ${TOKEN_ENV})")
    add_release(p, help="release file whose tweet ids to look up")
    p.add_argument("--store", default="", help=f"SQLite store (default {DEFAULT_STORE})")
    p.add_argument("--api", default="", help=f"X API base (default {X_API} or $TWIGMA_X_API)")
    p.add_argument("--limit", type=int, default=None, help="look up at most this many new tweets")
    add_quiet(p)
    p.set_defaults(func=cmd_rehydrate)


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


def add_images(sub) -> None:
    from twigma.fetch.images import DEFAULT_DIR

    p = sub.add_parser("images", help="download the rehydrated photos, named by image_name")
    p.add_argument("--store", default="", help="SQLite store of make rehydrate")
    p.add_argument("--dest", default="", help=f"image folder (default {DEFAULT_DIR}/)")
    add_release(p, help="release file: how its image_name names photos, and the match rate")
    p.add_argument("--name-by", default="auto", choices=["auto", "media_id", "file_code"],
                   help="name files by the photo's media id or file code; auto: whichever the release's image_name "
                        "uses (media id without --release)")
    p.add_argument("--threads", type=int, default=16)
    p.add_argument("--max-bytes", type=int, default=20_000_000, help="largest accepted image")
    p.add_argument("--limit", type=int, default=None)
    add_quiet(p)
    p.set_defaults(func=cmd_images)


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


def add_refs(sub) -> None:
    from twigma.fetch import references

    sources = references.manifest()
    wikiart = sources["wikiart"]["sources"][0]
    p = sub.add_parser("refs", help="reference sets: MS-COCO 2017 val photographs and a WikiArt sample")
    p.add_argument("which", nargs="?", default="both", choices=["both", "natural", "art"])
    p.add_argument("--dest", default="", help="folder for natural/ and art/ (default data/raw/refs/)")
    p.add_argument("--n-natural", type=int, default=5000, help="photographs to keep (COCO val has 5,000)")
    p.add_argument("--n-art", type=int, default=5000, help="artworks to sample")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--coco-base", default="", help=f"COCO download base (default {sources['coco']['base']})")
    p.add_argument("--wikiart-url", default="", help=f"URL of the WikiArt archive (default: those of "
                                                     f"{references.MANIFEST.name}, first {wikiart['url']})")
    p.add_argument("--wikiart-checksum", default="", help="sha256:<hex> or md5:<hex> to pin the WikiArt archive")
    add_quiet(p)
    p.set_defaults(func=cmd_refs)
