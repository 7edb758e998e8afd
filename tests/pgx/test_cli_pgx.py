"""``precision-onco pgx``: text and JSON answers, errors in one line."""

from __future__ import annotations

import json

import pytest

from precision_onco.cli import main

from .conftest import panel


def test_json_answer(write_vcf, capsys):
    path = write_vcf(panel({"c.2846A>T": "0/1"}, ugt28="1/1"))
    assert main(["pgx", "--vcf", str(path), "--uracil", "20", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["genes"]["DPYD"]["activity_score"] == 1.5
    assert d["genes"]["DPYD"]["phenotype"] == "intermediate"
    assert d["genes"]["UGT1A1"]["diplotype"] == "*28/*28"
    assert d["genes"]["UGT1A1"]["phenotype"] == "poor"
    assert d["uracil"]["ng_ml"] == 20.0 and d["uracil"]["deficiency"] == "partial"
    rec = {r["drug"]: r for r in d["recommendations"]}
    assert rec["capecitabine"]["starting_dose_percent"] == 50
    assert rec["irinotecan"]["starting_dose_percent"] == 70
    assert rec["irinotecan"]["source"] == "DPWG UGT1A1-irinotecan"


def test_text_answer(write_vcf, capsys):
    path = write_vcf(panel({"c.1679T>G": "0/1", "c.1156G>T": "0/1"}))
    assert main(["pgx", "--vcf", str(path)]) == 0
    out = capsys.readouterr().out
    assert "DPYD     activity score 0; phenotype poor; diplotype c.1679T>G/c.1156G>T" in out
    assert "UGT1A1   diplotype *1/*1; phenotype normal" in out
    assert (
        "capecitabine        avoid  DPYD activity score 0 (c.1679T>G/c.1156G>T): "
        "fluoropyrimidines contraindicated" in out
    )
    assert "uracil   not measured" in out


def test_not_tested_positions_listed(write_vcf, capsys):
    path = write_vcf([r for r in panel() if r[0] == "1"])
    assert main(["pgx", "--vcf", str(path)]) == 0
    out = capsys.readouterr().out
    assert "not tested: *6 rs4148323 chr2:233760498" in out
    assert "to test: genotype UGT1A1 *28 rs3064744, *6 rs4148323" in out


def test_several_samples_error(write_vcf, capsys):
    path = write_vcf([r[:4] + ("0/1\t0/0",) for r in panel()], samples=("T", "N"))
    assert main(["pgx", "--vcf", str(path)]) == 2
    err = capsys.readouterr().err
    assert "precision-onco: error:" in err and "2 samples (T, N) and no --sample" in err
    assert main(["pgx", "--vcf", str(path), "--sample", "N", "--json"]) == 0


def test_needs_vcf_or_uracil(capsys):
    assert main(["pgx"]) == 2
    assert "pgx needs --vcf FILE (germline genotypes) and/or --uracil NG_ML" in (
        capsys.readouterr().err
    )


def test_real_somatic_vcf_is_read_with_a_warning(shared_data, capsys):
    """PCGR's TCGA COAD example carries rs3918290 (c.1905+1G>A) at chr1:97450058."""
    path = shared_data / "vcf" / "T001-COAD.grch38.vcf.gz"
    if not path.is_file():
        pytest.skip(f"{path} absent (shared test data)")
    assert main(["pgx", "--vcf", str(path), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    dpyd = d["genes"]["DPYD"]
    assert [a["name"] for a in dpyd["alleles"]] == ["c.1905+1G>A"]
    assert dpyd["phenotype"] == "indeterminate" and dpyd["activity_score_max"] == 1.0
    assert "somatic call set" in d["input"]["warnings"][0]
