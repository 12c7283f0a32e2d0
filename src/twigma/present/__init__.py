"""What a reader sees: one plotting style, the text rendered from a run, where outputs go, the explorer.

- :mod:`~twigma.present.plots`: the style, colours, axes and the synthetic-data mark.
- :mod:`~twigma.present.narrative`: numbers formatted for sentences, the banner and the Findings table.
- :mod:`~twigma.present.outputs`: where a notebook's figures, tables and claim checks are written.
- :mod:`~twigma.present.explore`: the interactive map of notebook 10 and its static stand-in.

Nothing here computes a statistic: the numbers come from :mod:`twigma.analysis`.
"""
