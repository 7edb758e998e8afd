"""TreeSHAP explanations: contributions add up to the model output; clinical wording."""

from __future__ import annotations

import numpy as np
import pytest

from precision_onco.models.train import model_frame, train_all
from precision_onco.recommend.explain import (
    contributions,
    describe,
    raw_log_odds,
    separation,
    top_drivers,
)


@pytest.fixture(scope="module")
def fitted(small_cohort):
    root, cfg, tables, feats = small_cohort
    res = train_all(cfg, feats, tables.lines)
    rows = model_frame(feats.head(40), cfg)
    return cfg, res.models["response"], rows


def test_contributions_sum_to_the_model_log_odds(fitted) -> None:
    cfg, model, rows = fitted
    contrib, bias = contributions(model, rows)
    assert contrib.shape == (len(rows), len(model.columns))
    np.testing.assert_allclose(
        contrib.sum(axis=1).to_numpy() + bias, raw_log_odds(model, rows), rtol=1e-6, atol=1e-6
    )
    # the calibrated probability rises with the explained log-odds (monotone calibration)
    p = model.predict_proba(rows)
    z = raw_log_odds(model, rows)
    order = np.argsort(z)
    assert np.corrcoef(z[order], p[order])[0, 1] > 0.8


def test_top_drivers_and_separation_are_worded(fitted) -> None:
    cfg, model, rows = fitted
    contrib, _ = contributions(model, rows)
    drivers = top_drivers(contrib, rows, k=3, catalog=cfg.catalog)
    assert len(drivers) == len(rows)
    d = drivers[0]
    assert all(x["contribution"] > 0 for x in d["up"]) and all(
        x["contribution"] < 0 for x in d["down"]
    )
    assert all(isinstance(x["text"], str) and x["text"] for x in d["up"] + d["down"])
    sep = separation(
        contrib.iloc[0],
        contrib.iloc[1],
        rows.iloc[0].to_dict(),
        rows.iloc[1].to_dict(),
        catalog=cfg.catalog,
    )
    assert len(sep) <= 3 and all({"first", "second", "difference"} <= set(s) for s in sep)


def test_clinical_wording(default_config) -> None:
    cat = default_config.catalog
    assert describe("bm_KRAS_G12C", 1, cat) == "KRAS G12C present"
    assert describe("albumin", 2.9) == "albumin 2.9 g/dL"
    assert describe("line_number", 3) == "third line"
    assert describe("ecog", 2) == "ECOG 2"
    assert describe("gene_STK11", 1) == "STK11 altered"
    assert describe("pdl1_tps", 60.0) == "PD-L1 TPS 60 %"
    assert describe("albumin", float("nan")) == "albumin not recorded"
    assert describe("prior_irae_grade3", 1) == "a prior grade >= 3 immune-related adverse event"
    assert describe("same_class_before_immunotherapy", 1) == "immunotherapy already received"
    assert describe("FCNA", 0.31) == "FCNA = 0.3"
    assert describe("regimen_id", "sotorasib") == "sotorasib"


def test_regimens_classes_and_cancer_types_in_words(default_config) -> None:
    cat = default_config.catalog
    pcp = "pembrolizumab_carboplatin_pemetrexed"
    assert describe("regimen_id", pcp, cat) == "pembrolizumab + carboplatin + pemetrexed"
    assert describe("regimen_id", pcp, cat, "fr") == "pembrolizumab + carboplatine + pémétrexed"
    assert describe("regimen_id", "folfiri_cetuximab", cat, "fr") == "FOLFIRI + cétuximab"
    assert describe("regimen_has_targeted", 0, cat) == "no targeted agent in the regimen"
    assert describe("regimen_has_targeted", 0, cat, "fr") == "pas d’agent ciblé dans le protocole"
    assert describe("regimen_has_immunotherapy", 1) == "an immunotherapy agent in the regimen"
    assert describe("prior_best_response_ever", 2.0, cat, "fr") == (
        "meilleure réponse lors des lignes antérieures : réponse partielle"
    )
    assert (
        describe("prior_best_response", 0.0) == "best response at the previous line: "
        "progressive disease"
    )
    assert describe("cancer_type", "COADREAD", cat) == "Colorectal Adenocarcinoma"
    assert describe("cancer_type", "COADREAD", cat, "fr") == "adénocarcinome colorectal"
    assert describe("stage_rank", 3.0) == "stage III"
    assert describe("smoking_status", "never", lang="fr") == "non-fumeur"
    assert describe("alk_positive", 0.0) == "no ALK rearrangement"


def test_catalog_cancer_types_carry_their_oncotree_names(default_config, shared_data) -> None:
    """The catalog's cancer-type names are OncoTree's (the shared code list, read in place)."""
    import csv

    path = shared_data / "kb" / "oncotree_2025_10_03.flat.tsv"
    if not path.is_file():
        pytest.skip(f"{path} absent (shared data)")
    with path.open(encoding="utf-8") as fh:
        names = {r["code"]: r["name"] for r in csv.DictReader(fh, delimiter="\t")}
    cat = default_config.catalog
    types = {c for r in cat.regimens for c in r.cancer_types}
    assert set(cat.cancer_types) == types
    for code, ct in cat.cancer_types.items():
        assert ct.label == names[code], code
        assert ct.label_fr


def test_catalog_drugs_have_atc_codes(default_config) -> None:
    import re

    cat = default_config.catalog
    drugs = {d for r in cat.regimens for d in r.drugs}
    assert drugs <= set(cat.drugs)
    for d in drugs:
        assert re.fullmatch(r"[A-V][0-9]{2}[A-Z]{2}[0-9]{2}", cat.drugs[d].atc or ""), d
