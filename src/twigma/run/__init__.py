"""Running the compendium: notebooks through papermill, their provenance, the report site, new notebooks.

- :mod:`~twigma.run.runner`: one notebook run into a staging folder, moved into place on success.
- :mod:`~twigma.run.provenance`: what made each file (manifest, PNG/PDF metadata, ``make verify``).
- :mod:`~twigma.run.report`: the static site of a run (Sphinx + MyST-NB).
- :mod:`~twigma.run.template`: ``make notebook NAME=NN_topic``.
"""
