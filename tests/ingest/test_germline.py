"""Germline PGx calls per patient from the cohort's VCFs (cohort.inputs.germline, issue 17)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from precision_onco.config import ConfigError, compose
from precision_onco.config.schema import (
    CoverageConfig,
    GermlineInputConfig,
    MafInputConfig,
    TableInputConfig,
    VcfInputConfig,
)
from precision_onco.ingest.cohort import ingest_cohort
from precision_onco.ingest.contracts import IngestError
from precision_onco.synth.pgx import Germline, germline_records
from precision_onco.synth.writers import vcf_text, write_vcf

ROOT = Path(__file__).resolve().parents[2]
KEY = "test-key-for-germline-ingest"


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRECISION_ONCO_PSEUDONYM_KEY", KEY)


def _germline(dpyd: list[tuple[str, str]], ugt: list[tuple[str, str]]) -> Germline:
    n = len(dpyd)
    return Germline(
        dpyd=np.array(dpyd, dtype=object),
        ugt1a1=np.array(ugt, dtype=object),
        activity_score=np.zeros(n),
        dpyd_rr=np.ones(n),
        ugt1a1_poor=np.zeros(n, bool),
        uracil=np.zeros(n),
        reported=np.zeros(n, bool),
    )


#: (patient, DPYD copies, UGT1A1 copies) -> expected activity score, UGT1A1 phenotype
PATIENTS = [
    ("P1", ("", ""), ("*1", "*1"), 2.0, "normal"),
    ("P2", ("c.1905+1G>A", ""), ("*1", "*28"), 1.0, "intermediate"),
    ("P3", ("c.1129-5923C>G", "c.2846A>T"), ("*28", "*28"), 1.0, "poor"),
    ("P4", ("c.1679T>G", "c.1905+1G>A"), ("*1", "*1"), 0.0, "normal"),
]


def _cohort(tmp_path: Path) -> Path:
    """Patients table and one tumour/normal VCF per patient, genotypes in the normal column."""
    germ = _germline([p[1] for p in PATIENTS], [p[2] for p in PATIENTS])
    recs = germline_records(germ)
    (tmp_path / "vcf").mkdir()
    for i, (pid, *_rest) in enumerate(PATIENTS):
        text = vcf_text(
            recs[recs["pidx"] == i], tumor=f"{pid}-T1", normal=f"{pid}-N1", file_date="20240101"
        )
        write_vcf(tmp_path / "vcf" / f"{pid}-T1.vcf.gz", text)
    pd.DataFrame(
        {
            "patient_id": [p[0] for p in PATIENTS],
            "sex": "F",
            "cancer_type": "COADREAD",
            "tumor_sample_id": [f"{p[0]}-T1" for p in PATIENTS],
            "normal_sample_id": [f"{p[0]}-N1" for p in PATIENTS],
        }
    ).to_csv(tmp_path / "patients.csv", index=False)
    return tmp_path


def _cfg(germline: GermlineInputConfig, **inputs: Any) -> Any:
    _, base = compose([], conf_dir=ROOT / "conf")
    ins = dataclasses.replace(
        base.cohort.inputs,
        patients=TableInputConfig(path="patients.csv"),
        lines=TableInputConfig(),
        maf=MafInputConfig(),
        vcf=VcfInputConfig(paths=["vcf/*.vcf.gz"]),
        germline=germline,
        coverage=CoverageConfig(),
        **inputs,
    )
    cohort = dataclasses.replace(
        base.cohort, name="germline_test", synthetic=False, inputs=ins, data_cutoff=None
    )
    return dataclasses.replace(base, cohort=cohort)


def test_normal_column_gives_each_patient_the_cpic_and_dpwg_calls(tmp_path: Path) -> None:
    root = _cohort(tmp_path)
    t = ingest_cohort(
        _cfg(GermlineInputConfig(source="normal_column", sample_column="normal_sample_id")),
        root=root,
    )
    got = t.patients.sort_values("patient_key")
    assert got["dpyd_activity_score"].notna().all()
    by_key = dict(
        zip(
            got["patient_key"],
            zip(got["dpyd_activity_score"], got["ugt1a1_phenotype"], strict=True),
            strict=True,
        )
    )
    from precision_onco.ingest.pseudonymize import pseudonymize

    keys = pseudonymize([p[0] for p in PATIENTS], KEY.encode())
    for k, (_pid, _d, _u, score, ph) in zip(keys, PATIENTS, strict=True):
        assert by_key[k] == (score, ph)
    assert "Reference/Reference" in set(got["dpyd_diplotype"])
    assert {"c.1679T>G/c.1905+1G>A", "c.1905+1G>A/c.1679T>G"} & set(got["dpyd_diplotype"])
    [rep] = [f for f in t.summary()["files"] if f["kind"] == "germline"]
    assert (rep["read"], rep["ingested"], rep["rejected"]) == (4, 4, 0)
    assert rep["dpyd_phenotypes"] == {"normal": 1, "intermediate": 2, "poor": 1}
    # the somatic ingest does not take the germline records as variants
    assert not t.variants["gene"].isin(["DPYD", "UGT1A1"]).any()
    assert t.summary()["rejected_by_reason"]["not PASS"] == 4 * 10


def _germline_vcf(path: Path, sample: str, records: list[str]) -> None:
    head = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=chr1,length=248956422>",
        "##contig=<ID=chr2,length=242193529>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "\t".join(
            ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", sample]
        ),
    ]
    path.write_text("\n".join(head + records) + "\n")


def test_per_patient_germline_files_with_untested_positions_and_strays(tmp_path: Path) -> None:
    root = _cohort(tmp_path)
    g = root / "germline"
    g.mkdir()
    # P1: only *2A tested, heterozygous -> AS at most 1 (other positions not tested)
    _germline_vcf(g / "P1.vcf", "P1-N1", ["chr1\t97450058\t.\tC\tT\t.\tPASS\t.\tGT\t0/1"])
    # P2: *13 homozygous decides AS 0 even with the rest untested
    _germline_vcf(g / "P2.vcf", "P2-N1", ["chr1\t97515787\t.\tA\tC\t.\tPASS\t.\tGT\t1/1"])
    # a sample of no patient, and a second file for P2
    _germline_vcf(g / "X9.vcf", "X9-N1", ["chr1\t97515787\t.\tA\tC\t.\tPASS\t.\tGT\t0/0"])
    _germline_vcf(g / "P2b.vcf", "P2-N1", ["chr1\t97515787\t.\tA\tC\t.\tPASS\t.\tGT\t0/0"])
    cfg = _cfg(
        GermlineInputConfig(
            source="files", paths=["germline/*.vcf"], sample_column="normal_sample_id"
        )
    )
    t = ingest_cohort(cfg, root=root)
    s = t.summary()
    [rep] = [f for f in s["files"] if f["kind"] == "germline"]
    assert (rep["read"], rep["ingested"], rep["rejected"]) == (4, 2, 2)
    assert rep["rejected_by_reason"] == {
        "germline sample of no patient": 1,
        "second germline file for a patient": 1,
    }
    reasons = t.rejects["reason"].astype(str).tolist()
    assert any(
        r.startswith(
            "germline sample of no patient: sample 'X9-N1' is linked to no "
            "patient (set cohort.inputs.germline.sample_column"
        )
        for r in reasons
    )
    p = t.patients.set_index(t.patients["dpyd_activity_score_max"].notna())
    assert p.loc[True, "dpyd_activity_score_max"] == 1.0 and np.isnan(
        p.loc[True, "dpyd_activity_score"]
    )  # indeterminate: a bound, never a score
    assert sorted(t.patients["dpyd_phenotype"].dropna()) == ["indeterminate", "poor"]
    assert (
        "2 patients have no germline genotype: DPYD and UGT1A1 are not tested for them"
        in s["warnings"]
    )


def test_germline_config_errors_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError,
        match=r"cohort\.inputs\.germline\.source': 'blood' is not one "
        r"of none, normal_column, files",
    ):
        compose(["cohort.inputs.germline.source=blood"], conf_dir=ROOT / "conf")
    with pytest.raises(
        ConfigError, match=r"cohort\.inputs\.germline\.paths': source 'files' needs"
    ):
        compose(["cohort.inputs.germline.source=files"], conf_dir=ROOT / "conf")
    root = _cohort(tmp_path)
    cfg = _cfg(GermlineInputConfig(source="normal_column", sample_column="germline_id"))
    with pytest.raises(
        IngestError,
        match=r"patients\.csv: cohort\.inputs\.germline\."
        r"sample_column 'germline_id' is not a column",
    ):
        ingest_cohort(cfg, root=root)
