"""Provenance of a run: which data, parameters and code made each figure and table.

``twigma run-notebook`` (what ``make figures`` uses) describes the run of one notebook before it
starts (:func:`describe_run`: notebook, parameters, release file with its SHA-256 and row count,
embedding store with its digest and model, git commit and whether the tree had uncommitted
changes, package versions, date) and hands the description to the kernel through
``$TWIGMA_PROVENANCE``; :class:`twigma.present.outputs.Outputs` writes its key fields into every PNG
and PDF (:func:`figure_metadata`). When the notebook has succeeded, the runner adds the run
time and the SHA-256 of every file it wrote, and keeps the record in
``build/.provenance/<notebook>.json``. ``twigma provenance`` (the last step of ``make figures``)
gathers the records into one manifest per run, ``results/provenance.json``, and
``twigma verify`` (``make verify``) recomputes every hash against it.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from twigma import paths
from twigma.cache import package_versions
from twigma.files import atomic_write, sha256

ENV = "TWIGMA_PROVENANCE"
MANIFEST = Path("results") / "provenance.json"
RECORDS = Path("build") / ".provenance"
PACKAGES = ("twigma", "pandas", "numpy", "scipy", "statsmodels", "scikit-learn", "matplotlib", "seaborn",
            "pyarrow", "papermill", "umap-learn", "torch", "open_clip_torch")


def _cached_sha256(path: Path) -> str:
    """SHA-256 of a large input, remembered by (path, size, modification time) under the cache folder,
    so ten notebooks of one run hash an 800,000-row release once."""
    st = path.stat()
    key = hashlib.sha1(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]
    memo = paths.cache_root() / "hashes" / f"{key}.sha256"
    if memo.exists():
        value = memo.read_text().strip()
        if len(value) == 64:
            return value
    value = sha256(path)
    atomic_write(memo, lambda tmp: tmp.write_text(value + "\n"))
    return value


def git_state(root: Path = paths.ROOT) -> dict:
    """The checkout's commit and whether tracked files differ from it (``None`` values without git)."""
    def git(*args):
        r = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
        return r.stdout.strip() if r.returncode == 0 else None

    try:
        commit = git("rev-parse", "HEAD")
        status = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.TimeoutExpired):
        commit = status = None
    return {"commit": commit, "uncommitted_changes": None if status is None else bool(status)}


def versions() -> dict[str, str | None]:
    return {"python": sys.version.split()[0], **package_versions(*PACKAGES)}


def release_record(release: str | os.PathLike | None) -> dict:
    """Path, SHA-256, size and row count of a release file (rows from its typed cache when there is one)."""
    from twigma.release import cache_path, is_synthetic  # the loader's own cache naming

    p = paths.release_file(release)
    if not p.exists():
        return {"path": str(p), "exists": False}
    rows = None
    cached = cache_path(p, paths.cache_root())
    if cached.exists():
        import pyarrow.parquet as pq

        rows = pq.ParquetFile(cached).metadata.num_rows
    return {"path": str(p), "sha256": _cached_sha256(p), "bytes": p.stat().st_size, "rows": rows,
            "synthetic": is_synthetic(p)}


def store_record(root: str | os.PathLike | None) -> dict | None:
    """Digest and model of an embedding store: SHA-256 over its meta.json and its sources' files."""
    if root is None:
        return None
    root = Path(root)
    meta_file = root / "meta.json"
    if not meta_file.exists():
        return {"path": str(root), "exists": False}
    meta = json.loads(meta_file.read_text())
    h = hashlib.sha256(meta_file.read_bytes())
    for f in sorted(root.glob("*.npy")) + sorted(root.glob("*.ids.csv")):
        h.update(f.name.encode())
        h.update(_cached_sha256(f).encode())
    return {"path": str(root), "digest": h.hexdigest(), "model": meta.get("model"),
            "pretrained": meta.get("pretrained"), "synthetic": bool(meta.get("synthetic", False)),
            "sources": {s: v.get("count") for s, v in meta.get("sources", {}).items()}}


def describe_run(notebook: str | os.PathLike, parameters: dict, release: str | os.PathLike | None,
                 embeddings: str | os.PathLike | None) -> dict:
    """What is known of a notebook's run before it starts (see the module docstring)."""
    nb = Path(notebook)
    return {
        "notebook": nb.stem,
        "notebook_file": str(nb.resolve().relative_to(paths.ROOT)) if nb.resolve().is_relative_to(paths.ROOT)
        else str(nb.resolve()),
        "notebook_sha256": sha256(nb),
        "parameters": parameters,
        "release": release_record(release),
        "embeddings": store_record(paths.embeddings_folder(release, embeddings)) if "EMBEDDINGS" in parameters
        else None,
        "git": git_state(),
        "versions": versions(),
        "started": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def current() -> dict | None:
    """The description the runner handed to this kernel, if any."""
    raw = os.environ.get(ENV)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return None


def figure_metadata(fmt: str, notebook: str, figure: str, record: dict | None) -> dict:
    """Key provenance fields in the form ``Figure.savefig(metadata=...)`` takes for ``fmt``.

    PNG keeps any text key (tEXt chunks); PDF keeps its standard Info keys (Title, Subject,
    Keywords, Creator).
    """
    record = record or {}
    rel = record.get("release") or {}
    emb = record.get("embeddings") or {}
    git = record.get("git") or {}
    fields = {
        "notebook": notebook,
        "parameters": json.dumps(record.get("parameters", {}), sort_keys=True),
        "release": rel.get("path", ""),
        "release_sha256": rel.get("sha256", ""),
        "release_rows": "" if rel.get("rows") is None else str(rel["rows"]),
        "embeddings_digest": emb.get("digest", ""),
        "embeddings_model": emb.get("model") or "",
        "git_commit": git.get("commit") or "",
        "uncommitted_changes": "" if git.get("uncommitted_changes") is None else str(git["uncommitted_changes"]),
        "date": record.get("started", ""),
    }
    version = (record.get("versions") or {}).get("twigma") or ""
    if fmt == "png":
        return {"Title": f"{notebook}: {figure}", "Software": f"twigma {version}".strip(),
                **{f"twigma:{k}": v for k, v in fields.items()}}
    if fmt == "pdf":
        return {"Title": f"{notebook}: {figure}", "Creator": f"twigma {version}".strip(),
                "Subject": f"notebook {notebook}; parameters {fields['parameters']}",
                "Keywords": "; ".join(f"{k}={v}" for k, v in fields.items() if k not in ("notebook", "parameters"))}
    return {}


def write_record(out_root: Path, record: dict, files: list[str], seconds: float) -> Path:
    """Keep a finished run's record (with the SHA-256 of each file it wrote) for :func:`gather`."""
    record = {**record, "run_seconds": round(seconds, 2),
              "files": {rel: sha256(out_root / rel) for rel in sorted(files) if (out_root / rel).is_file()}}
    target = out_root / RECORDS / f"{record['notebook']}.json"
    return atomic_write(target, lambda tmp: tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n"))


def remove_record(out_root: Path, notebook: str) -> None:
    (out_root / RECORDS / f"{notebook}.json").unlink(missing_ok=True)


def removed_notebooks(manifest: dict) -> dict[str, str]:
    """Notebooks of a manifest whose notebook file is no longer in the repository: name -> its file."""
    return {name: run.get("notebook_file", "") for name, run in manifest.get("notebooks", {}).items()
            if not (paths.ROOT / run.get("notebook_file", "")).is_file() or not run.get("notebook_file")}


def without_removed(manifest: dict) -> tuple[dict, dict[str, str]]:
    """The manifest without the notebooks removed from the repository and the files they wrote, and
    what was dropped (notebook -> its notebook file)."""
    gone = removed_notebooks(manifest)
    if not gone:
        return manifest, {}
    kept = {**manifest, "notebooks": {k: v for k, v in manifest.get("notebooks", {}).items() if k not in gone},
            "files": {rel: e for rel, e in manifest.get("files", {}).items() if e.get("notebook") not in gone}}
    return kept, gone


def removed_claims(out_root: str | os.PathLike) -> list[Path]:
    """The claims files (``results/claims/<notebook>.csv``) of notebooks no longer in the repository: the
    notebook file its record names is gone, or, without a record, ``notebooks/<notebook>.ipynb`` is."""
    layout = paths.RunLayout.published(out_root)
    gone = []
    for f in sorted(layout.claims_dir.glob("*.csv")):
        record = layout.records / f"{f.stem}.json"
        try:
            rec = json.loads(record.read_text()) if record.is_file() else None
        except json.JSONDecodeError:
            continue
        if (removed_notebooks({"notebooks": {f.stem: rec}}) if rec is not None
                else not (paths.NOTEBOOKS / f"{f.stem}.ipynb").is_file()):
            gone.append(f)
    return gone


def prune(out_root: str | os.PathLike) -> list[str]:
    """Forget the notebooks removed from ``notebooks/`` since they ran: their claims files (so that the
    ledger ``results/claims.csv`` gathers none of their verdicts), provenance records and executed copies
    under ``build/`` go, and the manifest no longer lists them or their files (their other files stay on
    disk, where :func:`verify` names them as not made by the recorded run). Returns one line per
    notebook dropped."""
    layout = paths.RunLayout.published(out_root)
    said = []
    for f in removed_claims(out_root):
        f.unlink()
        said.append(f"{f.stem}: its notebook is gone; its verdicts ({f.relative_to(layout.root)}) leave the ledger")
    for f in sorted(layout.records.glob("*.json")):
        try:
            rec = json.loads(f.read_text())
        except json.JSONDecodeError:
            continue
        gone = removed_notebooks({"notebooks": {f.stem: rec}})
        if gone:
            f.unlink()
            (layout.build / f"{f.stem}.ipynb").unlink(missing_ok=True)
            said.append(f"{f.stem}: its notebook {gone[f.stem] or '(unknown)'} is gone; its record, executed copy "
                        f"and {len(rec.get('files', {}))} file(s) in the manifest were dropped")
    if layout.manifest.exists():
        manifest = json.loads(layout.manifest.read_text())
        kept, gone = without_removed(manifest)
        if gone:
            n = len(manifest.get("files", {})) - len(kept["files"])
            said += [f"{name}: its notebook {nb or '(unknown)'} is gone; dropped from the manifest"
                     for name, nb in gone.items() if not any(s.startswith(f"{name}:") for s in said)]
            said.append(f"results/provenance.json: {n} file(s) of removed notebooks no longer listed")
            for name in gone:
                (layout.build / f"{name}.ipynb").unlink(missing_ok=True)
            atomic_write(layout.manifest, lambda tmp: tmp.write_text(json.dumps(kept, indent=2, sort_keys=True) + "\n"))
    return said


def gather(out_root: str | os.PathLike, extra_files: Sequence[str] = ()) -> Path:
    """Write ``results/provenance.json``: one entry per file written by the run, with the record of the
    notebook that wrote it; ``extra_files`` (such as ``results/claims.csv``) are listed with their
    hash and the run's common fields."""
    out_root = Path(out_root)
    prune(out_root)
    records = {}
    for f in sorted((out_root / RECORDS).glob("*.json")):
        try:
            records[f.stem] = json.loads(f.read_text())
        except json.JSONDecodeError:
            continue
    files = {}
    for name, rec in records.items():
        for rel, digest in rec.get("files", {}).items():
            files[rel] = {"sha256": digest, "notebook": name}
    for rel in extra_files:
        if (out_root / rel).is_file():
            files[rel] = {"sha256": sha256(out_root / rel), "notebook": None}
    runs = {name: {k: v for k, v in rec.items() if k != "files"} for name, rec in records.items()}
    manifest = {
        "made": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "output_root": str(out_root),
        "notebooks": runs,
        "files": dict(sorted(files.items())),
    }
    target = out_root / MANIFEST
    return atomic_write(target, lambda tmp: tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n"))


def make_args(manifest: dict, out_arg: str = "") -> str:
    """``RELEASE=... EMBEDDINGS=... OUT=...`` that make needs to redo the run of ``manifest`` (each left out
    where it is the default: the sample, its store, the repository), for ``OUT=out_arg``."""
    import shlex

    runs = manifest.get("notebooks", {}).values()
    sample = paths.ROOT / "data" / "sample"
    args = []
    for name, key in (("RELEASE", "release"), ("EMBEDDINGS", "embeddings")):
        used = {(r.get(key) or {}).get("path", "") for r in runs} - {""}
        args += [f"{name}={shlex.quote(p)}" for p in used if len(used) == 1 and not Path(p).is_relative_to(sample)]
    return "".join(f" {a}" for a in [*args, *([f"OUT={shlex.quote(out_arg)}"] if out_arg else [])])


def fixes(out_root: str | os.PathLike, report: dict[str, list[str]], out_arg: str = "") -> dict[str, str]:
    """The command that fixes each kind of problem :func:`verify` found (kind -> one line), for the run
    in ``out_root`` given to make as ``OUT=out_arg``. make reruns a notebook when its executed copy under
    ``build/`` is gone or older than its inputs, not when a file it wrote is missing or edited: so the fix
    for those removes the executed copies of the notebooks that wrote them first."""
    import shlex

    layout = paths.RunLayout.published(out_root)
    manifest = json.loads((Path(out_root) / MANIFEST).read_text())
    files, args = manifest.get("files", {}), make_args(manifest, out_arg)
    said = {}
    for kind in ("missing", "edited"):
        nbs = sorted({files.get(rel, {}).get("notebook") or "" for rel in report.get(kind, [])} - {""})
        others = [rel for rel in report.get(kind, []) if not files.get(rel, {}).get("notebook")]
        steps = [f"rm -f {' '.join(shlex.quote(str(layout.build / f'{nb}.ipynb')) for nb in nbs)} && "
                 f"make figures{args} (reruns {', '.join(nbs)})"] if nbs else []
        if others:  # the ledger, and what make robustness, croissant or track wrote
            steps.append(f"rm -f {' '.join(shlex.quote(str(Path(out_root) / r)) for r in others)}, then run what "
                         f"wrote {'it' if len(others) == 1 else 'them'} again (make figures, robustness, croissant "
                         f"or track{args})")
        if steps:
            said[kind] = "; ".join(steps)
    if report.get("stale"):
        said["stale"] = f"make figures{args} (reruns the notebooks whose notebook or release changed since the run)"
    return said


def verify(out_root: str | os.PathLike) -> dict[str, list[str]]:
    """Check a run's outputs against its manifest.

    First drops from the manifest the notebooks removed since the run (:func:`prune`; ``dropped`` says
    which). Returns lists of files that are ``edited`` (bytes differ from the manifest), ``missing``,
    ``stale`` (made by a notebook or from a release file that has changed since), ``unrecorded``
    (in figures/ or results/ but not in the manifest) and ``ok``.
    """
    out_root = Path(out_root)
    manifest_path = out_root / MANIFEST
    if not manifest_path.exists():
        raise FileNotFoundError(f"{manifest_path}: no provenance manifest; run `make figures` first "
                                "(with the same OUT=).")
    dropped = prune(out_root)
    manifest = json.loads(manifest_path.read_text())
    report = {"dropped": dropped, "edited": [], "missing": [], "stale": [], "unrecorded": [], "ok": []}
    changed_inputs: dict[str, str] = {}
    for name, run in manifest.get("notebooks", {}).items():
        nb = paths.ROOT / run.get("notebook_file", "")
        if not nb.is_file():
            changed_inputs[name] = f"its notebook {run.get('notebook_file')} is gone"
        elif sha256(nb) != run.get("notebook_sha256"):
            changed_inputs[name] = f"{run.get('notebook_file')} changed since the run"
        rel = run.get("release") or {}
        if rel.get("sha256") and (not Path(rel["path"]).is_file() or _cached_sha256(Path(rel["path"])) != rel["sha256"]):
            changed_inputs.setdefault(name, f"the release file {rel['path']} changed since the run")
    for rel, entry in manifest.get("files", {}).items():
        p = out_root / rel
        if not p.is_file():
            report["missing"].append(rel)
        elif sha256(p) != entry["sha256"]:
            report["edited"].append(rel)
        elif entry.get("notebook") in changed_inputs:
            report["stale"].append(f"{rel} ({changed_inputs[entry['notebook']]})")
        else:
            report["ok"].append(rel)
    recorded = set(manifest.get("files", {})) | {str(MANIFEST)}
    for sub in ("figures", "results"):
        for p in sorted((out_root / sub).rglob("*")):
            rel = str(p.relative_to(out_root))
            if p.is_file() and p.name != "README.md" and rel not in recorded:
                report["unrecorded"].append(rel)
    return report
