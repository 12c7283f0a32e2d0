"""Tests of twigma.cache: cached intermediate results: a slow computation is done once per distinct input."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from support.cache_entries import CALLS, entries, slow_sum

from twigma import cache
from twigma.analysis import distinctness


@pytest.fixture
def x():
    return np.random.default_rng(1).normal(size=(500, 8))




@pytest.mark.usefixtures("fresh_cache")
def test_location_follows_twigma_cache_dir(fresh_cache):
    assert cache.location() == fresh_cache


@pytest.mark.usefixtures("fresh_cache")
def test_hit_returns_the_same_result_without_recomputing(x, fresh_cache):
    first = cache.call(slow_sum, (x,), {"scale": 2.0})
    second = cache.call(slow_sum, (x,), {"scale": 2.0})
    assert len(CALLS) == 1
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(second, x.sum(axis=0) * 2.0)
    assert len(entries(fresh_cache)) == 1


@pytest.mark.usefixtures("fresh_cache")
def test_key_is_the_content_not_the_container(x, tmp_path):
    """A memory map of the same rows (as the store is read) is the same key as the array."""
    np.save(tmp_path / "x.npy", x)
    cache.call(slow_sum, (x,))
    cache.call(slow_sum, (np.load(tmp_path / "x.npy", mmap_mode="r"),))
    assert len(CALLS) == 1


@pytest.mark.usefixtures("fresh_cache")
@pytest.mark.parametrize("change", ["data", "scale", "offset", "version", "code"])
def test_a_change_of_data_parameter_version_or_code_misses(x, change):
    base = dict(args=(x,), kwargs={"scale": 2.0, "offset": 1}, versions={"numpy": "1"}, code=())
    cache.call(slow_sum, base["args"], base["kwargs"], versions=base["versions"])
    changed = dict(base, kwargs=dict(base["kwargs"]))
    if change == "data":
        y = x.copy()
        y[123, 4] += 1e-12  # one value, barely
        changed["args"] = (y,)
    elif change in ("scale", "offset"):
        changed["kwargs"][change] += 1
    elif change == "version":
        changed["versions"] = {"numpy": "2"}
    else:
        changed["code"] = [entries]  # the result now depends on another function's source
    out = cache.call(slow_sum, changed["args"], changed["kwargs"], versions=changed["versions"], code=changed["code"])
    assert len(CALLS) == 2
    np.testing.assert_array_equal(out, slow_sum(*changed["args"], **changed["kwargs"]))


@pytest.mark.usefixtures("fresh_cache")
def test_joint_umap_key_keeps_the_order_of_the_sources(x):
    a, b = x[:250], x[250:]
    k1 = cache.key(distinctness._joint_umap, ([("a", a), ("b", b)],))
    k2 = cache.key(distinctness._joint_umap, ([("b", b), ("a", a)],))
    assert k1 != k2


@pytest.mark.usefixtures("fresh_cache")
@pytest.mark.parametrize("damage", ["truncated", "flipped byte", "garbage"])
def test_a_damaged_entry_is_recomputed_and_replaced(x, fresh_cache, damage):
    good = cache.call(slow_sum, (x,))
    (entry,) = entries(fresh_cache)
    raw = entry.read_bytes()
    if damage == "truncated":
        entry.write_bytes(raw[: len(raw) // 2])
    elif damage == "flipped byte":  # still a readable pickle, but one stored value is wrong
        pos = raw.rindex(good.tobytes()) + 3
        entry.write_bytes(raw[:pos] + bytes([raw[pos] ^ 0xFF]) + raw[pos + 1:])
    else:
        entry.write_bytes(b"not a pickle")
    with pytest.warns(cache.CacheWarning, match="damaged"):
        again = cache.call(slow_sum, (x,))
    np.testing.assert_array_equal(again, good)
    assert len(CALLS) == 2
    cache.call(slow_sum, (x,))  # the replaced entry is a hit
    assert len(CALLS) == 2


@pytest.mark.usefixtures("fresh_cache")
def test_functions_defined_inside_functions_are_refused(x):
    def local(v):
        return v

    with pytest.raises(ValueError, match="top of a module"):
        cache.call(local, (x,))


@pytest.mark.usefixtures("fresh_cache")
def test_clear_removes_everything(x, fresh_cache):
    cache.call(slow_sum, (x,))
    cache.clear()
    assert not fresh_cache.exists()
    cache.call(slow_sum, (x,))
    assert len(CALLS) == 2


@pytest.mark.usefixtures("fresh_cache")
def test_two_processes_computing_the_same_entry_at_once(tmp_path, fresh_cache):
    """make -j2: both compute, neither reads half an entry, the entry left behind is valid."""
    data = tmp_path / "x.npy"
    np.save(data, np.arange(200_000, dtype=np.float64).reshape(-1, 4))
    script = textwrap.dedent(f"""
        import sys, numpy as np
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from twigma import cache
        from support import cache_entries
        x = np.load({str(data)!r})
        out = cache.call(cache_entries.slow_sum, (x,))
        print(float(out.sum()), len(cache_entries.CALLS))
    """)
    env = {**os.environ, "TWIGMA_CACHE_DIR": os.environ["TWIGMA_CACHE_DIR"]}
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e for _, e in outs]
    expected = float(np.arange(200_000, dtype=np.float64).sum())
    assert [float(o.split()[0]) for o, _ in outs] == [expected, expected]
    assert len(entries(fresh_cache)) == 1
    assert not [p for p in fresh_cache.rglob("*") if p.is_file() and ".pkl." in p.name]  # no temporaries left
    x = np.load(data)
    np.testing.assert_array_equal(cache.call(slow_sum, (x,)), x.sum(axis=0))
    assert CALLS == []  # read from the entry the two processes wrote
