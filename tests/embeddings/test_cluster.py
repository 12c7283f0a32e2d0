"""Tests of twigma.embeddings.cluster: the image analyses on a Dask cluster: which cluster, sharded exact search, tree-reduced sums."""
from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from support.vectors import unit32

from twigma.analysis import variability
from twigma.embeddings import cluster, neighbors

pytestmark = pytest.mark.embedding_layer

# distributed: imported when a test of this file runs, not when the file is collected (make test-fast collects
# it only to deselect it); find_spec looks for them without importing them
if importlib.util.find_spec("distributed") is None:
    pytest.skip("needs dask.distributed (env/requirements.txt)", allow_module_level=True)
distributed = None  # the module, once _embedding_layer has run


@pytest.fixture(autouse=True, scope="module")
def _embedding_layer():
    global distributed
    distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(20, 64))
    Q = unit32(centres[rng.integers(0, 20, 1300)] + 0.9 * rng.normal(size=(1300, 64))).astype(np.float16)
    R = unit32(centres[rng.integers(0, 20, 3000)] + 0.9 * rng.normal(size=(3000, 64)))
    return Q, R


@pytest.fixture(scope="module")
def clusters():
    """Two in-process clusters (threads, no process start-up): 1 and 2 workers of one thread."""
    made = {n: distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=False, dashboard_address=None)
            for n in (1, 2)}
    yield {n: c.scheduler_address for n, c in made.items()}
    cluster.close()
    for c in made.values():
        c.close()


@pytest.fixture
def use(monkeypatch):
    """use(address or "") sets SCHEDULER for the test; the client is closed afterwards."""
    def set_(value):
        cluster.close()
        monkeypatch.setenv(cluster.ENV, value)
    yield set_
    cluster.close()


KILLED = r"""
import sys, time
import numpy as np
from twigma.embeddings import cluster, neighbors
real = cluster._shard_task
def slow(*a):
    time.sleep(0.4)
    return real(*a)
cluster._shard_task = slow
Q, R = np.load(sys.argv[1]), np.load(sys.argv[2])
neighbors.topk_cosine(Q, R, 4, shard_rows=100, work_dir=sys.argv[3])
"""


def test_same_neighbours_on_1_and_2_workers_any_shards_and_in_one_process(data, clusters, use, tmp_path):
    Q, R = data
    use("")
    one_process = neighbors.topk_cosine(Q, R, 7)  # one block, in memory
    assert one_process.n_shards == 1
    runs = {}
    for n in (1, 2):
        use(clusters[n])
        for shard_rows in (128, 500):
            runs[n, shard_rows] = got = neighbors.topk_cosine(Q, R, 7, shard_rows=shard_rows,
                                                             work_dir=tmp_path / f"{n}-{shard_rows}")
            assert f"Dask cluster of {n} worker" in got.backend and got.n_shards == -(-len(Q) // shard_rows)
            assert not (tmp_path / f"{n}-{shard_rows}").exists()  # shards removed once joined
    use("")
    runs["in this process"] = neighbors.topk_cosine(Q, R, 7, shard_rows=300, work_dir=tmp_path / "local")
    assert "in this process" in runs["in this process"].backend
    for got in runs.values():
        np.testing.assert_array_equal(got.indices, one_process.indices)
        np.testing.assert_array_equal(got.scores, one_process.scores)
    # and right: against float64 brute force
    exact = unit32(Q.astype(np.float64)).astype(np.float64) @ R.astype(np.float64).T
    np.testing.assert_array_equal(one_process.indices, np.argsort(-exact, axis=1, kind="stable")[:, :7])


def test_numpy_and_torch_workers_agree(data, clusters, use):
    Q, R = data
    use(clusters[2])
    a = neighbors.topk_cosine(Q, R, 3, backend="numpy", shard_rows=400)
    b = neighbors.topk_cosine(Q, R, 3, backend="torch", precision="bfloat16-screened", shard_rows=400)
    assert a.backend.startswith("numpy float32") and b.backend.startswith("torch bfloat16")
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.scores, b.scores)


def test_a_run_stopped_after_two_shards_resumes_with_them(data, clusters, use, tmp_path, monkeypatch):
    Q, R = data
    use(clusters[2])
    real = cluster._write_shard
    written = []

    def dies_after_two(work, j, result):
        if len(written) == 2:
            raise KeyboardInterrupt("the run is killed")
        written.append(j)
        real(work, j, result)

    monkeypatch.setattr(cluster, "_write_shard", dies_after_two)
    with pytest.raises(KeyboardInterrupt):
        neighbors.topk_cosine(Q, R, 4, shard_rows=200, work_dir=tmp_path / "w")
    assert sorted(p.name for p in (tmp_path / "w").glob("shard-*.npz")) == [f"shard-{j:05d}.npz" for j in sorted(written)]
    monkeypatch.setattr(cluster, "_write_shard", real)
    got = neighbors.topk_cosine(Q, R, 4, shard_rows=200, work_dir=tmp_path / "w")
    assert got.shards_reused == 2 and got.n_shards == 7
    use("")
    ref = neighbors.topk_cosine(Q, R, 4)
    np.testing.assert_array_equal(got.indices, ref.indices)
    np.testing.assert_array_equal(got.scores, ref.scores)


def test_a_killed_process_resumes_without_recomputing_finished_shards(data, tmp_path, use, monkeypatch):
    Q, R = data
    use("")
    np.save(tmp_path / "q.npy", Q)
    np.save(tmp_path / "r.npy", R)
    work = tmp_path / "shards"
    env = {**os.environ, cluster.ENV: ""}
    proc = subprocess.Popen([sys.executable, "-c", KILLED, tmp_path / "q.npy", tmp_path / "r.npy", work], env=env)
    deadline = time.time() + 60
    while len(list(work.glob("shard-*.npz"))) < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = len(list(work.glob("shard-*.npz")))
    assert 3 <= done < 13, "the run was not killed in the middle"
    computed = []
    real = cluster._shard_task
    monkeypatch.setattr(cluster, "_shard_task", lambda *a: computed.append(1) or real(*a))
    got = neighbors.topk_cosine(Q, R, 4, shard_rows=100, work_dir=work)
    assert got.shards_reused == done and len(computed) == 13 - done
    ref = neighbors.topk_cosine(Q, R, 4)
    np.testing.assert_array_equal(got.indices, ref.indices)
    np.testing.assert_array_equal(got.scores, ref.scores)


def test_dispersion_on_the_cluster_equals_one_process(clusters, use, monkeypatch):
    rng = np.random.default_rng(4)
    X = (rng.normal(size=(2500, 32)) + 0.7).astype(np.float16)
    groups = rng.integers(0, 4, len(X))
    use("")
    single = (variability.dispersion(X), variability.dispersion_ci(X, n_boot=50, seed=1, chunk=100),
              variability.dispersion_table(X, groups, n_boot=30), variability._sums(X, chunk=100))
    monkeypatch.setattr(cluster, "SUM_ROWS", 300)  # 9 shards of 3 chunks each: a tree of 4 levels
    calls = []
    real = cluster.tree_sum
    monkeypatch.setattr(cluster, "tree_sum", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    for n in (1, 2):
        use(clusters[n])
        assert abs(variability.dispersion(X) - single[0]) <= 1e-9
        np.testing.assert_allclose(variability.dispersion_ci(X, n_boot=50, seed=1, chunk=100), single[1],
                                   rtol=0, atol=1e-9)
        table = variability.dispersion_table(X, groups, n_boot=30)
        np.testing.assert_allclose(table.to_numpy(dtype=float), single[2].to_numpy(dtype=float), rtol=0, atol=1e-9)
        s, count = variability._sums(X, chunk=100)
        assert count == len(X)
        np.testing.assert_allclose(s, single[3][0], rtol=1e-13)
    assert calls  # the cluster did the sums


def test_tree_sum_adds_tuples_in_a_fixed_tree(clusters, use):
    X = np.arange(1000, dtype=np.float64)[:, None] * np.ones((1, 3))
    w = np.linspace(0, 1, 1000)
    use(clusters[2])
    total, n = cluster.tree_sum(lambda x, w: ((x * w[:, None]).sum(axis=0), len(x)), X, split={"w": (w, 0)},
                                shard_rows=77)
    assert n == 1000
    np.testing.assert_allclose(total, (X * w[:, None]).sum(axis=0), rtol=1e-13)


def test_settings():
    assert cluster.parse("") is None and cluster.parse("  ") is None
    assert cluster.parse("local:3") == ("local", 3)
    assert cluster.parse("tcp://10.0.0.5:8786") == ("address", "tcp://10.0.0.5:8786")
    for bad in ("local", "local:0", "local:two"):
        with pytest.raises(cluster.SchedulerError, match="local:N"):
            cluster.parse(bad)


def test_an_address_where_no_scheduler_answers_says_what_to_do(use, monkeypatch):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", "1s")
    use("tcp://127.0.0.1:9")
    with pytest.raises(cluster.SchedulerError, match="no Dask scheduler answered"):
        cluster.client()


def test_local_n_starts_worker_processes_and_gives_the_same_result(data, use):
    """SCHEDULER=local:2: a LocalCluster of two worker processes, started on first use, closed after."""
    Q, R = data
    use("")
    ref = neighbors.topk_cosine(Q, R, 2)
    use("local:2")
    got = neighbors.topk_cosine(Q, R, 2, shard_rows=700)
    assert "Dask cluster of 2 workers" in got.backend
    np.testing.assert_array_equal(got.indices, ref.indices)
    np.testing.assert_array_equal(got.scores, ref.scores)
    # the dispersion on worker processes, estimate and bootstrap ends, to 1e-9 (float64 sums and products: BLAS
    # with one thread per worker adds in another order, which float32 products would show at about 1e-7)
    rng = np.random.default_rng(5)
    X = (rng.normal(size=(3000, 32)) + 0.5).astype(np.float16)
    on_cluster = variability.dispersion_ci(X, n_boot=40, seed=2, chunk=500)
    lc = cluster._STATE["cluster"]
    cluster.close()
    use("")
    here = variability.dispersion_ci(X, n_boot=40, seed=2, chunk=500)
    assert abs(on_cluster[0] - here[0]) <= 1e-9
    np.testing.assert_allclose(on_cluster[1:], here[1:], rtol=0, atol=1e-9)
    assert lc.status.name == "closed"


def test_make_passes_scheduler_to_the_notebooks_and_embed_as_one_variable():
    import shutil
    from pathlib import Path

    if not shutil.which("make"):
        pytest.skip("make is not installed")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(["make", "-n", "-B", "figures", "embeddings", "IMAGES=imgs", "SOURCE=twigma",
                          "SCHEDULER=tcp://10.0.0.5:8786"], cwd=root, capture_output=True, text=True).stdout
    runs = [line for line in out.splitlines() if "run-notebook" in line or "twigma embed" in line]
    assert any("twigma embed" in line for line in runs) and any("08_likes_similarity" in line for line in runs)
    assert all(f'{cluster.ENV}="tcp://10.0.0.5:8786"' in line for line in runs)
