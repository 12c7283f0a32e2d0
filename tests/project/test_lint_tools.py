"""pre-commit and make lint are one set of checks: the hooks of .pre-commit-config.yaml run the tools make lint
runs, from .venv, at the versions the test lock pins; the hooks strip a notebook's outputs keeping its cell ids,
and make lint refuses a notebook with outputs."""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from support.repo_copy import repository_copy

from twigma import paths

CONFIG = paths.ROOT / ".pre-commit-config.yaml"
VENV_BIN = paths.ROOT / ".venv" / "bin"


def _hooks() -> dict[str, dict]:
    config = yaml.safe_load(CONFIG.read_text())
    return {h["id"]: h for repo in config["repos"] for h in repo["hooks"]}


def _lint_recipe() -> str:
    make = (paths.ROOT / "Makefile").read_text()
    return re.search(r"^lint:.*\n((?:\t.*\n)+)", make, re.M).group(1)


def test_the_hooks_are_the_checks_of_make_lint():
    """Each hook runs a tool of .venv that make lint runs, with the same options (nbstripout keeps cell ids), and
    make lint runs no tool that has no hook; the tools are among those make lint installs from the test lock."""
    hooks = _hooks()
    assert set(hooks) == {"ruff", "nbstripout", "mypy"}
    recipe = _lint_recipe()
    ran = set(re.findall(r"\$\(VENV\)/bin/([\w-]+)", recipe))
    assert ran == set(hooks)
    for hook_id, hook in hooks.items():
        assert hook["language"] == "system"
        tool, *options = hook["entry"].split()
        assert tool == f".venv/bin/{hook_id}"
        for option in options:
            if option != "--force-exclude":  # a pre-commit-only option: ruff would otherwise lint excluded files
                assert option in recipe, f"{hook_id}'s option {option} is not in make lint"
    assert "--keep-id" in hooks["nbstripout"]["entry"].split()
    lint_tools = re.search(r"^LINT_TOOLS := (.*)$", (paths.ROOT / "Makefile").read_text(), re.M).group(1).split()
    assert set(hooks) | {"pre-commit"} <= set(lint_tools)
    locked = (paths.ROOT / "env" / "requirements-test.txt").read_text()
    for tool in lint_tools:
        assert re.search(rf"^{re.escape(tool)}==", locked, re.M | re.I), f"{tool} is not pinned in the test lock"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"})


def _with_outputs(nb_path: Path) -> list[str]:
    """Give the first code cell of a notebook an output and an execution count (as a saved run leaves it);
    return the cell ids."""
    nb = json.loads(nb_path.read_text())
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
    cell["execution_count"] = 3
    cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["printed\n"]}]
    nb_path.write_text(json.dumps(nb, indent=1))
    return [c["id"] for c in nb["cells"]]


@pytest.mark.slow  # pre-commit over every file of a copy
@pytest.mark.skipif(not (VENV_BIN / "pre-commit").exists(), reason="needs make lint's tools in .venv")
def test_pre_commit_passes_on_the_repository_and_strips_a_notebook_keeping_its_ids(tmp_path):
    """In a git copy of the tracked files: `pre-commit run --all-files` passes (mypy skipped here: make lint runs
    it on every test run); a notebook saved with outputs is stripped by the nbstripout hook, which fails the
    commit as pre-commit does when a hook changes files, and keeps every cell id."""
    repo = repository_copy(tmp_path / "repo")
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "SKIP": "mypy"}
    pre_commit = [str(VENV_BIN / "pre-commit"), "run"]
    r = subprocess.run([*pre_commit, "--all-files"], cwd=repo, env=env, capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"^ruff .*Passed$", r.stdout, re.M) and re.search(r"^nbstripout .*Passed$", r.stdout, re.M)

    nb = repo / "notebooks" / "01_growth.ipynb"
    ids = _with_outputs(nb)
    _git(repo, "add", "notebooks/01_growth.ipynb")
    r = subprocess.run([*pre_commit, "nbstripout", "--files", "notebooks/01_growth.ipynb"], cwd=repo, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "files were modified by this hook" in r.stdout, r.stdout
    stripped = json.loads(nb.read_text())
    assert [c["id"] for c in stripped["cells"]] == ids
    code = [c for c in stripped["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert stripped["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.slow  # make lint in a copy
@pytest.mark.skipif(not (VENV_BIN / "nbstripout").exists(), reason="needs make lint's tools in .venv")
def test_make_lint_refuses_a_notebook_with_outputs(tmp_path):
    """make lint's nbstripout check fails on a notebook saved with outputs, names it and says how to strip it."""
    repo = repository_copy(tmp_path / "repo")
    _with_outputs(repo / "notebooks" / "03_theme_shift.ipynb")
    r = subprocess.run(["make", "--no-print-directory", "lint"], cwd=repo, capture_output=True, text=True,
                       timeout=600, env={**os.environ, paths.ROOT_ENV: str(repo)})
    assert r.returncode != 0
    assert "03_theme_shift.ipynb" in r.stdout + r.stderr
    assert "nbstripout --keep-id" in r.stderr
