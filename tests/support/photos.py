"""Real photographs that ship inside installed packages (skimage, sklearn, matplotlib), for embedding tests."""
from __future__ import annotations

import glob
import os


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
