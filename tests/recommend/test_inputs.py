"""A new patient's files as a payload: clinical JSON, CSV and FHIR; VCF and MAF; errors."""

from __future__ import annotations

import copy
import gzip
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from precision_onco.config import Config
from precision_onco.ingest.contracts import IngestError
from precision_onco.ingest.pseudonymize import DEMO_KEY, pseudonymize
from precision_onco.recommend.inputs import (
    clinical_payload,
    new_patient_payload,
    read_patient_variants,
)
from precision_onco.recommend.patient import PayloadError, parse_payload

KEY_ENV = "PRECISION_ONCO_PSEUDONYM_KEY"
PK = re.compile(r"^pk_[0-9a-f]{24}$")
RAW_ID = "MRN-0042-SMITH"

CLINICAL: dict[str, Any] = {
    "patient": {
        "patient_id": RAW_ID,
        "sex": "F",
        "cancer_type": "NSCLC",
        "oncotree_code": "LUAD",
        "stage": "IV",
        "ecog": 1,
        "alk_status": "negative",
    },
    "lines": [
        {
            "patient_id": RAW_ID,
            "line_number": 1,
            "regimen_id": "carboplatin_pemetrexed",
            "best_response": "PR",
            "ae_hematologic_max_grade": 3,
        },
        {"line_number": 2, "albumin": 3.4, "creatinine_clearance": 72, "pdl1_tps": 60},
    ],
}

CSV = (
    "patient_id,sex,cancer_type,oncotree_code,stage,ecog,alk_status,line_number,regimen_id,"
    "best_response,ae_hematologic_max_grade,albumin,creatinine_clearance,pdl1_tps\n"
    f"{RAW_ID},F,NSCLC,LUAD,IV,1,negative,1,carboplatin_pemetrexed,PR,3,,,\n"
    f"{RAW_ID},F,NSCLC,LUAD,IV,1,negative,2,,,,3.4,72,60\n"
)


@pytest.fixture(autouse=True)
def _demo_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default (synthetic) config falls back to the public demo key."""
    monkeypatch.delenv(KEY_ENV, raising=False)


@pytest.fixture(scope="module")
def cfg(default_config: Config) -> Config:
    return default_config


def _shared(shared_data: Path, name: str) -> Path:
    path = shared_data / name
    if not path.is_file():
        pytest.skip(f"{path} absent (shared test data)")
    return path


def _check_pseudonymized(payload: dict, raw: str, *absent: str) -> None:
    text = json.dumps(payload, allow_nan=False)
    for s in (raw, *absent):
        assert s not in text, s
    assert "patient_id" not in text
    key = payload["patient"]["patient_key"]
    assert PK.match(key), key
    assert key == pseudonymize([raw], DEMO_KEY)[0]


def test_clinical_json_becomes_a_pseudonymized_payload(tmp_path: Path, cfg: Config) -> None:
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(CLINICAL), encoding="utf-8")
    payload, rejected = new_patient_payload(cfg, clinical=path, line=2, preset="frail")
    assert rejected == {}
    _check_pseudonymized(payload, RAW_ID)
    assert payload["line_number"] == 2 and payload["preset"] == "frail"
    assert payload["variants"] == []
    case = parse_payload(payload, tox_categories=cfg.catalog.toxicity_categories)
    assert case.patient["cancer_type"] == "NSCLC" and case.preset == "frail"
    assert [r["line_number"] for r in case.lines] == [1, 2]
    assert case.lines[0]["objective_response"] == 1


@pytest.mark.parametrize("suffix", [".csv", ".tsv"])
def test_clinical_csv_one_row_per_line(tmp_path: Path, cfg: Config, suffix: str) -> None:
    path = tmp_path / f"patient{suffix}"
    path.write_text(CSV if suffix == ".csv" else CSV.replace(",", "\t"), encoding="utf-8")
    payload, _ = new_patient_payload(cfg, clinical=path, line=2)
    _check_pseudonymized(payload, RAW_ID)
    case = parse_payload(payload, tox_categories=cfg.catalog.toxicity_categories)
    assert case.patient["ecog"] == 1 and case.patient["alk_status"] == "negative"
    first, current = case.lines
    assert first["regimen_id"] == "carboplatin_pemetrexed"
    assert first["ae_hematologic_max_grade"] == 3 and first["best_response"] == "PR"
    assert current["line_number"] == 2 and current["albumin"] == 3.4
    assert current["pdl1_tps"] == 60.0 and "regimen_id" not in current
    # the same patient from the JSON file gets the same key
    js = tmp_path / "same.json"
    js.write_text(json.dumps(CLINICAL), encoding="utf-8")
    same, _ = new_patient_payload(cfg, clinical=js, line=2)
    assert same["patient"]["patient_key"] == payload["patient"]["patient_key"]


def test_clinical_csv_row_without_line_number_carries_the_patient(
    tmp_path: Path, cfg: Config
) -> None:
    path = tmp_path / "patient.csv"
    path.write_text(
        f"patient_id,sex,cancer_type,ecog,line_number,regimen_id\n{RAW_ID},M,MEL,0,,\n",
        encoding="utf-8",
    )
    payload, _ = new_patient_payload(cfg, clinical=path, line=1)
    assert payload["lines"] == []
    case = parse_payload(payload)
    assert case.patient["cancer_type"] == "MEL" and case.patient["sex"] == "M"


def test_fhir_bundle(shared_data: Path, cfg: Config) -> None:
    bundle = _shared(shared_data, "fhir/TrialMatching_Patient01.json")
    raw_id = json.loads(bundle.read_text(encoding="utf-8"))["entry"][0]["resource"]["id"]
    payload, rejected = new_patient_payload(cfg, clinical=bundle, line=2)
    assert rejected == {}
    # neither the resource id, the hospital identifier, the name nor the birth date travel
    _check_pseudonymized(payload, raw_id, "a123", "TrialMatching", "1959-01-01")
    case = parse_payload(payload, tox_categories=cfg.catalog.toxicity_categories)
    assert case.patient["cancer_type"] == "BRCA" and case.patient["sex"] == "F"
    assert case.patient["hr_status"] == "positive" and case.patient["her2_status"] == "negative"
    assert {v["gene"] for v in case.variants} >= {"PIK3CA", "ESR1"}
    assert {r.get("msi_status") for r in case.lines} == {"MSI-H"}
    assert [r["line_number"] for r in case.lines] == [1, 2]


def test_vcf_variants_and_not_pass_records(shared_data: Path, cfg: Config) -> None:
    vcf = _shared(shared_data, "vcf/A25.mutect2.vep.vcf")
    inputs = cfg.cohort.inputs
    variants, rejected = read_patient_variants(vcf, vcf=inputs.vcf, maf=inputs.maf)
    # 421 PASS records, one of which (chr15:27890374, intergenic) has no gene: not used,
    # and counted; the 1,007 other records are counted as not PASS
    assert len(variants) == 420
    assert rejected == {"not PASS": 1007, "no gene annotation": 1}
    assert {v["filter"] for v in variants} == {"PASS"}
    tp53 = [v for v in variants if v["gene"] == "TP53"]
    assert len(tp53) == 1 and "Arg280Ser" in tp53[0]["hgvsp"]
    assert tp53[0]["chrom"] == "chr17" and 0 < tp53[0]["vaf"] < 1
    allowed = {
        "gene",
        "hgvsp",
        "consequence",
        "vaf",
        "depth",
        "chrom",
        "pos",
        "ref",
        "alt",
        "filter",
    }
    assert all(set(v) <= allowed for v in variants)  # no sample or patient identifiers


def test_vcf_and_clinical_json_make_one_payload(
    tmp_path: Path, shared_data: Path, cfg: Config
) -> None:
    vcf = _shared(shared_data, "vcf/A25.mutect2.vep.vcf")
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(CLINICAL), encoding="utf-8")
    payload, rejected = new_patient_payload(cfg, clinical=path, line=2, variants=vcf)
    assert rejected == {"not PASS": 1007, "no gene annotation": 1}
    assert len(payload["variants"]) == 420
    _check_pseudonymized(payload, RAW_ID, "A25")
    case = parse_payload(payload, tox_categories=cfg.catalog.toxicity_categories)
    assert len(case.variants) == 420


def test_maf_needs_a_sample_and_keeps_only_its_rows(shared_data: Path, cfg: Config) -> None:
    maf = _shared(shared_data, "maf/tcga_laml.maf.gz")
    inputs = cfg.cohort.inputs
    with pytest.raises(IngestError) as info:
        read_patient_variants(maf, vcf=inputs.vcf, maf=inputs.maf)
    msg = str(info.value)
    assert "--sample" in msg and "193 tumour samples" in msg and "\n" not in msg
    with gzip.open(maf, "rt", encoding="utf-8") as fh:
        raw = pd.read_csv(fh, sep="\t", comment="#", low_memory=False)
    sample = "TCGA-AB-2807"
    mine = raw[raw["Tumor_Sample_Barcode"] == sample]
    variants, _ = read_patient_variants(maf, vcf=inputs.vcf, maf=inputs.maf, sample=sample)
    assert len(variants) == len(mine) == 29
    assert sorted((v["gene"], v["pos"]) for v in variants) == sorted(
        zip(mine["Hugo_Symbol"], mine["Start_Position"].astype(int), strict=True)
    )
    with pytest.raises(IngestError, match="no rows for sample 'TCGA-NOPE'"):
        read_patient_variants(maf, vcf=inputs.vcf, maf=inputs.maf, sample="TCGA-NOPE")


def test_missing_clinical_file(tmp_path: Path, cfg: Config) -> None:
    with pytest.raises(IngestError, match=r"absent\.json: file not found"):
        new_patient_payload(cfg, clinical=tmp_path / "absent.json", line=1)


def test_clinical_file_that_is_not_json(tmp_path: Path, cfg: Config) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"patient": {"sex": "F",', encoding="utf-8")
    with pytest.raises(IngestError, match=r"broken\.json: not valid JSON"):
        new_patient_payload(cfg, clinical=path, line=1)


@pytest.mark.parametrize(
    ("doc", "text"),
    [
        ([1, 2], 'expected {"patient": {...}'),
        ({"lines": []}, 'expected {"patient": {...}'),
        ({"patient": {"sex": "F"}, "extra": 1}, "unknown top-level field 'extra'"),
        ({"patient": {"sex": "F"}, "lines": {"line_number": 1}}, "'lines' must be a list"),
    ],
)
def test_clinical_json_of_the_wrong_shape(
    tmp_path: Path, cfg: Config, doc: object, text: str
) -> None:
    path = tmp_path / "patient.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(IngestError) as info:
        clinical_payload(path)
    assert text in str(info.value) and str(path) in str(info.value)


def test_unsupported_clinical_file_type(tmp_path: Path, cfg: Config) -> None:
    path = tmp_path / "patient.xlsx"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(IngestError, match=r"unsupported clinical file type '\.xlsx'"):
        new_patient_payload(cfg, clinical=path, line=1)


def test_csv_of_two_patients_is_refused(tmp_path: Path, cfg: Config) -> None:
    path = tmp_path / "two.csv"
    path.write_text(
        "patient_id,sex,cancer_type,line_number,regimen_id\n"
        "A-1,F,NSCLC,1,docetaxel\nB-2,F,NSCLC,2,\n",
        encoding="utf-8",
    )
    with pytest.raises(PayloadError) as info:
        new_patient_payload(cfg, clinical=path, line=2)
    msg = str(info.value)
    assert msg.startswith(f"{path}: rows of 2 patients") and "A-1" not in msg


def test_empty_csv_is_refused(tmp_path: Path, cfg: Config) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("patient_id,sex,cancer_type,line_number\n", encoding="utf-8")
    with pytest.raises(IngestError, match="no rows"):
        new_patient_payload(cfg, clinical=path, line=1)


def test_every_variant_record_is_used_or_counted_as_not_used(
    shared_data: Path, cfg: Config
) -> None:
    path = _shared(shared_data, "vcf/A25.mutect2.vep.vcf")
    inputs = cfg.cohort.inputs
    variants, rejected = read_patient_variants(path, vcf=inputs.vcf, maf=inputs.maf)
    assert len(variants) + sum(rejected.values()) == 1428


def test_a_vcf_without_protein_changes_is_refused_not_ranked_silently(
    shared_data: Path, cfg: Config
) -> None:
    # T001-COAD carries BRAF V600E but no VEP/SnpEff annotation: ranking it would treat
    # every biomarker as absent (and offer cetuximab to a BRAF V600E colorectal tumour)
    path = _shared(shared_data, "vcf/T001-COAD.grch38.vcf.gz")
    inputs = cfg.cohort.inputs
    with pytest.raises(IngestError) as info:
        read_patient_variants(path, vcf=inputs.vcf, maf=inputs.maf)
    msg = str(info.value)
    assert "T001-COAD.grch38.vcf.gz" in msg and "protein change (HGVSp)" in msg
    assert "annotate the file with VEP" in msg


def test_maf_rejects_are_counted_for_the_chosen_sample_only(tmp_path: Path, cfg: Config) -> None:
    cols = (
        "Hugo_Symbol",
        "Chromosome",
        "Start_Position",
        "Reference_Allele",
        "Tumor_Seq_Allele2",
        "Tumor_Sample_Barcode",
        "Variant_Classification",
        "HGVSp_Short",
        "t_alt_count",
        "t_depth",
    )
    good = ["KRAS", "12", "25245350", "C", "A", "{s}", "Missense_Mutation", "p.G12V", "10", "40"]
    bad = [
        "TP53",
        "17",
        "not-a-position",
        "C",
        "T",
        "{s}",
        "Missense_Mutation",
        "p.R273H",
        "5",
        "40",
    ]
    text = (
        "\t".join(cols)
        + "\n"
        + "".join(
            "\t".join(v.format(s=s) for v in r) + "\n"
            for s, r in (("S1", good), ("S2", good), ("S2", bad))
        )
    )
    path = tmp_path / "two.maf"
    path.write_text(text, encoding="utf-8")
    inputs = cfg.cohort.inputs
    v1, r1 = read_patient_variants(path, vcf=inputs.vcf, maf=inputs.maf, sample="S1")
    v2, r2 = read_patient_variants(path, vcf=inputs.vcf, maf=inputs.maf, sample="S2")
    assert [v["gene"] for v in v1] == ["KRAS"] and r1 == {}
    assert [v["gene"] for v in v2] == ["KRAS"] and sum(r2.values()) == 1


def _with_coverage(cfg: Config, **coverage: Any) -> Config:
    import dataclasses

    from precision_onco.config.schema import CoverageConfig

    inputs = dataclasses.replace(cfg.cohort.inputs, coverage=CoverageConfig(**coverage))
    return dataclasses.replace(cfg, cohort=dataclasses.replace(cfg.cohort, inputs=inputs))


def test_clinical_json_genes_tested_and_the_cohorts_assay(tmp_path: Path, cfg: Config) -> None:
    from precision_onco.config.schema import PanelConfig

    path = tmp_path / "patient.json"
    path.write_text(json.dumps({**CLINICAL, "genes_tested": ["EGFR", "ALK"]}), encoding="utf-8")
    own = _with_coverage(cfg, genes=["TP53"], panels={"lung": PanelConfig(genes=["ROS1"])})
    payload, _ = new_patient_payload(own, clinical=path, line=2)
    assert payload["genes_tested"] == ["ALK", "EGFR", "TP53"]
    assert "genes_tested" not in payload["patient"]
    assert parse_payload(payload).genes_tested == ["ALK", "EGFR", "TP53"]
    # a panel named by the patient; an unknown panel is refused with the known ones
    doc = copy.deepcopy(CLINICAL)
    doc["patient"]["assay_panel"] = "lung"
    path.write_text(json.dumps(doc), encoding="utf-8")
    payload, _ = new_patient_payload(own, clinical=path, line=2)
    assert payload["genes_tested"] == ["ROS1", "TP53"] and "assay_panel" not in payload["patient"]
    doc["patient"]["assay_panel"] = "heme"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(IngestError, match=r"assay_panel 'heme'.*known: \['lung'\]"):
        new_patient_payload(own, clinical=path, line=2)


def test_clinical_json_genes_tested_must_be_a_list(tmp_path: Path, cfg: Config) -> None:
    path = tmp_path / "patient.json"
    path.write_text(json.dumps({**CLINICAL, "genes_tested": "EGFR"}), encoding="utf-8")
    with pytest.raises(IngestError, match="'genes_tested' must be a list of gene symbols"):
        new_patient_payload(cfg, clinical=path, line=2)


def test_clinical_csv_genes_tested_column(tmp_path: Path, cfg: Config) -> None:
    path = tmp_path / "patient.csv"
    lines = CSV.splitlines()
    text = "\n".join([lines[0] + ",genes_tested"] + [r + ",EGFR;ALK;KRAS" for r in lines[1:]])
    path.write_text(text + "\n", encoding="utf-8")
    payload, _ = new_patient_payload(_with_coverage(cfg), clinical=path, line=2)
    assert payload["genes_tested"] == ["ALK", "EGFR", "KRAS"]


def test_a_clinical_csv_gives_the_recommenders_extra_inputs(
    tmp_path: Path, cfg: Config, caplog: pytest.LogCaptureFixture
) -> None:
    """A cohort's own model inputs (``features.extra``) are kept from the CSV's columns of
    those names, per line; one the file lacks is sent as unknown, with a warning naming it."""
    import dataclasses
    import logging

    extra = ["FCNA", "TMB_SCORE"]
    own = dataclasses.replace(cfg, features=dataclasses.replace(cfg.features, extra=extra))
    path = tmp_path / "patient.csv"
    text = CSV.replace("pdl1_tps\n", "pdl1_tps,FCNA\n", 1)
    text = text.replace(",3,,,\n", ",3,,,,0.12\n").replace(",60\n", ",60,0.31\n")
    path.write_text(text, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="precision_onco.recommend.inputs"):
        payload, _ = new_patient_payload(own, clinical=path, line=2)
    assert "has no TMB_SCORE (features.extra model inputs); scored as unknown" in caplog.text
    assert "FCNA" not in caplog.text
    assert payload["patient"]["TMB_SCORE"] is None
    case = parse_payload(
        payload, tox_categories=cfg.catalog.toxicity_categories, extra_inputs=extra
    )
    assert [r["FCNA"] for r in case.lines] == [0.12, 0.31]
    _, lines, _ = case.tables()
    assert lines["FCNA"].tolist() == [0.12, 0.31]
    assert lines["TMB_SCORE"].dtype == "float64" and lines["TMB_SCORE"].isna().all()
    # without features.extra, the same columns are not read (nor sent)
    plain, _ = new_patient_payload(cfg, clinical=path, line=2)
    assert "FCNA" not in json.dumps(plain)


def test_an_extra_input_of_an_earlier_line_is_not_carried_to_a_later_one(
    tmp_path: Path, cfg: Config, caplog: pytest.LogCaptureFixture
) -> None:
    """A ``features.extra`` value on line 1's row is line 1's: line 2, its cell empty, is
    scored with the input unknown (and warned about), not with line 1's value; a row without
    a line number gives the patient's value, which a line without its own takes."""
    import dataclasses
    import logging

    extra = ["FCNA"]
    own = dataclasses.replace(cfg, features=dataclasses.replace(cfg.features, extra=extra))
    path = tmp_path / "patient.csv"
    text = CSV.replace("pdl1_tps\n", "pdl1_tps,FCNA\n", 1)
    text = text.replace(",3,,,\n", ",3,,,,0.12\n").replace(",60\n", ",60,\n")
    path.write_text(text, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="precision_onco.recommend.inputs"):
        payload, _ = new_patient_payload(own, clinical=path, line=2)
    assert "has no FCNA (features.extra model inputs); scored as unknown" in caplog.text
    assert payload["patient"]["FCNA"] is None
    case = parse_payload(
        payload, tox_categories=cfg.catalog.toxicity_categories, extra_inputs=extra
    )
    _, lines, _ = case.tables()
    assert lines["FCNA"].iloc[0] == 0.12 and lines["FCNA"].isna().tolist() == [False, True]
    # a patient-level row (no line number) gives the value every line without its own takes
    rows = text.splitlines()
    patient_row = rows[1].split(",")
    patient_row[7:14] = [""] * 7
    patient_row[-1] = "0.5"
    path.write_text("\n".join([rows[0], ",".join(patient_row), *rows[1:]]) + "\n", "utf-8")
    payload, _ = new_patient_payload(own, clinical=path, line=2)
    assert float(payload["patient"]["FCNA"]) == 0.5
    _, lines, _ = parse_payload(
        payload, tox_categories=cfg.catalog.toxicity_categories, extra_inputs=extra
    ).tables()
    assert lines["FCNA"].tolist() == [0.12, 0.5]


def test_a_column_the_lines_mapping_recodes_keeps_its_code(tmp_path: Path, cfg: Config) -> None:
    """In a file laid out as the cohort's tables, a column one table's mapping recodes (here
    the lines' regimen codes, under the canonical name) takes that mapping's value, not the
    other table's untouched cell."""
    import dataclasses

    from precision_onco.config.schema import TableInputConfig

    inputs = dataclasses.replace(
        cfg.cohort.inputs,
        patients=TableInputConfig(columns={"patient_id": "MRN"}),
        lines=TableInputConfig(
            columns={"patient_id": "MRN"}, values={"regimen_id": "CP:carboplatin_pemetrexed"}
        ),
    )
    own = dataclasses.replace(cfg, cohort=dataclasses.replace(cfg.cohort, inputs=inputs))
    path = tmp_path / "patient.csv"
    path.write_text(
        f"MRN,sex,cancer_type,line_number,regimen_id,best_response\n"
        f"{RAW_ID},F,NSCLC,1,CP,PR\n{RAW_ID},F,NSCLC,2,,\n",
        encoding="utf-8",
    )
    payload, _ = new_patient_payload(own, clinical=path, line=2)
    _check_pseudonymized(payload, RAW_ID)
    assert payload["lines"][0]["regimen_id"] == "carboplatin_pemetrexed"
