"""Unit vectors for the tests of embeddings and the image analyses."""
import numpy as np


def unit(x):
    """The rows of ``x`` scaled to length 1."""
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def unit32(x):
    """The rows of ``x`` scaled to length 1, as float32 (the store's type)."""
    return unit(x).astype(np.float32)
