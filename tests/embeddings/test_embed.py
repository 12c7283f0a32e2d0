"""Tests of twigma.embeddings.embed: CLIP image embeddings of a folder of images, batched, resumable, into the embedding store."""
from __future__ import annotations

import importlib.util
import itertools
import json
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.photos import real_photos

from twigma.cli import main as cli
from twigma.embeddings import embed, store

pytestmark = pytest.mark.embedding_layer

# torch and open_clip: imported when a test of this file runs, not when the file is collected (make test-fast collects
# it only to deselect it); find_spec looks for them without importing them
if importlib.util.find_spec("torch") is None or importlib.util.find_spec("open_clip") is None:
    pytest.skip("needs torch and open_clip (env/requirements-embed.txt)", allow_module_level=True)
torch = open_clip = None  # the modules, once _embedding_layer has run


@pytest.fixture(autouse=True, scope="module")
def _embedding_layer():
    global torch, open_clip
    torch = pytest.importorskip("torch")
    open_clip = pytest.importorskip("open_clip")


TINY = {"embed_dim": 32,
        "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 16, "head_width": 32},
        "text_cfg": {"context_length": 16, "vocab_size": 1000, "width": 32, "heads": 2, "layers": 1}}


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


@pytest.fixture
def openai_tag(tmp_path, tiny, weights, monkeypatch):
    """An ``openai`` tag for the tiny model, as open_clip lists OpenAI's (quick_gelu), served from a local file."""
    from open_clip import pretrained

    monkeypatch.setitem(pretrained._PRETRAINED, "twigma-tiny", {"openai": {"file": weights, "quick_gelu": True}})
    gelu_cfg = tmp_path / "twigma-tiny-gelu.json"
    gelu_cfg.write_text(json.dumps({**TINY, "quick_gelu": False}))
    open_clip.add_model_config(gelu_cfg)
    monkeypatch.setitem(pretrained._PRETRAINED, "twigma-tiny-gelu", {"openai": {"file": weights, "quick_gelu": True}})
    return weights


TINY_OPENAI = {"embed_dim": 32,  # widths of 64 per head, as OpenAI's builder infers heads (width // 64)
               "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 16, "head_width": 64},
               "text_cfg": {"context_length": 16, "vocab_size": 1000, "width": 64, "heads": 1, "layers": 1}}


@pytest.fixture
def openai_archive(tmp_path):
    """A tiny CLIP saved the way OpenAI's ``ViT-L-14.pt`` is: a traced TorchScript module of the whole CLIP
    (image and text towers, OpenAI's parameter names, which open_clip's CLIP class shares), weights in
    float16 as in OpenAI's files, and the ``input_resolution``, ``context_length`` and ``vocab_size``
    entries their state dicts carry. Not imitated: OpenAI's own Python classes (the archive's code is
    open_clip's) and its device constants; the loader reads only the state dict."""
    cfg = tmp_path / "twigma-tiny-oai.json"
    cfg.write_text(json.dumps(TINY_OPENAI))
    open_clip.add_model_config(cfg)
    torch.manual_seed(1)
    model = open_clip.create_model("twigma-tiny-oai", force_quick_gelu=True).eval()
    with torch.no_grad():  # OpenAI's weights are not near zero like a fresh init: make activations matter
        for p in model.parameters():
            p.mul_(3)
    for key, value in (("input_resolution", 64), ("context_length", 16), ("vocab_size", 1000)):
        if hasattr(model, key):
            delattr(model, key)  # open_clip keeps these as plain ints; OpenAI's archive as tensors
        model.register_buffer(key, torch.tensor(value))
    mask = model._buffers.pop("attn_mask")
    model.attn_mask = mask  # OpenAI's CLIP keeps the causal mask as a plain attribute, not in its state dict
    model.half()
    model.float()  # traced on the CPU in float32, weights rounded through float16 as OpenAI's are stored
    traced = torch.jit.trace(model, (torch.randn(1, 3, 64, 64), torch.randint(0, 1000, (1, 16))), check_trace=False)
    path = tmp_path / "ViT-tiny.pt"
    torch.jit.save(traced, str(path))
    return str(cfg), str(path)


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


def test_a_killed_process_resumes(photos, tmp_path, tiny, weights, capsys):
    out = tmp_path / "killed"
    args = ["embed", str(photos), "--source", "art", "--embeddings", str(out), "--model", "twigma-tiny",
            "--model-config", tiny, "--weights", weights, "--shard-size", "1", "--workers", "0", "--quiet"]
    proc = subprocess.Popen([sys.executable, "-m", "twigma", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
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
    # the same command again, in this process (torch is loaded here already): it picks up the killed one's shards
    assert cli(args) == 0
    assert f"{n_done} of {len(embed.list_images(photos))} shards reused" in capsys.readouterr().out
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
    # one worker process: the shards go to another process, which builds the model from the spec (the tiny
    # config registered in this process is not there) and writes them (each worker imports torch: seconds)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        summary = run(photos, tmp_path, tiny, "dask", weights=weights, shard_size=3, scheduler=cluster.scheduler_address)
    assert summary["n_embedded"] == len(real_photos())
    run(photos, tmp_path, tiny, "local", weights=weights, shard_size=3)
    a, b = store.read(tmp_path / "dask", "natural"), store.read(tmp_path / "local", "natural")
    assert list(a.ids) == list(b.ids)
    np.testing.assert_allclose(np.asarray(a.vectors, np.float32), np.asarray(b.vectors, np.float32), atol=2e-3)


def test_make_embeddings_target(photos, tmp_path, tiny, weights, capsys, monkeypatch):
    from twigma import paths

    if not (paths.ROOT / ".venv" / ".installed").exists():
        pytest.skip("needs the make-built .venv")
    r = subprocess.run(["make", "--no-print-directory", "-C", str(paths.ROOT), "embeddings", f"IMAGES={photos}",
                        "SOURCE=art", f"EMBEDDINGS={tmp_path / 'mk'}", "MODEL=twigma-tiny", f"WEIGHTS={weights}",
                        f"EMBED_ARGS=--model-config {tiny} --workers 0 --quiet"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(store.read(tmp_path / "mk", "art")) == len(real_photos())
    # the default model: the command make runs (make -n prints it) is run here, where torch is loaded already (the
    # recipe itself ran for real above)
    r = subprocess.run(["make", "--no-print-directory", "-n", "-C", str(paths.ROOT), "embeddings", f"IMAGES={photos}",
                        "SOURCE=art", f"EMBEDDINGS={tmp_path / 'dry'}", "EMBED_ARGS=--dry-run"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    command, = [line for line in r.stdout.replace("\\\n", " ").splitlines() if " -m twigma embed " in line]
    words = shlex.split(command)
    assignments = list(itertools.takewhile(lambda w: re.fullmatch(r"[A-Z_]+=.*", w), words))
    assert words[len(assignments):len(assignments) + 3] == [".venv/bin/python", "-m", "twigma"], command
    for name, value in (w.split("=", 1) for w in assignments):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(paths.ROOT)  # where make -C runs it
    assert cli(words[len(assignments) + 3:]) == 0
    out = capsys.readouterr().out
    assert "ViT-L-14" in out and "QuickGELU" in out, out
    assert not (tmp_path / "dry").exists()
    r = subprocess.run(["make", "--no-print-directory", "-C", str(paths.ROOT), "embeddings"], capture_output=True, text=True)
    assert r.returncode != 0 and "usage: make embeddings" in r.stderr


def test_dry_run_of_the_default_prints_the_paper_s_model_without_loading(photos, tmp_path, capsys, monkeypatch):
    def no_loading(*a, **k):
        raise AssertionError("a dry run must not build or load a model")

    for name in ("create_model_and_transforms", "create_model", "load_openai_model"):
        monkeypatch.setattr(open_clip, name, no_loading)
    monkeypatch.setattr(torch, "load", no_loading)
    rc = cli(["embed", str(photos), "--source", "twigma", "--embeddings", str(tmp_path / "s"), "--dry-run",
              "--device", "cpu"])
    out = capsys.readouterr().out
    assert rc == 0
    n = len(embed.list_images(photos))
    for expected in ("ViT-L-14", "pretrained tag openai", "QuickGELU", "fp32", "cpu", f"{n:,} in"):
        assert expected in out, (expected, out)
    assert not (tmp_path / "s").exists()


def test_the_activation_follows_the_weights_and_a_mismatch_is_an_error(tmp_path, tiny):
    assert embed.resolve(embed.ModelSpec())["activation"] == "QuickGELU"  # ViT-L-14 + openai, the paper's
    assert embed.resolve(embed.ModelSpec("ViT-L-14", "laion2b_s32b_b82k"))["activation"] == "GELU"
    assert embed.resolve(embed.ModelSpec("ViT-L-14-quickgelu", "openai"))["activation"] == "QuickGELU"
    with pytest.raises(embed.EmbedError, match="QuickGELU/GELU mismatch.*openai"):
        embed.resolve(embed.ModelSpec("ViT-L-14", "openai", activation="GELU"))
    with pytest.raises(embed.EmbedError, match="QuickGELU/GELU mismatch"):
        embed.resolve(embed.ModelSpec("ViT-L-14", "laion2b_s32b_b82k", activation="QuickGELU"))
    with pytest.raises(embed.EmbedError, match="configuration of ViT-L-14-quickgelu .quick_gelu=true"):
        embed.resolve(embed.ModelSpec("ViT-L-14-quickgelu", None, weights=__file__, activation="GELU"))
    with pytest.raises(embed.EmbedError, match="not known"):
        embed.resolve(embed.ModelSpec("ViT-L-14", "no-such-tag"))


def test_openai_tag_builds_quickgelu_whatever_open_clip_s_config_says(photos, tmp_path, tiny, openai_tag,
                                                                      monkeypatch):
    spec = embed.ModelSpec("twigma-tiny", "openai", model_config=tiny)
    model, preprocess = embed.load_model(spec)
    assert embed.model_activation(model) == "QuickGELU"
    # independently: open_clip with QuickGELU forced gives the same embeddings, its default (GELU) others
    quick, _, _ = open_clip.create_model_and_transforms("twigma-tiny", pretrained=openai_tag, force_quick_gelu=True)
    gelu, _, _ = open_clip.create_model_and_transforms("twigma-tiny", pretrained=openai_tag)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ours, ref, other = model.encode_image(x), quick.eval().encode_image(x), gelu.eval().encode_image(x)
    torch.testing.assert_close(ours, ref)
    assert (ours - other).abs().max() > 1e-3
    summary = embed.embed_folder(photos, "art", tmp_path / "s", spec, workers=0, progress=False)
    assert summary["n_embedded"] == len(real_photos())
    rec = store.read_meta(tmp_path / "s")["sources"]["art"]
    assert rec["activation"] == "QuickGELU" and rec["pretrained"] == "openai" and rec["model"] == "twigma-tiny"
    # a model configuration that says GELU does not take OpenAI's weights: an error, before any work
    with pytest.raises(embed.EmbedError, match="QuickGELU/GELU mismatch"):
        embed.embed_folder(photos, "art", tmp_path / "t", embed.ModelSpec("twigma-tiny-gelu", "openai"),
                           workers=0, progress=False)
    assert not (tmp_path / "t" / ".shards").exists() or not list((tmp_path / "t").rglob("*.npy"))


def test_an_open_clip_that_ignores_the_activation_is_caught(tiny, openai_tag, monkeypatch):
    real = open_clip.create_model_and_transforms

    def ignores_force_quick_gelu(*a, force_quick_gelu=False, **k):  # builds the configuration's GELU
        return real(*a, **k)

    def and_does_not_warn(*a, **k):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ignores_force_quick_gelu(*a, **k)

    spec = embed.ModelSpec("twigma-tiny", "openai", model_config=tiny)
    monkeypatch.setattr(open_clip, "create_model_and_transforms", ignores_force_quick_gelu)
    with pytest.raises(embed.EmbedError, match="open_clip .*QuickGELU mismatch.*twigma asked for QuickGELU"):
        embed.load_model(spec)  # open_clip 3.x's own warning is an error here
    monkeypatch.setattr(open_clip, "create_model_and_transforms", and_does_not_warn)
    with pytest.raises(embed.EmbedError, match="built twigma-tiny with GELU, but the weights need QuickGELU"):
        embed.load_model(spec)  # and the built model is checked in any case


@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::torch.jit.TracerWarning")
def test_openai_torchscript_archive_loads_with_its_own_transform(photos, tmp_path, openai_archive, weights):
    import hashlib

    from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD
    from PIL import Image
    from torchvision import transforms as T

    cfg, archive = openai_archive
    assert embed.is_torchscript(archive) and not embed.is_torchscript(weights)
    spec = embed.ModelSpec("twigma-tiny-oai", pretrained=None, weights=archive, model_config=cfg)
    assert embed.resolve(spec)["activation"] == "QuickGELU"
    embed.embed_folder(photos, "natural", tmp_path / "s", spec, workers=0, progress=False, dtype="float32")
    e = store.read(tmp_path / "s", "natural")
    rec = store.read_meta(tmp_path / "s")["sources"]["natural"]
    assert rec["activation"] == "QuickGELU" and rec["weights_format"].startswith("TorchScript")
    assert rec["weights_sha256"] == hashlib.sha256(Path(archive).read_bytes()).hexdigest()
    assert rec["open_clip"] == open_clip.__version__ and rec["torch"].split("+")[0] == torch.__version__.split("+")[0]
    assert rec["precision"] == "fp32" and "Normalize" in rec["preprocess"] and rec["date"]
    # independently: open_clip's loader of OpenAI's files, and OpenAI's transform (CLIP's clip._transform)
    reference = open_clip.load_openai_model(archive, precision="fp32", device="cpu").eval()
    transform = T.Compose([T.Resize(64, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(64),
                           lambda im: im.convert("RGB"), T.ToTensor(), T.Normalize(OPENAI_DATASET_MEAN, OPENAI_DATASET_STD)])
    files = {p.stem: p for p in embed.list_images(photos)}
    for row in (0, 4):
        with torch.no_grad():
            v = reference.encode_image(transform(Image.open(files[e.ids[row]]))[None])
        np.testing.assert_allclose(e.vectors[row], torch.nn.functional.normalize(v, dim=-1).numpy()[0], atol=1e-4)
    with pytest.raises(embed.EmbedError, match="does not fit open_clip's twigma-tiny"):
        embed.load_model(embed.ModelSpec("twigma-tiny", None, weights=archive, model_config=cfg.replace("-oai", "")))


def test_16_bit_greyscale_is_scaled_to_8_bits_not_embedded_as_white(tmp_path, tiny, weights):
    from PIL import Image

    rng = np.random.default_rng(0)
    grad = (np.linspace(0, 1, 80)[None, :] * np.linspace(0.2, 1, 72)[:, None] * 65535).astype(np.uint16)
    grad = np.clip(grad.astype(int) + rng.integers(-500, 500, grad.shape), 0, 65535).astype(np.uint16)
    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.fromarray(grad).save(folder / "g16.png")  # opens as I;16
    Image.frombytes("I;16B", grad.shape[::-1], grad.astype(">u2").tobytes()).save(folder / "g16b.tif")
    Image.fromarray(np.round(grad / 257).astype(np.uint8)).save(folder / "g8.png")  # the same picture in 8 bits
    Image.fromarray(np.full((72, 80), 255, np.uint8)).save(folder / "white.png")
    Image.fromarray((grad.astype(np.int32) - 40000)).save(folder / "signed.tif")  # mode I with negative values
    assert [Image.open(folder / f).mode for f in ("g16.png", "g16b.tif", "signed.tif")] == ["I;16", "I;16B", "I"]
    assert np.asarray(embed.to_rgb(Image.fromarray(grad.astype(np.int32)))).mean() == pytest.approx(
        np.round(grad / 257).mean(), abs=0.01)  # mode I within 0..65535: 16-bit data, as older Pillow opens PNGs
    embed.embed_folder(folder, "art", tmp_path / "s", spec_for(tiny, weights), workers=0, progress=False,
                       dtype="float32")
    e = store.read(tmp_path / "s", "art")
    v = {i: np.asarray(e.vectors[k]) for k, i in enumerate(e.ids)}
    np.testing.assert_allclose(v["g16"], v["g8"], atol=1e-5)
    np.testing.assert_allclose(v["g16b"], v["g8"], atol=1e-5)
    assert np.abs(v["g16"] - v["white"]).max() > 1e-3
    skipped = pd.read_csv(tmp_path / "s" / "art.skipped.csv")
    assert skipped["path"].tolist() == ["signed.tif"] and "outside 0..65535" in skipped["reason"][0]
