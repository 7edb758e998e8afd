"""The "Pharmacogenomics and dose" section of the patient report (English and French).

:func:`pgx_section` reads the patient's PGx results (patient fields), the
uracilemia of the line (line state) and the starting-dose guidance that the
recommender attached to each ranked regimen (``pgx_dose``), and returns what
the section shows, worded in both languages so that the template only picks
``lang``. The French text carries the sentence a fluoropyrimidine
prescription needs when uracilemia was measured (« résultat d'uracilémie pris
en compte », INCa/HAS 2018), and a patient untested before a fluoropyrimidine
is told so in both languages.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from precision_onco.pgx.definitions import load_definitions
from precision_onco.pgx.guidance import CEILING_NOTE

__all__ = ["pgx_section", "reason_fr"]

_FLUOROPYRIMIDINES = ("fluorouracil", "capecitabine")
_DRUG_FR = {
    "fluorouracil": "fluorouracile",
    "capecitabine": "capécitabine",
    "irinotecan": "irinotécan",
}
_PHENO_FR = {
    "normal": "métaboliseur normal",
    "intermediate": "métaboliseur intermédiaire",
    "poor": "métaboliseur lent",
    "indeterminate": "indéterminé",
}
_DEFICIENCY_FR = {
    "none": "pas de déficit",
    "partial": "déficit partiel",
    "complete": "déficit complet",
}

TEXT = {
    "en": {
        "title": "Pharmacogenomics and dose",
        "gene": "Test",
        "result": "Result",
        "regimen": "Regimen",
        "drug": "Drug",
        "start": "Starting dose",
        "guidance": "Guidance",
        "source": "Source",
        "dpyd": "DPYD activity score",
        "ugt1a1": "UGT1A1",
        "uracil": "Plasma uracil",
        "not_tested": "not tested",
        "avoid": "avoid",
        "of_standard": "of the standard dose",
        "untested_fp": "DPD status untested before a fluoropyrimidine: measure uracilemia "
        "(mandatory in France) and/or genotype DPYD before the first dose.",
        "uracil_used": "Uracilemia result taken into account for the fluoropyrimidine dose.",
        "none": "No regimen with a pharmacogenomic dose rule among the ranked regimens.",
    },
    "fr": {
        "title": "Pharmacogénomique et dose",
        "gene": "Examen",
        "result": "Résultat",
        "regimen": "Protocole",
        "drug": "Médicament",
        "start": "Dose initiale",
        "guidance": "Conduite à tenir",
        "source": "Source",
        "dpyd": "Score d'activité DPYD",
        "ugt1a1": "UGT1A1",
        "uracil": "Uracilémie",
        "not_tested": "non testé",
        "avoid": "à éviter",
        "of_standard": "de la dose standard",
        "untested_fp": "Statut DPD non testé avant une fluoropyrimidine : doser l'uracilémie "
        "(obligatoire en France) et/ou génotyper DPYD avant la première dose.",
        "uracil_used": "Résultat d'uracilémie pris en compte.",
        "none": "Aucun protocole classé ne comporte de règle de dose pharmacogénomique.",
    },
}


_ACTIONS_FR = {
    "fluoropyrimidines contraindicated": "fluoropyrimidines contre-indiquées",
    "complete DPD deficiency: fluoropyrimidines contraindicated": "déficit complet en DPD : "
    "fluoropyrimidines contre-indiquées",
    "avoid fluoropyrimidines; if no alternative, a strongly reduced dose with early drug-level "
    "monitoring": "éviter les fluoropyrimidines ; à défaut d'alternative, dose fortement "
    "réduite avec suivi pharmacologique précoce",
}
_REASON = re.compile(r"^(?P<basis>.+?): (?P<action>.+) \((?P<drug>\w+)\), (?P<source>[^,]+)$")
#: :data:`~precision_onco.pgx.guidance.CEILING_NOTE` in French.
_CEILING_FR = " (un plafond : les positions non testées ne peuvent qu'abaisser le score d'activité)"


def reason_fr(reason: str) -> str | None:
    """The French wording of a PGx exclusion reason (``None`` if ``reason`` is not one)."""
    m = _REASON.match(reason)
    action = m["action"].removesuffix(CEILING_NOTE) if m else ""
    if not m or action not in _ACTIONS_FR:
        return None
    ceiling = _CEILING_FR if action != m["action"] else ""
    basis = m["basis"]
    basis = re.sub(r"^DPYD activity score at most ", "score d'activité DPYD au plus ", basis)
    basis = re.sub(r"^DPYD activity score ", "score d'activité DPYD ", basis)
    basis = basis.replace("(other positions not tested", "(autres positions non testées")
    basis = basis.replace("; other positions not tested", " ; autres positions non testées")
    basis = re.sub(
        r"^uracilemia (\S+) ng/mL \(complete DPD deficiency\)",
        lambda u: f"uracilémie {u[1].replace('.', ',')} ng/mL (déficit complet en DPD)",
        basis,
    )
    basis = re.sub(r"(\d)\.(\d)", r"\1,\2", basis) if basis.startswith("score") else basis
    drug = _DRUG_FR.get(m["drug"], m["drug"])
    return f"{basis} : {_ACTIONS_FR[action]}{ceiling} ({drug}), {m['source']}"


def _v(d: Mapping[str, Any], key: str) -> Any:
    v = d.get(key)
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def _num(x: float, lang: str) -> str:
    text = f"{x:g}"
    return text.replace(".", ",") if lang == "fr" else text


def _tests(patient: Mapping[str, Any], line_state: Mapping[str, Any], lang: str) -> list[list]:
    t = TEXT[lang]
    score, dip = _v(patient, "dpyd_activity_score"), _v(patient, "dpyd_diplotype")
    ugt, ugt_dip = _v(patient, "ugt1a1_phenotype"), _v(patient, "ugt1a1_diplotype")
    uracil = _v(line_state, "uracil_ng_ml")
    if uracil is None:
        uracil = _v(patient, "uracil_ng_ml")
    rows = []
    dpyd = (
        t["not_tested"]
        if score is None
        else _num(float(score), lang) + (f" ({dip})" if dip else "")
    )
    rows.append([t["dpyd"], dpyd, load_definitions().cite("CPIC_DPYD")])
    if ugt is None:
        ugt_text = t["not_tested"]
    else:
        ph = _PHENO_FR.get(str(ugt), str(ugt)) if lang == "fr" else f"{ugt} metaboliser"
        ugt_text = f"{ugt_dip} ({ph})" if ugt_dip else ph
    rows.append([t["ugt1a1"], ugt_text, load_definitions().cite("DPWG_UGT1A1")])
    if uracil is None:
        rows.append([t["uracil"], t["not_tested"], load_definitions().cite("INCA_HAS_2018")])
    else:
        from precision_onco.pgx.guidance import interpret_uracil

        u = interpret_uracil(float(uracil), load_definitions())
        band = (
            _DEFICIENCY_FR[str(u.deficiency)]
            if lang == "fr"
            else (
                "no DPD deficiency" if u.deficiency == "none" else f"{u.deficiency} DPD deficiency"
            )
        )
        rows.append([t["uracil"], f"{_num(float(uracil), lang)} ng/mL ({band})", u.source])
    return rows


def _dose_rows(ranked: Sequence[Mapping[str, Any]], lang: str) -> list[dict[str, Any]]:
    t = TEXT[lang]
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
                start = (
                    f"{pct}\u202f% {t['of_standard']}"
                    if lang == "fr"
                    else f"{pct}% {t['of_standard']}"
                )
            drug = _DRUG_FR.get(d["drug"], d["drug"]) if lang == "fr" else d["drug"]
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
    known = [_v(patient, k) for k in ("dpyd_activity_score", "ugt1a1_phenotype")]
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
