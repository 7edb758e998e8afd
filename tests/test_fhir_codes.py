"""One table of FHIR codes (``precision_onco/fhir_codes.py``) for the reader and the writer."""

from __future__ import annotations

import re

from precision_onco import fhir_codes
from precision_onco.report.fhir_out.observations import MARKER_CODES
from tests.codegraph import PACKAGE, ROOT

#: A LOINC code (``12345-6``) or LOINC answer code (``LA1234-5``) written as a literal.
_LITERAL = re.compile(r"""["'](?:LA)?\d{4,6}-\d["']""")


def test_no_loinc_code_literal_outside_the_table() -> None:
    """A code written in a reader or a resource builder would be a second copy."""
    table = ROOT / "src" / PACKAGE / "fhir_codes.py"
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in sorted((ROOT / "src" / PACKAGE).rglob("*.py"))
        if path != table
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if _LITERAL.search(line)
    ]
    assert not found, "LOINC codes outside fhir_codes.py:\n" + "\n".join(found)


def test_every_marker_written_is_read_back_into_its_column() -> None:
    for column, (code, _display) in MARKER_CODES.items():
        assert fhir_codes.TUMOUR_MARKERS[code] == column


def test_codes_are_unique_per_role() -> None:
    codes = [c.code for c in fhir_codes.LOINC_CODES.values()]
    assert len(codes) == len(set(codes))
    assert len(set(fhir_codes.SNOMED_VALUES.values())) == len(fhir_codes.SNOMED_VALUES)
