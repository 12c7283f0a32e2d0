"""Tests of twigma.synthetic.release: a seeded generator of synthetic tables in the TWIGMA release's format."""
from __future__ import annotations

import ast
import graphlib
import hashlib
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from twigma import paths
from twigma.release import REQUIRED, is_synthetic, load_release, validate
from twigma.synthetic.release import SAMPLE_N_IMAGES, TWITTER_EPOCH_MS, generate_release, make_sample


@pytest.fixture(scope="module")
def sample():
    return validate(generate_release(SAMPLE_N_IMAGES))


def _run_python(code: str, root) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter whose compendium root is ``root``."""
    env = {**os.environ, "TWIGMA_ROOT": str(root)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


def _package_imports() -> dict[str, set[str]]:
    """Module -> the package modules it imports (top-level and inside functions), from the source."""
    src = paths.ROOT / "src"
    modules = {".".join(p.relative_to(src).with_suffix("").parts).removesuffix(".__init__"): p
               for p in (src / "twigma").rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{base}.{node.module}" if node.module else base
                else:
                    base = node.module or ""
                for alias in node.names:  # "from . import paths" names a module, "from .x import f" does not
                    target = f"{base}.{alias.name}"
                    graph[mod].add(target if target in modules else base)
            elif isinstance(node, ast.Import):
                graph[mod].update(a.name for a in node.names)
        graph[mod] = {t for t in graph[mod] if t in modules and t != mod}
    return graph


def test_same_seed_same_table_and_same_bytes(tmp_path):
    a, b = generate_release(2000, seed=3), generate_release(2000, seed=3)
    pd.testing.assert_frame_equal(a, b)
    p1 = make_sample(tmp_path / "a.csv.gz", n_images=2000, seed=3)
    p2 = make_sample(tmp_path / "b.csv.gz", n_images=2000, seed=3)
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert digest(p1) == digest(p2)
    assert not generate_release(2000, seed=4).equals(a)


def test_embedded_sample_is_large_enough_and_in_release_format(sample):
    assert len(sample) == SAMPLE_N_IMAGES >= 20_000
    assert list(sample.columns) == REQUIRED
    assert sample["image_name"].is_unique
    n_tweets = sample["id"].nunique()
    assert n_tweets < len(sample)  # some tweets carry several images
    assert sample.groupby("id").size().max() == 4  # Twitter's limit


def test_ids_are_19_digit_snowflakes_consistent_with_created_at(sample):
    assert sample["id"].str.fullmatch(r"\d{19}").all()
    ms = (sample["id"].astype("int64").to_numpy() >> 22) + TWITTER_EPOCH_MS
    created_s = sample["created_at"].astype("int64").to_numpy() // 1_000_000  # whole seconds, as Twitter writes
    assert (ms // 1000 == created_s).all()
    media_ms = (sample["image_name"].astype("int64").to_numpy() >> 22) + TWITTER_EPOCH_MS
    assert (media_ms < ms).all()  # images are uploaded before the tweet is sent


def test_engagement_missing_per_tweet_for_a_few_percent(sample):
    per_tweet = sample.groupby("id")["like_count"].agg(lambda s: s.isna().mean())
    assert set(per_tweet.unique()) <= {0.0, 1.0}  # all images of a tweet share it
    assert 0.02 <= per_tweet.mean() <= 0.07
    likes = sample["like_count"].dropna().astype(float)
    assert likes.max() > 50 * likes.median() + 100  # heavy tail


def test_growth_and_theme_shifts(sample):
    month = sample["created_at"].dt.strftime("%Y-%m")
    assert month.min() == "2021-01" and month.max() == "2023-03"
    per_month = sample.groupby(month)["id"].nunique()
    assert per_month.iloc[-6:].mean() > 5 * per_month.iloc[:6].mean()
    year = sample["created_at"].dt.year
    share = pd.crosstab(year, sample["label_10_cluster"], normalize="index")
    for k in (1, 3, 4):
        assert share.loc[2023, k] < share.loc[2021, k]
    for k in (8, 9):
        assert share.loc[2023, k] > share.loc[2021, k]


def test_two_clusters_mostly_nsfw_and_umap_clustered_by_label(sample):
    above = (sample["nsfw_score"] > 0.5).groupby(sample["label_10_cluster"]).mean()
    assert (above > 0.5).sum() == 2
    centres = sample.groupby("label_10_cluster")[["UMAP_dim_1", "UMAP_dim_2"]].mean()
    spread = sample.groupby("label_10_cluster")[["UMAP_dim_1", "UMAP_dim_2"]].std().mean().mean()
    d = np.sqrt(((centres.to_numpy()[:, None] - centres.to_numpy()[None]) ** 2).sum(-1))
    assert d[np.triu_indices(10, 1)].min() > spread


def test_captions_are_blip_like_and_vary_by_cluster(sample):
    assert sample["all_captions"].str.len().between(5, 200).all()
    cats = sample.loc[sample["label_10_cluster"] == 3, "all_captions"].str.contains(r"\bcat\b").mean()
    others = sample.loc[sample["label_10_cluster"] != 3, "all_captions"].str.contains(r"\bcat\b").mean()
    assert cats > 0.2 and others == 0


def test_scales_to_benchmark_size_quickly():
    df = generate_release(200_000, seed=1)
    assert len(df) == 200_000 and df["id"].nunique() < 200_000


def test_make_sample_writes_a_file_marked_synthetic(tmp_path):
    p = make_sample(tmp_path / "s.csv.gz", n_images=500, seed=3)
    assert is_synthetic(p)
    assert load_release(p, cache=False).attrs["synthetic"]


def test_readers_never_generate_the_sample(tmp_path):
    """An empty RELEASE or EMBEDDINGS with no sample made gives a clear error and writes nothing."""
    code = textwrap.dedent("""
        from twigma.release import load_release, ReleaseError
        from twigma.embeddings.store import folder_for, StoreError
        try:
            load_release("")
        except ReleaseError as e:
            print("RELEASE:", e)
        try:
            folder_for("", "")
        except StoreError as e:
            print("STORE:", e)
    """)
    r = _run_python(code, tmp_path)
    assert r.returncode == 0, r.stderr
    assert "RELEASE:" in r.stdout and "STORE:" in r.stdout
    assert r.stdout.count("make sample") == 2 and "has not been made yet" in r.stdout
    assert not any(tmp_path.rglob("*")), "a reader wrote files"


def test_readers_do_not_import_the_generators():
    code = ("import sys, twigma.release, twigma.embeddings.store, twigma.embeddings.neighbors, twigma.present.outputs\n"
            "print(sorted(m for m in sys.modules if m.startswith('twigma.synthetic')))")
    r = _run_python(code, paths.ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_the_package_has_no_import_circles():
    graph = _package_imports()
    assert {"twigma.release", "twigma.embeddings.store"} <= graph["twigma.synthetic.embeddings"]  # generators sit above readers
    try:
        list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        pytest.fail(f"import circle: {' -> '.join(exc.args[1])}")
    for reader in ("twigma.release", "twigma.embeddings.store"):
        assert not any(t.startswith("twigma.synthetic") for t in graph[reader])
