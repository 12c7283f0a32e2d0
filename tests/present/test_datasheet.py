"""Tests of twigma.present.datasheet: a datasheet for TWIGMA: the questions of Gebru et al., "Datasheets for Datasets" (Communications of the ACM 64(12), 2021), answered from :mod:`twigma.release.facts` (the same facts as the Croissant file's Responsible-AI fields) and, where a question asks for a count, from the results of a run."""
from __future__ import annotations

from support.croissant_files import _run_tables

from twigma.release import facts


def test_the_datasheet_states_the_runs_counts_and_the_facts(small_release, tmp_path):
    from twigma.present import datasheet

    text = datasheet.render(_run_tables(small_release, tmp_path / "run", synthetic=False))
    df = small_release
    # independent counts from the table itself
    flag = df["possibly_sensitive"].dropna().astype(bool)
    both = df["possibly_sensitive"].notna()
    above = (df.loc[both, "nsfw_score"] > 0.5).mean()
    shares = df.assign(hot=df["nsfw_score"] > 0.5).groupby("label_10_cluster")["hot"].mean()
    mostly = sorted(int(c) for c in shares[shares > 0.5].index)
    assert f"*Measured:* {len(df):,} images in {df['id'].nunique():,} tweets" in text
    assert f"the like count is missing for {df['like_count'].isna().mean():.1%} of images" in text
    assert f"{flag.mean():.1%} of images are flagged sensitive by Twitter" in text
    assert f"{above:.1%} have a detector score above 0.5" in text
    assert f"{len(mostly)} of the 10 clusters are mostly NSFW" in text
    assert f"from {df['created_at'].min():%Y-%m-%d} to {df['created_at'].max():%Y-%m-%d}" in text
    assert "synthetic" not in text.lower().split("## motivation")[0]
    # one source of the facts: the Croissant file's RAI texts are the datasheet's answers
    for key in ("collection", "people", "maintenance"):
        assert facts.text(key) in text or all(item in text for item in facts.items(key))
    for item in facts.items("uses_out_of_scope"):
        assert f"- {item}" in text
    sections = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert sections == ["Motivation", "Composition", "Collection process", "Preprocessing, cleaning, labeling",
                        "Uses", "Distribution", "Maintenance"]
