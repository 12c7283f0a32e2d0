"""``make robustness``: the grid file, the make fragment, one specification's file, and collecting them.

The computing (choices, specifications, each group's claim checks, the summary) is
:mod:`twigma.analysis.robustness`; this module reads and writes (docs/robustness.md):

* :func:`read_grid` reads ``robustness.yml`` (or ``GRID=``) and checks every value;
* :func:`write_makefile` lists the specifications as make targets ``build/robustness/<id>.json``;
  the id is the group and a digest of the specification's parameters, so editing the grid adds or
  drops specifications without touching the finished ones (make runs only what is missing);
* :func:`run_spec` runs one specification and writes its file atomically;
* :func:`collect` gathers them into ``results/robustness.csv`` (one row per claim and
  specification) and ``results/robustness_summary.csv`` (one row per claim: how often it holds,
  the range of its estimate and the verdict);
* :func:`run_small` runs the small grid in the calling process, writing nothing (notebook 12
  without ``make robustness``): each choice varied alone, C7-C9 too when the run has embeddings.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from twigma import paths
from twigma.analysis.robustness.choices import CHOICES, Spec
from twigma.analysis.robustness.grid import GROUPS, effective_values, run_group, specifications
from twigma.analysis.robustness.tables import tabulate
from twigma.errors import UserError
from twigma.files import atomic_write, spreadsheet_safe
from twigma.paths import RunLayout

#: The grid's default file.
GRID = paths.ROOT / "robustness.yml"


class GridError(UserError, ValueError):
    """The grid file is malformed: the message names the file, the group, the choice and what to do."""


# ------------------------------------------------------------------ the grid -----------------

def read_grid(path: str | os.PathLike | None = None) -> dict[str, dict[str, list]]:
    """The grid file as {group: {choice: [values]}}, every value checked; :class:`GridError` otherwise."""
    import yaml

    path = paths.resolve(path, default=GRID)
    if not path.exists():
        raise GridError(f"{path}: no such grid file. Give GRID=<file> or restore robustness.yml from git.")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise GridError(f"{path}: not valid YAML ({exc}).") from exc
    return parse_grid(raw, str(path))


def parse_grid(raw, source: str = "the grid") -> dict[str, dict[str, list]]:
    """A grid read from YAML (``raw``: {group: {choice: value or [values]}}) as {group: {choice:
    [values]}}, every value checked; :class:`GridError` naming ``source`` (the file), the group,
    the choice and what to do otherwise."""
    path = source
    if not isinstance(raw, dict):
        raise GridError(f"{path}: the file must map group names ({', '.join(GROUPS)}) to their choices.")
    grid: dict[str, dict[str, list]] = {}
    for name, choices in raw.items():
        if name not in GROUPS:
            raise GridError(f"{path}: unknown group {name!r}; the groups are {', '.join(GROUPS)}.")
        group = GROUPS[name]
        if not isinstance(choices, dict):
            raise GridError(f"{path}: group {name!r} must map each choice to a list of values.")
        missing = [c for c in group.choices if c not in choices]
        unknown = [c for c in choices if c not in group.choices]
        if missing or unknown:
            raise GridError(f"{path}: group {name!r} " + "; ".join(
                filter(None, [f"lacks the choices {', '.join(missing)}" if missing else "",
                              f"has choices it does not know: {', '.join(unknown)}" if unknown else ""]))
                + f". Its choices are {', '.join(group.choices)} (list one value to fix a choice).")
        grid[name] = {}
        for c in group.choices:
            values = choices[c] if isinstance(choices[c], list) else [choices[c]]
            if not values:
                raise GridError(f"{path}: group {name!r}, choice {c!r}: give at least one value.")
            parsed = []
            for v in values:
                try:
                    parsed.append(CHOICES[c][0](v))
                except (TypeError, ValueError) as exc:
                    raise GridError(f"{path}: group {name!r}, choice {c!r}: value {v!r} is not valid: {exc}.") from exc
            if len(set(map(str, parsed))) < len(parsed):
                raise GridError(f"{path}: group {name!r}, choice {c!r} lists a value twice.")
            grid[name][c] = parsed
    return grid


def find(grid: dict, spec_id: str) -> Spec:
    """The specification of ``grid`` whose id is ``spec_id``; :class:`GridError` if there is none."""
    for spec in specifications(grid):
        if spec.id == spec_id:
            return spec
    raise GridError(f"no specification {spec_id!r} in the grid file: it was edited since make listed it. "
                    "Run make robustness again.")


def has_embeddings(release: str | None, embeddings: str | None) -> bool:
    """Whether the image groups (C7-C9) can run: a store goes with RELEASE and EMBEDDINGS."""
    return paths.embeddings_folder(release, embeddings) is not None


# ------------------------------------------------------------------ inputs -------------------

class Inputs:
    """The release and the embedding store a specification reads (:class:`twigma.analysis.robustness.inputs.Data`),
    each loaded once per process, when first asked for."""

    def __init__(self, release: str | None, embeddings: str | None, columns: list[str] | None = None):
        self.release_arg, self.embeddings_arg, self.columns = release or "", embeddings or "", columns
        self._release: pd.DataFrame | None = None
        self._twigma: tuple[np.ndarray, np.ndarray] | None = None
        self._root: Path | None = None
        self._refs: dict[str, np.ndarray] = {}

    @property
    def release(self) -> pd.DataFrame:
        if self._release is None:
            from twigma.release import load_release
            self._release = load_release(self.release_arg, columns=self.columns)
        return self._release

    def _store_root(self) -> Path:
        if self._root is None:
            from twigma.embeddings import store
            self._root = store.folder_for(self.release_arg, self.embeddings_arg)
        return self._root

    def twigma(self) -> tuple[np.ndarray, np.ndarray]:
        if self._twigma is None:
            from twigma.embeddings import store
            self._twigma = store.align(self.release, store.read(self._store_root(), "twigma"))
        return self._twigma

    def reference(self, source: str) -> np.ndarray:
        if source not in self._refs:
            from twigma.embeddings import store
            self._refs[source] = store.read(self._store_root(), source).vectors
        return self._refs[source]


#: What the release-only groups (C2-C6, C11: growth, words, themes, shift, nsfw) read: a grid without image claims
#: loads only these, not every column.
RELEASE_ONLY_COLUMNS = ["id", "created_at", "all_captions", "label_10_cluster", "possibly_sensitive", "nsfw_score"]


def inputs_for(release: str | None, embeddings: str | None, images: bool) -> Inputs:
    """The inputs of a grid: every release column when its image groups run, else the release-only ones."""
    return Inputs(release, embeddings, columns=None if images else RELEASE_ONLY_COLUMNS)


# ------------------------------------------------------------------ one specification --------

def spec_dir(out: str | os.PathLike | None) -> Path:
    """Where the specifications' files go: ``<OUT>/build/robustness/``."""
    return RunLayout.published(out).robustness


def write_makefile(target: str | os.PathLike, grid_path=None, release=None, embeddings=None) -> Path:
    """The make fragment that lists the specifications as targets (``$(ROB)/<id>.json``)."""
    grid = read_grid(grid_path)
    specs = specifications(grid, images=has_embeddings(release, embeddings))
    names = lambda ss: " \\\n  ".join(f"$(ROB)/{s.id}.json" for s in ss)  # noqa: E731
    text = ("# Written by `twigma robustness makefile` from the grid file; do not edit (make rewrites it).\n"
            f"ROB_SPECS := {names(specs)}\n"
            f"ROB_IMAGE_SPECS := {names([s for s in specs if GROUPS[s.group].images])}\n")
    return atomic_write(target, lambda tmp: Path(tmp).write_text(text))


def record(spec: Spec, data: Inputs) -> dict:
    """Run one specification on ``data``: its parameters, their effective values on the data (which
    specifications are identical in effect), its words and one row per claim checked."""
    return {"spec_id": spec.id, "group": spec.group, "params": spec.values, "effective": effective_values(spec, data),
            "specification": spec.text, "default": spec.default, "notebook": GROUPS[spec.group].notebook,
            "release": str(paths.release_file(data.release_arg)), "rows": run_group(spec, data)}


def run_spec(spec_id: str, grid_path=None, release=None, embeddings=None, out=None,
             inputs: Inputs | None = None) -> Path:
    """Run one specification and write ``<OUT>/build/robustness/<id>.json`` (atomically)."""
    spec = find(read_grid(grid_path), spec_id)
    rec = record(spec, inputs or inputs_for(release, embeddings, GROUPS[spec.group].images))
    target = spec_dir(out) / f"{spec.id}.json"
    return atomic_write(target, lambda tmp: Path(tmp).write_text(json.dumps(rec, indent=1, default=_json)))


def _json(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    raise TypeError(f"cannot write {type(v).__name__} to JSON")


# ------------------------------------------------------------------ results ------------------

def _not_run(grid: dict, images: bool) -> dict[str, str]:
    skipped = [c for g, grp in GROUPS.items() if g in grid and grp.images and not images for c in grp.claims]
    return {c: "not run: needs image embeddings (EMBEDDINGS=<store folder>)" for c in skipped}


def run_small(grid_path=None, release=None, embeddings=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The small grid, run here in this process without writing anything: what notebook 12 shows
    when ``make robustness`` has not been run. Each choice is varied alone (``one_at_a_time``), for
    the release-only groups (C2-C6) and, when a store goes with RELEASE and EMBEDDINGS, the image
    groups (C7-C9). Returns the table and the summary, as :func:`collect` does."""
    grid = read_grid(grid_path)
    images = has_embeddings(release, embeddings)
    specs = specifications(grid, images=images, one_at_a_time=True)
    data = inputs_for(release, embeddings, images)
    return tabulate(specs, [record(s, data) for s in specs], not_run=_not_run(grid, images), one_at_a_time=True)


def collect(grid_path=None, release=None, embeddings=None, out=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Gather the specifications of the grid into ``results/robustness.csv`` and
    ``results/robustness_summary.csv`` under OUT; return both tables."""
    grid = read_grid(grid_path)
    images = has_embeddings(release, embeddings)
    specs = specifications(grid, images=images)
    folder, records = spec_dir(out), []
    for s in specs:
        f = folder / f"{s.id}.json"
        if not f.exists():
            raise FileNotFoundError(f"{f}: specification {s.id} ({s.group}: {s.text}) has not been run: "
                                    "run `make robustness` (with the same RELEASE, EMBEDDINGS and OUT).")
        records.append(json.loads(f.read_text()))
    table, summary = tabulate(specs, records, not_run=_not_run(grid, images))
    run = RunLayout.published(out)
    atomic_write(run.table("robustness"), lambda tmp: spreadsheet_safe(table).to_csv(tmp, index=False))
    atomic_write(run.table("robustness_summary"), lambda tmp: spreadsheet_safe(summary).to_csv(tmp, index=False))
    return table, summary


def results_for(out: str | os.PathLike | None, release=None, embeddings=None,
                grid_path=None) -> tuple[str, pd.DataFrame, pd.DataFrame, set]:
    """What notebook 12 shows: the results of ``make robustness`` under ``out`` when they were made
    from ``release`` (``"full"``), else the small grid run here (``"small"``, :func:`run_small`).

    Returns ``(source, table, summary, made_from)``; ``made_from`` is the set of releases of the
    results found under ``out`` (empty when there are none).
    """
    run = RunLayout.published(out)
    full, summary_file = run.table("robustness"), run.table("robustness_summary")
    made_from: set = set()
    if full.exists() and summary_file.exists():
        table = pd.read_csv(full, dtype={"mostly": str})
        made_from = set(table["release"].astype(str))
        if made_from == {str(paths.release_file(release))}:
            return "full", table, pd.read_csv(summary_file), made_from
    table, summary = run_small(grid_path, release, embeddings)
    return "small", table, summary, made_from
