"""What ``pip install -c <lock> <package>`` would put beside a package, taken from this environment's files
instead of an index: the package's requirements followed through every dependency's own (markers evaluated
here, extras followed), each checked against the pinned lock the way pip resolves under constraints (the lock
pins it, the pin satisfies every requirement on it, and the installed version is the pin), then a folder of
links to exactly those distributions' files. A fresh venv whose .pth names that folder imports the declared
dependencies and nothing else of this environment: not its editable twigma, its extras or its test tools."""
from __future__ import annotations

import csv
import os
import re
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(lock: Path) -> dict[str, str]:
    return {_name(m.group(1)): m.group(2) for m in
            re.finditer(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==(\S+)", lock.read_text(), re.M)}


def resolve(requires: list[str], lock: Path, site: Path, needed_by: str) -> dict[str, metadata.Distribution]:
    """name -> installed distribution (in ``site``) of everything ``requires`` needs, transitively. Raises
    AssertionError naming the requirement that pip, constrained by ``lock``, could not meet with what ``site`` holds."""
    installed = {_name(d.metadata["Name"]): d for d in metadata.distributions(path=[str(site)])}
    pins = _pins(lock)
    extras_done: dict[str, set[str]] = {}
    todo = [(Requirement(r), needed_by, "") for r in requires]
    while todo:
        req, by, by_extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": by_extra}):
            continue
        name = _name(req.name)
        assert name in pins, f"{req} (needed by {by}) is not pinned in {lock.name}: pip would pick any version"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"{lock.name} pins {name}=={pins[name]}, outside {req} (needed by {by}): pip -c {lock.name} fails")
        dist = installed.get(name)
        assert dist is not None and Version(dist.version) == Version(pins[name]), (
            f"{name}=={pins[name]} (pinned in {lock.name}) is not what {site} holds "
            f"({dist.version if dist else 'nothing'}): the environment is not built from the lock")
        new = ({""} | set(req.extras)) - extras_done.get(name, set())
        extras_done[name] = extras_done.get(name, set()) | new
        todo += [(Requirement(r), name, e) for r in dist.requires or [] for e in sorted(new)]
    return {n: installed[n] for n in extras_done}


def _files(dist: metadata.Distribution) -> list[tuple[str, ...]]:
    """The paths the distribution installed inside its site-packages (its RECORD), as tuples of parts."""
    record = dist.read_text("RECORD")
    assert record is not None, f"{dist.metadata['Name']} has no RECORD: its files are not known"
    return [tuple(row[0].split("/")) for row in csv.reader(record.splitlines())
            if row and not row[0].startswith("..")]  # .. : scripts and data outside site-packages


def link_view(dists: dict[str, metadata.Distribution], site: Path, dest: Path) -> Path:
    """``dest`` with a link to each top-level file or folder of ``dists`` in ``site``; a top-level name that other
    distributions of ``site`` share (``__pycache__``, namespace packages) becomes a folder of links to the files
    of ``dists`` alone."""
    owners: dict[str, set[str]] = {}
    files = {}
    for d in metadata.distributions(path=[str(site)]):
        name = _name(d.metadata["Name"])
        files[name] = _files(d)
        for parts in files[name]:
            owners.setdefault(parts[0], set()).add(name)
    dest.mkdir(parents=True)
    for name in dists:
        for parts in files[name]:
            if owners[parts[0]] <= set(dists):
                parts = parts[:1]
            target = dest.joinpath(*parts)
            if not os.path.lexists(target) and (site.joinpath(*parts)).exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(site.joinpath(*parts))
    return dest
