"""Tests of twigma.release.facts: what is known about the TWIGMA release: the one source of the facts that its Croissant metadata (:mod:`twigma.release.croissant`) and its datasheet (:mod:`twigma.present.datasheet`) state."""
from __future__ import annotations

from support.croissant_files import dataset, loaded, write

from twigma.release import facts
from twigma.synthetic.release import GENERATOR_VERSION


def test_mlcroissant_reads_the_responsible_ai_fields(small_release_file, tmp_path):
    m = dataset(write(small_release_file, tmp_path)).metadata
    assert m.data_collection == facts.text("collection")
    assert m.data_biases == facts.items("biases")
    assert m.data_limitations[:len(facts.items("limitations"))] == facts.items("limitations")
    assert any(u.startswith("Intended: ") for u in m.data_use_cases)
    assert any(u.startswith("Out of scope: ") for u in m.data_use_cases)
    assert any("pseudonymous" in p for p in m.personal_sensitive_information)
    assert "May 2024" in m.data_release_maintenance_plan
    assert m.license == ["https://spdx.org/licenses/CC-BY-4.0.html"] and m.version == f"{GENERATOR_VERSION}.0.0"
    # the numbers come from the release described (computed, not written in the facts)
    ref = loaded(small_release_file)
    share = ref["like_count"].isna().mean()
    assert f"like counts are missing for {share:.1%} of the {len(ref):,} images" in m.data_collection_missing_data
    assert "synthetic sample" in m.data_collection_missing_data
    flagged = ref["possibly_sensitive"].dropna().astype(bool).mean()
    above = (ref["nsfw_score"] > 0.5).mean()
    assert any(f"{flagged:.1%} of images are flagged sensitive by Twitter (among known flags) and {above:.1%} have "
               "an NSFW score above 0.5" in p for p in m.personal_sensitive_information)
    (rs,) = m.record_sets
    assert f"{len(ref):,} images in {ref['id'].nunique():,} tweets" in rs.description


def test_the_facts_say_not_known_where_the_paper_is_silent():
    assert facts.FACTS["funding"] == facts.NOT_KNOWN
    assert facts.FACTS["ethics_review"] == facts.NOT_KNOWN
    assert "not known" in facts.text("collection")
