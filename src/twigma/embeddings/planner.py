"""Which backend and precision a search uses, chosen from what this machine can do.

What it can do: whether torch is installed, whether torch sees a CUDA GPU, whether the CPU has
bfloat16 dot-product instructions, and, for a search large enough that the choice matters, the
matrix-product rates of each backend measured here once per process (:func:`machine_rates`) and the
share of a pilot of the search's own queries that the bfloat16 screen would leave uncertified. The
rules are those of :mod:`twigma.embeddings.neighbors` (Backends); the :class:`~twigma.embeddings.kernel.Plan`
made here is followed by :func:`twigma.embeddings.kernel.search_block`.
"""
import importlib.util
import time

import numpy as np

from twigma.embeddings.kernel import (
    F32_UNIT_ROUNDOFF,
    NeighborsError,
    Plan,
    ieee_float32,
    screen_torch,
    screening_error_bound,
    uncertified,
)

#: Searches of at least this many flops (2 n_queries n_refs d) measure the backends before choosing.
MEASURE_ABOVE_FLOP = 1e12
#: The bfloat16 screen re-scores k + 32 candidates per query and may recompute some queries: its
#: measured matrix-product rate is discounted by this factor before it is compared with float32's.
BF16_SCREEN_EFFICIENCY = 0.85


# -- what the machine has --------------------------------------------------------------------

def torch_available() -> bool:
    """True when torch can be imported (it is an optional layer: the search works without it)."""
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):  # sys.modules["torch"] = None: blocked
        return False


def cpu_has_bfloat16() -> bool:
    """True when the CPU has bfloat16 dot-product instructions (AVX512-BF16 or AMX)."""
    try:
        with open("/proc/cpuinfo") as fh:
            flags = fh.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _cuda(device: str | None) -> bool:
    if device is not None and not str(device).startswith("cuda"):
        return False
    if not torch_available():
        return False
    import torch

    return bool(torch.cuda.is_available())


# -- what it computes at: matrix-product rates, measured once per process -------------------

_RATES: dict = {}


def machine_rates(n: int = 1024, m: int = 4096, d: int = 768, repeats: int = 3) -> dict[str, float]:
    """Matrix-product rates of this machine in GFLOPS, measured once per process (best of
    ``repeats``, an (n x d) @ (d x m) product): ``numpy float32``, and with torch ``torch float32``
    and, on CPUs with bfloat16 instructions, ``torch bfloat16``."""
    key = (n, m, d, repeats)
    if key in _RATES:
        return _RATES[key]
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, d), dtype=np.float32)
    b = rng.standard_normal((m, d), dtype=np.float32)
    flop = 2.0 * n * m * d

    def best(f):
        f()
        t = min(_timed(f) for _ in range(repeats))
        return flop / t / 1e9

    rates = {"numpy float32": best(lambda: a @ b.T)}
    if torch_available():
        import torch

        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        with ieee_float32(), torch.inference_mode():
            rates["torch float32"] = best(lambda: ta @ tb.T)
            if cpu_has_bfloat16():
                ha, hb = ta.bfloat16(), tb.bfloat16()
                rates["torch bfloat16"] = best(lambda: ha @ hb.T)
    _RATES[key] = rates
    return rates


def _timed(f) -> float:
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


# -- the choice ------------------------------------------------------------------------------

def _pilot_unsure(pilot, k: int, extra: int | None) -> float:
    """Share of the pilot queries that the bfloat16 screen leaves uncertified."""
    import torch

    q32, refs32 = pilot
    keep = min(k + (32 if extra is None else extra), len(refs32))
    if keep >= len(refs32):
        return 0.0
    with ieee_float32(), torch.inference_mode():
        cand_v, _ = screen_torch(q32, torch.as_tensor(refs32).bfloat16(), keep, 65536, torch.device("cpu"), True)
    eps = screening_error_bound(refs32.shape[1], 1.0 + 4 * F32_UNIT_ROUNDOFF)
    return len(uncertified(cand_v, k, eps)) / max(1, len(q32))


def plan(n_queries: int, n_refs: int, dim: int, *, backend: str = "auto", precision: str = "auto",
         device: str | None = None, k: int = 1, extra: int | None = None, pilot=None) -> Plan:
    """Choose the backend and precision of a search from what this machine can do (the rules:
    :mod:`twigma.embeddings.neighbors`, Backends).

    ``pilot`` = (float32 unit query rows, float32 unit references): a few hundred of the search's
    own queries, screened in bfloat16 to see how many it would leave uncertified (each of those
    is searched again in float32), when the bfloat16 screen is one of the options."""
    if backend not in ("auto", "numpy", "torch"):
        raise NeighborsError(f"unknown backend {backend!r}: use auto, numpy or torch")
    if precision not in ("auto", "float32", "bfloat16-screened"):
        raise NeighborsError(f"unknown precision {precision!r}: use auto, float32 or bfloat16-screened")
    has_torch = torch_available()
    wants_torch = backend == "torch" or precision == "bfloat16-screened" or (device and device != "cpu")
    if wants_torch and not has_torch:
        raise NeighborsError(
            f"backend={backend}, precision={precision}, device={device}: needs torch, which is not installed in "
            "this environment. Use backend='numpy' with precision='float32' (or 'auto'), which gives the same "
            "neighbours, or install the optional torch layer (see docs/scaling.md).")
    if backend == "numpy":
        if precision == "bfloat16-screened":
            raise NeighborsError("the bfloat16 screen needs torch: backend='numpy' computes in float32")
        return Plan("numpy", "float32", "cpu", "asked for")
    if _cuda(device) and backend in ("auto", "torch"):
        prec = "bfloat16-screened" if precision == "auto" else precision
        return Plan("torch", prec, str(device or "cuda"), "a CUDA GPU")
    if backend == "torch":
        prec = precision if precision != "auto" else ("bfloat16-screened" if cpu_has_bfloat16() else "float32")
        return Plan("torch", prec, "cpu", "asked for" + ("" if precision != "auto" else
                                                          (" (bfloat16: the CPU has it)" if cpu_has_bfloat16() else "")))
    if precision == "bfloat16-screened":
        return Plan("torch", precision, "cpu", "asked for")
    flop = 2.0 * n_queries * n_refs * dim
    if not has_torch:
        return Plan("numpy", "float32", "cpu", "torch is not installed")
    if flop < MEASURE_ABOVE_FLOP:
        return Plan("numpy", "float32", "cpu", f"small search ({flop:.1e} flop): not worth measuring")
    rates = machine_rates()
    options = {("numpy", "float32"): rates["numpy float32"], ("torch", "float32"): rates["torch float32"]}
    note = ""
    if precision == "auto" and "torch bfloat16" in rates:
        # the screen's queries left uncertified are searched again with the float32 screen
        share = _pilot_unsure(pilot, k, extra) if pilot is not None else 1.0
        best32 = max(options.values())
        options[("torch", "bfloat16-screened")] = 1 / (1 / (rates["torch bfloat16"] * BF16_SCREEN_EFFICIENCY)
                                                       + share / best32)
        note = (f"; the bfloat16 screen leaves {share:.0%} of " + (f"{len(pilot[0])} pilot queries" if pilot is not None
                else "the queries (no pilot)") + f" uncertified: effective {options[('torch', 'bfloat16-screened')]:.0f}")
    (be, prec), _ = max(options.items(), key=lambda kv: kv[1])
    measured = ", ".join(f"{name} {v:.0f}" for name, v in rates.items())
    return Plan(be, prec, "cpu", f"fastest measured here (matrix-product GFLOPS: {measured}{note})")
