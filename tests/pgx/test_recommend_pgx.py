"""The recommender with PGx inputs: excluded regimens and starting doses in the answer."""

from __future__ import annotations

import json
from typing import Any

import pytest


def crc(**patient_pgx: Any) -> dict[str, Any]:
    uracil = patient_pgx.pop("uracil_ng_ml", None)
    line: dict[str, Any] = {"line_number": 1, "albumin": 3.9, "creatinine_clearance": 80}
    if uracil is not None:
        line["uracil_ng_ml"] = uracil
    return {
        "patient": {
            "patient_key": "pk_00000000000000000000c017",
            "sex": "M",
            "cancer_type": "COADREAD",
            "oncotree_code": "COAD",
            "stage": "IV",
            "ecog": 1,
            **patient_pgx,
        },
        "line_number": 1,
        "lines": [line],
        "variants": [{"gene": "KRAS", "hgvsp": "p.G12D", "vaf": 0.3, "depth": 200}],
    }


@pytest.fixture(scope="module")
def rec(small_recommender):
    return small_recommender[2]


def test_uracil_complete_deficiency_excludes_fluoropyrimidines(rec):
    answer = rec.recommend_payload(crc(uracil_ng_ml=200))
    ranked = {r["regimen_id"] for r in answer["ranked"]}
    assert not ranked & {"folfox", "folfiri"}
    why = {r["regimen_id"]: r["reason"] for r in answer["excluded"]}
    assert why["folfox"].startswith("uracilemia 200 ng/mL (complete DPD deficiency)")
    assert why["folfox"].endswith("(fluorouracil), INCa/HAS 2018")


def test_reduced_starting_dose_in_ranked_rows(rec):
    answer = rec.recommend_payload(
        crc(dpyd_activity_score=1.5, ugt1a1_phenotype="poor", uracil_ng_ml=10)
    )
    rows = {r["regimen_id"]: r for r in answer["ranked"]}
    assert {"folfox", "folfiri"} <= set(rows)
    folfiri = {d["drug"]: d for d in json.loads(rows["folfiri"]["pgx_dose"])}
    assert folfiri["fluorouracil"]["starting_dose_percent"] == 50
    assert folfiri["fluorouracil"]["source"] == "CPIC DPYD 2017/2024"
    assert folfiri["irinotecan"]["starting_dose_percent"] == 70


def test_untested_patient_is_flagged(rec):
    answer = rec.recommend_payload(crc())
    rows = {r["regimen_id"]: r for r in answer["ranked"]}
    dose = json.loads(rows["folfox"]["pgx_dose"])[0]
    assert dose["tested"] is False
    assert dose["action"].startswith("untested before a fluoropyrimidine")
