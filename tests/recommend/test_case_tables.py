"""A case's tables, built column by column with their final dtypes, equal the frames the
previous code built and then converted (kept here as the reference)."""

from __future__ import annotations

import copy
from typing import Any

import pandas as pd
import pytest

from precision_onco.recommend.examples import EXAMPLES
from precision_onco.recommend.patient import _VARIANT, PatientCase

_TEXT = ("gene", "hgvsp", "consequence", "filter", "chrom", "ref", "alt")


def _previous_variants(case: PatientCase) -> pd.DataFrame:
    variants = pd.DataFrame(case.variants, columns=list(_VARIANT)).assign(
        patient_key=case.patient_key
    )
    variants["vaf"] = pd.to_numeric(variants["vaf"], errors="coerce").astype("float64")
    return variants.astype(dict.fromkeys(_TEXT, "string"))


def _previous_lines(case: PatientCase) -> pd.DataFrame:
    lines = case.tables()[1]
    return lines.sort_values("line_number").reset_index(drop=True)


_VARIANTS: list[list[dict[str, Any]]] = [
    [],
    [{"gene": "KRAS", "hgvsp": "p.G12C", "vaf": 0.3, "depth": 200}],
    [{"gene": "KRAS"}, {"gene": "TP53", "hgvsp": None, "vaf": None, "depth": None}],
    [
        {"gene": "EGFR", "hgvsp": "p.L858R", "vaf": 1, "depth": 12, "chrom": "7", "pos": 5},
        {"gene": "ALK", "consequence": "missense_variant", "filter": "PASS", "ref": "A"},
    ],
]


@pytest.mark.parametrize("name", sorted(EXAMPLES))
@pytest.mark.parametrize("variants", range(len(_VARIANTS)))
def test_case_tables_equal_the_previous_frames(name: str, variants: int) -> None:
    payload = copy.deepcopy(EXAMPLES[name])
    case = PatientCase(
        patient=payload["patient"],
        line_number=payload["line_number"],
        lines=payload.get("lines", []),
        variants=copy.deepcopy(_VARIANTS[variants]),
        genes_tested=payload.get("genes_tested"),
    )
    _, lines, got = case.tables()
    pd.testing.assert_frame_equal(got, _previous_variants(case), check_exact=True)
    pd.testing.assert_frame_equal(lines, _previous_lines(case), check_exact=True)


def test_lines_out_of_order_are_sorted() -> None:
    case = PatientCase(
        patient={"cancer_type": "NSCLC"},
        line_number=3,
        lines=[{"line_number": 2, "regimen_id": "a"}, {"line_number": 1, "regimen_id": "b"}],
        variants=[],
    )
    lines = case.tables()[1]
    assert lines["line_number"].tolist() == [1, 2, 3]
    assert lines.index.equals(pd.RangeIndex(3))
