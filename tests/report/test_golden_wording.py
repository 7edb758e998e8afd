"""The clinical wording says exactly what the golden corpus recorded (``golden_wording.py``)."""

from __future__ import annotations

import json

from tests.report.golden_wording import GOLDEN, output


def test_wording_matches_the_golden_corpus(default_config) -> None:
    corpus = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert len(corpus["features"]) > 200 and len(corpus["cases"]) > 7000
    differ = [
        (c, got) for c in corpus["cases"] if (got := output(c, default_config.catalog)) != c["out"]
    ]
    assert not differ, f"{len(differ)} wordings changed, first: {differ[:3]}"


def test_feature_names_are_parsed_by_prefix() -> None:
    from precision_onco.report.wording import FeatureName, parse_feature

    assert parse_feature("gene_NKX2-1") == FeatureName("gene", "NKX2-1")
    assert parse_feature("bm_KRAS_G12C") == FeatureName("biomarker", "KRAS_G12C")
    assert parse_feature("pathway_rtk_ras") == FeatureName("pathway", "rtk_ras")
    assert parse_feature("prior_platinum") == FeatureName("prior_class", "platinum")
    assert parse_feature("prior_lines") == FeatureName("plain", "prior_lines")
    assert parse_feature("regimen_platinum") == FeatureName("regimen_has", "platinum")
    assert parse_feature("same_class_before_targeted") == FeatureName("class_before", "targeted")
    assert parse_feature("regimen_has_unknown") == FeatureName("plain", "regimen_has_unknown")
