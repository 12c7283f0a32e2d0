"""Benchmark of image-embedding throughput (issue 3, item 7).

ViT-B-32 with random weights (no download needed; the arithmetic is the same as with
trained weights) on a folder of JPEGs cut from the real photographs that ship with
scikit-image, scikit-learn and matplotlib. Compares, over the same files:

* a plain loop: open, preprocess and embed one image at a time, float32;
* the compendium's pipeline (:func:`twigma.embeddings.embed.embed_files`): batches, decoding in
  DataLoader worker processes, float32;
* the same pipeline with bfloat16 autocast (CPUs with AVX512-BF16 or AMX), and its effect on
  the embeddings: cosine between the float32 and bfloat16 vectors of each image, and whether
  each image keeps its nearest neighbour within the set.

Run: ``.venv/bin/python bench/embedding_throughput.py [--n-images 256]``.
Results: ``bench/out/embedding_throughput.json`` and stdout.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def make_images(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """n JPEGs (random crops, 400-900 px) cut from the photos bundled with scientific packages."""
    import matplotlib
    import skimage.data
    import sklearn.datasets
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    existing = sorted(folder.glob("*.jpg"))
    if len(existing) >= n:
        return existing[:n]
    sk = os.path.dirname(skimage.data.__file__)
    sources = [os.path.join(sk, f) for f in ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg",
                                             "motorcycle_left.png", "hubble_deep_field.jpg", "retina.jpg")]
    sources += glob.glob(os.path.join(os.path.dirname(sklearn.datasets.__file__), "images", "*.jpg"))
    sources.append(os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg"))
    photos = [Image.open(s).convert("RGB") for s in sources if os.path.exists(s)]
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        im = photos[i % len(photos)]
        w, h = im.size
        cw, ch = int(w * rng.uniform(0.5, 1)), int(h * rng.uniform(0.5, 1))
        x, y = rng.integers(0, w - cw + 1), rng.integers(0, h - ch + 1)
        side = int(rng.uniform(400, 900))
        crop = im.crop((x, y, x + cw, y + ch)).resize((side, int(side * ch / cw)))
        p = folder / f"img_{i:05d}.jpg"
        crop.save(p, quality=90)
        out.append(p)
    return out


def main() -> int:
    import open_clip
    import torch
    from PIL import Image

    from twigma.embeddings.embed import embed_files

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n-images", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    torch.manual_seed(0)
    files = make_images(ROOT / "bench" / "out" / "throughput_images", a.n_images)
    model, _, preprocess = open_clip.create_model_and_transforms("ViT-B-32", pretrained=None)
    model.eval()

    # plain loop, one image at a time
    t = time.perf_counter()
    plain = []
    with torch.inference_mode():
        for f in files:
            with Image.open(f) as im:
                x = preprocess(im.convert("RGB"))[None]
            plain.append(torch.nn.functional.normalize(model.encode_image(x), dim=-1)[0].numpy())
    t_plain = time.perf_counter() - t
    plain = np.stack(plain)

    runs = {}
    for precision in ("fp32", "bf16"):
        t = time.perf_counter()
        pos, vec, skipped = embed_files(files, model, preprocess, batch_size=a.batch_size, workers=a.workers,
                                        precision=precision)
        runs[precision] = (time.perf_counter() - t, vec)
    fp32, bf16 = runs["fp32"][1], runs["bf16"][1]
    cos = np.sum(fp32 * bf16, axis=1)
    nn = lambda X: np.argmax(X @ X.T - 2 * np.eye(len(X)), axis=1)  # noqa: E731

    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads",
        "model": "ViT-B-32 (random weights)", "n_images": len(files), "batch_size": a.batch_size,
        "workers": a.workers,
        "plain_loop_img_per_s": round(len(files) / t_plain, 1),
        "pipeline_fp32_img_per_s": round(len(files) / runs["fp32"][0], 1),
        "pipeline_bf16_img_per_s": round(len(files) / runs["bf16"][0], 1),
        "speedup_fp32_vs_plain": round(t_plain / runs["fp32"][0], 2),
        "speedup_bf16_vs_plain": round(t_plain / runs["bf16"][0], 2),
        "pipeline_fp32_matches_plain_max_abs_diff": float(np.abs(fp32 - plain).max()),
        "bf16_vs_fp32_cosine_min": float(cos.min()), "bf16_vs_fp32_cosine_mean": float(cos.mean()),
        "bf16_same_nearest_neighbour_share": float(np.mean(nn(fp32) == nn(bf16))),
    }
    (ROOT / "bench" / "out").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench" / "out" / "embedding_throughput.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
