"""Memory that the process holds but no longer uses, given back to the system."""
from __future__ import annotations


def free_arrow_memory() -> None:
    """Give pyarrow's freed buffers back to the system.

    pyarrow's allocator (mimalloc) keeps the memory of buffers it has freed for reuse, so a
    notebook kernel stays as large as its largest pyarrow step: decoding the typed cache in
    :func:`twigma.load_release`, or hashing the tweet id strings (pandas' arrow strings use
    pyarrow's pool). Called after each; docs/scaling.md gives the resident memory it saves.
    """
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except Exception:  # pragma: no cover - an allocator without it: nothing to give back
        pass
