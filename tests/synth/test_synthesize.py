"""The synthetic cohort: real formats, determinism, and no identifier in the ground truth."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import cyvcf2
import numpy as np
import pandas as pd
import pytest

from precision_onco.synth import RAW_FILES, synthesize
from precision_onco.synth.writers import CSQ_FIELDS


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_writes_every_raw_file(small_cohort: Path) -> None:
    for name in RAW_FILES.values():
        assert (small_cohort / name).exists(), name
    patients = pd.read_csv(small_cohort / RAW_FILES["patients"])
    assert len(patients) == 300
    assert set(patients["cancer_type"]) == {"NSCLC", "MEL", "COADREAD", "BRCA"}
    vcfs = sorted((small_cohort / "vcf").glob("*.vcf.gz"))
    assert len(vcfs) == 300


def test_every_vcf_reads_with_cyvcf2_and_every_csq_parses(small_cohort: Path) -> None:
    n_records = 0
    for path in sorted((small_cohort / "vcf").glob("*.vcf.gz")):
        with open(path, "rb") as fh:  # BGZF: gzip members with the BC extra field
            head = fh.read(18)
        assert head[:4] == b"\x1f\x8b\x08\x04" and head[12:14] == b"BC"
        vcf = cyvcf2.VCF(str(path))
        header = vcf.get_header_type("CSQ")
        fields = header["Description"].split("Format: ")[1].strip('"').split("|")
        assert tuple(fields) == CSQ_FIELDS
        tumor = vcf.raw_header.split("##tumor_sample=")[1].split("\n")[0]
        assert vcf.samples[1] == tumor and path.name == f"{tumor}.vcf.gz"
        for rec in vcf:
            n_records += 1
            entries = rec.INFO["CSQ"].split(",")
            assert len(entries) == len(rec.ALT)
            for entry in entries:
                parts = entry.split("|")
                assert len(parts) == len(CSQ_FIELDS)
                assert parts[3]  # SYMBOL
            ad = rec.format("AD")
            assert ad.shape == (2, 1 + len(rec.ALT))
            assert rec.format("DP")[1, 0] >= ad[1].sum()
        vcf.close()
    assert n_records > 300 * 5


def test_maf_matches_pass_calls(small_cohort: Path) -> None:
    with gzip.open(small_cohort / RAW_FILES["maf"], "rt") as fh:
        assert fh.readline().startswith("#version gdc-1.0.0")
    maf = pd.read_csv(small_cohort / RAW_FILES["maf"], sep="\t", comment="#", low_memory=False)
    for col in (
        "Hugo_Symbol",
        "Chromosome",
        "Start_Position",
        "Reference_Allele",
        "Tumor_Seq_Allele2",
        "Variant_Classification",
        "HGVSp_Short",
        "t_alt_count",
        "t_depth",
        "Tumor_Sample_Barcode",
    ):
        assert col in maf.columns
    assert (maf["FILTER"] == "PASS").all()
    assert maf["Tumor_Sample_Barcode"].nunique() > 250
    manifest = json.loads((small_cohort / RAW_FILES["manifest"]).read_text())
    assert manifest["n_maf_rows"] == len(maf)


def test_lines_are_plausible(small_cohort: Path, small_config) -> None:
    lines = pd.read_csv(small_cohort / RAW_FILES["lines"])
    assert lines["line_number"].between(1, 4).all()
    per_patient = lines.groupby("patient_id")["line_number"].agg(["min", "max", "count"])
    assert (per_patient["min"] == 1).all() and (per_patient["max"] == per_patient["count"]).all()
    assert set(lines["best_response"]) <= {"CR", "PR", "SD", "PD", "NE"}
    grades = lines.filter(like="_max_grade")
    assert grades.min().min() >= 0 and grades.max().max() <= 5
    cats = small_config.catalog.toxicity_categories
    assert (
        lines["ae_any_max_grade"] >= lines[[f"ae_{c}_max_grade" for c in cats]].max(axis=1)
    ).all()
    starts = pd.to_datetime(lines["start_date"])
    assert (starts <= pd.Timestamp(small_config.synth.data_cutoff)).all()
    ordered = lines.assign(s=starts).sort_values(["patient_id", "line_number"])
    assert (ordered.groupby("patient_id")["s"].diff().dropna() > pd.Timedelta(0)).all()


def test_ground_truth_covers_observed_lines_without_identifiers(small_cohort: Path) -> None:
    truth = pd.read_parquet(small_cohort / RAW_FILES["ground_truth"])
    lines = pd.read_csv(small_cohort / RAW_FILES["lines"])
    observed = truth[truth["observed"]]
    assert len(observed) == len(lines)
    assert (
        truth.groupby(["patient_key", "line_number"])["p_choice"].sum().between(0.999, 1.001).all()
    )
    for col in ("p_response", "p_ae_grade3"):
        assert truth[col].between(0, 1).all()
    per_cat = truth.filter(regex=r"^p_ae_.+_grade3$")
    assert per_cat.shape[1] >= 5, "one grade >= 3 probability per toxicity category"
    assert (truth["p_ae_grade3"] >= per_cat.max(axis=1) - 1e-12).all()
    ids = set(pd.read_csv(small_cohort / RAW_FILES["patients"])["patient_id"])
    assert truth["patient_key"].str.startswith("pk_").all()
    assert not ids & set(truth["patient_key"])


def test_same_seed_gives_byte_identical_outputs(
    small_config, small_cohort: Path, tmp_path: Path
) -> None:
    synthesize(small_config, tmp_path)
    assert _digest(tmp_path) == _digest(small_cohort)


def test_other_seed_gives_other_cohort(small_config, small_cohort: Path, tmp_path: Path) -> None:
    import dataclasses

    cfg = dataclasses.replace(small_config, synth=dataclasses.replace(small_config.synth, seed=7))
    synthesize(cfg, tmp_path)
    a = pd.read_csv(tmp_path / RAW_FILES["lines"])
    b = pd.read_csv(small_cohort / RAW_FILES["lines"])
    assert not a.equals(b)


def test_tmb_follows_cancer_type(small_cohort: Path, small_config) -> None:
    maf = pd.read_csv(small_cohort / RAW_FILES["maf"], sep="\t", comment="#", low_memory=False)
    nonsyn = maf[~maf["Variant_Classification"].isin(["Silent", "Intron"])]
    tmb = nonsyn.groupby("Tumor_Sample_Barcode").size() / small_config.synth.panel_size_mb
    patients = pd.read_csv(small_cohort / RAW_FILES["patients"]).set_index("tumor_sample_id")
    med = tmb.groupby(patients.loc[tmb.index, "cancer_type"]).median()
    assert med["MEL"] > med["BRCA"] and med["NSCLC"] > med["BRCA"]
    assert 5 <= med["MEL"] <= 25 and 1 <= med["BRCA"] <= 6


def test_unknown_cancer_type_is_a_clear_error(tmp_path: Path) -> None:
    from precision_onco.config import ConfigError, compose

    root = Path(__file__).resolve().parents[2]
    small = ["synth.n_patients=10", "synth.calibration_patients=50"]
    # Hydra merges dict overrides, so a new key alone is refused at composition ...
    with pytest.raises(ConfigError, match=r"synth\.cancer_mix.*GBM"):
        compose(["synth.cancer_mix={GBM: 1.0}", *small], conf_dir=root / "conf")
    # ... and a replaced mix naming an unknown type is refused by the simulator.
    _, cfg = compose(
        ["~synth.cancer_mix", "+synth.cancer_mix={GBM: 1.0}", *small], conf_dir=root / "conf"
    )
    with pytest.raises(ValueError, match=r"simulator knows .*not \['GBM'\]"):
        synthesize(cfg, tmp_path)


def test_biomarker_prevalences_are_realistic(small_cohort: Path) -> None:
    maf = pd.read_csv(small_cohort / RAW_FILES["maf"], sep="\t", comment="#", low_memory=False)
    patients = pd.read_csv(small_cohort / RAW_FILES["patients"])
    mel = patients[patients["cancer_type"] == "MEL"]["tumor_sample_id"]
    braf = maf[(maf["Hugo_Symbol"] == "BRAF") & maf["HGVSp_Short"].isin(["p.V600E", "p.V600K"])]
    share = np.isin(mel, braf["Tumor_Sample_Barcode"]).mean()
    assert 0.25 <= share <= 0.65  # DESIGN: ~45 %
