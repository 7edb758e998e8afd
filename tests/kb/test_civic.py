"""CIViC clinical-evidence matcher: loading, matching rules, ordering and errors.

Most tests use the real CIViC 2021-08-01 release in ``../shared/data/kb`` (they
skip when it is absent); the rule and error tests use small TSVs in ``tmp_path``.
Expected counts are computed here with the :mod:`csv` module, independently of
the code under test.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from precision_onco.config import Config
from precision_onco.config.schema import CivicConfig
from precision_onco.kb import ITEM_KEYS, REQUIRED_COLUMNS, CivicError, CivicKB, civic_version

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
CIVIC_NAME = "civic_2021-08-01_ClinicalEvidenceSummaries.tsv"
CIVIC_TSV = SHARED_DATA / "kb" / CIVIC_NAME

LEVEL_ORDER = "ABCDE"
DIRECTION_ORDER = {"Supports": 0, "Does Not Support": 1}


# ------------------------------------------------------------------------ helpers
def _civic_path() -> Path:
    if not CIVIC_TSV.is_file():
        pytest.skip(f"CIViC release TSV not found at {CIVIC_TSV} (see ../shared/data/README.md)")
    return CIVIC_TSV


def _csv_rows() -> list[dict[str, str]]:
    with _civic_path().open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def _civic_cfg(default_config: Config, **changes: Any) -> CivicConfig:
    return dataclasses.replace(default_config.kb.civic, tsv=str(_civic_path()), **changes)


def _sort_key(item: dict[str, Any]) -> tuple[int, int, int, int]:
    rating = item["rating"]
    return (
        LEVEL_ORDER.index(item["evidence_level"]),
        DIRECTION_ORDER.get(item["evidence_direction"], 2),
        -(rating if rating is not None else -1),
        item["evidence_id"],
    )


def _assert_ordered(items: list[dict[str, Any]]) -> None:
    keys = [_sort_key(i) for i in items]
    assert keys == sorted(keys), "items are not sorted by level, direction, rating, evidence id"


def _lower(values: list[str]) -> set[str]:
    return {v.lower() for v in values}


def _write_tsv(path: Path, rows: list[dict[str, str]], columns: tuple[str, ...]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns), delimiter="\t")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})
    return path


def _row(eid: int, /, **values: str) -> dict[str, str]:
    row = {
        "gene": "BRAF",
        "variant": "V600E",
        "disease": "Melanoma",
        "drugs": "Dabrafenib",
        "evidence_type": "Predictive",
        "evidence_direction": "Supports",
        "evidence_level": "B",
        "clinical_significance": "Sensitivity/Response",
        "citation_id": str(1000 + eid),
        "source_type": "PubMed",
        "citation": "Doe et al., 2020",
        "rating": "3",
        "evidence_id": str(eid),
        "evidence_civic_url": f"https://civicdb.org/links/evidence_items/{eid}",
    }
    row.update(values)
    return row


# ----------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def kb_all(default_config: Config) -> CivicKB:
    """The real release, default filters, no truncation (max_items=0)."""
    kb = CivicKB.load(_civic_cfg(default_config, max_items=0), catalog=default_config.catalog)
    assert kb is not None
    return kb


@pytest.fixture(scope="module")
def kb_default(default_config: Config) -> CivicKB:
    """The real release with the default config (max_items=10)."""
    kb = CivicKB.load(_civic_cfg(default_config), catalog=default_config.catalog)
    assert kb is not None
    return kb


@pytest.fixture()
def small_cfg(default_config: Config) -> Iterator[CivicConfig]:
    yield dataclasses.replace(default_config.kb.civic, max_items=0)


# --------------------------------------------------------------------------- load
def test_load_keeps_configured_types_and_levels(kb_all: CivicKB) -> None:
    rows = _csv_rows()
    assert len(rows) == 3650
    expected = sum(
        r["evidence_type"] == "Predictive" and r["evidence_level"] in set("ABCDE") for r in rows
    )
    assert len(kb_all) == len(kb_all.items) == expected
    assert set(kb_all.items["evidence_type"]) == {"Predictive"}
    assert kb_all.source == CIVIC_NAME
    assert kb_all.licence == "CC0 1.0 (CIViC)"


@pytest.mark.parametrize(
    ("types", "levels"),
    [(["Predictive", "Prognostic"], ["A", "B"]), (["Diagnostic"], ["C"]), (["Predictive"], [])],
)
def test_load_filter_counts_match_csv(
    default_config: Config, types: list[str], levels: list[str]
) -> None:
    rows = _csv_rows()
    expected = sum(r["evidence_type"] in types and r["evidence_level"] in levels for r in rows)
    kb = CivicKB.load(_civic_cfg(default_config, evidence_types=types, levels=levels))
    assert kb is not None
    assert len(kb.items) == expected


def test_version_from_file_name_and_config_override(default_config: Config) -> None:
    kb = CivicKB.load(_civic_cfg(default_config))
    assert kb is not None and kb.version == "2021-08-01"
    kb = CivicKB.load(_civic_cfg(default_config, version="2021-08-01-curated"))
    assert kb is not None and kb.version == "2021-08-01-curated"
    assert civic_version("nightly-ClinicalEvidenceSummaries.tsv") == "unknown"
    assert civic_version("civic_2024-01-01_ClinicalEvidenceSummaries.tsv") == "2024-01-01"


def test_load_is_off_without_tsv(default_config: Config) -> None:
    assert default_config.kb.civic.tsv is None
    assert CivicKB.load(default_config.kb.civic) is None


def test_relative_path_resolves_against_base_dir(default_config: Config) -> None:
    _civic_path()
    cfg = dataclasses.replace(default_config.kb.civic, tsv=f"kb/{CIVIC_NAME}")
    kb = CivicKB.load(cfg, base_dir=SHARED_DATA)
    assert kb is not None and kb.source == CIVIC_NAME


# ---------------------------------------------------------------------- matching
def test_braf_v600e_melanoma_dabrafenib_trametinib(kb_all: CivicKB, default_config: Config) -> None:
    items = kb_all.match(
        cancer_type="MEL",
        drugs=["dabrafenib", "trametinib"],
        variants=[("BRAF", "p.V600E")],
        biomarkers=[],
    )
    assert items
    melanoma = _lower(default_config.kb.civic.diseases["MEL"])
    for item in items:
        assert item["gene"] == "BRAF"
        assert item["disease"].lower() in melanoma
        assert _lower(item["drugs"]) & {"dabrafenib", "trametinib"}
        assert item["variant"] in {"V600E", "V600", "MUTATION"}
    assert any(
        i["evidence_level"] in {"A", "B"}
        and i["evidence_direction"] == "Supports"
        and i["clinical_significance"] == "Sensitivity/Response"
        for i in items
    )
    by = {i["variant"]: i["matched_by"] for i in items}
    assert by["V600E"] == "variant"
    assert by["V600"] == "codon"  # CIViC codon-level V600 matches p.V600E
    _assert_ordered(items)
    # three-letter HGVSp is shortened first
    same = kb_all.match(
        cancer_type="MEL",
        drugs=["Dabrafenib", "TRAMETINIB"],
        variants=[("braf", "p.Val600Glu")],
        biomarkers=[],
    )
    assert same == items


def test_biomarker_brings_in_listed_variants(kb_all: CivicKB) -> None:
    """BRAF_V600 lists V600K: a V600E patient with that biomarker also gets V600K items."""
    kwargs: dict[str, Any] = {"cancer_type": "MEL", "drugs": ["dabrafenib", "trametinib"]}
    plain = kb_all.match(variants=[("BRAF", "p.V600E")], biomarkers=[], **kwargs)
    with_bm = kb_all.match(variants=[("BRAF", "p.V600E")], biomarkers=["BRAF_V600"], **kwargs)
    assert {i["evidence_id"] for i in plain} < {i["evidence_id"] for i in with_bm}
    v600k = [i for i in with_bm if i["variant"] == "V600K"]
    assert v600k and {i["matched_by"] for i in v600k} == {"biomarker:BRAF_V600"}
    # a direct match keeps its own label when a biomarker would also match
    assert {i["matched_by"] for i in with_bm if i["variant"] == "V600E"} == {"variant"}


def test_egfr_l858r_nsclc(kb_all: CivicKB) -> None:
    # The 2021-08-01 release has osimertinib items only for T790M, C797S and
    # amplification, none for L858R, exon 19 deletions or EGFR MUTATION.
    rows = _csv_rows()
    assert not any(
        r["gene"] == "EGFR"
        and r["variant"] in {"L858R", "EXON 19 DELETION", "MUTATION"}
        and "osimertinib" in r["drugs"].lower()
        for r in rows
    )
    osimertinib = kb_all.match(
        cancer_type="NSCLC",
        drugs=["osimertinib"],
        variants=[("EGFR", "p.L858R")],
        biomarkers=["EGFR_sensitizing"],
    )
    assert osimertinib == []
    # the patient's T790M resistance mutation does bring osimertinib evidence
    t790m = kb_all.match(
        cancer_type="NSCLC",
        drugs=["osimertinib"],
        variants=[("EGFR", "p.L858R"), ("EGFR", "p.T790M")],
        biomarkers=["EGFR_sensitizing"],
    )
    assert t790m and {i["variant"] for i in t790m} == {"T790M"}
    assert any(i["evidence_level"] == "A" for i in t790m)

    items = kb_all.match(
        cancer_type="NSCLC",
        drugs=["erlotinib", "gefitinib"],
        variants=[("EGFR", "p.L858R")],
        biomarkers=[],
    )
    l858r = [i for i in items if i["variant"] == "L858R"]
    assert l858r and {i["matched_by"] for i in l858r} == {"variant"}
    assert any(i["evidence_level"] == "A" for i in l858r)
    assert {i["gene"] for i in items} == {"EGFR"}
    assert {i["variant"] for i in items} <= {"L858R", "MUTATION"}
    _assert_ordered(items)


def test_egfr_exon19_deletion_via_biomarker(kb_all: CivicKB) -> None:
    kwargs: dict[str, Any] = {
        "cancer_type": "NSCLC",
        "drugs": ["gefitinib"],
        "variants": [("EGFR", "p.E746_A750del")],
    }
    without = kb_all.match(biomarkers=[], **kwargs)
    assert not any(i["variant"] == "EXON 19 DELETION" for i in without)
    items = kb_all.match(biomarkers=["EGFR_sensitizing"], **kwargs)
    exon19 = [i for i in items if i["variant"] == "EXON 19 DELETION"]
    assert exon19
    assert {i["matched_by"] for i in exon19} == {"biomarker:EGFR_sensitizing"}
    by_variant = {i["variant"]: i["matched_by"] for i in items}
    assert by_variant["E746_A750del"] == "variant"
    assert by_variant["MUTATION"] == "gene"
    # an in-frame deletion has no codon match (E746G is another residue change)
    assert "E746G" not in by_variant
    assert {i["gene"] for i in items} == {"EGFR"}


def test_kras_g12c_nsclc(kb_all: CivicKB) -> None:
    # No sotorasib (AMG 510) item in the 2021-08-01 release.
    assert not any(
        "sotorasib" in r["drugs"].lower() or "amg 510" in r["drugs"].lower() for r in _csv_rows()
    )
    variants = [("KRAS", "p.G12C")]
    assert (
        kb_all.match(
            cancer_type="NSCLC", drugs=["sotorasib"], variants=variants, biomarkers=["KRAS_G12C"]
        )
        == []
    )
    # docetaxel gets the selumetinib + docetaxel item for KRAS G12C
    items = kb_all.match(cancer_type="NSCLC", drugs=["docetaxel"], variants=variants, biomarkers=[])
    g12c = [i for i in items if i["variant"] == "G12C"]
    assert g12c and g12c[0]["matched_by"] == "variant"
    assert "docetaxel" in _lower(g12c[0]["drugs"])


def test_kras_g12d_colorectal_cetuximab_resistance(kb_all: CivicKB) -> None:
    items = kb_all.match(
        cancer_type="COADREAD",
        drugs=["cetuximab"],
        variants=[("KRAS", "p.G12D")],
        biomarkers=[],
    )
    assert items
    assert all("cetuximab" in _lower(i["drugs"]) for i in items)
    assert {i["gene"] for i in items} == {"KRAS"}
    resistance = [
        i
        for i in items
        if i["clinical_significance"] == "Resistance" and i["evidence_direction"] == "Supports"
    ]
    assert {i["variant"] for i in resistance} >= {"G12D", "MUTATION"}
    assert any(i["evidence_level"] == "A" for i in resistance)  # gene-level, level A
    assert {i["matched_by"] for i in items if i["variant"] == "G12D"} == {"variant"}
    assert {i["matched_by"] for i in items if i["variant"] == "MUTATION"} == {"gene"}
    _assert_ordered(items)
    # RAS_mutant lists EXON 2 MUTATION and G12/G13: more resistance evidence
    with_bm = kb_all.match(
        cancer_type="COADREAD",
        drugs=["cetuximab"],
        variants=[("KRAS", "p.G12D")],
        biomarkers=["RAS_mutant"],
    )
    extra = {i["variant"] for i in with_bm} - {i["variant"] for i in items}
    assert extra == {"EXON 2 MUTATION", "G12/G13"}


def test_marker_biomarker_genes(kb_all: CivicKB) -> None:
    assert kb_all.biomarker_genes("germline_BRCA") == ["BRCA1", "BRCA2"]
    assert kb_all.biomarker_genes("ALK_rearranged") == ["ALK"]
    assert kb_all.biomarker_genes("RAS_mutant") == ["KRAS", "NRAS"]  # catalog genes
    items = kb_all.match(
        cancer_type="BRCA", drugs=["olaparib"], variants=[], biomarkers=["germline_BRCA"]
    )
    assert items and {i["gene"] for i in items} <= {"BRCA1", "BRCA2"}
    assert {i["matched_by"] for i in items} == {"biomarker:germline_BRCA"}
    alk = kb_all.match(
        cancer_type="NSCLC", drugs=["pemetrexed"], variants=[], biomarkers=["ALK_rearranged"]
    )
    assert [(i["gene"], i["variant"]) for i in alk] == [("ALK", "ALK FUSIONS")]
    # the 2021 release has no MSI-H item
    assert (
        kb_all.match(
            cancer_type="COADREAD", drugs=["pembrolizumab"], variants=[], biomarkers=["MSI_high"]
        )
        == []
    )


def test_biomarker_is_restricted_to_its_genes(kb_all: CivicKB) -> None:
    items = kb_all.match(
        cancer_type="NSCLC",
        drugs=["erlotinib", "gefitinib"],
        variants=[],
        biomarkers=["EGFR_sensitizing", "NOT_A_BIOMARKER"],
    )
    assert items and {i["gene"] for i in items} == {"EGFR"}
    assert {i["variant"] for i in items} == {"L858R", "EXON 19 DELETION", "MUTATION"}


@pytest.mark.parametrize(
    ("cancer_type", "drugs", "variants", "biomarkers"),
    [
        ("BRCA", ["dabrafenib"], [("BRAF", "p.V600E")], []),  # wrong disease
        ("MEL", ["capecitabine"], [("BRAF", "p.V600E")], []),  # drug not in any item
        ("GBM", ["dabrafenib"], [("BRAF", "p.V600E")], []),  # unknown cancer type
        ("MEL", ["dabrafenib"], [], []),  # no variants, no biomarkers
        ("MEL", [], [("BRAF", "p.V600E")], []),  # no drugs
        ("MEL", ["dabrafenib"], [("BRAF", "p.V600=")], []),  # synonymous
        ("MEL", ["dabrafenib"], [("TP53", "p.V600E")], []),  # right change, other gene
    ],
)
def test_no_match(
    kb_all: CivicKB,
    cancer_type: str,
    drugs: list[str],
    variants: list[tuple[str, str | None]],
    biomarkers: list[str],
) -> None:
    assert (
        kb_all.match(cancer_type=cancer_type, drugs=drugs, variants=variants, biomarkers=biomarkers)
        == []
    )


def test_no_cancer_type_relaxes_disease(kb_all: CivicKB, default_config: Config) -> None:
    kwargs: dict[str, Any] = {
        "drugs": ["dabrafenib"],
        "variants": [("BRAF", "p.V600E")],
        "biomarkers": [],
    }
    mel = kb_all.match(cancer_type="MEL", **kwargs)
    anywhere = kb_all.match(cancer_type=None, **kwargs)
    assert {i["evidence_id"] for i in mel} < {i["evidence_id"] for i in anywhere}
    melanoma = _lower(default_config.kb.civic.diseases["MEL"])
    assert any(i["disease"].lower() not in melanoma for i in anywhere)
    _assert_ordered(anywhere)


def test_max_items_truncates_best_first(kb_all: CivicKB, kb_default: CivicKB) -> None:
    kwargs: dict[str, Any] = {
        "cancer_type": "COADREAD",
        "drugs": ["cetuximab"],
        "variants": [("KRAS", "p.G12D")],
        "biomarkers": ["RAS_mutant"],
    }
    full = kb_all.match(**kwargs)
    top = kb_default.match(**kwargs)
    assert len(full) > 10
    assert len(top) == kb_default.config.max_items == 10
    assert top == full[:10]


def test_items_are_json_serializable(kb_all: CivicKB) -> None:
    items = kb_all.match(
        cancer_type=None,
        drugs=["cetuximab", "dabrafenib", "erlotinib"],
        variants=[("KRAS", "p.G12D"), ("BRAF", "p.V600E"), ("EGFR", "p.L858R")],
        biomarkers=["RAS_mutant", "BRAF_V600", "EGFR_sensitizing"],
    )
    assert len(items) > 50
    text = json.dumps(items, allow_nan=False)
    assert json.loads(text) == items
    for item in items:
        assert tuple(k for k in item if k != "matched_by") == ITEM_KEYS
        assert type(item["evidence_id"]) is int
        assert item["rating"] is None or type(item["rating"]) is int
        assert isinstance(item["drugs"], list) and isinstance(item["nct_ids"], list)
    assert any(i["rating"] is None for i in items)  # unrated items exist in the release
    assert any(i["nct_ids"] for i in items)
    # callers get copies: mutating a result does not change the next one
    items[0]["drugs"].append("x")
    again = kb_all.match(
        cancer_type=None,
        drugs=["cetuximab", "dabrafenib", "erlotinib"],
        variants=[("KRAS", "p.G12D"), ("BRAF", "p.V600E"), ("EGFR", "p.L858R")],
        biomarkers=["RAS_mutant", "BRAF_V600", "EGFR_sensitizing"],
    )
    assert "x" not in again[0]["drugs"]


# ------------------------------------------------------------ rules on a small file
def test_ordering_and_rules_on_small_file(tmp_path: Path, small_cfg: CivicConfig) -> None:
    rows = [
        _row(1, evidence_level="C", rating="5"),
        _row(2, evidence_level="A", evidence_direction="Does Not Support", rating="5"),
        _row(3, evidence_level="A", rating="2"),
        _row(4, evidence_level="A", rating=""),
        _row(5, evidence_level="A", rating="4"),
        _row(6, evidence_level="A", rating="4"),
        _row(7, drugs=""),  # never matches a regimen
        _row(8, evidence_type="Prognostic"),  # filtered out at load
        _row(9, variant="MUTATION", drugs="Dabrafenib, Trametinib", nct_ids="NCT1, NCT2"),
        _row(10, variant="V600", rating="1"),
        _row(11, variant="E746_A750del", gene="EGFR"),
    ]
    path = _write_tsv(tmp_path / "evidence.tsv", rows, (*REQUIRED_COLUMNS, "extra"))
    kb = CivicKB.load(dataclasses.replace(small_cfg, tsv=path.name), base_dir=tmp_path)
    assert kb is not None
    assert kb.version == "unknown" and kb.source == "evidence.tsv"
    assert len(kb.items) == 10
    items = kb.match(
        cancer_type="MEL", drugs=["DABRAFENIB"], variants=[("BRAF", "p.V600E")], biomarkers=[]
    )
    assert [i["evidence_id"] for i in items] == [5, 6, 3, 4, 2, 9, 10, 1]
    by_id = {i["evidence_id"]: i for i in items}
    assert by_id[9]["matched_by"] == "gene" and by_id[9]["nct_ids"] == ["NCT1", "NCT2"]
    assert by_id[9]["drugs"] == ["Dabrafenib", "Trametinib"]
    assert by_id[10]["matched_by"] == "codon"
    assert by_id[4]["rating"] is None and by_id[4]["drug_interaction_type"] is None
    # codon rule only for single-residue substitutions
    delins = kb.match(
        cancer_type="MEL",
        drugs=["dabrafenib"],
        variants=[("BRAF", "p.V600_K601delinsE")],
        biomarkers=[],
    )
    assert [(i["evidence_id"], i["matched_by"]) for i in delins] == [(9, "gene")]
    # an unknown protein change still counts for gene-level MUTATION only
    unknown = kb.match(
        cancer_type="MEL", drugs=["dabrafenib"], variants=[("BRAF", None)], biomarkers=[]
    )
    assert [i["evidence_id"] for i in unknown] == [9]


def test_header_only_file_loads_empty(tmp_path: Path, small_cfg: CivicConfig) -> None:
    path = _write_tsv(tmp_path / "civic_2020-01-01_x.tsv", [], REQUIRED_COLUMNS)
    kb = CivicKB.load(dataclasses.replace(small_cfg, tsv=str(path)))
    assert kb is not None and len(kb.items) == 0 and kb.version == "2020-01-01"
    assert (
        kb.match(
            cancer_type=None, drugs=["dabrafenib"], variants=[("BRAF", "p.V600E")], biomarkers=[]
        )
        == []
    )


# -------------------------------------------------------------------------- errors
def test_missing_file_error(tmp_path: Path, small_cfg: CivicConfig) -> None:
    path = tmp_path / "nope.tsv"
    with pytest.raises(CivicError, match="no such file") as err:
        CivicKB.load(dataclasses.replace(small_cfg, tsv=str(path)))
    assert str(path) in str(err.value)
    assert "kb.civic.tsv" in str(err.value)


def test_missing_columns_error(tmp_path: Path, small_cfg: CivicConfig) -> None:
    columns = tuple(c for c in REQUIRED_COLUMNS if c not in {"evidence_level", "drugs"})
    path = _write_tsv(tmp_path / "bad.tsv", [_row(1)], columns)
    with pytest.raises(CivicError) as err:
        CivicKB.load(dataclasses.replace(small_cfg, tsv=str(path)))
    message = str(err.value)
    assert str(path) in message
    assert "'evidence_level'" in message and "'drugs'" in message
    assert "missing" in message


def test_comma_separated_file_is_rejected(tmp_path: Path, small_cfg: CivicConfig) -> None:
    path = tmp_path / "civic.csv"
    path.write_text(",".join(REQUIRED_COLUMNS) + "\n" + ",".join("x" * len(REQUIRED_COLUMNS)))
    with pytest.raises(CivicError, match="missing required column") as err:
        CivicKB.load(dataclasses.replace(small_cfg, tsv=str(path)))
    assert str(path) in str(err.value) and "tab-separated" in str(err.value)


def test_empty_file_error(tmp_path: Path, small_cfg: CivicConfig) -> None:
    path = tmp_path / "empty.tsv"
    path.write_text("")
    with pytest.raises(CivicError, match="empty file") as err:
        CivicKB.load(dataclasses.replace(small_cfg, tsv=str(path)))
    assert str(path) in str(err.value)


def test_bad_evidence_id_error(tmp_path: Path, small_cfg: CivicConfig) -> None:
    path = _write_tsv(tmp_path / "ids.tsv", [_row(1, evidence_id="EID1")], REQUIRED_COLUMNS)
    with pytest.raises(CivicError, match="'evidence_id' must hold integers") as err:
        CivicKB.load(dataclasses.replace(small_cfg, tsv=str(path)))
    assert str(path) in str(err.value) and "EID1" in str(err.value)
