"""The package's shape: one root for the errors a user can cause, one reader of each setting."""
import importlib
import inspect
import pkgutil
from pathlib import Path

import twigma
from twigma import paths
from twigma.errors import UserError

SRC = Path(twigma.__file__).parent


def _modules():
    for m in pkgutil.walk_packages(twigma.__path__, "twigma."):
        if not m.name.endswith("__main__"):
            yield importlib.import_module(m.name)


def test_every_public_error_class_of_the_package_is_a_user_error():
    errors = {}
    for mod in _modules():
        for name, obj in vars(mod).items():
            if (inspect.isclass(obj) and issubclass(obj, Exception) and not issubclass(obj, Warning)
                    and obj.__module__ == mod.__name__
                    and not name.startswith("_")):
                errors[f"{mod.__name__}.{name}"] = obj
    assert len(errors) >= 10  # ReleaseError, StoreError, EmbedError, FetchError, ... (the test sees them all)
    not_user = [n for n, cls in errors.items() if not issubclass(cls, UserError)]
    assert not not_user, f"errors a user can cause that do not derive from twigma.errors.UserError: {not_user}"


def test_the_cache_folder_variable_is_read_in_one_place(monkeypatch, tmp_path):
    readers = [p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py") if '"TWIGMA_CACHE_DIR"' in p.read_text()]
    assert readers == ["paths.py"]
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path))
    assert paths.cache_root() == tmp_path
    monkeypatch.delenv(paths.CACHE_ENV)
    assert paths.cache_root() == paths.INTERIM


def test_a_run_layout_names_every_folder_under_its_root(tmp_path):
    run = paths.RunLayout.published(tmp_path)
    assert run.results == tmp_path / "results" and run.figures == tmp_path / "figures"
    assert run.build == tmp_path / "build" and run.report == tmp_path / "report"
    assert run.claims_csv == run.results / "claims.csv" and run.manifest == run.results / "provenance.json"
    assert run.figure("03_cluster_shares", "pdf") == tmp_path / "figures" / "03_cluster_shares.pdf"
    assert paths.RunLayout.published("").root == paths.ROOT
