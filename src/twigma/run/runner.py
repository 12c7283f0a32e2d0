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

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from twigma import paths
from twigma.errors import UserError
from twigma.files import atomic_write, spreadsheet_safe
from twigma.run import lock, params as run_params, provenance


class NotebookFailed(UserError, RuntimeError):
    pass


def _kernel_manager_class(socket_dir: str):
    """The kernel manager of a run.

    * On POSIX systems it talks to the kernel over Unix sockets in ``socket_dir`` (private to this
      run, so parallel runs never share them) instead of TCP ports on localhost: nothing listens
      on the network, and ipykernel has no cause to warn about it.
    * It does not interrupt the kernel before shutting it down. jupyter_client sends SIGINT before
      every shutdown request (``KernelManager.shutdown_kernel``); a kernel that has finished the
      notebook is idle, and the signal only makes ipykernel print "KeyboardInterrupt caught in
      kernel" into make's output. Interrupts at a cell timeout are kept.
    """
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum

    class QuietShutdownKernelManager(AsyncKernelManager):
        async def _async_interrupt_kernel(self) -> None:
            if self.shutting_down:
                return
            await super()._async_interrupt_kernel()

        interrupt_kernel = _async_interrupt_kernel

    if os.name != "posix":
        return QuietShutdownKernelManager

    class LocalSocketKernelManager(QuietShutdownKernelManager):
        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

        def __init__(self, **kw):
            super().__init__(**kw)
            self.ip = os.path.join(socket_dir, "kernel")

    return LocalSocketKernelManager


def _kernel_env(staging: Path, name: str) -> dict:
    """Environment for the kernel: the notebook's own name, this interpreter's Jupyter data
    first (its ``python3`` kernel), this interpreter's folder first on PATH, outputs to the
    staging folder."""
    env = {
        paths.NOTEBOOK_ENV: name,
        paths.ROOT_ENV: str(paths.ROOT),  # the kernel starts in notebooks/; its package must find the same root
        paths.STAGING_ENV: str(staging),
        "JUPYTER_PATH": os.pathsep.join(filter(None, [str(Path(sys.prefix) / "share" / "jupyter"),
                                                       os.environ.get("JUPYTER_PATH")])),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    return env


def _remove_outputs(run: paths.RunLayout, name: str) -> None:
    """Delete the figures and tables that the last successful run of notebook ``name`` wrote."""
    written = run.written_list(name)
    if written.exists():
        for rel in written.read_text().split():
            (run.root / rel).unlink(missing_ok=True)
        written.unlink()


def _move_tree(src: Path, dst: Path) -> None:
    for f in sorted(src.rglob("*")):
        if f.is_file():
            target = dst / f.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(f, target)


def needs_embeddings(notebook: str | os.PathLike) -> bool:
    """True when the notebook takes an ``EMBEDDINGS`` parameter (the image analyses)."""
    import papermill as pm

    return "EMBEDDINGS" in pm.inspect_notebook(str(notebook))


def _twigma_metadata(notebook: str | os.PathLike) -> dict:
    import nbformat

    return dict(nbformat.read(str(notebook), as_version=4).metadata.get("twigma", {}))


def embeddings_optional(notebook: str | os.PathLike) -> bool:
    """True when the notebook runs without embeddings too: its metadata says
    ``"twigma": {"embeddings": "optional"}`` (10_explore: the map needs only the release; its search
    cells say when there is no store). Such a notebook is never skipped for want of EMBEDDINGS."""
    return str(_twigma_metadata(notebook).get("embeddings", "")) == "optional"


def needed_values(notebook: str | os.PathLike) -> tuple[list[str], list[str]]:
    """The release columns a notebook cannot do without (``"twigma": {"needs_values": [...]}`` in its
    metadata) and the claims it checks (``"claims": [...]``), reported untestable when such a column
    has no value in any row."""
    meta = _twigma_metadata(notebook)
    return list(meta.get("needs_values", [])), list(meta.get("claims", []))


def _columns_without_values(release, columns: list[str]) -> tuple[list[str], bool]:
    """Which of ``columns`` are empty in every row of ``release``, and whether it is synthetic."""
    from twigma.analysis.overview import columns_without_values
    from twigma.release import load_release

    if not columns:
        return [], False
    df = load_release(release or None, columns=columns)
    return columns_without_values(df, columns), bool(df.attrs.get("synthetic"))


def write_skipped(nb: Path, target: Path, reason: str) -> Path:
    """Write ``target``: the notebook, unexecuted, headed by a cell saying why it was skipped."""
    import nbformat

    book = nbformat.read(nb, as_version=4)
    book.cells.insert(0, nbformat.v4.new_markdown_cell(f"**Skipped by `make figures`:** {reason}"))
    return atomic_write(target, lambda tmp: nbformat.write(book, str(tmp)))


def run_notebook(notebook: str | os.PathLike, release: str | os.PathLike | None = None,
                 out: str | os.PathLike | None = None, embeddings: str | os.PathLike | None = None,
                 parameters: dict | None = None, timeout: int | None = None) -> Path:
    """Execute ``notebook`` with papermill; return the executed copy's path (see module doc).

    A notebook of the image analyses (one with an ``EMBEDDINGS`` parameter) run on a release
    other than the sample without ``embeddings`` is skipped: its executed copy says why, and
    its claims stay untestable; unless its metadata marks the embeddings optional
    (:func:`embeddings_optional`).
    """
    nb = Path(notebook).resolve()
    run = paths.RunLayout.published(out)
    if lock.held_by_caller(run.build):  # started by make, which holds this OUT's lock
        return _run(nb, run, release, out, embeddings, parameters, timeout)
    held, note = lock.acquire(run.build)
    if held is None:
        raise RunInUseError(note)
    if note:
        print(f"note: {note}", flush=True)
    try:
        return _run(nb, run, release, out, embeddings, parameters, timeout)
    finally:
        lock.release(held)


class RunInUseError(UserError, RuntimeError):
    """Another run is using the output folder."""


def _run(nb: Path, run: paths.RunLayout, release, out, embeddings, parameters: dict | None,
         timeout: int | None) -> Path:
    """:func:`run_notebook` once this process may write to ``run`` (it or its caller holds the lock)."""
    name = nb.stem
    # empty parameters mean the defaults (the embedded sample, the repository): the notebook's
    # paths.release_file and paths.embeddings_folder give them their meaning
    params: dict[str, object] = {"RELEASE": str(paths.resolve(release)) if release else "",
                                 "OUT": str(run.root) if out else ""}
    if needs_embeddings(nb):
        params["EMBEDDINGS"] = str(paths.resolve(embeddings)) if embeddings else ""
        if paths.embeddings_folder(release, embeddings) is None and not embeddings_optional(nb):
            return _skip_for_want_of_embeddings(nb, run, str(params["RELEASE"]))
    needs, checked = needed_values(nb)
    empty, synthetic = _columns_without_values(release, needs)
    if empty:
        return _skip_for_empty_columns(nb, run, release, empty, checked, synthetic)
    params.update(run_params.checked(nb, parameters or {}))
    staging = run.staging(name)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)

    # the record names every parameter's effective value, the defaults included
    record = provenance.describe_run(nb, run_params.effective(nb, params), release,
                                     embeddings if "EMBEDDINGS" in params else None)
    started = time.time()
    _execute(nb, run, staging, params, timeout, {**_kernel_env(staging, name), provenance.ENV: json.dumps(record)})

    _remove_outputs(run, name)  # files of an earlier run that this run no longer writes
    moved = _publish(paths.RunLayout(staging), run)
    atomic_write(run.written_list(name), lambda tmp: tmp.write_text("\n".join(sorted(moved)) + "\n"))
    target = run.build / nb.name
    os.replace(staging / nb.name, target)
    record["release"] = provenance.release_record(release)  # its row count, now that the typed cache exists
    provenance.write_record(run.root, record, moved + [str(target.relative_to(run.root))], time.time() - started)
    os.utime(target)  # last: the file make tracks is the newest
    shutil.rmtree(staging, ignore_errors=True)
    print(f"{name}: done in {time.time() - started:.1f} s -> {target}", flush=True)
    return target


def _skip_for_empty_columns(nb: Path, run: paths.RunLayout, release, empty: list[str], checked: list[str],
                            synthetic: bool) -> Path:
    """Record notebook ``nb`` as skipped: the columns ``empty`` it needs have no value in any row;
    the claims it checks are written as untestable, saying why."""
    from twigma.analysis import claims

    name = nb.stem
    cols = ", ".join(empty)
    reason = (f"the column {cols} has no value in any row of RELEASE={release or paths.SAMPLE_RELEASE}, and this "
              "notebook needs it" if len(empty) == 1 else
              f"the columns {cols} have no value in any row of RELEASE={release or paths.SAMPLE_RELEASE}, and this "
              "notebook needs them")
    print(f"{name}: skipped: {reason}" + (f"; {', '.join(checked)} untestable" if checked else ""), flush=True)
    _remove_outputs(run, name)
    provenance.remove_record(run.root, name)
    if checked:
        rows = claims.notebook_rows([claims.claim(c, f"untestable here: {reason}", "untestable") for c in checked],
                                    name, synthetic)
        atomic_write(run.claims_of(name), lambda tmp: spreadsheet_safe(rows).to_csv(tmp, index=False))
    else:
        run.claims_of(name).unlink(missing_ok=True)
    return write_skipped(nb, run.build / nb.name, reason[0].upper() + reason[1:] + ".")


def _skip_for_want_of_embeddings(nb: Path, run: paths.RunLayout, release: str) -> Path:
    """Record notebook ``nb`` as skipped: a release without embeddings was given, and it needs them."""
    name = nb.stem
    reason = (f"RELEASE={release} was given without EMBEDDINGS, and this notebook needs CLIP "
              "image embeddings of the release and of the reference sets (see docs/embeddings.md). "
              "Its claims are reported as untestable.")
    print(f"{name}: skipped: {reason}", flush=True)
    _remove_outputs(run, name)  # outputs of an earlier run on other data must not linger
    run.claims_of(name).unlink(missing_ok=True)
    provenance.remove_record(run.root, name)
    return write_skipped(nb, run.build / nb.name, reason)


def _execute(nb: Path, run: paths.RunLayout, staging: Path, params: dict, timeout: int | None,
             kernel_env: dict) -> None:
    """Run the notebook into ``staging`` with ``kernel_env`` set; on failure keep the partly executed
    copy in ``build/failed/`` and raise :class:`NotebookFailed`."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    saved = {k: os.environ.get(k) for k in kernel_env}
    os.environ.update(kernel_env)
    socket_dir = tempfile.mkdtemp(prefix="twigma-kernel-")
    try:
        pm.execute_notebook(str(nb), str(staging / nb.name), parameters=params, kernel_name="python3",
                            cwd=str(nb.parent), progress_bar=False, execution_timeout=timeout,
                            report_mode=False, kernel_manager_class=_kernel_manager_class(socket_dir))
    except Exception as exc:  # a failing cell, a cell timeout, a dead kernel, ...
        failed = run.failed / nb.name
        failed.parent.mkdir(parents=True, exist_ok=True)
        if (staging / nb.name).exists():
            os.replace(staging / nb.name, failed)
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, PapermillExecutionError):
            what = f"failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}"
        else:
            what = f"stopped: {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        raise NotebookFailed(
            f"notebook {nb.stem} {what}\n"
            f"  The partly executed notebook is {failed}; earlier outputs were left as they were."
        ) from None
    finally:
        shutil.rmtree(socket_dir, ignore_errors=True)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _publish(staged: paths.RunLayout, run: paths.RunLayout) -> list[str]:
    """Move the figures and tables of ``staged`` into ``run``; return their paths relative to the run's root."""
    moved = []
    for src, dst in zip(staged.outputs(), run.outputs()):
        moved += [str(f.relative_to(staged.root)) for f in src.rglob("*") if f.is_file()]
        _move_tree(src, dst)
    return moved
