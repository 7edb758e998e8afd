"""The "Pharmacogenomics and dose" section of the patient report (English and French).

:func:`pgx_section` reads the patient's PGx results (patient fields), the
uracilemia of the line (line state) and the starting-dose guidance that the
recommender attached to each ranked regimen (``pgx_dose``), and returns what
the section shows, worded in both languages so that the template only picks
``lang``. The French text carries the sentence a fluoropyrimidine
prescription needs when uracilemia was measured (« résultat d'uracilémie pris
en compte », INCa/HAS 2018), and a patient untested before a fluoropyrimidine
is told so in both languages. :func:`reason_fr` words the pharmacogenomic exclusion
reasons in French.

The wording is in the language tables (:mod:`precision_onco.report.phrases`): section
``pgx`` of each, and the ``pgx`` part of the French ``reasons``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from precision_onco.pgx.definitions import load_definitions
from precision_onco.pgx.guidance import CEILING_NOTE, interpret_uracil
from precision_onco.report.phrases import PHRASES

__all__ = ["pgx_section", "reason_fr"]

_FLUOROPYRIMIDINES = ("fluorouracil", "capecitabine")

#: The section's wording by language (``phrases.<lang>``, section ``pgx``).
_T: dict[str, dict[str, Any]] = {lang: p["pgx"] for lang, p in PHRASES.items()}
#: The section's labels by language (the template reads them as ``px.labels``).
TEXT: dict[str, dict[str, str]] = {lang: t["labels"] for lang, t in _T.items()}
#: The French wording of the pharmacogenomic exclusion reasons (``phrases.fr``, section
#: ``reasons``, part ``pgx``).
_REASON_FR: dict[str, Any] = PHRASES["fr"]["reasons"]["pgx"]


def reason_fr(reason: str) -> str | None:
    """The French wording of a PGx exclusion reason (``None`` if ``reason`` is not one)."""
    w = _REASON_FR
    m = re.match(w["pattern"], reason)
    action = m["action"].removesuffix(CEILING_NOTE) if m else ""
    if not m or action not in w["actions"]:
        return None
    ceiling = w["ceiling"] if action != m["action"] else ""
    basis = m["basis"]
    for rx, repl in w["basis"]:
        basis = re.sub(rx, repl, basis)
    if re.match(w["decimal_comma"], basis):
        basis = re.sub(r"(\d)\.(\d)", r"\1,\2", basis)
    drug = _T["fr"]["drugs"].get(m["drug"], m["drug"])
    return str(
        w["sentence"].format(
            basis=basis, action=w["actions"][action], ceiling=ceiling, drug=drug, source=m["source"]
        )
    )


def _v(d: Mapping[str, Any], key: str) -> Any:
    v = d.get(key)
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def _num(x: float, lang: str) -> str:
    text = f"{x:g}"
    return text.replace(".", ",") if lang == "fr" else text


def _tests(patient: Mapping[str, Any], line_state: Mapping[str, Any], lang: str) -> list[list]:
    w = _T[lang]
    t = w["labels"]
    score, dip = _v(patient, "dpyd_activity_score"), _v(patient, "dpyd_diplotype")
    ugt, ugt_dip = _v(patient, "ugt1a1_phenotype"), _v(patient, "ugt1a1_diplotype")
    uracil = _v(line_state, "uracil_ng_ml")
    if uracil is None:
        uracil = _v(patient, "uracil_ng_ml")
    bound = _v(patient, "dpyd_activity_score_max")
    rows = []
    if score is not None:
        dpyd = _num(float(score), lang) + (f" ({dip})" if dip else "")
    elif bound is not None:  # indeterminate: the dose rule applies the bound's ceiling
        dpyd = t["dpyd_bound"].format(score=_num(float(bound), lang))
        dpyd += f" ({dip})" if dip else ""
    else:
        dpyd = t["not_tested"]
    rows.append([t["dpyd"], dpyd, load_definitions().cite("CPIC_DPYD")])
    if ugt is None:
        ugt_text = t["not_tested"]
    else:
        ph = w["phenotypes"].get(str(ugt)) or w["phenotype_other"].format(ugt)
        ugt_text = f"{ugt_dip} ({ph})" if ugt_dip else ph
    rows.append([t["ugt1a1"], ugt_text, load_definitions().cite("DPWG_UGT1A1")])
    if uracil is None:
        rows.append([t["uracil"], t["not_tested"], load_definitions().cite("INCA_HAS_2018")])
    else:
        u = interpret_uracil(float(uracil), load_definitions())
        band = w["deficiency"][str(u.deficiency)]
        rows.append([t["uracil"], f"{_num(float(uracil), lang)} ng/mL ({band})", u.source])
    return rows


def _dose_rows(ranked: Sequence[Mapping[str, Any]], lang: str) -> list[dict[str, Any]]:
    w = _T[lang]
    t = w["labels"]
    out = []
    for r in ranked:
        raw = r.get("pgx_dose")
        items = json.loads(raw) if isinstance(raw, str) and raw else (raw or [])
        for d in items:
            pct = d.get("starting_dose_percent")
            if not d.get("tested"):
                start = t["not_tested"]
            elif pct is None:
                start = t["avoid"]
            else:
                start = w["start_percent"].format(pct=pct, of_standard=t["of_standard"])
            drug = w["drugs"].get(d["drug"], d["drug"])
            out.append(
                {
                    "regimen": r.get("name") or r.get("regimen_id"),
                    "drug": drug,
                    "start": start,
                    "guidance": d.get("action") if lang == "en" else None,
                    "source": d.get("source"),
                    "tested": bool(d.get("tested")),
                    "fluoropyrimidine": d["drug"] in _FLUOROPYRIMIDINES,
                }
            )
    return out


def pgx_section(
    ranked: Sequence[Mapping[str, Any]],
    *,
    patient: Mapping[str, Any],
    line_state: Mapping[str, Any],
) -> dict[str, Any]:
    """The report section, in both languages: ``{"en": {...}, "fr": {...}}``.

    Parameters
    ----------
    ranked : sequence of mappings
        The answer's ranked rows (``name`` or ``regimen_id``, ``pgx_dose``).
    patient, line_state : mappings
        The patient's fields and the current line's state (``uracil_ng_ml``).

    Returns
    -------
    dict
        Per language: ``title``, ``tests`` rows, ``doses`` rows, ``notes`` and
        ``labels``; empty when no ranked regimen has a PGx rule and no result is known.
    """
    out: dict[str, Any] = {}
    known = [
        _v(patient, k)
        for k in ("dpyd_activity_score", "dpyd_activity_score_max", "ugt1a1_phenotype")
    ]
    known += [_v(line_state, "uracil_ng_ml"), _v(patient, "uracil_ng_ml")]
    if not _dose_rows(ranked, "en") and all(v is None for v in known):
        return {}
    uracil = _v(line_state, "uracil_ng_ml")
    if uracil is None:
        uracil = _v(patient, "uracil_ng_ml")
    for lang in ("en", "fr"):
        t = TEXT[lang]
        doses = _dose_rows(ranked, lang)
        fp = [d for d in doses if d["fluoropyrimidine"]]
        notes = []
        if any(not d["tested"] for d in fp):
            notes.append(t["untested_fp"])
        if fp and uracil is not None:
            notes.append(t["uracil_used"])
        if not doses:
            notes.append(t["none"])
        out[lang] = {
            "title": t["title"],
            "tests": _tests(patient, line_state, lang),
            "doses": doses,
            "notes": notes,
            "labels": t,
        }
    return out
