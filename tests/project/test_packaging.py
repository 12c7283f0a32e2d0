"""pyproject.toml tells the truth: every import of the package and the notebooks is declared, the extras are the
environment's layers, the locks satisfy what pyproject asks, and pandas stays below the version that breaks
jupyter-scatter."""
from __future__ import annotations

import ast
import json
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

from twigma import paths

PYPROJECT = tomllib.loads((paths.ROOT / "pyproject.toml").read_text())["project"]
ENV = paths.ROOT / "env"

#: which extras make up each layer of the Makefile's environment (its hand-edited file)
LAYERS = {"requirements.in": (None, "lab", "report", "bench", "dask"), "requirements-embed.in": ("embed",),
          "requirements-test.in": ("test",)}


def _name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(*groups: str | None) -> dict[str, Requirement]:
    """name -> requirement of the dependencies (None) and the named extras."""
    out = {}
    for group in groups:
        reqs = PYPROJECT["dependencies"] if group is None else PYPROJECT["optional-dependencies"][group]
        for text in reqs:
            req = Requirement(text)
            out[_name(req.name)] = req
    return out


def _everything_declared() -> set[str]:
    """The names of the dependencies and of every extra, with what an extra of a requirement brings by name
    (dask[distributed]: distributed)."""
    declared = set(_declared(None, *PYPROJECT["optional-dependencies"]))
    return declared | ({"distributed"} if "dask" in declared else set())


def _layer_names(file: str) -> set[str]:
    names = set()
    for line in (ENV / file).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names.add(_name(Requirement(line).name))
    return names


def _locked() -> dict[str, Version]:
    pins = {}
    for lock in ("requirements.txt", "requirements-embed.txt", "requirements-test.txt"):
        for m in re.finditer(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==(\S+)", (ENV / lock).read_text(), re.M):
            pins[_name(m.group(1))] = Version(m.group(2))
    return pins


def _imports_of_package(folder: str = "src/twigma") -> dict[str, set[str]]:
    """top-level module -> the files of ``folder`` importing it."""
    found: dict[str, set[str]] = {}
    for f in (paths.ROOT / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for n in names:
                found.setdefault(n.split(".")[0], set()).add(str(f.relative_to(paths.ROOT)))
    return found


def _imports_of_notebooks() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for nb in sorted(paths.NOTEBOOKS.glob("*.ipynb")):
        for cell in json.loads(nb.read_text())["cells"]:
            if cell["cell_type"] == "code":
                source = "".join(cell["source"])
                for m in re.finditer(r"^\s*(?:from|import)\s+([A-Za-z_][\w.]*)", source, re.M):
                    found.setdefault(m.group(1).split(".")[0], set()).add(nb.name)
    return found


def _third_party(found: dict[str, set[str]]) -> dict[str, set[str]]:
    return {m: files for m, files in found.items() if m not in sys.stdlib_module_names and m != "twigma"}


def test_every_import_of_the_package_and_the_notebooks_is_declared():
    """Each third-party module imported anywhere in src/twigma or a notebook comes from a distribution that
    pyproject.toml declares, as a dependency or in the extra of its layer (the module -> distribution map is the
    installed environment's own, importlib.metadata.packages_distributions)."""
    declared = _everything_declared()
    owners = metadata.packages_distributions()
    imports = _third_party(_imports_of_package())
    for module, files in _third_party(_imports_of_notebooks()).items():
        imports.setdefault(module, set()).update(files)
    assert {"pandas", "pymannkendall", "yaml", "joblib", "wordcloud", "IPython"} <= set(imports)  # the scan sees
    missing = {}
    for module, files in sorted(imports.items()):
        dists = {_name(d) for d in owners.get(module, [])}
        assert dists, f"{module} (imported by {sorted(files)}) is not installed in this environment"
        if not dists & declared:
            missing[module] = (sorted(dists), sorted(files))
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_running_a_notebook_needs_nothing_but_the_dependencies():
    """`twigma run-notebook` starts the python3 kernel (ipykernel) and papermill; the notebooks import
    wordcloud and IPython: all plain dependencies, not extras, so `pip install .` runs a notebook."""
    plain = set(_declared(None))
    assert {"ipykernel", "papermill", "nbformat", "jupyter-client", "wordcloud", "ipython", "pymannkendall",
            "pyyaml", "joblib"} <= plain


def test_the_extras_are_the_layers_of_the_environment():
    """The base layer's hand-edited file names exactly the dependencies and the extras lab, report and dask; the
    embedding layer's names the embed extra; the test layer's the test extra."""
    for file, groups in LAYERS.items():
        assert _layer_names(file) == set(_declared(*groups)), (
            f"env/{file} and pyproject.toml's {groups} differ: "
            f"only in {file}: {sorted(_layer_names(file) - set(_declared(*groups)))}, "
            f"only in pyproject: {sorted(set(_declared(*groups)) - _layer_names(file))}")
    assert set(PYPROJECT["optional-dependencies"]) == {g for gs in LAYERS.values() for g in gs if g}


def test_the_locked_versions_satisfy_pyproject():
    """Every declared requirement admits the version the locks install (so the lower bounds and caps are not
    fiction): each declared name is locked, at a version inside its specifier."""
    locked = _locked()
    for name, req in _declared(None, *PYPROJECT["optional-dependencies"]).items():
        assert name in locked, f"{name} is declared in pyproject.toml but in no lock"
        assert req.specifier.contains(locked[name], prereleases=True), f"{name}=={locked[name]} is outside {req}"


def test_pandas_is_capped_below_the_version_that_breaks_jupyter_scatter():
    """jupyter-scatter (notebook 10's map) passes pandas the inplace= argument that pandas 3.1 deprecates for
    removal in pandas 4 (a Pandas4Warning): pandas 4 is excluded, the locked pandas admitted."""
    import importlib.util

    package = Path(importlib.util.find_spec("jscatter").origin).parent  # read, not imported: no warnings
    source = "".join(p.read_text() for p in package.rglob("*.py"))
    assert "inplace=True" in source  # the call pandas 4 removes
    pandas = _declared(None)["pandas"]
    assert not pandas.specifier.contains("4.0.0") and pandas.specifier.contains(_locked()["pandas"])


def test_nothing_declared_goes_unused():
    """pooch was declared while nothing imported it: each plain dependency is imported by the package or a
    notebook, or is what runs them (the kernel and its parts); psutil, which only the benchmarks import, is the
    bench extra alone, and the benchmarks' imports are declared too."""
    owners = metadata.packages_distributions()
    imported = set(_third_party(_imports_of_package())) | set(_third_party(_imports_of_notebooks()))
    used = {_name(d) for m in imported for d in owners.get(m, [])}
    runtime = {"ipykernel", "nbclient", "numba", "anywidget"}  # started or loaded, not imported by name
    unused = set(_declared(None)) - used - runtime
    assert not unused, f"declared but never imported: {sorted(unused)}"
    assert "pooch" not in _layer_names("requirements.in") and "psutil" not in _declared(None)
    bench = set(_third_party(_imports_of_package("bench")))
    assert "psutil" in bench
    declared = _everything_declared()
    assert all({_name(d) for d in owners.get(m, [])} & declared for m in bench if m in owners), (
        f"bench/ imports something undeclared: {sorted(m for m in bench if m in owners and not {_name(d) for d in owners[m]} & declared)}")
