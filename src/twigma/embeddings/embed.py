"""CLIP image embeddings of a folder of images, batched, resumable, into the embedding store.

``twigma embed IMAGES --source twigma`` (or ``make embeddings IMAGES=... SOURCE=...``) embeds
every image file under IMAGES with an open_clip model (default ``ViT-L-14`` with OpenAI's
weights, the paper's model) and writes ``<source>.npy`` and ``<source>.ids.csv`` into the
store folder (:mod:`twigma.embeddings.store`). An image's id is its file name without extension (for
TWIGMA: the release's ``image_name``).

How it runs
-----------
* Files are sorted and cut into shards of ``shard_size`` images; the shard is the unit of
  work. Each finished shard is written atomically to ``<store>/.shards/<source>/``; a rerun
  skips finished shards, so an interrupted run loses at most the shard in progress. When
  every shard is done they are joined, in order, into the store, and the shard folder is
  removed. The output order is the sorted file order, whatever the batch size or workers.
* Images are decoded and preprocessed in ``workers`` DataLoader processes. A file that
  cannot be read as an image is listed in ``<store>/<source>.skipped.csv`` with the reason,
  and the run goes on.
* The device is chosen automatically: CUDA with half precision where available, else the
  CPU in float32 (``precision="bf16"`` uses bfloat16 autocast on CPUs that support it).
* With ``scheduler=<address>`` (a Dask distributed scheduler, or ``local:N``; by default the
  ``SCHEDULER`` setting, :mod:`twigma.embeddings.cluster`) the pending shards are mapped
  over the cluster's workers, which must see the same file system. Worth it when images sit
  on a shared disk and several GPU machines are at hand (hundreds of thousands of images);
  on one machine the DataLoader's workers already keep the model busy.

The model (:mod:`twigma.embeddings.models`: which weights, which activation) and the decoding
of image files (:mod:`twigma.embeddings.images`) have modules of their own; this one runs the
batched, resumable embedding of a folder. The names tests, scripts and the CLI use
(``ModelSpec``, ``EmbedError``, ``load_model``, ``list_images``, ...) are importable from here too.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from twigma import paths
from twigma.embeddings import store
from twigma.embeddings.images import ImageFiles, collate, files_digest, list_images, to_rgb
from twigma.embeddings.models import (
    ACTIVATIONS,
    EmbedError,
    ModelSpec,
    effective_precision,
    is_torchscript,
    load_model,
    model_activation,
    pick_device,
    resolve,
    run_record,
)
from twigma.files import atomic_write

__all__ = ["ACTIVATIONS", "EmbedError", "ImageFiles", "ModelSpec", "dry_run", "effective_precision", "embed_files",
           "embed_folder", "is_torchscript", "list_images", "load_model", "model_activation", "pick_device",
           "resolve", "run_record", "to_rgb"]

#: The paper's model: ViT-L-14 with OpenAI's weights.
DEFAULT_MODEL = ModelSpec()


def embed_files(files: list[Path], model, preprocess, *, device: str = "cpu", batch_size: int = 64,
                workers: int = 0, precision: str = "auto", progress=None):
    """Embed the files in order. Returns (positions of embedded files, float32 unit vectors,
    list of (position, reason) for skipped files)."""
    import torch

    loader = torch.utils.data.DataLoader(ImageFiles(files, preprocess), batch_size=batch_size, shuffle=False,  # type: ignore[arg-type, var-annotated]  # a Dataset by duck typing
                                         num_workers=workers, collate_fn=collate,
                                         persistent_workers=False, pin_memory=device.startswith("cuda"))
    use_amp = device.startswith("cuda") and precision in ("auto", "fp16") or precision == "bf16"
    amp_dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    positions, chunks, skipped = [], [], []
    with torch.inference_mode():
        for idx, tensors, bad in loader:
            skipped += bad
            if tensors is not None:
                with torch.autocast(device_type=device.split(":")[0], dtype=amp_dtype, enabled=use_amp):
                    feats = model.encode_image(tensors.to(device, non_blocking=True))
                feats = torch.nn.functional.normalize(feats.float(), dim=-1)
                chunks.append(feats.cpu().numpy())
                positions += idx
            if progress is not None:
                progress.update(len(idx) + len(bad))
    vectors = np.vstack(chunks) if chunks else np.zeros((0, 0), dtype=np.float32)
    return positions, vectors, skipped


# ------------------------------------------------------------------------------- shards ----

def _shard_name(k: int) -> str:
    return f"shard-{k:05d}"


def _write_shard(work: Path, k: int, files: list[Path], positions, vectors, skipped, root_images: Path) -> None:
    """Write one shard: ids and skipped first, the .npy last (its presence marks the shard done)."""
    base = work / _shard_name(k)
    ids = pd.DataFrame({"id": [files[p].stem for p in positions]})
    skipped_df = pd.DataFrame({"path": [str(files[p].relative_to(root_images)) for p, _ in skipped],
                               "reason": [r for _, r in skipped]})
    atomic_write(f"{base}.ids.csv", lambda tmp: ids.to_csv(tmp, index=False))
    atomic_write(f"{base}.skipped.csv", lambda tmp: skipped_df.to_csv(tmp, index=False))
    atomic_write(f"{base}.npy", lambda tmp: np.save(tmp, vectors.astype(np.float32)))


_MODEL_CACHE: dict = {}


def _shard_task(spec: dict, images: str, files: list[str], k: int, work: str, device: str, batch_size: int,
                loader_workers: int, precision: str) -> int:
    """Embed one shard (runs in this process or on a Dask worker); returns the shard number."""
    device = pick_device(device)  # on a Dask worker: its own GPU, or its CPU
    key = (json.dumps(spec, sort_keys=True), device)
    if key not in _MODEL_CACHE:
        _MODEL_CACHE.clear()
        _MODEL_CACHE[key] = load_model(ModelSpec(**spec), device=device)
    model, preprocess = _MODEL_CACHE[key]
    paths_ = [Path(f) for f in files]
    positions, vectors, skipped = embed_files(paths_, model, preprocess, device=device, batch_size=batch_size,
                                              workers=loader_workers, precision=precision)
    _write_shard(Path(work), k, paths_, positions, vectors, skipped, Path(images))
    return k


def dry_run(images: str | os.PathLike, source: str, embeddings: str | os.PathLike | None = None,
            spec: ModelSpec = DEFAULT_MODEL, *, device: str = "auto", precision: str = "auto") -> dict:
    """What ``embed_folder`` would run, without loading weights: model, pretrained tag or weights
    file (with its SHA-256 and format), activation and why, precision, device, number of images,
    store, and whether the store's other sources were made with another model."""
    if source not in store.SOURCES:
        raise EmbedError(f"SOURCE={source!r}: must be one of {', '.join(store.SOURCES)}")
    images = Path(images).resolve()
    root = paths.resolve(embeddings, default=paths.EMBEDDINGS)
    files = list_images(images)
    device = pick_device(device)
    record = run_record(spec, device, precision)
    return {**record, "activation_reason": resolve(spec)["activation_reason"], "device": device,
            "n_images": len(files), "images": str(images), "source": source, "store": str(root),
            "replaces": store.has_source(root, source), "other_models": store.other_models(root, source, record)}


def embed_folder(images: str | os.PathLike, source: str, embeddings: str | os.PathLike | None = None,
                 spec: ModelSpec = DEFAULT_MODEL, *, batch_size: int = 64, workers: int | None = None,
                 shard_size: int = 2048, device: str = "auto", precision: str = "auto", dtype: str = "float16",
                 scheduler: str | None = None, progress: bool = True) -> dict:
    """Embed every image under ``images`` into source ``source`` of the store ``embeddings``.

    Returns a summary: ``n_images``, ``n_embedded``, ``n_skipped``, ``n_shards``, ``shards_reused``,
    ``seconds``, ``images_per_second`` (over the images embedded in this run), ``store``.
    """
    from tqdm.auto import tqdm

    from twigma.embeddings import cluster

    if source not in store.SOURCES:
        raise EmbedError(f"SOURCE={source!r}: must be one of {', '.join(store.SOURCES)}")
    scheduler = scheduler or cluster.setting() or None  # make embeddings SCHEDULER=...: an address or local:N
    images = Path(images).resolve()
    root = paths.resolve(embeddings, default=paths.EMBEDDINGS)
    files = list_images(images)
    requested_device = device
    device = pick_device(device)
    record = run_record(spec, device, precision)  # a QuickGELU/GELU mismatch stops here, before any work
    others = store.other_models(root, source, record)
    if others:
        warnings.warn(f"{root}: {others}; the image analyses refuse a store whose sources differ in model: "
                      "embed every source with the same model.", stacklevel=2)
    workers = min(4, os.cpu_count() or 1) if workers is None else workers
    work = root / ".shards" / source
    _claim_work_folder(work, {"spec": spec.describe(), "images": str(images), "n_files": len(files),
                              "files_sha1": files_digest(files), "shard_size": shard_size, "precision": precision})

    shards = [(k, files[s:s + shard_size]) for k, s in enumerate(range(0, len(files), shard_size))]
    done = {k for k, _ in shards if (work / f"{_shard_name(k)}.npy").exists()}
    pending = [(k, fs) for k, fs in shards if k not in done]
    n_todo = sum(len(fs) for _, fs in pending)
    model = preprocess = None
    if pending and not scheduler:  # load first: a missing model fails before any work starts
        model, preprocess = load_model(spec, device=device)
    bar = tqdm(total=len(files), initial=len(files) - n_todo, unit="img", desc=f"embedding {source}",
               disable=not progress, smoothing=0.1)
    started = time.perf_counter()
    if pending and scheduler:
        _run_on_cluster(scheduler, pending, bar, spec=spec.describe(), images=str(images), work=str(work),
                        batch_size=batch_size, precision=precision, device=requested_device)
    elif pending:
        _MODEL_CACHE.clear()
        _MODEL_CACHE[(json.dumps(spec.describe(), sort_keys=True), device)] = (model, preprocess)
        for k, fs in pending:
            positions, vectors, skipped = embed_files(fs, model, preprocess, device=device, batch_size=batch_size,
                                                      workers=workers, precision=precision, progress=bar)
            _write_shard(work, k, fs, positions, vectors, skipped, images)
    bar.close()
    seconds = time.perf_counter() - started
    n_embedded, n_skipped = _join_shards(work, len(shards), images, root, source, dtype, {
        **record, "preprocess": " ".join(repr(preprocess).split()) if preprocess is not None else
        f"open_clip's preprocessing for {spec.model}", "images": str(images), "synthetic": False})
    return {"n_images": len(files), "n_embedded": n_embedded, "n_skipped": n_skipped,
            "n_shards": len(shards), "shards_reused": len(done), "seconds": round(seconds, 2),
            "images_per_second": round(n_todo / seconds, 2) if seconds > 0 and n_todo else None,
            "store": str(root)}


def _claim_work_folder(work: Path, config: dict) -> None:
    """Make ``work`` the shard folder of a run with ``config``: a fresh one, or an unfinished run of
    the same settings to resume. Raises :class:`EmbedError` for an unfinished run of other settings."""
    work.mkdir(parents=True, exist_ok=True)
    cfg_path = work / "config.json"
    if cfg_path.exists() and not list(work.glob("shard-*.npy")):
        cfg_path.unlink()  # an earlier attempt that finished no shard: nothing to keep
    if cfg_path.exists():
        old = json.loads(cfg_path.read_text())
        if old != config:
            changed = sorted(k for k in config if old.get(k) != config[k])
            raise EmbedError(f"{work} holds an unfinished run with other settings ({', '.join(changed)}). "
                             f"Finish it with the same settings, or delete {work} to start again.")
    else:
        atomic_write(cfg_path, lambda tmp: tmp.write_text(json.dumps(config, indent=2)))


def _run_on_cluster(scheduler: str, pending: list, bar, **args) -> None:
    """Map the pending shards over the workers of the Dask scheduler at ``scheduler`` (or local:N)."""
    from distributed import as_completed

    from twigma.embeddings import cluster

    with cluster.connect(scheduler) as client:
        futures = {client.submit(_shard_task, files=[str(f) for f in fs], k=k, loader_workers=0, pure=False,
                                 **args): len(fs)
                   for k, fs in pending}
        for fut in as_completed(futures):
            fut.result()
            bar.update(futures[fut])


def _join_shards(work: Path, n_shards: int, images: Path, root: Path, source: str, dtype: str,
                 meta: dict) -> tuple[int, int]:
    """Join the finished shards, in order, into source ``source`` of the store ``root``, with the list
    of skipped files and the images' descriptive table; remove the shard folder. Returns (embedded, skipped)."""
    ids, parts, skipped = [], [], []
    for k in range(n_shards):
        base = work / _shard_name(k)
        part = np.load(f"{base}.npy")
        ids += pd.read_csv(f"{base}.ids.csv", dtype=str, keep_default_na=False)["id"].tolist()
        if len(part):
            parts.append(part)
        skipped.append(pd.read_csv(f"{base}.skipped.csv", dtype=str, keep_default_na=False))
    vectors = np.vstack(parts) if parts else np.zeros((0, 1), dtype=np.float32)
    skipped_df = pd.concat(skipped, ignore_index=True)
    if len(ids) == 0:
        raise EmbedError(f"{images}: no image could be read; see {work}/*.skipped.csv for the reasons.")
    store.write(root, source, ids, vectors, dtype=dtype, meta=meta)
    atomic_write(root / f"{source}.skipped.csv", lambda tmp: skipped_df.to_csv(tmp, index=False))
    if (images / "_meta.csv").exists():  # descriptive table of make refs (titles, artists, captions)
        atomic_write(root / f"{source}.meta.csv", lambda tmp: shutil.copyfile(images / "_meta.csv", tmp))
    shutil.rmtree(work)
    with contextlib.suppress(OSError):
        work.parent.rmdir()  # .shards/, once no source is in progress
    return len(ids), len(skipped_df)
