"""Image embeddings: the store that holds them, the open_clip run that makes them, and the searches over them.

- :mod:`~twigma.embeddings.store`: the embedding store (shards written once, read with memory maps).
- :mod:`~twigma.embeddings.models`: open_clip model specs, weights and loading.
- :mod:`~twigma.embeddings.images`: listing and decoding image files.
- :mod:`~twigma.embeddings.embed`: the batched and resumable embedding of a folder.
- :mod:`~twigma.embeddings.clip_import`: embeddings made by clip-retrieval, imported into a store.
- :mod:`~twigma.embeddings.neighbors`: exact nearest neighbours and maximum similarity (the module to call).
- :mod:`~twigma.embeddings.kernel`: its kernel: one block's certified top k (screens, error bounds, re-scoring).
- :mod:`~twigma.embeddings.planner`: the backend and precision chosen from what the machine can do.
- :mod:`~twigma.embeddings.candidates`: the numpy screen's compiled selection of candidates (numba).
- :mod:`~twigma.embeddings.cluster`: the same search shard by shard, resumable, in this process or on Dask.
- :mod:`~twigma.embeddings.search`: images found by a text (the store's CLIP model) or by an image.
"""
