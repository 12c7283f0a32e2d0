"""Cached intermediate results: a slow computation is done once per distinct input.

:func:`call` runs ``func(*args, **kwargs)`` or returns the result stored by an earlier run
with the same key. The key is a hash of

* the **content** of every argument (numpy arrays and memory maps hashed by their bytes,
  so a store rewritten in place is a new key; a memory map and an array with the same rows
  are the same key),
* every parameter, by name,
* the versions of the libraries that shape the result (``versions``: umap-learn, numba,
  scikit-learn, torch, ...), read from the installed packages' metadata, without importing
  them (so a UMAP cache hit never imports umap, whose numba compilation takes ~30 s),
* the source code of the function and of the helpers named in ``code``.

Storage is :class:`joblib.Memory` (installed with scikit-learn), under
``$TWIGMA_CACHE_DIR/cache/`` or ``data/interim/cache/`` (``make clean`` removes it). joblib
writes each entry to a temporary name and renames it into place, so two notebooks running at
once (``make -j2``) never read half an entry; at worst both compute it. The key is computed
here, once (joblib would otherwise hash the arguments a second time); joblib sees only the
key. Each entry also stores a digest of its value: an entry that cannot be read or whose
value no longer matches its digest is recomputed and replaced, never trusted. The cache is
kept below ``$TWIGMA_CACHE_LIMIT`` (default ``20G``; joblib drops the least recently used
entries first).
"""
from __future__ import annotations

import hashlib
import importlib
import inspect
import logging
import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from twigma import paths

#: Bump when the layout of an entry changes: every older entry is then a miss.
FORMAT = 1
ENV_DIR = paths.CACHE_ENV
ENV_LIMIT = "TWIGMA_CACHE_LIMIT"
DEFAULT_LIMIT = "20G"

log = logging.getLogger(__name__)


class CacheWarning(UserWarning):
    """A cache entry could not be used (damaged) and was recomputed."""


def location() -> Path:
    """The cache folder: ``$TWIGMA_CACHE_DIR/cache`` or ``data/interim/cache``."""
    return paths.cache_root() / "cache"


def package_versions(*names: str) -> dict[str, str | None]:
    """Installed versions of distributions (``None`` when absent), without importing them."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def source_digest(objects: Iterable[Any]) -> str:
    """SHA-256 of the source code of functions, classes or modules."""
    h = hashlib.sha256()
    for obj in objects:
        h.update(f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', getattr(obj, '__name__', ''))}\n".encode())
        h.update(inspect.getsource(obj).encode())
    return h.hexdigest()


def key(func: Callable, args: tuple = (), kwargs: Mapping | None = None, *,
        versions: Mapping[str, str | None] | None = None, code: Iterable[Any] = ()) -> str:
    """The cache key of ``func(*args, **kwargs)`` (see the module docstring)."""
    import joblib

    kwargs = dict(sorted((kwargs or {}).items()))
    parts = {"format": FORMAT, "target": _target(func), "args": tuple(args), "kwargs": kwargs,
             "versions": dict(versions or {}), "code": source_digest([func, *code])}
    return joblib.hash(parts, hash_name="sha1", coerce_mmap=True)


def _target(func: Callable) -> str:
    if "<locals>" in func.__qualname__ or func.__module__ == "__main__":
        raise ValueError(f"{func.__qualname__}: only functions defined at the top of a module can be cached "
                         "(they are looked up again by name when computed)")
    return f"{func.__module__}:{func.__qualname__}"


def _run(cache_key: str, target: str, call_args: tuple, call_kwargs: dict) -> dict:
    """What joblib memoizes: the value of the call and a digest of it (``call_args`` and
    ``call_kwargs`` are left out of joblib's hash; ``cache_key`` already covers them)."""
    import joblib

    module, qualname = target.split(":")
    func: Any = importlib.import_module(module)
    for part in qualname.split("."):
        func = getattr(func, part)
    value = func(*call_args, **call_kwargs)
    return {"value": value, "digest": joblib.hash(value, coerce_mmap=True)}


def _valid(entry) -> bool:
    import joblib

    return (isinstance(entry, dict) and set(entry) == {"value", "digest"}
            and joblib.hash(entry["value"], coerce_mmap=True) == entry["digest"])


def _memory():
    import joblib

    return joblib.Memory(location(), verbose=0)


def call(func: Callable, args: tuple = (), kwargs: Mapping | None = None, *,
         versions: Mapping[str, str | None] | None = None, code: Iterable[Any] = ()) -> Any:
    """``func(*args, **kwargs)``, computed once per key and read from the cache afterwards.

    Parameters
    ----------
    func : a function defined at the top level of a module (looked up by name when computed)
    args, kwargs : its arguments; all of them enter the key, arrays by content
    versions : library versions the result depends on (see :func:`package_versions`)
    code : further functions, classes or modules whose source the result depends on
        (``func``'s own source always counts)

    Returns
    -------
    The value ``func`` returned (from the cache or freshly computed).
    """
    kwargs = dict(kwargs or {})
    k = key(func, args, kwargs, versions=versions, code=code)
    memory = _memory()
    run = memory.cache(_run, ignore=["call_args", "call_kwargs"])
    call_id = (k, _target(func), tuple(args), kwargs)
    if run.check_call_in_cache(*call_id):
        try:
            entry = run.call_and_shelve(*call_id).get()
        except Exception:  # unreadable: recomputed below
            entry = None
        if _valid(entry):
            log.info("cache hit: %s (%s)", func.__qualname__, k[:12])
            return entry["value"]
        warnings.warn(f"{location()}: the cached result of {func.__qualname__} (key {k[:12]}) was damaged; "
                      "it is recomputed and replaced.", CacheWarning, stacklevel=2)
    log.info("cache miss: %s (%s), computing", func.__qualname__, k[:12])
    entry, _ = run.call(*call_id)
    try:
        memory.reduce_size(bytes_limit=os.environ.get(ENV_LIMIT) or DEFAULT_LIMIT)
    except Exception as exc:  # a cache that cannot be trimmed still gives the right answer
        warnings.warn(f"{location()}: could not trim the cache ({exc})", CacheWarning, stacklevel=2)
    return entry["value"]


def clear() -> None:
    """Remove every cached result (``make clean`` does the same)."""
    import shutil

    shutil.rmtree(location(), ignore_errors=True)
