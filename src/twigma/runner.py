"""Run one notebook with papermill so that make can rely on it.

``twigma run-notebook notebooks/03_theme_shift.ipynb --release R --out O`` executes the
notebook with parameters ``RELEASE`` and ``OUT``, sends its figures and tables to a staging
folder, and only when every cell has succeeded moves them into ``O/figures``,
``O/results`` and the executed copy to ``O/build/03_theme_shift.ipynb`` (the file make
tracks). A failing notebook prints its name and the failing cell's error, keeps the
partly executed copy at ``O/build/failed/`` for inspection, and leaves earlier outputs as
they were.
"""
from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

from . import paths


class NotebookFailed(RuntimeError):
    pass


def _kernel_manager_class():
    """On POSIX systems, talk to the kernel over local (Unix) sockets instead of TCP ports on
    localhost: nothing listens on the network, and ipykernel has no cause to warn about it."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum

    if os.name != "posix":
        return AsyncKernelManager

    class LocalSocketKernelManager(AsyncKernelManager):
        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

    return LocalSocketKernelManager


def _kernel_env(staging: Path) -> dict:
    """Environment for the kernel: this interpreter's Jupyter data first (its ``python3``
    kernel), this interpreter's folder first on PATH, outputs to the staging folder."""
    env = {
        paths.STAGING_ENV: str(staging),
        "JUPYTER_PATH": os.pathsep.join(filter(None, [str(Path(sys.prefix) / "share" / "jupyter"),
                                                       os.environ.get("JUPYTER_PATH")])),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    return env


def _move_tree(src: Path, dst: Path) -> None:
    for f in sorted(src.rglob("*")):
        if f.is_file():
            target = dst / f.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(f, target)


def run_notebook(notebook: str | os.PathLike, release: str | os.PathLike | None = None,
                 out: str | os.PathLike | None = None, parameters: dict | None = None,
                 timeout: int | None = None) -> Path:
    """Execute ``notebook`` with papermill; return the executed copy's path (see module doc)."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    nb = Path(notebook).resolve()
    name = nb.stem
    out_root = paths.resolve(out, default=paths.ROOT)
    build = out_root / "build"
    staging = build / ".staging" / name
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    # empty parameters mean the defaults (the embedded sample, the repository)
    params = {"RELEASE": str(paths.resolve(release)) if release else "",
              "OUT": str(out_root) if out else ""}
    params.update(parameters or {})

    saved = {k: os.environ.get(k) for k in _kernel_env(staging)}
    os.environ.update(_kernel_env(staging))
    started = time.time()
    try:
        pm.execute_notebook(str(nb), str(staging / nb.name), parameters=params, kernel_name="python3",
                            cwd=str(nb.parent), progress_bar=False, execution_timeout=timeout,
                            report_mode=False, kernel_manager_class=_kernel_manager_class())
    except PapermillExecutionError as exc:
        failed = build / "failed" / nb.name
        failed.parent.mkdir(parents=True, exist_ok=True)
        if (staging / nb.name).exists():
            os.replace(staging / nb.name, failed)
        shutil.rmtree(staging, ignore_errors=True)
        raise NotebookFailed(
            f"notebook {name} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}\n"
            f"  The partly executed notebook is {failed}; earlier outputs were left as they were."
        ) from None
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    for sub in ("figures", "results"):
        _move_tree(staging / sub, out_root / sub)
    target = build / nb.name
    os.replace(staging / nb.name, target)  # last: the file make tracks
    shutil.rmtree(staging, ignore_errors=True)
    print(f"{name}: done in {time.time() - started:.1f} s -> {target}", flush=True)
    return target
