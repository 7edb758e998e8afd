"""The reports' wording, one table per language (:mod:`.en`, :mod:`.fr`)."""

from __future__ import annotations

from typing import Any

from precision_onco.report.phrases.en import EN
from precision_onco.report.phrases.fr import FR

__all__ = ["EN", "FR", "PHRASES"]

#: Language -> its table of phrases, by section.
PHRASES: dict[str, dict[str, Any]] = {"en": EN, "fr": FR}
