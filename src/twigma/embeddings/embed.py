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
* With ``scheduler=<address>`` (a Dask distributed scheduler) the pending shards are mapped
  over the cluster's workers, which must see the same file system. Worth it when images sit
  on a shared disk and several GPU machines are at hand (hundreds of thousands of images);
  on one machine the DataLoader's workers already keep the model busy.

Weights and activation
----------------------
``pretrained`` is an open_clip tag (downloaded once and cached by open_clip and the Hugging
Face hub). Offline, a tag that is not in the cache fails within seconds with a message; pass
``weights=<file>`` to use a file you have: an open_clip checkpoint (e.g.
``open_clip_pytorch_model.bin``) or OpenAI's original TorchScript archive (``ViT-L-14.pt``, what
``clip.load`` downloads), which is loaded into the named open_clip architecture with OpenAI's
own preprocessing. ``model_config=<file.json>`` registers a model configuration of your own.

OpenAI's weights were trained with QuickGELU, while open_clip's ``ViT-L-14`` configuration
builds GELU (open_clip 3.x only warns about the mismatch; 2.x loaded the ``openai`` tag with
QuickGELU). The activation is therefore decided here, before anything loads
(:func:`resolve`): the weights' own (the tag's ``quick_gelu``, QuickGELU for the ``openai``
tag and for TorchScript archives), the model configuration's explicit ``quick_gelu`` and
``activation=`` must agree, or the run stops with :class:`EmbedError`; the model is then
built with that activation and checked after building. An open_clip checkpoint file does not
say which activation it was trained with: it gets the configuration's (GELU for ``ViT-L-14``)
unless ``activation="QuickGELU"`` is given (for OpenAI's weights converted to open_clip's
format, or use ``ViT-L-14-quickgelu``).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import socket
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from twigma import paths
from twigma.embeddings import store
from twigma.errors import UserError
from twigma.files import atomic_write, sha256

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}
HUB_HOSTS = ("huggingface.co", "openaipublic.azureedge.net")


class EmbedError(UserError, RuntimeError):
    """A problem that stops an embedding run, with what to do about it."""


@dataclass(frozen=True)
class ModelSpec:
    """Which open_clip model to use: a name, and a pretrained tag or a weights file."""

    model: str = "ViT-L-14"
    pretrained: str | None = "openai"
    weights: str | None = None
    model_config: str | None = None
    activation: str = "auto"  # "auto" (what the weights were trained with), "QuickGELU" or "GELU"

    def describe(self) -> dict:
        return asdict(self)


ACTIVATIONS = ("QuickGELU", "GELU")
#: Keys of the state dict of OpenAI's TorchScript archives that are not weights.
OPENAI_ARCHIVE_EXTRAS = ("input_resolution", "context_length", "vocab_size")


# ------------------------------------------------------------------------------- files ----

def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files under ``folder`` (recursively), sorted by path; ids (stems) must be unique."""
    root = Path(folder)
    if not root.is_dir():
        raise EmbedError(f"IMAGES={root}: no such folder. Give the folder that holds the images.")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise EmbedError(f"{root}: no image files ({', '.join(sorted(IMAGE_EXTENSIONS))}) found.")
    stems = pd.Series([p.stem for p in files])
    dup = stems[stems.duplicated(keep=False)]
    if len(dup):
        example = [str(files[i]) for i in dup.index[:2]]
        raise EmbedError(f"{root}: {dup.nunique()} image id(s) occur twice, e.g. {example}; an image's id is its "
                         "file name without extension, so names must be unique.")
    return files


def _files_digest(files: list[Path]) -> str:
    h = hashlib.sha1()
    for p in files:
        h.update(f"{p.name}\0{p.stat().st_size}\n".encode())
    return h.hexdigest()


# ------------------------------------------------------------------------------- model ----

def _reachable(hosts=HUB_HOSTS, timeout: float = 3.0) -> bool:
    for host in hosts:
        try:
            with socket.create_connection((host, 443), timeout=timeout):
                return True
        except OSError:
            continue
    return False


@contextlib.contextmanager
def _hub_offline():
    """Hugging Face hub in offline mode: cached files load, anything else fails at once.
    (The hub reads HF_HUB_OFFLINE when imported, so its constant is set as well.)"""
    from huggingface_hub import constants

    saved_env, saved_const = os.environ.get("HF_HUB_OFFLINE"), constants.HF_HUB_OFFLINE
    os.environ["HF_HUB_OFFLINE"] = "1"
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = saved_const
        if saved_env is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = saved_env


def pick_device(device: str = "auto") -> str:
    import torch

    if device != "auto":
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def is_torchscript(path: str | os.PathLike) -> bool:
    """True when ``path`` is a TorchScript archive (OpenAI's ``.pt`` files), read from the zip
    listing without loading anything: TorchScript archives carry ``code/`` and ``constants.pkl``,
    ``torch.save`` files only ``data.pkl`` and ``data/``."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (OSError, zipfile.BadZipFile):
        return False
    return any(n.endswith("/constants.pkl") or "/code/" in n for n in names)


def _openai_sha256(model: str) -> str | None:
    """SHA-256 of OpenAI's archive for ``model``, as its download URL names it (open_clip's table)."""
    import re

    import open_clip

    url = (open_clip.get_pretrained_cfg(model, "openai") or {}).get("url", "")
    m = re.search(r"/([0-9a-f]{64})/", url)
    return m.group(1) if m else None


def _register(spec: ModelSpec) -> dict:
    """Register ``spec.model_config`` and return the model's open_clip configuration."""
    import open_clip

    if spec.model_config:
        cfg = Path(spec.model_config)
        if not cfg.exists():
            raise EmbedError(f"model config {cfg}: no such file")
        open_clip.add_model_config(cfg)
    if spec.model not in open_clip.list_models():
        raise EmbedError(f"unknown open_clip model {spec.model!r}; see open_clip.list_models(), or give "
                         "--model-config with a JSON configuration.")
    if spec.activation not in ("auto", *ACTIVATIONS):
        raise EmbedError(f"activation {spec.activation!r}: give auto, QuickGELU or GELU")
    if spec.weights and not Path(spec.weights).exists():
        raise EmbedError(f"weights file {spec.weights}: no such file")
    return open_clip.get_model_config(spec.model) or {}


def resolve(spec: ModelSpec) -> dict:
    """What a run of ``spec`` would build, decided without loading any weights.

    Returns ``model``, ``pretrained``, ``weights``, ``weights_format`` ("open_clip tag",
    "TorchScript archive (OpenAI)", "open_clip checkpoint" or "none (random weights)"),
    ``activation`` ("QuickGELU" or "GELU") and ``activation_reason``. Raises :class:`EmbedError`
    when the weights, the model configuration and ``spec.activation`` disagree on the activation.
    """
    import open_clip

    cfg = _register(spec)
    says: list[tuple[str, str]] = []  # (activation, who says so)
    if spec.weights:
        if is_torchscript(spec.weights):
            fmt = "TorchScript archive (OpenAI)"
            says.append(("QuickGELU", "OpenAI's TorchScript archives (trained with QuickGELU)"))
        else:
            fmt = "open_clip checkpoint"
    elif spec.pretrained:
        fmt = "open_clip tag"
        tag = open_clip.get_pretrained_cfg(spec.model, spec.pretrained)
        if not tag:
            tags = open_clip.list_pretrained_tags_by_model(spec.model)
            raise EmbedError(f"pretrained tag {spec.pretrained!r} is not known for {spec.model} (known: "
                             f"{', '.join(tags) or 'none'}); give one of those, or --weights <file>.")
        quick = spec.pretrained == "openai" or bool(tag.get("quick_gelu"))
        says.append(("QuickGELU" if quick else "GELU", f"the weights of tag {spec.pretrained!r}"))
    else:
        fmt = "none (random weights)"
    if "quick_gelu" in cfg:
        says.append(("QuickGELU" if cfg["quick_gelu"] else "GELU",
                     f"the configuration of {spec.model} (quick_gelu={str(cfg['quick_gelu']).lower()})"))
    if spec.activation != "auto":
        says.append((spec.activation, f"activation={spec.activation} (--activation)"))
    if len({act for act, _ in says}) > 1:
        raise EmbedError(
            "QuickGELU/GELU mismatch: " + "; ".join(f"{act} for {who}" for act, who in says)
            + ". Embeddings made with the wrong activation are not the model's. Give a model and weights that "
            "agree (OpenAI's weights: --model ViT-L-14 --pretrained openai, or --model ViT-L-14-quickgelu with a "
            "weights file).")
    if says:
        activation, reason = says[0][0], says[0][1]
    else:
        activation = "GELU"
        reason = (f"the configuration of {spec.model} (no quick_gelu: open_clip's default GELU); if the weights "
                  "were trained with QuickGELU (OpenAI's are), give --activation QuickGELU")
    return {"model": spec.model, "pretrained": None if spec.weights else spec.pretrained,
            "weights": str(spec.weights) if spec.weights else None, "weights_format": fmt,
            "activation": activation, "activation_reason": reason}


def model_activation(model) -> str:
    """The activation the built model's transformer blocks use: "QuickGELU" or "GELU"."""
    names = {type(m).__name__ for m in model.modules()}
    return "QuickGELU" if "QuickGELU" in names else "GELU"


def effective_precision(precision: str, device: str) -> str:
    """What ``embed_files`` runs in: "fp16" (CUDA autocast), "bf16" (autocast) or "fp32"."""
    if precision == "bf16":
        return "bf16"
    if device.startswith("cuda") and precision in ("auto", "fp16"):
        return "fp16"
    return "fp32"


def _load_torchscript(spec: ModelSpec, path: Path, device: str):
    """OpenAI's TorchScript archive into open_clip's ``spec.model`` (QuickGELU), with OpenAI's
    preprocessing: resize the shorter side to the input size (bicubic), centre crop, normalise
    with OpenAI's mean and standard deviation."""
    import open_clip
    import torch
    from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD

    try:
        archive = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:
        raise EmbedError(f"cannot read the TorchScript archive {path}: {str(exc)[:300]}") from None
    model = open_clip.create_model(spec.model, pretrained=None, device="cpu", force_quick_gelu=True)
    derived = {f"{name}.{b}".lstrip(".") for name, mod in model.named_modules() for b in mod._non_persistent_buffers_set}
    # not weights: OpenAI's extras, and buffers the model derives itself (a traced module saves them all)
    state = {k: v for k, v in archive.state_dict().items() if k not in OPENAI_ARCHIVE_EXTRAS and k not in derived}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise EmbedError(f"the TorchScript archive {path} does not fit open_clip's {spec.model}: "
                         f"{str(exc)[:400]}\n  Give --model the archive's architecture (ViT-L-14.pt is ViT-L-14, "
                         "ViT-B-32.pt is ViT-B-32, ...).") from None
    preprocess = open_clip.image_transform(model.visual.image_size, is_train=False, mean=OPENAI_DATASET_MEAN,
                                           std=OPENAI_DATASET_STD, interpolation="bicubic", resize_mode="shortest")
    return model.to(device), preprocess


def load_model(spec: ModelSpec, device: str = "cpu"):
    """Build the open_clip model and its image preprocessing; returns (model, preprocess).

    The activation is the one :func:`resolve` decides; the built model is checked to use it."""
    import open_clip

    plan = resolve(spec)
    quick = plan["activation"] == "QuickGELU"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if spec.weights:
            w = Path(spec.weights)
            if plan["weights_format"].startswith("TorchScript"):
                model, preprocess = _load_torchscript(spec, w, device)
            else:
                try:
                    model, _, preprocess = open_clip.create_model_and_transforms(
                        spec.model, pretrained=str(w), device=device, force_quick_gelu=quick)
                except Exception as exc:
                    raise EmbedError(f"cannot load weights {w} into {spec.model}: {exc}") from None
        else:
            tag = spec.pretrained or None
            offline = tag is not None and (os.environ.get("HF_HUB_OFFLINE") == "1" or not _reachable())
            try:
                with _hub_offline() if offline else contextlib.nullcontext():
                    model, _, preprocess = open_clip.create_model_and_transforms(
                        spec.model, pretrained=tag, device=device, force_quick_gelu=quick)
            except Exception as exc:
                raise EmbedError(
                    f"cannot get the pretrained weights {spec.model}/{tag}"
                    + (" (no internet connection, and they are not in the local cache)" if offline else "")
                    + f": {str(exc)[:300]}\n  What to do: on a machine with internet, run once "
                    f"`python -c \"import open_clip; open_clip.create_model_and_transforms('{spec.model}', "
                    f"pretrained='{tag}', force_quick_gelu={quick})\"` to fill the cache, or download the "
                    "checkpoint file and pass it with --weights <file> (make embeddings WEIGHTS=<file>).") from None
    for w in caught:
        if "QuickGELU" in str(w.message):  # open_clip's own check, which only warns
            raise EmbedError(f"open_clip {open_clip.__version__}: {str(w.message).rstrip('.')}; twigma asked for "
                             f"{plan['activation']}"
                             f" ({plan['activation_reason']}).")
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    built = model_activation(model)
    if built != plan["activation"]:
        raise EmbedError(f"open_clip {open_clip.__version__} built {spec.model} with {built}, but the weights need "
                         f"{plan['activation']} ({plan['activation_reason']}); update open_clip "
                         "(pyproject.toml gives the minimum version).")
    model.eval()
    return model, preprocess


# ------------------------------------------------------------------------------- decoding --

#: Pillow's modes of 16-bit greyscale (PNG, TIFF); ``convert("RGB")`` clips them to white.
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")


def to_rgb(im):
    """8-bit RGB of a decoded image.

    16-bit greyscale (modes ``I;16``, ``I;16B``...) is scaled to 8 bits by value / 257 (so
    0..65535 maps onto 0..255), and so is mode ``I`` (32-bit integers: older Pillow opens
    16-bit PNGs so) when its values lie in 0..65535. Pillow's own conversion clips these to 255,
    which would embed them as white. Integer images outside 0..65535 and 32-bit float images
    (mode ``F``) have no known scale: they raise ``ValueError``, and the image is listed as skipped.
    """
    from PIL import Image

    if im.mode in SIXTEEN_BIT_MODES or im.mode == "I":
        a = np.asarray(im).astype(np.int64)
        if a.size and (a.min() < 0 or a.max() > 65535):
            raise ValueError(f"{im.mode} image with values {a.min()}..{a.max()}, outside 0..65535: its scale is "
                             "unknown; convert it to an 8-bit image to embed it")
        return Image.fromarray(np.round(a / 257).astype(np.uint8), "L").convert("RGB")
    if im.mode == "F":
        raise ValueError("32-bit floating-point image (mode F): its scale is unknown; convert it to an 8-bit image "
                         "to embed it")
    return im.convert("RGB")


class ImageFiles:
    """A torch Dataset of image files: item i is (i, tensor or None, error text)."""

    def __init__(self, files: list[Path], preprocess):
        self.files = files
        self.preprocess = preprocess

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int):
        from PIL import Image

        try:
            with Image.open(self.files[i]) as im:
                im.load()
                return i, self.preprocess(to_rgb(im)), ""
        except Exception as exc:  # any unreadable file is recorded and skipped
            return i, None, f"{type(exc).__name__}: {exc}"


def _collate(batch):
    import torch

    ok = [(i, t) for i, t, err in batch if t is not None]
    bad = [(i, err) for i, t, err in batch if t is None]
    tensors = torch.stack([t for _, t in ok]) if ok else None
    return [i for i, _ in ok], tensors, bad


def embed_files(files: list[Path], model, preprocess, *, device: str = "cpu", batch_size: int = 64,
                workers: int = 0, precision: str = "auto", progress=None):
    """Embed the files in order. Returns (positions of embedded files, float32 unit vectors,
    list of (position, reason) for skipped files)."""
    import torch

    loader = torch.utils.data.DataLoader(ImageFiles(files, preprocess), batch_size=batch_size, shuffle=False,
                                         num_workers=workers, collate_fn=_collate,
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


def run_record(spec: ModelSpec, device: str, precision: str) -> dict:
    """What the store records of a run, per source (see :mod:`twigma.embeddings.store`): the model, its
    tag or weights file with the file's SHA-256, the activation, the versions of open_clip and
    torch, and the precision. Decided without loading weights; raises on an activation mismatch."""
    from importlib.metadata import PackageNotFoundError, version

    plan = resolve(spec)
    rec = {k: plan[k] for k in ("model", "pretrained", "weights", "weights_format", "activation")}
    rec["model_config"] = spec.model_config
    rec["weights_sha256"] = sha256(spec.weights) if spec.weights else None
    if rec["weights_sha256"] and rec["weights_sha256"] == _openai_sha256(spec.model):
        rec["weights_known_as"] = "openai"  # the very file of open_clip's openai tag
    for dist, key in (("open_clip_torch", "open_clip"), ("torch", "torch")):
        try:
            rec[key] = version(dist)
        except PackageNotFoundError:
            rec[key] = None
    rec["precision"] = effective_precision(precision, device)
    return rec


def dry_run(images: str | os.PathLike, source: str, embeddings: str | os.PathLike | None = None,
            spec: ModelSpec = ModelSpec(), *, device: str = "auto", precision: str = "auto") -> dict:
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
                 spec: ModelSpec = ModelSpec(), *, batch_size: int = 64, workers: int | None = None,
                 shard_size: int = 2048, device: str = "auto", precision: str = "auto", dtype: str = "float16",
                 scheduler: str | None = None, progress: bool = True) -> dict:
    """Embed every image under ``images`` into source ``source`` of the store ``embeddings``.

    Returns a summary: ``n_images``, ``n_embedded``, ``n_skipped``, ``n_shards``, ``shards_reused``,
    ``seconds``, ``images_per_second`` (over the images embedded in this run), ``store``.
    """
    from tqdm.auto import tqdm

    if source not in store.SOURCES:
        raise EmbedError(f"SOURCE={source!r}: must be one of {', '.join(store.SOURCES)}")
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
    work.mkdir(parents=True, exist_ok=True)
    config = {"spec": spec.describe(), "images": str(images), "n_files": len(files),
              "files_sha1": _files_digest(files), "shard_size": shard_size, "precision": precision}
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
        cfg_path.write_text(json.dumps(config, indent=2))

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
    args = dict(spec=spec.describe(), images=str(images), work=str(work), batch_size=batch_size,
                precision=precision, device=requested_device if scheduler else device)
    if pending and scheduler:
        from distributed import Client, as_completed

        with Client(scheduler) as client:
            futures = {client.submit(_shard_task, files=[str(f) for f in fs], k=k, loader_workers=0, pure=False,
                                     **args): len(fs)
                       for k, fs in pending}
            for fut in as_completed(futures):
                fut.result()
                bar.update(futures[fut])
    elif pending:
        _MODEL_CACHE.clear()
        _MODEL_CACHE[(json.dumps(spec.describe(), sort_keys=True), device)] = (model, preprocess)
        for k, fs in pending:
            positions, vectors, skipped = embed_files(fs, model, preprocess, device=device, batch_size=batch_size,
                                                      workers=workers, precision=precision, progress=bar)
            _write_shard(work, k, fs, positions, vectors, skipped, images)
    bar.close()
    seconds = time.perf_counter() - started

    # join the shards, in order, into the store
    ids, parts, skipped = [], [], []
    for k, _ in shards:
        base = work / _shard_name(k)
        part = np.load(f"{base}.npy")
        ids += pd.read_csv(f"{base}.ids.csv", dtype=str, keep_default_na=False)["id"].tolist()
        if len(part):
            parts.append(part)
        skipped.append(pd.read_csv(f"{base}.skipped.csv", dtype=str, keep_default_na=False))
    vectors = np.vstack(parts) if parts else np.zeros((0, 1), dtype=np.float32)
    skipped_df = pd.concat(skipped, ignore_index=True)
    preprocess_desc = " ".join(repr(preprocess).split()) if preprocess is not None else config.get("preprocess")
    if len(ids) == 0:
        raise EmbedError(f"{images}: no image could be read; see {work}/*.skipped.csv for the reasons.")
    store.write(root, source, ids, vectors, dtype=dtype, meta={
        **record, "preprocess": preprocess_desc or f"open_clip's preprocessing for {spec.model}",
        "images": str(images), "synthetic": False})
    skipped_df.to_csv(root / f"{source}.skipped.csv", index=False)
    if (images / "_meta.csv").exists():  # descriptive table of make refs (titles, artists, captions)
        shutil.copyfile(images / "_meta.csv", root / f"{source}.meta.csv")
    shutil.rmtree(work)
    with contextlib.suppress(OSError):
        work.parent.rmdir()  # .shards/, once no source is in progress
    n_run = n_todo  # images handled in this run
    return {"n_images": len(files), "n_embedded": len(ids), "n_skipped": len(skipped_df),
            "n_shards": len(shards), "shards_reused": len(done), "seconds": round(seconds, 2),
            "images_per_second": round(n_run / seconds, 2) if seconds > 0 and n_run else None,
            "store": str(root)}
