"""Tests of twigma.present.narrative: small helpers for the text a notebook renders from its own results."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from support.hostile_captions import PAYLOAD

from twigma.analysis import claims
from twigma.present import narrative


def test_p_values_are_never_printed_as_zero():
    from twigma.present.narrative import fmt_p, p_text

    assert fmt_p(0.0) == "< 1e-16" and p_text(0.0) == "p < 1e-16"
    assert fmt_p(5e-310) == "< 1e-16" and fmt_p(3e-17) == "< 1e-16" and fmt_p(2e-16) == "2.0e-16"
    assert fmt_p(3.2e-12) == "3.2e-12" and p_text(0.034) == "p = 0.034"
    assert fmt_p(float("nan")) == "n/a" and fmt_p(None) == "n/a"
    with pytest.raises(ValueError, match="p-value"):
        fmt_p(1.5)


def test_odds_ratio_text_reads_a_slope_per_year():
    from twigma.present.narrative import odds_ratio_text

    assert odds_ratio_text(np.log(0.5)) == "odds x0.50 per year (50% lower each year)"
    assert odds_ratio_text(np.log(2.0), ci=(np.log(1.5), np.log(3.0)), level="99%") == \
        "odds x2.00 per year (100% higher each year; 99% CI x1.50 to x3.00)"
    with pytest.raises(ValueError, match="level"):  # an interval never goes out without its level
        odds_ratio_text(np.log(2.0), ci=(np.log(1.5), np.log(3.0)))


def test_a_trend_not_significant_is_never_called_flat_in_words():
    assert narrative.direction_text("flat", 0.01) == "not significant at alpha 0.01"
    assert narrative.direction_text("up", 0.05) == "rising at alpha 0.05"
    assert narrative.direction_text("down", 0.01) == "falling at alpha 0.01"


def test_banner_and_findings(small_release):
    from twigma.present.narrative import banner, findings

    text = banner(small_release, show=False)
    assert "SYNTHETIC sample" in text and "3,000-row" in text and "by construction" in text
    real = small_release.copy()
    real.attrs = {**small_release.attrs, "synthetic": False}
    assert "SYNTHETIC" not in banner(real, show=False) and "3,000 images" in banner(real, show=False)
    row = claims.claim("C6", "2 cluster(s) | 5 and 7", True)
    table = findings([row], synthetic=True)
    assert table.splitlines()[0] == "| | the paper says | this run finds | verdict |"
    assert "two of the ten clusters" in table and "5 and 7" in table and "\\|" in table  # pipes escaped
    assert "**holds** (by construction: synthetic sample)" in table
    assert "**does not hold**" in findings([claims.claim("C6", "1", False)])
    with pytest.raises(KeyError, match="paper_says"):
        findings([{"claim": "x", "observed": "y", "holds": "yes"}])


def test_banner_shows_once_and_returns_nothing(small_release, monkeypatch):
    shown = []
    monkeypatch.setattr(narrative, "display_markdown", shown.append)
    assert narrative.banner(small_release) is None  # a cell ending in banner(...) prints no second, quoted copy
    assert len(shown) == 1 and "SYNTHETIC" in shown[0]
    assert narrative.banner(small_release, show=False) == shown[0] == narrative.banner_text(small_release)
    assert len(shown) == 1


def test_markdown_outputs_show_raw_html_as_text():
    """What the notebooks display as Markdown (narrative.display_markdown, and the report's copy of every
    markdown output): a '<' outside code is an entity, so a quoted caption cannot open a tag."""
    from twigma.present.narrative import text_only_markdown

    assert text_only_markdown("p < 0.001; `a<b>`; ``x < y``\n\n" + PAYLOAD) == (
        "p &lt; 0.001; `a<b>`; ``x < y``\n\n" + PAYLOAD.replace("<", "&lt;"))
    assert text_only_markdown("| a | **b** |\n|---|---|") == "| a | **b** |\n|---|---|"  # the markdown itself stays


@pytest.mark.parametrize("value,threshold", [(1.465, 1.5), (1.5, 1.5), (1.4999, 1.5), (1.55, 1.5), (0.96, 1.0),
                                             (2.0004, 2.0), (1.45, 1.5)])
def test_compared_renders_a_number_on_the_side_of_the_threshold_it_is(value, threshold):
    text, below = narrative.compared(value, threshold)
    assert below == (value < threshold)
    assert (float(text) < threshold) == below, text  # "1.5 (under 1.5)" cannot be rendered


def test_compared_keeps_the_digits_asked_for_when_they_suffice():
    assert narrative.compared(1.2345, 1.5) == ("1.2", True)
    assert narrative.compared(1.465, 1.5) == ("1.47", True)
    assert narrative.compared(1.465, 1.5, digits=2) == ("1.47", True)


def test_plural_and_count_never_write_a_parenthesised_s():
    assert narrative.count(1, "cluster") == "1 cluster" and narrative.count(2, "cluster") == "2 clusters"
    assert narrative.count(1204, "image") == "1,204 images" and narrative.count(0, "reply", "replies") == "0 replies"
    assert narrative.plural(1, "moves", "move") == "moves" and narrative.plural(3, "moves", "move") == "move"
    one = pd.DataFrame({"cluster": [5, 7], "mostly_nsfw": [True, False], "share_nsfw_gt_0_5": [0.9, 0.1]})
    assert "(s)" not in claims.check_c6(one).observed and "1 cluster with" in claims.check_c6(one).observed


def test_p_values_below_floating_point_read_as_a_bound():
    for p in (0.0, 1e-300, 1e-17):
        assert narrative.p_text(p) == "p < 1e-16"
    assert narrative.p_text(1.3e-13) == "p = 1.3e-13"
