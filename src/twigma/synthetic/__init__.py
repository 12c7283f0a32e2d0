"""Seeded generators of the embedded synthetic sample: a release table and its embedding store.

This subpackage sits *above* the readers: it imports :mod:`twigma.release` and
:mod:`twigma.embeddings.store` to write files in their formats, and neither of them imports it. The
sample has one producer, ``make sample`` (also a prerequisite of ``make figures`` and
``make lab``), which calls ``twigma sample`` (:func:`release.make_sample`) and then
``twigma sample-embeddings`` (:func:`embeddings.make_sample_store`). Readers given an empty
``RELEASE`` or ``EMBEDDINGS`` only *read* the sample's files (see :mod:`twigma.paths`).
"""
