"""The open_clip model of an embedding run: which weights, which activation, built and checked.

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
import os
import socket
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

from twigma.errors import UserError
from twigma.files import sha256

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


def openai_sha256(model: str) -> str | None:
    """SHA-256 of OpenAI's archive for ``model``, as its download URL names it (open_clip's table)."""
    import re

    import open_clip

    url = (open_clip.get_pretrained_cfg(model, "openai") or {}).get("url", "")
    m = re.search(r"/([0-9a-f]{64})/", url)
    return m.group(1) if m else None


def register(spec: ModelSpec) -> dict:
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

    cfg = register(spec)
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
    for warning in caught:
        if "QuickGELU" in str(warning.message):  # open_clip's own check, which only warns
            raise EmbedError(f"open_clip {open_clip.__version__}: {str(warning.message).rstrip('.')}; twigma asked for "
                             f"{plan['activation']}"
                             f" ({plan['activation_reason']}).")
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    built = model_activation(model)
    if built != plan["activation"]:
        raise EmbedError(f"open_clip {open_clip.__version__} built {spec.model} with {built}, but the weights need "
                         f"{plan['activation']} ({plan['activation_reason']}); update open_clip "
                         "(pyproject.toml gives the minimum version).")
    model.eval()
    return model, preprocess


def run_record(spec: ModelSpec, device: str, precision: str) -> dict:
    """What the store records of a run, per source (see :mod:`twigma.embeddings.store`): the model, its
    tag or weights file with the file's SHA-256, the activation, the versions of open_clip and
    torch, and the precision. Decided without loading weights; raises on an activation mismatch."""
    from importlib.metadata import PackageNotFoundError, version

    plan = resolve(spec)
    rec = {k: plan[k] for k in ("model", "pretrained", "weights", "weights_format", "activation")}
    rec["model_config"] = spec.model_config
    rec["weights_sha256"] = sha256(spec.weights) if spec.weights else None
    if rec["weights_sha256"] and rec["weights_sha256"] == openai_sha256(spec.model):
        rec["weights_known_as"] = "openai"  # the very file of open_clip's openai tag
    for dist, key in (("open_clip_torch", "open_clip"), ("torch", "torch")):
        try:
            rec[key] = version(dist)
        except PackageNotFoundError:
            rec[key] = None
    rec["precision"] = effective_precision(precision, device)
    return rec

