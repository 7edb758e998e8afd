"""FHIR out: the recommendation bundle validates resource by resource, our own FHIR reader reads
it back to the same canonical rows, French changes texts and not codes, nothing raw leaks."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any, TypedDict

import pandas as pd
import pytest
from fhir.resources.R4B import get_fhir_model_class

from precision_onco.config import endpoint_roles
from precision_onco.ingest.fhir import read_fhir_bundle
from precision_onco.recommend.patient import parse_payload
from precision_onco.report.fhir_out import (
    FhirBundleError,
    ReportDocuments,
    load_identifier_map,
    mhd_submission,
    recommendation_bundle,
    validate_bundle,
    write_fhir_files,
)

KEY = "pk_00000000000000000000f018"
PAYLOAD: dict[str, Any] = {
    "patient": {
        "patient_key": KEY,
        "sex": "F",
        "cancer_type": "NSCLC",
        "oncotree_code": "LUAD",
        "stage": "IV",
        "ecog": 1,
        "alk_status": "negative",
        "birth_year": 1956,
    },
    "line_number": 2,
    "lines": [
        {"line_number": 1, "regimen_id": "carboplatin_pemetrexed", "best_response": "PR"},
        {
            "line_number": 2,
            "albumin": 3.4,
            "creatinine_clearance": 72,
            "pdl1_tps": 60,
            "msi_status": "MSS",
            "tmb": 12.5,
        },
    ],
    "variants": [
        {
            "gene": "KRAS",
            "hgvsp": "p.G12C",
            "vaf": 0.31,
            "depth": 210,
            "chrom": "chr12",
            "pos": 25245351,
            "ref": "C",
            "alt": "A",
            "consequence": "missense_variant",
        },
        {
            "gene": "EGFR",
            "hgvsp": "p.E746_A750del",
            "vaf": 0.12,
            "depth": 330,
            "chrom": "chr7",
            "pos": 55174771,
            "ref": "AGGAATTAAGAGAAGC",
            "alt": "A",
            "consequence": "inframe_deletion",
        },
        {
            "gene": "KEAP1",
            "hgvsp": "p.G333C",
            "vaf": 0.4,
            "depth": 95,
            "chrom": "chr19",
            "pos": 10500000,
            "ref": "C",
            "alt": "A",
            "consequence": "missense_variant",
        },
        {
            "gene": "AR",
            "hgvsp": "p.T878A",
            "vaf": 0.05,
            "depth": 60,
            "chrom": "chrX",
            "pos": 67717615,
            "ref": "A",
            "alt": "G",
            "consequence": "missense_variant",
        },
    ],
}
VARIANT_COLUMNS = ["gene", "hgvsp", "vaf", "depth", "chrom", "pos", "ref", "alt", "consequence"]


@pytest.fixture(scope="module")
def case_and_answer(small_recommender):
    cfg, _, recommender = small_recommender
    case = parse_payload(PAYLOAD, tox_categories=cfg.catalog.toxicity_categories)
    answer = recommender.recommend(case).to_dict()
    answer["provenance"] = {
        "components": {
            "response": {
                "model": "precision_onco_response",
                "version": 3,
                "alias": "champion",
                "run_id": "abc123",
            }
        },
        "data_sha256": "d" * 16,
        "catalog_version": cfg.catalog.version,
        "package_version": "0.1.0",
    }
    return cfg, case, answer


class _Roles(TypedDict):
    efficacy: str | None
    any_severe_ae: str | None


def _roles(cfg: Any) -> _Roles:
    """The ``efficacy`` / ``any_severe_ae`` arguments of ``cfg``'s endpoints."""
    roles = endpoint_roles(cfg.endpoints)
    return {"efficacy": roles.efficacy, "any_severe_ae": roles.any_severe_ae}


def _bundle(case_and_answer: Any, lang: str = "en", **kw: Any) -> dict[str, Any]:
    cfg, case, answer = case_and_answer
    return recommendation_bundle(
        answer,
        patient=case.patient,
        markers=case.lines[-1],
        variants=case.variants,
        catalog=cfg.catalog,
        lang=lang,
        documents=ReportDocuments(html=b"<!doctype html><p>report</p>", pdf=b"%PDF-1.4 test"),
        generated="2026-12-02T01:00:00+00:00",
        **_roles(cfg),
        **kw,
    )


def _of(bundle: dict[str, Any], rtype: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == rtype]


def _profile(res: dict[str, Any]) -> str:
    return str(res.get("meta", {}).get("profile", [""])[0])


def test_every_resource_validates_and_the_report_says_what_it_is(case_and_answer: Any) -> None:
    cfg, case, answer = case_and_answer
    bundle = _bundle(case_and_answer)
    validate_bundle(bundle)
    for e in bundle["entry"]:
        res = e["resource"]
        get_fhir_model_class(res["resourceType"]).model_validate(res)
        assert e["fullUrl"] == f"urn:uuid:{res['id']}"
    types = Counter(e["resource"]["resourceType"] for e in bundle["entry"])
    assert types["DiagnosticReport"] == types["Provenance"] == types["DocumentReference"] == 1
    (report,) = _of(bundle, "DiagnosticReport")
    assert report["status"] == "preliminary"
    assert report["meta"]["profile"][0].endswith("/genomic-report")
    assert "Decision support only" in report["conclusion"]
    assert [f["contentType"] for f in report["presentedForm"]] == ["text/html", "application/pdf"]
    variants = [o for o in _of(bundle, "Observation") if _profile(o).endswith("/variant")]
    assert len(variants) == len(PAYLOAD["variants"])
    implications = [
        o for o in _of(bundle, "Observation") if _profile(o).endswith("/therapeutic-implication")
    ]
    assert len(implications) == len(answer["ranked"]) >= 2
    tasks = _of(bundle, "Task")
    proposed = [t for t in tasks if t["status"] == "requested"]
    assert all(t["intent"] == "proposal" for t in tasks)
    ranks = [next(i["valueInteger"] for i in t["input"] if "valueInteger" in i) for t in proposed]
    assert ranks == list(range(1, len(answer["ranked"]) + 1))
    rejected = [t for t in tasks if t["status"] == "rejected"]
    assert len(rejected) == len(answer["excluded"])
    assert {t["statusReason"]["text"] for t in rejected} == {
        e["reason"] for e in answer["excluded"]
    }
    first = answer["ranked"][0]
    imp = implications[0]
    comps = {c["code"]["coding"][0]["code"]: c for c in imp["component"]}
    assert comps["p-response"]["valueQuantity"]["value"] == pytest.approx(
        first["p_response"], abs=1e-6
    )
    low_high = comps["p-response-interval"]["valueRange"]
    assert low_high["low"]["value"] == pytest.approx(first["p_response_low"], abs=1e-6)
    assert low_high["high"]["value"] == pytest.approx(first["p_response_high"], abs=1e-6)
    assert "p-ae-grade3" in comps and "93044-6" in comps
    drugs = [
        c["valueCodeableConcept"]
        for c in imp["component"]
        if c["code"]["coding"][0]["code"] == "51963-7"
    ]
    reg = next(r for r in cfg.catalog.regimens if r.id == first["regimen_id"])
    assert [d["coding"][0]["code"] for d in drugs] == [cfg.catalog.drugs[d].atc for d in reg.drugs]
    assert imp["extension"][0]["valueRelatedArtifact"]["type"] == "citation"
    (prov,) = _of(bundle, "Provenance")
    assert any("precision_onco_response v3" in ent["what"]["display"] for ent in prov["entity"])
    assert any("dddddddd" in ent["what"]["display"] for ent in prov["entity"])
    (doc,) = _of(bundle, "DocumentReference")
    (binary,) = _of(bundle, "Binary")
    assert binary["contentType"] == "application/pdf"
    assert doc["content"][0]["attachment"]["url"] == f"urn:uuid:{binary['id']}"


def test_the_same_answer_gives_the_same_bundle(case_and_answer: Any) -> None:
    assert _bundle(case_and_answer) == _bundle(case_and_answer)


def test_our_reader_reads_the_bundle_back(case_and_answer: Any, tmp_path: Path) -> None:
    cfg, case, _ = case_and_answer
    files = write_fhir_files(tmp_path / f"{KEY}.line2", _bundle(case_and_answer))
    assert [f.name for f in files] == [f"{KEY}.line2.fhir.json", f"{KEY}.line2.mhd.json"]
    got = read_fhir_bundle(files[0], catalog=cfg.catalog)
    assert got.report.rejected == 0, got.rejects
    (pat,) = got.patients.to_dict(orient="records")
    assert pat["patient_id"] == KEY
    for col in ("sex", "cancer_type", "oncotree_code", "stage", "birth_year"):
        assert pat[col] == case.patient[col], col
    line = case.lines[-1]
    assert pat["pdl1_tps"] == line["pdl1_tps"] and pat["tmb"] == line["tmb"]
    assert pat["msi_status"] == line["msi_status"]
    back = got.variants[VARIANT_COLUMNS].to_dict(orient="records")
    sent = [{c: v[c] for c in VARIANT_COLUMNS} for v in case.variants]
    assert sorted(back, key=lambda r: r["gene"]) == sorted(sent, key=lambda r: r["gene"])
    assert set(got.variants["patient_id"]) == {KEY}


def test_french_changes_the_texts_not_the_codes(case_and_answer: Any) -> None:
    en, fr = _bundle(case_and_answer, "en"), _bundle(case_and_answer, "fr")

    def codes(obj: Any) -> list[tuple[str, str]]:
        if isinstance(obj, dict):
            own = [(obj["system"], obj["code"])] if "system" in obj and "code" in obj else []
            return own + [c for v in obj.values() for c in codes(v)]
        if isinstance(obj, list):
            return [c for v in obj for c in codes(v)]
        return []

    assert codes(en) == codes(fr)
    (report,) = _of(fr, "DiagnosticReport")
    assert report["code"]["text"] == "Rapport de recommandation thérapeutique"
    assert "Aide à la décision" in report["conclusion"]
    (cond,) = _of(fr, "Condition")
    assert cond["code"]["text"] == "cancer bronchique non à petites cellules"
    assert cond["code"]["coding"][0]["display"] == "Non-Small Cell Lung Cancer"
    texts = json.dumps(fr, ensure_ascii=False)
    assert "Rang 1 : " in texts and "réponse objective" in texts


def test_pseudonymous_key_only_unless_an_identifier_mapping_is_given(
    case_and_answer: Any, tmp_path: Path
) -> None:
    bundle = _bundle(case_and_answer)
    (patient,) = _of(bundle, "Patient")
    assert patient["identifier"] == [
        {"use": "secondary", "system": "urn:precision-onco:patient-key", "value": KEY}
    ]
    text = json.dumps(bundle) + json.dumps(mhd_submission(bundle))
    assert "INS" not in text and "1.2.250.1.213.1.4.8" not in text
    mapping = tmp_path / "ids.csv"
    mapping.write_text(
        f"patient_key,system,value\n{KEY},urn:oid:1.2.250.1.213.1.4.8,255081416802538\n",
        encoding="utf-8",
    )
    ids = load_identifier_map(mapping)
    mapped = _bundle(case_and_answer, identifiers=ids[KEY])
    (patient,) = _of(mapped, "Patient")
    assert patient["identifier"][1] == {
        "use": "official",
        "system": "urn:oid:1.2.250.1.213.1.4.8",
        "value": "255081416802538",
    }
    mhd = mhd_submission(mapped)
    assert mhd is not None
    (listing,) = _of(mhd, "List")
    assert listing["subject"]["identifier"]["value"] == "255081416802538"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("patient_key,value\nk,v\n", "line 1: missing column(s) system"),
        (
            "patient_key,system,value\nk,,v\n",
            "line 2: patient_key, system and value must all be given",
        ),
        ("patient_key,system,value\nk,INS,v\n", "line 2: system 'INS' is not a URI"),
    ],
)
def test_identifier_mapping_errors_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "ids.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FhirBundleError, match=re.escape(message)):
        load_identifier_map(path)
    with pytest.raises(FhirBundleError, match="identifier mapping file not found"):
        load_identifier_map(tmp_path / "absent.csv")


def test_mhd_submission_is_a_valid_transaction(case_and_answer: Any) -> None:
    mhd = mhd_submission(_bundle(case_and_answer))
    assert mhd is not None and mhd["type"] == "transaction"
    validate_bundle(mhd)
    assert [e["request"]["url"] for e in mhd["entry"]] == ["List", "DocumentReference", "Binary"]
    (listing,) = _of(mhd, "List")
    assert listing["code"]["coding"][0]["code"] == "submissionset"
    assert listing["meta"]["profile"][0].endswith("IHE.MHD.Minimal.SubmissionSet")
    (doc,) = _of(mhd, "DocumentReference")
    assert listing["entry"][0]["item"]["reference"] == mhd["entry"][1]["fullUrl"]
    assert doc["subject"] == {
        "identifier": {"system": "urn:precision-onco:patient-key", "value": KEY}
    }
    assert "context" not in doc


def test_a_bundle_without_document_has_no_submission(case_and_answer: Any) -> None:
    cfg, case, answer = case_and_answer
    bundle = recommendation_bundle(
        answer,
        patient=case.patient,
        markers={},
        variants=[],
        catalog=cfg.catalog,
        **_roles(cfg),
    )
    assert mhd_submission(bundle) is None
    assert not _of(bundle, "DocumentReference")


@pytest.mark.parametrize(
    ("where", "edit", "message"),
    [
        (
            "DiagnosticReport",
            lambda r: r.update(status="draft"),
            r"entry \d+ \(DiagnosticReport\): status 'draft' is not one of",
        ),
        (
            "Task",
            lambda r: r.update(intent="suggestion"),
            r"entry \d+ \(Task\): intent 'suggestion' is not one of",
        ),
        (
            "Observation",
            lambda r: r.update(valueQuantity={"value": "high"}),
            r"entry \d+ \(Observation\): valueQuantity.value",
        ),
        ("Observation", lambda r: r.update(colour="red"), r"entry \d+ \(Observation\): colour"),
        (
            "Task",
            lambda r: r.update(reasonReference={"reference": "urn:uuid:0"}),
            r"reference urn:uuid:0 names no entry of the bundle",
        ),
    ],
)
def test_an_invalid_bundle_is_named(
    case_and_answer: Any, where: str, edit: Any, message: str
) -> None:
    bundle = copy.deepcopy(_bundle(case_and_answer))
    edit(_of(bundle, where)[0])
    with pytest.raises(FhirBundleError, match=message):
        validate_bundle(bundle)


@pytest.fixture(scope="module")
def cohort_bundles(small_cohort, small_recommender, tmp_path_factory):
    """The report stage's bundles for the small cohort's held-out patients."""
    from precision_onco.config.schema import RecommendConfig
    from precision_onco.recommend.table import recommendations
    from precision_onco.report.batch import answers_from_tables
    from precision_onco.report.fhir_out.produce import write_cohort_bundles

    _, cfg, tables, feats = small_cohort
    _, res, recommender = small_recommender
    held = feats.merge(res.predictions[["patient_key", "line_number"]])
    ranking = recommendations(
        held,
        tables.patients,
        tables.lines,
        recommender.models,
        cfg.catalog,
        RecommendConfig(weights={"response": 1.0}),
        explain=recommender.explain,
        separate=recommender.separate,
    )
    answers = answers_from_tables(
        ranking.ranked.assign(preset="test"),
        ranking.excluded,
        {"catalog_version": cfg.catalog.version},
    )
    out = tmp_path_factory.mktemp("fhir")
    files = write_cohort_bundles(
        answers,
        patients=tables.patients,
        lines=tables.lines,
        variants=tables.variants,
        catalog=cfg.catalog,
        lang="fr",
        out_dir=out,
        efficacy=recommender.roles.efficacy,  # the recommender's, not the response-only cohort's
        any_severe_ae=recommender.roles.any_severe_ae,
    )
    return cfg, tables, answers, files


def _rows(df: Any, cols: list[str]) -> list[tuple[Any, ...]]:
    """Variant rows as sorted tuples, the VAF to 6 decimals (as written; stored as float32)."""
    out = df[cols].astype(object).where(df[cols].notna(), None).to_dict(orient="records")
    for r in out:
        r["vaf"] = None if r["vaf"] is None else round(float(r["vaf"]), 6)
    return sorted((tuple(r.values()) for r in out), key=str)


def test_every_held_out_bundle_validates_and_reads_back(cohort_bundles: Any) -> None:
    cfg, tables, answers, files = cohort_bundles
    fhir = sorted(f for f in files if f.name.endswith(".fhir.json"))
    assert len(fhir) == len(answers) > 10
    assert not [f for f in files if f.name.endswith(".mhd.json")]  # no report rendered here
    cols = ["gene", "hgvsp", "vaf", "depth", "chrom", "pos", "ref", "alt", "consequence"]
    for path in fhir:
        key = path.name.split(".")[0]
        bundle = json.loads(path.read_text(encoding="utf-8"))
        validate_bundle(bundle)
        got = read_fhir_bundle(path, catalog=cfg.catalog)
        assert got.report.rejected == 0
        (pat,) = got.patients.to_dict(orient="records")
        canonical = tables.patients[tables.patients["patient_key"] == key].iloc[0]
        assert pat["patient_id"] == key and pat["sex"] == canonical["sex"]
        assert pat["cancer_type"] == canonical["cancer_type"]
        want = tables.variants[
            (tables.variants["patient_key"] == key) & (tables.variants["filter"] == "PASS")
        ]

        assert _rows(got.variants, cols) == _rows(want, cols), key
        line = int(path.name.split(".")[1].removeprefix("line"))
        state = tables.lines[
            (tables.lines["patient_key"] == key) & (tables.lines["line_number"] == line)
        ].iloc[0]
        if pd.notna(state["pdl1_tps"]):
            assert pat["pdl1_tps"] == pytest.approx(float(state["pdl1_tps"]), abs=1e-3)
        if pd.notna(state["msi_status"]):
            assert pat["msi_status"] == state["msi_status"]
        else:
            assert "msi_status" not in pat or pd.isna(pat["msi_status"])


def test_the_served_format_fhir_answers_with_a_bundle(small_recommender) -> None:
    from precision_onco.recommend.patient import PayloadError

    _, _, recommender = small_recommender
    answer = recommender.recommend_payload(PAYLOAD)
    bundle = recommender.recommend_payload({**PAYLOAD, "format": "fhir"})
    assert answer["status"] == "ranked" and bundle["resourceType"] == "Bundle"
    validate_bundle(bundle)
    (report,) = _of(bundle, "DiagnosticReport")
    assert report["presentedForm"][0]["contentType"] == "text/html"
    tasks = [t for t in _of(bundle, "Task") if t["status"] == "requested"]
    assert len(tasks) == len(answer["ranked"])
    assert recommender.recommend_payload({**PAYLOAD, "format": "json"}) == answer
    with pytest.raises(PayloadError, match="format: expected one of json, fhir, got 'xml'"):
        recommender.recommend_payload({**PAYLOAD, "format": "xml"})


def test_rules_only_check_bindings_and_references_not_the_models(case_and_answer: Any) -> None:
    bundle = copy.deepcopy(_bundle(case_and_answer))
    _of(bundle, "Observation")[0]["colour"] = "red"
    validate_bundle(bundle, check="rules")  # the models' business
    with pytest.raises(FhirBundleError, match="colour"):
        validate_bundle(bundle)
    _of(bundle, "Task")[0]["status"] = "maybe"
    with pytest.raises(FhirBundleError, match="status 'maybe' is not one of"):
        validate_bundle(bundle, check="rules")
    with pytest.raises(ValueError, match="check: expected one of models, rules, none"):
        validate_bundle(bundle, check="some")


def test_the_stage_validation_setting_is_checked(cohort_bundles: Any, tmp_path: Path) -> None:
    from precision_onco.report.fhir_out.produce import write_cohort_bundles

    cfg, tables, answers, _ = cohort_bundles
    with pytest.raises(ValueError, match="report.fhir_validate: expected one of all, first, none"):
        write_cohort_bundles(
            answers,
            patients=tables.patients,
            lines=tables.lines,
            variants=tables.variants,
            catalog=cfg.catalog,
            lang="en",
            out_dir=tmp_path,
            validate="some",
            **_roles(cfg),
        )


def test_pharmacogenomic_results_are_genotype_observations(case_and_answer: Any) -> None:
    """A patient with DPYD and UGT1A1 results: one validated genotype Observation per gene,
    with the gene studied, the phenotype and the activity score; none without results."""
    cfg, case, answer = case_and_answer
    patient = {
        **case.patient,
        "dpyd_activity_score": 1.0,
        "dpyd_diplotype": "c.1905+1G>A/*1",
        "ugt1a1_phenotype": "poor",
        "ugt1a1_diplotype": "*28/*28",
    }
    bundle = recommendation_bundle(
        answer,
        patient=patient,
        markers=case.lines[-1],
        variants=case.variants,
        catalog=cfg.catalog,
        lang="en",
        generated="2026-12-02T01:00:00+00:00",
        **_roles(cfg),
    )
    validate_bundle(bundle)
    geno = [o for o in _of(bundle, "Observation") if _profile(o).endswith("/genotype")]
    by_gene = {
        o["component"][0]["valueCodeableConcept"].get("text")
        or o["component"][0]["valueCodeableConcept"]["coding"][0]["display"]: o
        for o in geno
    }
    assert set(by_gene) == {"DPYD", "UGT1A1"}
    dpyd = by_gene["DPYD"]
    assert dpyd["valueCodeableConcept"]["text"] == "c.1905+1G>A/*1"
    assert dpyd["component"][1]["valueCodeableConcept"]["text"] == "intermediate"
    assert dpyd["component"][2]["valueQuantity"]["value"] == 1.0
    assert by_gene["UGT1A1"]["component"][1]["valueCodeableConcept"]["text"] == "poor"
    report = _of(bundle, "DiagnosticReport")[0]
    urls = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    results = [urls[r["reference"]] for r in report["result"] if r["reference"] in urls]
    assert sum(_profile(r).endswith("/genotype") for r in results) == 2
    plain = recommendation_bundle(
        answer,
        patient=case.patient,
        markers=case.lines[-1],
        variants=case.variants,
        catalog=cfg.catalog,
        lang="en",
        generated="2026-12-02T01:00:00+00:00",
        **_roles(cfg),
    )
    assert not [o for o in _of(plain, "Observation") if _profile(o).endswith("/genotype")]
