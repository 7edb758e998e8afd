"""The Recommender: one patient's ranked, explained, evidence-linked answer, and its statuses."""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest

from precision_onco.catalog.catalog import Catalog
from precision_onco.config import endpoint_roles
from precision_onco.features import build_features
from precision_onco.recommend.explain import contributions
from precision_onco.recommend.patient import PayloadError, parse_payload
from precision_onco.recommend.rank import rank_regimens
from precision_onco.recommend.service import Recommender, recommender_from

ROOT = Path(__file__).resolve().parents[2]
CIVIC_TSV = "kb/civic_2021-08-01_ClinicalEvidenceSummaries.tsv"


def nsclc_kras_g12c() -> dict[str, Any]:
    """NSCLC, KRAS G12C, PD-L1 60 %, at line 2 after carboplatin + pemetrexed."""
    return {
        "patient": {
            "patient_key": "pk_00000000000000000000a001",
            "sex": "F",
            "cancer_type": "NSCLC",
            "oncotree_code": "LUAD",
            "stage": "IV",
            "ecog": 1,
            "alk_status": "negative",
        },
        "line_number": 2,
        "lines": [
            {
                "line_number": 1,
                "regimen_id": "carboplatin_pemetrexed",
                "best_response": "PR",
                "ae_hematologic_max_grade": 3,
            },
            {"line_number": 2, "albumin": 3.4, "creatinine_clearance": 72, "pdl1_tps": 60},
        ],
        "variants": [{"gene": "KRAS", "hgvsp": "p.G12C", "vaf": 0.31, "depth": 210}],
        "genes_tested": ["ALK", "BRAF", "EGFR", "KRAS", "MET", "NRAS", "RET", "ROS1"],
    }


def melanoma_braf_v600e() -> dict[str, Any]:
    return {
        "patient": {
            "patient_key": "pk_00000000000000000000b002",
            "sex": "M",
            "cancer_type": "MEL",
            "oncotree_code": "SKCM",
            "stage": "IV",
            "ecog": 0,
        },
        "line_number": 1,
        "lines": [{"line_number": 1, "albumin": 4.1, "ldh": 250}],
        "variants": [{"gene": "BRAF", "hgvsp": "p.V600E", "vaf": 0.42, "depth": 180}],
    }


@pytest.fixture(scope="module")
def trained(small_recommender):
    return small_recommender


@pytest.fixture(scope="module")
def rec(trained) -> Recommender:
    return trained[2]


@pytest.fixture(scope="module")
def civic_rec(trained, shared_data: Path) -> Recommender:
    cfg, res, _ = trained
    tsv = shared_data / CIVIC_TSV
    if not tsv.is_file():
        pytest.skip(f"{tsv} absent (shared test data)")
    with_civic = copy.deepcopy(cfg)
    with_civic.kb.civic.tsv = str(tsv)
    return recommender_from(res.models, with_civic, root=ROOT, provenance={"components": {}})


@pytest.fixture(scope="module")
def answer(rec: Recommender) -> dict[str, Any]:
    return rec.recommend_payload(nsclc_kras_g12c())


def test_kras_g12c_line_2_is_ranked_with_intervals(
    answer: dict[str, Any], rec: Recommender
) -> None:
    assert answer["status"] == "ranked"
    assert answer["patient_key"] == "pk_00000000000000000000a001"
    assert answer["line_number"] == 2 and answer["preset"] == "balanced"
    ranked = answer["ranked"]
    n = len(ranked)
    assert n >= 2
    assert [r["rank"] for r in ranked] == list(range(1, n + 1))
    assert answer["message"].startswith(
        f"{n} eligible regimen(s); first: {ranked[0]['regimen_id']}"
    )
    for r in ranked:
        assert r["patient_key"] == answer["patient_key"] and r["line_number"] == 2
        for ep in rec.models:
            p, lo, hi = r[f"p_{ep}"], r[f"p_{ep}_low"], r[f"p_{ep}_high"]
            assert 0.0 <= lo <= p <= hi <= 1.0, (r["regimen_id"], ep, lo, p, hi)
        assert r["utility_low"] <= r["utility"] <= r["utility_high"]
        assert isinstance(r["distinguishable"], bool)
    utilities = [r["utility"] for r in ranked]
    assert utilities == sorted(utilities, reverse=True)


def test_utility_is_the_presets_weighted_sum(answer: dict[str, Any], rec: Recommender) -> None:
    weights = {k: v for k, v in rec.presets["balanced"].weights.items() if k in rec.models}
    assert set(weights) == {"response", "ae_grade3"}
    for r in answer["ranked"]:
        expected = sum(w * r[f"p_{ep}"] for ep, w in weights.items())
        assert r["utility"] == pytest.approx(expected, abs=1e-12)


def test_drivers_are_worded_contributions_up_and_down(answer: dict[str, Any]) -> None:
    ranked = answer["ranked"]
    for r in ranked:
        for ep in ("response", "ae_grade3"):
            drivers = r["drivers"][ep]
            assert set(drivers) == {"up", "down"}
            for direction, sign in (("up", 1), ("down", -1)):
                assert len(drivers[direction]) <= 3
                for d in drivers[direction]:
                    assert set(d) == {"feature", "contribution", "value", "text"}
                    assert sign * d["contribution"] > 0
                    assert isinstance(d["text"], str) and d["text"]
            assert drivers["up"] or drivers["down"]
    first = ranked[0]["drivers"]["first_vs_second"]
    assert first["second"] == ranked[1]["regimen_id"]
    assert 1 <= len(first["response"]) <= 3
    assert all({"feature", "difference", "first", "second"} <= set(s) for s in first["response"])
    assert all("first_vs_second" not in r["drivers"] for r in ranked[1:])


def test_evidence_has_the_catalog_trial(answer: dict[str, Any], rec: Recommender) -> None:
    regimens = {r.id: r for r in rec.catalog.regimens}
    for r in answer["ranked"]:
        ev, reg = r["evidence"], regimens[r["regimen_id"]]
        assert ev["trial"] == reg.evidence.trial and ev["citation"] == reg.evidence.citation
        assert ev["published_orr"] == reg.evidence.orr and ev["name"] == reg.name
        assert "civic" not in ev  # no CIViC release configured
        assert {b["biomarker"] for b in ev["biomarkers_matched"]} <= set(reg.requires)


def test_sotorasib_is_eligible_on_kras_g12c(answer: dict[str, Any]) -> None:
    by_id = {r["regimen_id"]: r for r in answer["ranked"]}
    assert "sotorasib" in by_id
    matched = by_id["sotorasib"]["evidence"]["biomarkers_matched"]
    assert matched == [{"biomarker": "KRAS_G12C", "label": "KRAS G12C"}]
    assert by_id["sotorasib"]["evidence"]["trial"] == "CodeBreaK 100"


def test_excluded_regimens_have_reasons_and_cover_the_rest_of_the_catalog(
    answer: dict[str, Any], rec: Recommender
) -> None:
    ranked = [r["regimen_id"] for r in answer["ranked"]]
    excluded = {r["regimen_id"]: r["reason"] for r in answer["excluded"]}
    assert len(excluded) == len(answer["excluded"])
    assert all(isinstance(why, str) and why.strip() for why in excluded.values())
    assert not set(ranked) & set(excluded)
    assert sorted([*ranked, *excluded]) == sorted(r.id for r in rec.catalog.regimens)
    assert excluded["carboplatin_pemetrexed"] == "already received at an earlier line"
    assert excluded["pembrolizumab_carboplatin_pemetrexed"] == "allowed at lines 1-1 only"
    assert excluded["osimertinib"].startswith("requires EGFR sensitizing mutation")
    assert excluded["folfox"] == "indicated for COADREAD only"
    assert all(
        r["patient_key"] == answer["patient_key"] and r["line_number"] == 2
        for r in answer["excluded"]
    )


def test_without_kras_g12c_sotorasib_is_excluded(rec: Recommender) -> None:
    payload = nsclc_kras_g12c()
    payload["variants"] = [{"gene": "KRAS", "hgvsp": "p.G12D", "vaf": 0.3}]
    out = rec.recommend_payload(payload)
    assert "sotorasib" not in {r["regimen_id"] for r in out["ranked"]}
    reason = {r["regimen_id"]: r["reason"] for r in out["excluded"]}["sotorasib"]
    assert reason.startswith("requires KRAS G12C")


def test_braf_v600e_melanoma_has_civic_evidence(civic_rec: Recommender) -> None:
    assert civic_rec.civic is not None and civic_rec.civic.version == "2021-08-01"
    out = civic_rec.recommend_payload(melanoma_braf_v600e())
    assert out["status"] == "ranked"
    by_id = {r["regimen_id"]: r for r in out["ranked"]}
    ev = by_id["dabrafenib_trametinib"]["evidence"]
    assert ev["civic_release"] == "2021-08-01"
    assert ev["biomarkers_matched"][0]["biomarker"] == "BRAF_V600"
    items = ev["civic"]
    assert items
    for item in items:
        assert item["gene"] == "BRAF"
        assert item["evidence_level"] in {"A", "B", "C", "D", "E"}
        assert item["evidence_direction"] in {"Supports", "Does Not Support"}
        assert item["citation"]
        assert {d.lower() for d in item["drugs"]} & {"dabrafenib", "trametinib"}
    assert any(i["evidence_level"] == "A" and i["variant"].startswith("V600") for i in items)
    # every ranked regimen carries the release, matched items or not
    assert all(r["evidence"]["civic_release"] == "2021-08-01" for r in out["ranked"])
    json.dumps(out, allow_nan=False)


def test_cancer_type_not_in_catalog(rec: Recommender) -> None:
    payload = nsclc_kras_g12c()
    payload["patient"].update(cancer_type="GBM", oncotree_code="GBM")
    out = rec.recommend_payload(payload)
    assert out["status"] == "cancer_type_not_in_catalog"
    assert "'GBM'" in out["message"]
    for ct in Catalog(rec.catalog).cancer_types:
        assert ct in out["message"]
    assert out["ranked"] == [] and out["excluded"] == []
    json.dumps(out, allow_nan=False)


def test_no_eligible_regimen_after_the_catalogs_last_line(rec: Recommender) -> None:
    last = max(r.lines.max for r in rec.catalog.regimens if "NSCLC" in r.cancer_types)
    payload = nsclc_kras_g12c()
    payload["line_number"] = last + 1
    payload["lines"] = [
        {"line_number": i, "regimen_id": r}
        for i, r in enumerate(
            ["carboplatin_pemetrexed", "docetaxel", "sotorasib", "pembrolizumab_nsclc"], 1
        )
    ]
    out = rec.recommend_payload(payload)
    assert out["status"] == "no_eligible_regimen"
    assert out["ranked"] == []
    assert len(out["excluded"]) == len(rec.catalog.regimens)
    reasons = {r["regimen_id"]: r["reason"] for r in out["excluded"]}
    assert reasons["docetaxel"] == "allowed at lines 2-4 only"
    assert out["message"].startswith(
        f"no eligible regimen in the catalog for this patient at line {last + 1} ("
    )
    assert "sotorasib: allowed at lines 2-4 only" in out["message"]
    json.dumps(out, allow_nan=False)


def test_an_unknown_preset_names_the_available_ones(rec: Recommender) -> None:
    case = parse_payload(nsclc_kras_g12c())
    with pytest.raises(PayloadError) as info:
        rec.recommend(case, preset="cautious")
    msg = str(info.value)
    assert msg.startswith("preset: unknown preset 'cautious'")
    assert "balanced, efficacy_first, frail" in msg
    with pytest.raises(PayloadError, match="preset: unknown preset 'cautious'"):
        rec.recommend_payload({**nsclc_kras_g12c(), "preset": "cautious"})


def test_efficacy_first_changes_utilities_not_probabilities(
    rec: Recommender, answer: dict[str, Any]
) -> None:
    out = rec.recommend_payload({**nsclc_kras_g12c(), "preset": "efficacy_first"})
    assert out["preset"] == "efficacy_first"
    balanced = {r["regimen_id"]: r for r in answer["ranked"]}
    efficacy = {r["regimen_id"]: r for r in out["ranked"]}
    assert set(balanced) == set(efficacy)
    weights = rec.presets["efficacy_first"].weights
    for rid, r in efficacy.items():
        assert r["p_response"] == balanced[rid]["p_response"]
        assert r["utility"] != pytest.approx(balanced[rid]["utility"], abs=1e-6)
        assert r["utility"] == pytest.approx(
            weights["response"] * r["p_response"] + weights["ae_grade3"] * r["p_ae_grade3"]
        )
    # the preset argument wins over the payload's
    case = parse_payload({**nsclc_kras_g12c(), "preset": "efficacy_first"})
    assert rec.recommend(case, preset="frail").preset == "frail"


def test_the_recommender_survives_joblib(
    rec: Recommender, answer: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "recommender.joblib"
    joblib.dump(rec, path)
    loaded = joblib.load(path)
    assert isinstance(loaded, Recommender)
    assert loaded.fingerprint() == rec.fingerprint()
    assert loaded.recommend_payload(nsclc_kras_g12c()) == answer
    gbm = nsclc_kras_g12c()
    gbm["patient"]["cancer_type"] = "GBM"
    assert loaded.recommend_payload(gbm) == rec.recommend_payload(gbm)


def test_the_recommender_carries_the_roles_of_its_configuration(
    trained: Any, rec: Recommender
) -> None:
    cfg = trained[0]
    assert rec.roles == endpoint_roles(cfg.endpoints)
    assert (rec.explain, rec.separate) == (rec.roles.explained, rec.roles.efficacy)
    # other roles, other answers: another recommender version
    other = dataclasses.replace(rec, roles=dataclasses.replace(rec.roles, any_severe_ae=None))
    assert other.fingerprint() != rec.fingerprint()


def test_a_recommender_pickled_before_it_kept_its_roles_still_answers(
    rec: Recommender, answer: dict[str, Any], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A recommender of the versions that kept ``explain`` and ``separate`` (no ``roles``)
    loads with its roles taken from those (and the any-severe-AE endpoint it answered with
    then), with a warning, and gives the same answer."""
    old = object.__new__(Recommender)
    state = {k: v for k, v in vars(rec).items() if k != "roles"}
    vars(old).update(state, explain=rec.roles.explained, separate=rec.roles.efficacy)
    path = tmp_path / "old_recommender.joblib"
    joblib.dump(old, path)
    with caplog.at_level(logging.WARNING, logger="precision_onco.recommend.service"):
        loaded = joblib.load(path)
    assert "pickled without its endpoint roles" in caplog.text
    assert "explain" not in vars(loaded) and "separate" not in vars(loaded)
    assert loaded.roles == dataclasses.replace(rec.roles, pgx_dose=())
    assert loaded.roles.any_severe_ae == "ae_grade3"
    assert loaded.recommend_payload(nsclc_kras_g12c()) == answer
    # without a model of that endpoint, none
    vars(old)["models"] = {k: v for k, v in rec.models.items() if k != "ae_grade3"}
    joblib.dump(old, path)
    assert joblib.load(path).roles.any_severe_ae is None


def test_answers_are_plain_json(answer: dict[str, Any]) -> None:
    text = json.dumps(answer, allow_nan=False)
    assert json.loads(text) == answer


def test_answers_are_deterministic(rec: Recommender, answer: dict[str, Any]) -> None:
    assert rec.recommend_payload(nsclc_kras_g12c()) == answer


def test_drivers_are_the_contributions_of_the_ranked_row(
    rec: Recommender, answer: dict[str, Any]
) -> None:
    """The answer's drivers are the TreeSHAP contributions of the very candidate row scored."""
    case = parse_payload(nsclc_kras_g12c(), tox_categories=rec.catalog.toxicity_categories)
    patients, lines, variants = case.tables()
    feats = build_features(patients, lines, variants, rec.features, rec.catalog, panel=rec.panel)
    row = feats[feats["line_number"] == case.line_number]
    ranking = rank_regimens(row, patients, lines, rec.models, rec.catalog, rec.presets["balanced"])
    cand = ranking.candidates
    assert cand is not None
    ranked = answer["ranked"]
    assert list(ranking.ranked["regimen_id"]) == [r["regimen_id"] for r in ranked]
    for ep, model in rec.models.items():
        p, lo, hi = model.predict_interval(cand)
        np.testing.assert_allclose([r[f"p_{ep}"] for r in ranked], p, rtol=0, atol=1e-12)
        np.testing.assert_allclose([r[f"p_{ep}_low"] for r in ranked], lo, rtol=0, atol=1e-12)
        contrib, _ = contributions(model, cand)
        for i, r in enumerate(ranked):
            c = contrib.iloc[i]
            drivers = r["drivers"][ep]
            for d in drivers["up"] + drivers["down"]:
                direct = round(float(c[d["feature"]]), 4)
                assert d["contribution"] == pytest.approx(direct, abs=1e-9), (ep, d)
            # and they are the largest contributions each way
            up = c[c > 0].sort_values(ascending=False).head(3)
            down = c[c < 0].sort_values().head(3)
            assert [d["feature"] for d in drivers["up"]] == list(up.index)
            assert [d["feature"] for d in drivers["down"]] == list(down.index)


def _colorectal(genes_tested: list[str] | None) -> dict[str, Any]:
    """Colorectal cancer, first line, a TP53 call only: RAS/BRAF status depends on coverage."""
    payload: dict[str, Any] = {
        "patient": {
            "patient_key": "pk_00000000000000000000c003",
            "sex": "M",
            "cancer_type": "COADREAD",
            "oncotree_code": "COAD",
            "stage": "IV",
            "ecog": 0,
        },
        "line_number": 1,
        "lines": [{"line_number": 1, "albumin": 4.0, "creatinine_clearance": 95}],
        "variants": [{"gene": "TP53", "hgvsp": "p.R175H", "vaf": 0.4, "depth": 300}],
    }
    if genes_tested is not None:
        payload["genes_tested"] = genes_tested
    return payload


def test_colorectal_without_ras_coverage_is_not_offered_anti_egfr(rec: Recommender) -> None:
    out = rec.recommend_payload(_colorectal(None))
    assert "folfiri_cetuximab" not in {r["regimen_id"] for r in out["ranked"]}
    reason = {r["regimen_id"]: r["reason"] for r in out["excluded"]}["folfiri_cetuximab"]
    assert reason.startswith("needs KRAS/NRAS/BRAF testing")
    assert "did not cover KRAS, NRAS, BRAF" in reason


def test_colorectal_with_ras_coverage_is_scored_for_anti_egfr(rec: Recommender) -> None:
    out = rec.recommend_payload(_colorectal(["BRAF", "KRAS", "NRAS", "TP53"]))
    reasons = {r["regimen_id"]: r["reason"] for r in out["excluded"]}
    ranked = {r["regimen_id"] for r in out["ranked"]}
    assert "folfiri_cetuximab" in ranked, reasons.get("folfiri_cetuximab")


def test_a_null_marker_is_unknown_as_an_absent_one(rec: Recommender) -> None:
    """``alk_status: null`` is a status not recorded, as when the field is left out: the
    same features (``alk_positive`` missing, not 0 as for "negative") and the same answer."""
    null = nsclc_kras_g12c()
    null["patient"]["alk_status"] = None
    absent = nsclc_kras_g12c()
    del absent["patient"]["alk_status"]
    negative = nsclc_kras_g12c()
    feats = {}
    for name, payload in (("null", null), ("absent", absent), ("negative", negative)):
        case = parse_payload(payload, tox_categories=rec.catalog.toxicity_categories)
        patients, lines, variants = case.tables()
        built = build_features(
            patients, lines, variants, rec.features, rec.catalog, panel=rec.panel
        )
        feats[name] = built["alk_positive"].iloc[-1] if "alk_positive" in built else np.nan
    assert np.isnan(feats["null"]) and np.isnan(feats["absent"])
    assert feats["negative"] == 0.0
    assert rec.recommend_payload(null) == rec.recommend_payload(absent)
