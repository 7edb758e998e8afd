"""docs/ingest.md documents every canonical column, generated from the checks themselves."""

from __future__ import annotations

from pathlib import Path

from precision_onco.ingest.columns import MEANINGS, columns_markdown
from precision_onco.ingest.tables import LINE_FIELDS, PATIENT_FIELDS


def test_every_checked_column_has_a_meaning() -> None:
    missing = sorted(set(PATIENT_FIELDS) | set(LINE_FIELDS) - set(MEANINGS))
    assert not [c for c in missing if c not in MEANINGS], missing


def test_the_doc_is_up_to_date(project_root: Path) -> None:
    text = (project_root / "docs/ingest.md").read_text(encoding="utf-8")
    block = text.split("<!-- columns:begin -->\n", 1)[1].split("<!-- columns:end -->", 1)[0]
    assert block == columns_markdown(), (
        "docs/ingest.md is out of date: run `python -m precision_onco.ingest.columns "
        "docs/ingest.md`"
    )
    assert "| `albumin` | number | g/dL | 0.5–7 |" in block
