"""The clinical wording says exactly what the golden corpus recorded (``golden_wording.py``)."""

from __future__ import annotations

import json

from tests.report.golden_wording import GOLDEN, output


def test_wording_matches_the_golden_corpus(default_config) -> None:
    corpus = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert len(corpus["features"]) > 200 and len(corpus["cases"]) > 7000
    differ = [
        (c, got) for c in corpus["cases"] if (got := output(c, default_config.catalog)) != c["out"]
    ]
    assert not differ, f"{len(differ)} wordings changed, first: {differ[:3]}"
