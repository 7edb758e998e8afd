"""What each patient's assay covered: ``genes_tested`` from config, panels, FHIR and calls."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from precision_onco.config.schema import CoverageConfig, PanelConfig
from precision_onco.ingest.contracts import IngestError
from precision_onco.ingest.coverage import attach_coverage, parse_genes, read_gene_file
from precision_onco.ingest.fhir import read_fhir_bundle
from precision_onco.ingest.genes import GeneIndex

LOINC = "http://loinc.org"


def test_gene_list_with_comments(tmp_path: Path) -> None:
    p = tmp_path / "panel.txt"
    p.write_text("# lung panel v2\nKRAS\nNRAS  # both RAS genes\n\nBRAF\n", encoding="utf-8")
    assert read_gene_file(p) == {"KRAS", "NRAS", "BRAF"}


def test_a_bad_symbol_names_the_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "panel.txt"
    p.write_text("KRAS\nchr12 25245274\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"panel\.txt:2: not a gene symbol: 'chr12 25245274'"):
        read_gene_file(p)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="coverage file not found"):
        read_gene_file(tmp_path / "nope.txt")
    (tmp_path / "empty.txt").write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(IngestError, match="no genes found"):
        read_gene_file(tmp_path / "empty.txt")


def test_target_bed_by_name_column(tmp_path: Path) -> None:
    p = tmp_path / "targets.bed.gz"
    with gzip.open(p, "wt") as fh:
        fh.write(
            "track name=targets\nchr12\t25245200\t25245400\tKRAS_exon2\n"
            "1\t114713800\t114716900\tNRAS:exon3\nchr7\t140753300\t140753400\tBRAF\n"
        )
    assert read_gene_file(p) == {"KRAS", "NRAS", "BRAF"}


def test_target_bed_without_names_needs_gene_intervals(tmp_path: Path) -> None:
    p = tmp_path / "targets.bed"
    p.write_text("chr12\t25245200\t25245400\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"targets\.bed:1: a target without a name"):
        read_gene_file(p)
    genes_bed = tmp_path / "genes.bed"
    genes_bed.write_text(
        "chr12\t25205245\t25250929\tKRAS\nchr12\t25300000\t25400000\tFAKE1\n"
        "chr1\t114704468\t114716894\tNRAS\n",
        encoding="utf-8",
    )
    index = GeneIndex.from_file(genes_bed)
    assert read_gene_file(p, genes=index) == {"KRAS"}
    (tmp_path / "bad.bed").write_text("chr12\tstart\t25245400\tKRAS\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"bad\.bed:1: not a BED line"):
        read_gene_file(tmp_path / "bad.bed")


def test_parse_genes() -> None:
    assert parse_genes("KRAS;NRAS, BRAF") == {"KRAS", "NRAS", "BRAF"}
    assert parse_genes(None) == set() and parse_genes(float("nan")) == set()
    assert parse_genes(pd.NA) == set()


def test_union_of_cohort_panel_table_and_calls(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text("EGFR\nALK\n", encoding="utf-8")
    cov = CoverageConfig(
        genes=["TP53"],
        panels={
            "crc_small": PanelConfig(genes=["KRAS", "NRAS"]),
            "lung": PanelConfig(file="big.txt"),
        },
    )
    patients = pd.DataFrame(
        {
            "patient_id": ["P1", "P2", "P3", "P4"],
            "assay_panel": ["crc_small", "lung", None, "hotspot50"],
            "genes_tested": [None, None, "BRAF;PIK3CA", None],
        }
    )
    variants = pd.DataFrame(
        {
            "patient_id": ["P1", "P2", "P2"],
            "gene": ["BRAF", "MET", "ERBB2"],
            "filter": ["PASS", "PASS", "LowQual"],
        }
    )
    out, warnings = attach_coverage(patients, variants, cov, root=tmp_path)
    got = dict(zip(out["patient_id"], out["genes_tested"], strict=True))
    assert got == {
        "P1": "BRAF;KRAS;NRAS;TP53",
        "P2": "ALK;EGFR;MET;TP53",
        "P3": "BRAF;PIK3CA;TP53",
        "P4": "TP53",
    }
    assert len(warnings) == 1 and "assay_panel" in warnings[0] and "'hotspot50'" in warnings[0]
    assert "known: ['crc_small', 'lung']" in warnings[0]


def test_nothing_known_is_missing_not_empty(tmp_path: Path) -> None:
    patients = pd.DataFrame({"patient_id": ["P1"]})
    out, _ = attach_coverage(
        patients, pd.DataFrame(columns=["patient_id", "gene"]), CoverageConfig(), root=tmp_path
    )
    assert out["genes_tested"].isna().all()
    no_calls = CoverageConfig(called_genes=False)
    variants = pd.DataFrame({"patient_id": ["P1"], "gene": ["KRAS"], "filter": ["PASS"]})
    out, _ = attach_coverage(patients, variants, no_calls, root=tmp_path)
    assert out["genes_tested"].isna().all()


def _region_studied(pid: str, genes: list[str]) -> dict[str, Any]:
    return {
        "resource": {
            "resourceType": "Observation",
            "id": f"region-{pid}",
            "status": "final",
            "code": {
                "coding": [
                    {"system": LOINC, "code": "53041-0", "display": "DNA region of interest panel"}
                ]
            },
            "subject": {"reference": f"Patient/{pid}"},
            "component": [
                {
                    "code": {"coding": [{"system": LOINC, "code": "48018-6"}]},
                    "valueCodeableConcept": {
                        "coding": [{"system": "http://www.genenames.org/geneId", "code": g}]
                    },
                }
                for g in genes
            ],
        }
    }


def test_fhir_region_studied_becomes_genes_tested(tmp_path: Path) -> None:
    entries = [
        {
            "fullUrl": "urn:uuid:p1",
            "resource": {
                "resourceType": "Patient",
                "id": "p1",
                "gender": "female",
                "birthDate": "1961-02-03",
            },
        },
        _region_studied("p1", ["KRAS", "NRAS", "BRAF"]),
        _region_studied("p1", ["PIK3CA"]) | {},
    ]
    entries[2]["resource"]["id"] = "region-p1-b"
    p = tmp_path / "bundle.json"
    p.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}))
    res = read_fhir_bundle(p)
    assert res.patients["genes_tested"].tolist() == ["BRAF;KRAS;NRAS;PIK3CA"]


def test_synthetic_cohort_patients_carry_the_simulated_panel(small_cohort) -> None:
    root, cfg, tables, _ = small_cohort
    panel = read_gene_file(root / cfg.cohort.inputs.coverage.file)
    assert {"KRAS", "NRAS", "BRAF", "EGFR"} <= panel
    covered = [parse_genes(t) for t in tables.patients["genes_tested"]]
    assert covered and all(panel <= s for s in covered)
