"""Commands on embedding stores: ``embed`` (CLIP embeddings of a folder of images),
``import-clip-retrieval`` (a clip-retrieval output folder), ``search`` (the images closest to a text
or an image)."""
from __future__ import annotations

from twigma.cli.options import (
    abs_path as _abs,
    add_device,
    add_dtype,
    add_embeddings,
    add_model,
    add_out,
    add_quiet,
    add_release,
    add_source,
)


def cmd_embed(a) -> int:
    from twigma.embeddings.embed import ModelSpec, embed_folder
    spec = ModelSpec(model=a.model, pretrained=None if a.weights else (a.pretrained or None),
                     weights=_abs(a.weights) or None, model_config=_abs(a.model_config) or None,
                     activation=a.activation)
    if a.dry_run:
        return print_dry_run(a, spec)
    summary = embed_folder(_abs(a.images), a.source, _abs(a.embeddings) or None, spec, batch_size=a.batch_size,
                           workers=a.workers, shard_size=a.shard_size, device=a.device, precision=a.precision,
                           dtype=a.dtype, scheduler=a.scheduler or None, progress=not a.quiet)
    print(f"{a.source}: {summary['n_embedded']:,} of {summary['n_images']:,} images embedded into {summary['store']}"
          f" ({summary['n_skipped']} skipped, listed in {a.source}.skipped.csv; "
          f"{summary['shards_reused']} of {summary['n_shards']} shards reused from an earlier run)")
    return 0


def print_dry_run(a, spec) -> int:
    """``twigma embed --dry-run``: what a run would load and write, loading nothing."""
    from twigma.embeddings.embed import dry_run
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


def add_embed(sub) -> None:
    p = sub.add_parser("embed", help="CLIP embeddings of a folder of images into the embedding store")
    p.add_argument("images", help="folder of images (searched recursively); an image's id is its file name stem")
    add_source(p)
    add_embeddings(p, help="store folder (default data/embeddings/)")
    add_model(p, model={"default": "ViT-L-14", "help": "open_clip model name (default ViT-L-14, the paper's)"},
              pretrained=("openai", "open_clip pretrained tag (default openai)"),
              weights="a local checkpoint file instead of a pretrained tag",
              activation="auto: what the weights were trained with (QuickGELU for OpenAI's); a mismatch is an error")
    p.add_argument("--dry-run", action="store_true",
                   help="print what would run (model, weights, activation, precision, device, images); load nothing")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--workers", type=int, default=None, help="image-decoding processes (default min(4, cores))")
    p.add_argument("--shard-size", type=int, default=2048, help="images per shard, the unit of resumable work")
    add_device(p, help="auto (CUDA if available), cpu, cuda, cuda:1, ...")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "fp16", "bf16"],
                   help="auto: fp16 on CUDA, fp32 on CPU; bf16 for bfloat16 autocast")
    add_dtype(p)
    p.add_argument("--scheduler", default="", help="Dask scheduler address: map shards over its workers")
    add_quiet(p, help="no progress bar")
    p.set_defaults(func=cmd_embed)


def cmd_import_clip_retrieval(a) -> int:
    from twigma.embeddings.clip_import import import_clip_retrieval
    s = import_clip_retrieval(_abs(a.folder), a.source, _abs(a.embeddings) or None, model=a.model,
                              pretrained=a.pretrained or None, weights=_abs(a.weights) or None,
                              activation=a.activation, dtype=a.dtype)
    print(f"{a.source}: {s['n_embedded']:,} embeddings ({s['dim']} dimensions) from {s['n_partitions']} "
          f"clip-retrieval partition(s) written to {s['store']}, recorded as made by {a.model}"
          + (f" ({a.pretrained})" if a.pretrained else "") + (f" (weights {a.weights})" if a.weights else ""))
    return 0


def add_import_clip_retrieval(sub) -> None:
    p = sub.add_parser("import-clip-retrieval", help="embeddings made by clip-retrieval into the embedding store")
    p.add_argument("folder", help="clip-retrieval's output folder (holds img_emb/img_emb_N.npy and "
                                  "metadata/metadata_N.parquet)")
    add_source(p)
    add_embeddings(p, help="store folder (default data/embeddings/)")
    add_model(p, model={"required": True, "help": "open_clip name of the model clip-retrieval ran (it does not "
                                                  "record it), e.g. ViT-L-14"},
              pretrained=("", "its pretrained tag, e.g. openai"), weights="or the checkpoint file it loaded",
              activation="auto: what the weights were trained with (QuickGELU for OpenAI's)", model_config=False)
    add_dtype(p)
    p.set_defaults(func=cmd_import_clip_retrieval)


def cmd_search(a) -> int:
    from twigma import paths
    from twigma.embeddings.search import Searcher, SearchError, file_slug
    from twigma.files import atomic_write, spreadsheet_safe
    from twigma.release import load_release
    if (a.text is None) == (a.image is None):
        raise SearchError("give a text to search for, or --image NAME (not both)")
    release = load_release(_abs(a.release)) if a.release else None
    s = Searcher(paths.embeddings_folder(_abs(a.release), _abs(a.embeddings)), release, source=a.source,
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
        target = paths.RunLayout.of(_abs(a.out)).table(f"search_{file_slug(a.text, a.image)}")
        safe = spreadsheet_safe(res)  # captions that would start a formula get a leading quote (OWASP)
        print(f"wrote {atomic_write(target, lambda tmp: safe.to_csv(tmp, index=False))}")
    return 0


def pd_options():
    import pandas as pd
    return pd.option_context("display.width", 200, "display.max_colwidth", 80)


def add_search(sub) -> None:
    p = sub.add_parser("search", help="images closest to a text or to one of the store's images (exact cosine)",
                       description="Encode TEXT with the open_clip text encoder of the model that made the store "
                                   "(its meta.json) and list the K images whose embeddings are closest by cosine; "
                                   "or, with --image NAME, the images closest to that image.")
    p.add_argument("text", nargs="?", default=None, help="what to look for, e.g. 'a lighthouse at dusk'")
    p.add_argument("--image", default=None, help="search by this image_name's embedding instead of a text")
    add_embeddings(p, help="store folder (default: the sample's, with the sample)")
    add_release(p, help="release file: adds caption, cluster, date, likes and tweet link")
    p.add_argument("--k", type=int, default=20, help="how many images (default 20)")
    add_source(p, default="twigma", help="which set to search")
    add_model(p, model={"default": "", "help": "the store's open_clip model, when its meta.json does not record it"},
              pretrained=("", "its pretrained tag"),
              weights="or its weights file (e.g. when the recorded file has moved)")
    add_device(p, help="auto (CUDA if available), cpu, cuda, ...")
    add_out(p, help="also write DIR/results/search_<slug>.csv")
    p.set_defaults(func=cmd_search)
