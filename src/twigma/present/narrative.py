"""Small helpers for the text a notebook renders from its own results.

The notebooks say what each figure shows in words computed from the run's numbers
(``display(Markdown(f"..."))``); the words themselves stay in the notebooks. What lives
here is what every notebook formats the same way:

- :func:`fmt_p`: a p-value, never printed as 0: below :data:`P_FLOOR` (the one floor, in
  :mod:`twigma.analysis.pformat`) it reads "< 1e-16";
- :func:`plural`, :func:`count`: "1 cluster", "2 clusters" (no "cluster(s)" template);
- :func:`compared`: a number and its comparison with a threshold rendered from the same value,
  so that "1.5 (under 1.5)" cannot happen;
- :func:`odds_ratio_text`: a logistic slope (log-odds per year) as an odds ratio per year;
- :func:`direction_text`: a trend's call in words ("not significant at alpha 0.01", never "flat");
- :func:`banner`: the one-line call that opens every notebook and, on the synthetic sample,
  says in a visible box that the verdicts hold by construction (it returns None: the box
  shows once even as a cell's last expression);
- :func:`findings`: the closing "Findings" table, one row per claim: the paper says / this
  run finds / verdict.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from twigma.analysis.pformat import (  # noqa: F401 (re-exported for the notebooks)
    P_FLOOR,
    fmt_p,
    fmt_p_floored,
    odds_ratio,
    p_text,
    p_text_floored,
)

if TYPE_CHECKING:
    from twigma.analysis.claims import ClaimRow


def odds_ratio_text(slope: float, ci: tuple[float, float] | None = None, unit: str = "year",
                    level: str | None = None) -> str:
    """A logistic slope in words a reader can use, e.g. ``"odds x0.41 per year (59% lower each
    year; 99% CI x0.30 to x0.56)"``. ``ci`` is the slope's interval in log-odds, at ``level``
    (``inference.level_text(ALPHA)``, which must be given with it: one significance policy)."""
    r = odds_ratio(slope)
    change = f"{1 - r:.0%} lower each {unit}" if r < 1 else f"{r - 1:.0%} higher each {unit}"
    text = f"odds x{r:.2f} per {unit} ({change}"
    if ci is not None:
        if not level:
            raise ValueError("odds_ratio_text: give the interval's level (inference.level_text(ALPHA)) with ci")
        text += f"; {level} CI x{odds_ratio(ci[0]):.2f} to x{odds_ratio(ci[1]):.2f}"
    return text + ")"


def direction_text(direction: str, alpha: float) -> str:
    """A trend's ``direction`` (up, down, flat) in words: ``"rising at alpha 0.01"``, ``"falling
    at alpha 0.01"``, or ``"not significant at alpha 0.01"`` (a slope whose p-value is not below
    alpha has not been shown to be zero: it is never called flat)."""
    from twigma.analysis.claims import direction_words

    if direction not in ("up", "down"):
        return direction_words("flat", alpha)  # the ledger's words for it (notebook 03)
    return f"{'rising' if direction == 'up' else 'falling'} at alpha {alpha:g}"


def plural(n: int, one: str, many: str | None = None) -> str:
    """``one`` when ``n`` is 1, else ``many`` (default ``one + "s"``): verbs too,
    ``plural(n, "moves", "move")``."""
    return one if int(n) == 1 else (many if many is not None else one + "s")


def count(n: int, one: str, many: str | None = None) -> str:
    """``"1 cluster"``, ``"2 clusters"``, ``"1,204 images"``."""
    return f"{int(n):,} {plural(n, one, many)}"


def compared(value: float, threshold: float, digits: int = 1, max_digits: int = 6) -> tuple[str, bool]:
    """A number rendered so that it reads on the same side of ``threshold`` as it is.

    Returns ``(text, below)``: ``text`` is ``value`` with ``digits`` decimals, or more until the
    rounded number and the value agree on ``value < threshold`` (1.465 against 1.5 gives
    ``("1.47", True)``, never "1.5" beside "under 1.5"); ``below`` is ``value < threshold``.
    Words for the two cases stay in the notebook.
    """
    value, threshold = float(value), float(threshold)
    below = value < threshold
    for d in range(digits, max_digits + 1):
        text = f"{value:.{d}f}"
        if (float(text) < threshold) == below:
            return text, below
    return f"{value:.{max_digits}g}", below


def pct(x: float, digits: int = 0) -> str:
    """A share as a percentage; shares under 1% keep one more digit so they do not read as 0%."""
    if x is None or pd.isna(x):
        return "n/a"
    if 0 < x < 0.01 and digits == 0:
        return f"{x:.1%}" if x >= 0.001 else f"{x:.2%}"
    return f"{x:.{digits}%}"


def _is_synthetic(data) -> bool:
    if isinstance(data, (bool, np.bool_)):
        return bool(data)
    return bool(getattr(data, "attrs", {}).get("synthetic", False))


SYNTHETIC_BANNER = (
    "> **⚠ SYNTHETIC sample data, not Twitter.** This run reads {what}, made by `twigma.synthetic` "
    "so that the paper's claims hold in it. Every verdict in this notebook therefore holds **by construction** "
    "and says nothing about TWIGMA; the figures are stamped the same way. For real findings run on the "
    "release (`make figures RELEASE=<file>`; docs/real-data.md)."
)


def banner_text(data) -> str:
    """The text of :func:`banner`: on synthetic data a warning box; on a release a one-line
    statement of what was read. ``data`` is the loaded release (its ``attrs`` say whether it is
    synthetic and where it came from) or a bool."""
    n = len(data) if hasattr(data, "__len__") and not isinstance(data, (bool, np.bool_)) else None
    source = getattr(data, "attrs", {}).get("source", "")
    if _is_synthetic(data):
        what = f"a {n:,}-row synthetic sample" if n is not None else "a synthetic sample"
        return SYNTHETIC_BANNER.format(what=what)
    return f"Data: `{source}`" + (f", {n:,} images." if n is not None else ".")


def banner(data, show: bool = True) -> str | None:
    """Open a notebook: display :func:`banner_text` and return None, so that a notebook cell
    ending in ``banner(release)`` shows the box once (a returned string would be the cell's
    value and print a second time, as a quoted Python string). With ``show=False`` nothing is
    displayed and the text is returned."""
    text = banner_text(data)
    if not show:
        return text
    display_markdown(text)
    return None


_CODE_SPAN = re.compile(r"(`+)(?:.|\n)*?\1")


def text_only_markdown(text: str) -> str:
    """Markdown whose raw HTML shows as text: every ``<`` outside code spans becomes ``&lt;`` (which
    Markdown shows as ``<``). A sentence may quote a caption, text a model wrote about a stranger's
    picture; in JupyterLab a kernel's own Markdown output is trusted, not sanitized, so an
    ``<img onerror=...>`` in a caption would run with the user's Jupyter token."""
    out, last = [], 0
    for m in _CODE_SPAN.finditer(text):
        out += [text[last:m.start()].replace("<", "&lt;"), m.group()]
        last = m.end()
    out.append(text[last:].replace("<", "&lt;"))
    return "".join(out)


def display_markdown(text: str) -> None:
    """Show Markdown in a notebook (as a ``text/markdown`` display output), its raw HTML as text
    (:func:`text_only_markdown`)."""
    from IPython.display import Markdown, display

    display(Markdown(text_only_markdown(text)))


def verdict(holds: str, synthetic: bool = False) -> str:
    """A claims-ledger ``holds`` value in words, marked when the data are synthetic."""
    words = {"yes": "**holds**", "no": "**does not hold**", "untestable": "untestable here",
             "partly testable": "**partly testable** (the part this data can test holds)"}.get(holds, holds)
    return words + (" (by construction: synthetic sample)"
                    if synthetic and holds in ("yes", "no", "partly testable") else "")


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def findings(rows: Sequence[ClaimRow], synthetic: bool = False) -> str:
    """The closing Findings table in Markdown.

    ``rows`` are claim checks (:class:`twigma.analysis.claims.ClaimCheck`) or any mappings with
    ``claim``, ``paper_says``, ``observed`` and ``holds`` (a notebook may add rows of its own
    for statements outside C1-C11, e.g. ``holds="descriptive"``).
    """
    from twigma.analysis.claims import as_row

    if not rows:
        raise ValueError("findings() needs at least one row")
    lines = ["| | the paper says | this run finds | verdict |", "|---|---|---|---|"]
    for r in map(as_row, rows):
        missing = {"claim", "paper_says", "observed", "holds"} - set(r)
        if missing:
            raise KeyError(f"a findings row needs {sorted(missing)}; got {sorted(r)}")
        lines.append(f"| {_cell(r['claim'])} | {_cell(r['paper_says'])} | {_cell(r['observed'])} | "
                     f"{verdict(r['holds'], synthetic)} |")
    return "\n".join(lines)

