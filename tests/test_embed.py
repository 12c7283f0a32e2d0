"""The embedding command end to end on real photographs, with a tiny random-weight open_clip model."""
from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
open_clip = pytest.importorskip("open_clip")

from twigma import embed, store  # noqa: E402
from twigma.cli import main as cli  # noqa: E402

TINY = {"embed_dim": 32,
        "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 16, "head_width": 32},
        "text_cfg": {"context_length": 16, "vocab_size": 1000, "width": 32, "heads": 2, "layers": 1}}


def real_photos() -> list[str]:
    import matplotlib
    import skimage.data
    import sklearn.datasets

    sk = os.path.dirname(skimage.data.__file__)
    picks = ["astronaut.png", "coffee.png", "chelsea.png", "camera.png", "rocket.jpg", "retina.jpg",
             "motorcycle_left.png", "hubble_deep_field.jpg", "logo.png"]
    files = [os.path.join(sk, p) for p in picks if os.path.exists(os.path.join(sk, p))]
    files += glob.glob(os.path.join(os.path.dirname(sklearn.datasets.__file__), "images", "*.jpg"))
    files.append(os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg"))
    return files


@pytest.fixture
def photos(tmp_path) -> Path:
    """A folder of a dozen real photographs (grey, RGB, RGBA), one in a subfolder, plus two broken files."""
    folder = tmp_path / "images"
    (folder / "more").mkdir(parents=True)
    files = real_photos()
    assert len(files) >= 10
    for i, f in enumerate(files):
        target = folder / ("more" if i == 0 else "") / f"img_{i:02d}{Path(f).suffix}"
        shutil.copy(f, target)
    (folder / "img_90_corrupt.jpg").write_bytes(Path(files[-1]).read_bytes()[:300])  # truncated JPEG
    (folder / "img_91_html.jpg").write_text("<html><body>not an image</body></html>")
    (folder / "notes.txt").write_text("not an image extension: ignored")
    return folder


@pytest.fixture
def tiny(tmp_path) -> str:
    cfg = tmp_path / "twigma-tiny.json"
    cfg.write_text(json.dumps(TINY))
    return str(cfg)


def spec_for(tiny, weights=None):
    return embed.ModelSpec(model="twigma-tiny", pretrained=None, weights=weights, model_config=tiny)


def run(photos, tmp_path, tiny, name="store", **kw):
    kw.setdefault("workers", 0)
    kw.setdefault("progress", False)
    return embed.embed_folder(photos, "natural", tmp_path / name, spec_for(tiny, kw.pop("weights", None)), **kw)


@pytest.fixture
def weights(tmp_path, tiny):
    """A random model saved as a checkpoint file, as a user would have real weights."""
    open_clip.add_model_config(tiny)
    torch.manual_seed(0)
    model = open_clip.create_model("twigma-tiny")
    path = tmp_path / "tiny_weights.pt"
    torch.save(model.state_dict(), path)
    return str(path)


def test_embeds_real_photos_and_lists_the_broken_ones(photos, tmp_path, tiny, weights):
    summary = run(photos, tmp_path, tiny, weights=weights, shard_size=4, batch_size=3)
    n_good = len(real_photos())
    assert summary["n_images"] == n_good + 2 and summary["n_embedded"] == n_good and summary["n_skipped"] == 2
    e = store.read(tmp_path / "store", "natural")
    assert e.vectors.shape == (n_good, 32) and e.vectors.dtype == np.float16
    np.testing.assert_allclose(np.linalg.norm(np.asarray(e.vectors, np.float32), axis=1), 1.0, atol=2e-3)
    expected_order = [p.stem for p in embed.list_images(photos) if p.stem not in ("img_90_corrupt", "img_91_html")]
    assert list(e.ids) == expected_order  # sorted file order, whatever the shards and batches
    assert "img_00" in set(e.ids)  # found in the subfolder
    skipped = pd.read_csv(tmp_path / "store" / "natural.skipped.csv")
    assert sorted(skipped["path"]) == ["img_90_corrupt.jpg", "img_91_html.jpg"]
    assert skipped["reason"].str.len().gt(5).all()
    meta = store.read_meta(tmp_path / "store")
    assert meta["model"] == "twigma-tiny" and meta["weights"] == weights and "Normalize" in meta["preprocess"]
    assert meta["sources"]["natural"]["count"] == n_good
    assert not (tmp_path / "store" / ".shards").exists()


def test_weights_file_gives_the_model_s_own_embeddings(photos, tmp_path, tiny, weights):
    run(photos, tmp_path, tiny, weights=weights, dtype="float32")
    e = store.read(tmp_path / "store", "natural")
    # independently: load the checkpoint the open_clip way and embed one photo
    model, _, preprocess = open_clip.create_model_and_transforms("twigma-tiny", pretrained=weights)
    model.eval()
    from PIL import Image
    first = next(p for p in embed.list_images(photos) if p.stem == e.ids[3])
    with torch.no_grad():
        v = model.encode_image(preprocess(Image.open(first).convert("RGB"))[None])
    v = torch.nn.functional.normalize(v, dim=-1).numpy()[0]
    np.testing.assert_allclose(e.vectors[3], v, atol=1e-5)


def test_output_does_not_depend_on_batching_or_workers(photos, tmp_path, tiny, weights):
    run(photos, tmp_path, tiny, "a", weights=weights, batch_size=2, shard_size=3)
    run(photos, tmp_path, tiny, "b", weights=weights, batch_size=16, shard_size=100, workers=2)
    a, b = store.read(tmp_path / "a", "natural"), store.read(tmp_path / "b", "natural")
    assert list(a.ids) == list(b.ids)
    np.testing.assert_allclose(np.asarray(a.vectors, np.float32), np.asarray(b.vectors, np.float32), atol=2e-3)


def test_an_interrupted_run_resumes_without_redoing_finished_shards(photos, tmp_path, tiny, weights, monkeypatch):
    real_write = embed._write_shard
    def crash_on_third(work, k, *args):
        if k == 2:
            raise KeyboardInterrupt("simulated interruption")
        real_write(work, k, *args)
    monkeypatch.setattr(embed, "_write_shard", crash_on_third)
    with pytest.raises(KeyboardInterrupt):
        run(photos, tmp_path, tiny, weights=weights, shard_size=3)
    work = tmp_path / "store" / ".shards" / "natural"
    done = sorted(work.glob("shard-*.npy"))
    assert [p.name for p in done] == ["shard-00000.npy", "shard-00001.npy"]
    stamps = {p.name: p.stat().st_mtime_ns for p in done}
    assert not store.has_source(tmp_path / "store", "natural")  # nothing half-written in the store

    monkeypatch.setattr(embed, "_write_shard", real_write)
    calls = []
    def counting_write(work, k, *args):
        calls.append(k)
        real_write(work, k, *args)
    monkeypatch.setattr(embed, "_write_shard", counting_write)
    summary = run(photos, tmp_path, tiny, weights=weights, shard_size=3)
    assert summary["shards_reused"] == 2 and 0 not in calls and 1 not in calls
    run(photos, tmp_path, tiny, "fresh", weights=weights, shard_size=3)
    a, b = store.read(tmp_path / "store", "natural"), store.read(tmp_path / "fresh", "natural")
    assert list(a.ids) == list(b.ids)
    np.testing.assert_array_equal(np.asarray(a.vectors), np.asarray(b.vectors))


def test_a_killed_process_resumes(photos, tmp_path, tiny, weights):
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "twigma", "embed", str(photos), "--source", "art", "--embeddings", str(out),
           "--model", "twigma-tiny", "--model-config", tiny, "--weights", weights, "--shard-size", "1",
           "--workers", "0", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    work = out / ".shards" / "art"
    deadline = time.time() + 60
    while time.time() < deadline and not list(work.glob("shard-*.npy")) and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if store.has_source(out, "art"):
        pytest.skip("the run finished before it could be killed")
    n_done = len(list(work.glob("shard-*.npy")))
    assert n_done >= 1
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert f"{n_done} of" in r.stdout or "shards reused" in r.stdout
    assert len(store.read(out, "art")) == len(real_photos())


def test_offline_pretrained_tag_fails_fast_with_advice(photos, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    with pytest.raises(embed.EmbedError) as info:
        embed.embed_folder(photos, "twigma", tmp_path / "s", embed.ModelSpec("ViT-B-32", "openai"),
                           workers=0, progress=False)
    assert time.perf_counter() - started < 60
    msg = str(info.value)
    assert "--weights" in msg and "ViT-B-32" in msg and "openai" in msg


def test_bad_inputs_get_clear_errors(photos, tmp_path, tiny):
    with pytest.raises(embed.EmbedError, match="no such folder"):
        embed.list_images(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(embed.EmbedError, match="no image files"):
        embed.list_images(tmp_path / "empty")
    shutil.copy(photos / "img_01.png", photos / "more" / "img_01.png") if (photos / "img_01.png").exists() else \
        shutil.copy(next(photos.glob("img_01.*")), photos / "more" / ("img_01" + next(photos.glob("img_01.*")).suffix))
    with pytest.raises(embed.EmbedError, match="occur twice"):
        embed.list_images(photos)
    with pytest.raises(embed.EmbedError, match="unknown open_clip model"):
        embed.load_model(embed.ModelSpec("No-Such-Model", None))
    with pytest.raises(embed.EmbedError, match="no such file"):
        embed.load_model(embed.ModelSpec("twigma-tiny", None, weights=str(tmp_path / "missing.pt"), model_config=tiny))


def test_changed_settings_do_not_mix_with_an_unfinished_run(photos, tmp_path, tiny, weights, monkeypatch):
    real_write = embed._write_shard
    def crash_on_second(work, k, *args):
        if k == 1:
            raise KeyboardInterrupt
        real_write(work, k, *args)
    monkeypatch.setattr(embed, "_write_shard", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        run(photos, tmp_path, tiny, weights=weights, shard_size=3)
    monkeypatch.undo()
    with pytest.raises(embed.EmbedError, match="other settings"):
        run(photos, tmp_path, tiny, weights=weights, shard_size=5)


def test_a_failed_start_does_not_block_a_corrected_rerun(photos, tmp_path, tiny, weights, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(embed.EmbedError, match="--weights"):
        embed.embed_folder(photos, "natural", tmp_path / "store", embed.ModelSpec("ViT-B-32", "openai"),
                           workers=0, progress=False)
    summary = run(photos, tmp_path, tiny, weights=weights)  # same store, now with a weights file
    assert summary["n_embedded"] == len(real_photos())


def test_cli_and_make_entry_points(photos, tmp_path, tiny, weights, capsys):
    pd.DataFrame({"id": ["img_01"], "title": ["a title"]}).to_csv(photos / "_meta.csv", index=False)  # as make refs writes
    rc = cli(["embed", str(photos), "--source", "twigma", "--embeddings", str(tmp_path / "cli"), "--model",
              "twigma-tiny", "--model-config", tiny, "--weights", weights, "--workers", "0", "--quiet"])
    assert rc == 0
    assert "images embedded" in capsys.readouterr().out
    assert store.has_source(tmp_path / "cli", "twigma")
    assert pd.read_csv(tmp_path / "cli" / "twigma.meta.csv")["title"].tolist() == ["a title"]
    assert cli(["embed", str(tmp_path / "nowhere"), "--source", "twigma", "--quiet"]) == 1


def test_shards_map_over_a_local_dask_cluster(photos, tmp_path, tiny, weights):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        summary = run(photos, tmp_path, tiny, "dask", weights=weights, shard_size=3, scheduler=cluster.scheduler_address)
    assert summary["n_embedded"] == len(real_photos())
    run(photos, tmp_path, tiny, "local", weights=weights, shard_size=3)
    a, b = store.read(tmp_path / "dask", "natural"), store.read(tmp_path / "local", "natural")
    assert list(a.ids) == list(b.ids)
    np.testing.assert_allclose(np.asarray(a.vectors, np.float32), np.asarray(b.vectors, np.float32), atol=2e-3)


def test_make_embeddings_target(photos, tmp_path, tiny, weights):
    from twigma import paths

    if not (paths.ROOT / ".venv" / ".installed").exists():
        pytest.skip("needs the make-built .venv")
    r = subprocess.run(["make", "--no-print-directory", "-C", str(paths.ROOT), "embeddings", f"IMAGES={photos}",
                        "SOURCE=art", f"EMBEDDINGS={tmp_path / 'mk'}", "MODEL=twigma-tiny", f"WEIGHTS={weights}",
                        f"EMBED_ARGS=--model-config {tiny} --workers 0 --quiet"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(store.read(tmp_path / "mk", "art")) == len(real_photos())
    r = subprocess.run(["make", "--no-print-directory", "-C", str(paths.ROOT), "embeddings"], capture_output=True, text=True)
    assert r.returncode != 0 and "usage: make embeddings" in r.stderr
