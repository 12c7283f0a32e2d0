"""The options several commands share, each declared once, and how command-line paths are read.

A command adds what it takes (``add_release(p)``, ``add_out(p)``, ...); a command whose option
means something more specific gives its own help text, never its own declaration.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import overload

from twigma.embeddings.models import ACTIVATIONS
from twigma.embeddings.store import SOURCES

#: The dtypes the store's ``.npy`` files may hold.
STORE_DTYPES = ("float16", "float32")


@overload
def abs_path(p: str) -> str: ...
@overload
def abs_path(p: None) -> None: ...
def abs_path(p: str | None) -> str | None:
    """Command-line paths are relative to where the command is run."""
    return str(Path(p).expanduser().resolve()) if p else p


def add_release(p: argparse.ArgumentParser, help: str = "release file (default: the embedded sample)") -> None:
    p.add_argument("--release", default="", help=help)


def add_out(p: argparse.ArgumentParser, help: str = "output root (default: the repository)") -> None:
    p.add_argument("--out", default="", help=help)


def add_embeddings(p: argparse.ArgumentParser,
                   help: str = "embedding store folder (default: the sample's, with the sample)") -> None:
    p.add_argument("--embeddings", default="", help=help)


def add_target(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("--target", default="", help=help)


def add_quiet(p: argparse.ArgumentParser, help: str | None = None) -> None:
    p.add_argument("--quiet", action="store_true", help=help)


def add_source(p: argparse.ArgumentParser, **kw) -> None:
    """``--source``: which set of images (required unless ``default`` is given)."""
    kw.setdefault("help", "which set the images are")
    if "default" not in kw:
        kw["required"] = True
    p.add_argument("--source", choices=list(SOURCES), **kw)


def add_model(p: argparse.ArgumentParser, *, model: dict, pretrained: tuple[str, str], weights: str,
              activation: str | None = None, model_config: bool = True) -> None:
    """The open_clip model options: ``--model`` (its keywords), ``--pretrained`` (default, help),
    ``--weights``, ``--model-config`` and ``--activation`` (help texts given by the command, whose
    defaults differ)."""
    p.add_argument("--model", **model)
    p.add_argument("--pretrained", default=pretrained[0], help=pretrained[1])
    p.add_argument("--weights", default="", help=weights)
    if model_config:
        p.add_argument("--model-config", default="", help="JSON model configuration to register with open_clip")
    if activation is not None:
        p.add_argument("--activation", default="auto", choices=["auto", *ACTIVATIONS], help=activation)


def add_dtype(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dtype", default="float16", choices=list(STORE_DTYPES), help="dtype stored in the .npy")


def add_device(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("--device", default="auto", help=help)
