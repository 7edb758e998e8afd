"""Recommendation rows: drivers and evidence as JSON, the first regimen against the second."""

from __future__ import annotations

import json

import pytest

from precision_onco.config import endpoint_roles
from precision_onco.config.schema import RecommendConfig
from precision_onco.models.train import train_all
from precision_onco.recommend.table import recommendations


@pytest.fixture(scope="module")
def recs(small_cohort):
    root, cfg, tables, feats = small_cohort
    res = train_all(cfg, feats, tables.lines)
    held = feats.merge(res.predictions[["patient_key", "line_number"]])
    roles = endpoint_roles(cfg.endpoints)
    return cfg, recommendations(
        held,
        tables.patients,
        tables.lines,
        res.models,
        cfg.catalog,
        RecommendConfig(weights={"response": 1.0}),
        explain=roles.explained,
        separate=roles.efficacy,
    )


def test_drivers_and_evidence_are_json_for_every_ranked_regimen(recs) -> None:
    cfg, r = recs
    regimens = {x.id: x for x in cfg.catalog.regimens}
    for _, row in r.ranked.iterrows():
        drivers = json.loads(row["drivers"])
        assert set(drivers["response"]) == {"up", "down"}
        ev = json.loads(row["evidence"])
        reg = regimens[row["regimen_id"]]
        assert ev["trial"] == reg.evidence.trial and ev["published_orr"] == reg.evidence.orr
        assert {b["biomarker"] for b in ev["biomarkers_matched"]} <= set(reg.requires)


def test_first_regimen_is_set_against_the_second(recs) -> None:
    cfg, r = recs
    multi = r.ranked.groupby(["patient_key", "line_number"]).filter(lambda g: len(g) >= 2)
    if multi.empty:
        pytest.skip("no held-out line with two eligible regimens in this small cohort")
    for _, g in multi.groupby(["patient_key", "line_number"]):
        first = json.loads(g.iloc[0]["drivers"])
        assert first["first_vs_second"]["second"] == g.iloc[1]["regimen_id"]
        assert "first_vs_second" not in json.loads(g.iloc[1]["drivers"])
