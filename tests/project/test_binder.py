"""Binder and conda: repo2docker renders a build from the repository's own files, environment.yml installs the
locked base layer, and postBuild leaves the sample and its embeddings in place, so the notebooks open ready."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support.repo_copy import tracked_copy

from twigma import paths

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent


def test_repo2docker_renders_the_binder_build_from_environment_yml_and_postbuild(tmp_path):
    """`repo2docker --no-build --debug` prints the Dockerfile Binder would build, without Docker (its
    documented way to inspect a build: https://repo2docker.readthedocs.io/en/latest/usage.html, "--no-build").
    It picks the conda buildpack for environment.yml's Python 3.11, installs environment.yml after the
    repository is copied in (its pip section names files of the repository) and then runs postBuild."""
    repo = tracked_copy(tmp_path / "repo")
    r = subprocess.run([str(BIN / "repo2docker"), "--no-build", "--debug", "--user-id", "1000", "--user-name",
                        "jovyan", str(repo)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    said = r.stdout + r.stderr
    assert "Building conda environment for python=3.11" in said
    dockerfile = said[said.index("FROM "):]
    copy = dockerfile.index("COPY --chown=1000:1000 src/ ${REPO_DIR}/")
    install = dockerfile.index('env update -p ${NB_PYTHON_PREFIX} --file "environment.yml"')
    post = re.search(r"RUN .*\./postBuild", dockerfile)
    assert post, "repo2docker did not pick up postBuild"
    assert copy < install < post.start()


def test_environment_yml_names_the_locked_layers():
    """environment.yml installs the base lock and the package (editable, so the package finds this checkout),
    and tells how to add the embedding and test layers from their locks."""
    text = (paths.ROOT / "environment.yml").read_text()
    env = yaml.safe_load(text)
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip == ["-r env/requirements.txt", "-e ."]
    assert "python=3.11" in env["dependencies"]
    for layer in ("env/requirements-embed.txt", "env/requirements-test.txt"):
        assert f"pip install -r {layer}" in text
        assert (paths.ROOT / layer).is_file()


def test_postbuild_makes_the_sample_its_embeddings_and_the_lab_settings(tmp_path):
    """What Binder runs after the environment: in a fresh copy (no data/sample/), postBuild writes the embedded
    sample and its embedding store, which load_release and the image notebooks then find, and JupyterLab's
    settings into the environment's application folder (JUPYTERLAB_DIR here, so .venv is left alone)."""
    repo = tracked_copy(tmp_path / "repo")
    assert not (repo / "data" / "sample").exists()
    lab = tmp_path / "lab"
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", paths.ROOT_ENV: str(repo),
           "JUPYTERLAB_DIR": str(lab)}
    assert os.access(repo / "postBuild", os.X_OK)
    r = subprocess.run(["./postBuild"], cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    sample = repo / "data" / "sample"
    assert (sample / "twigma_sample.csv.gz").stat().st_size > 0
    assert (sample / "embeddings" / "meta.json").is_file()
    assert (lab / "settings" / "overrides.json").read_text() == (paths.ROOT / "env" / "jupyterlab-overrides.json"
                                                                  ).read_text()
    check = subprocess.run([sys.executable, "-c", "from twigma.release import load_release; "
                            "print(len(load_release(columns=['id'])))"], cwd=repo, env=env, capture_output=True,
                           text=True, timeout=300)
    assert check.returncode == 0, check.stderr
    assert int(check.stdout.split()[-1]) > 0
