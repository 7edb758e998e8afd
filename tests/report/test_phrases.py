"""The reports' wording: one table per language, with the same sections and keys."""

from __future__ import annotations

from typing import Any

from precision_onco.report.phrases import EN, FR, PHRASES


def _keys(table: Any, path: str = "") -> set[str]:
    """Every key path of nested dicts (lists and strings are leaves)."""
    if not isinstance(table, dict):
        return {path}
    return {k for key, v in table.items() for k in _keys(v, f"{path}/{key}")}


def test_both_languages_have_the_same_sections_and_keys() -> None:
    assert set(PHRASES) == {"en", "fr"}
    # English needs no translation of CIViC's terms nor of the rules' exclusion reasons
    en = _keys({k: v for k, v in EN.items() if k not in ("civic", "reasons")})
    fr = _keys({k: v for k, v in FR.items() if k not in ("civic", "reasons")})
    assert en == fr
    assert set(EN) == set(FR)


def test_the_report_modules_read_the_tables() -> None:
    """No second copy: the modules' tables are the language tables' sections."""
    from precision_onco.report import i18n, model_card, pgx_card, policy_card, wording
    from precision_onco.report.fhir_out import texts

    assert i18n._EN is EN["labels"] and i18n._FR is FR["labels"]
    assert wording._NAMES["fr"] is FR["feature_names"]
    assert texts._TEXTS["en"] is EN["fhir"]
    assert policy_card.POLICY_TEXT["fr"] is FR["policy"]
    assert model_card._TEXT["en"] is EN["model_card"]
    assert pgx_card._T["fr"] is FR["pgx_card"]


def test_the_pgx_wording_is_in_both_tables() -> None:
    """The patient report's PGx section has the same keys in both languages and words every
    drug, UGT1A1 phenotype and uracilemia band of the PGx definitions; every action that
    avoids a drug has a French wording (the exclusion reasons); the section's module reads
    the tables, no copy of its own."""
    from precision_onco.pgx import load_definitions
    from precision_onco.report import pgx_section

    assert _keys(EN["pgx"]) == _keys(FR["pgx"])
    defs = load_definitions()
    for lang in PHRASES.values():
        words = lang["pgx"]
        assert set(defs.drugs) <= set(words["drugs"])
        assert set(defs.ugt1a1_rules) <= set(words["phenotypes"])
        assert {b.deficiency for b in defs.uracil_bands} <= set(words["deficiency"])
    rules = [*defs.dpyd_rules.values(), *defs.ugt1a1_rules.values()]
    rules += [b.rule for b in defs.uracil_bands]
    avoided = {r.action for r in rules if r.avoid}
    assert avoided and avoided <= set(FR["reasons"]["pgx"]["actions"])
    assert pgx_section._T["en"] is EN["pgx"] and pgx_section._T["fr"] is FR["pgx"]
    assert pgx_section._REASON_FR is FR["reasons"]["pgx"]
