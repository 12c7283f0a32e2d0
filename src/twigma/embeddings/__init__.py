"""Image embeddings: the store that holds them, the open_clip run that makes them, and the searches over them.

- :mod:`~twigma.embeddings.store`: the embedding store (shards written once, read with memory maps).
- :mod:`~twigma.embeddings.embed`: open_clip loading, image decoding, batched and resumable embedding.
- :mod:`~twigma.embeddings.clip_import`: embeddings made by clip-retrieval, imported into a store.
- :mod:`~twigma.embeddings.neighbors`: exact nearest neighbours and maximum similarity (the module to call).
- :mod:`~twigma.embeddings.exact`: its kernel: backends, the plan, one block's certified top k.
- :mod:`~twigma.embeddings.cluster`: the same search shard by shard, resumable, in this process or on Dask.
- :mod:`~twigma.embeddings.search`: images found by a text (the store's CLIP model) or by an image.
"""
