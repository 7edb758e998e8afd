"""The model card's pharmacogenomics section (issue 17): the toxicity models in DPYD
carriers vs non-carriers and UGT1A1 poor metabolisers vs the others, and the true toxicity of
recommended vs observed dosing (``metrics["pgx"]``, see :mod:`precision_onco.policy.pgx_dose`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from precision_onco.config.endpoints import DEFAULT_ANY_SEVERE_AE
from precision_onco.report.i18n import fmt_number

__all__ = ["pgx_context"]

_T: dict[str, dict[str, Any]] = {
    "en": {
        "title": "Pharmacogenomics and dose (DPYD, UGT1A1)",
        "intro": "Grade ≥ 3 hematologic and gastrointestinal toxicity on the held-out lines "
        "given a fluoropyrimidine (DPYD groups; carriers: activity score below 2) or "
        "irinotecan (UGT1A1 groups). The toxicity models take the DPYD activity score, "
        "the UGT1A1 poor-metaboliser flag and the relative starting dose as inputs.",
        "group": "Group",
        "endpoint": "Endpoint",
        "n": "Lines",
        "events": "Events",
        "auc": "AUC [95% CI]",
        "predicted": "Mean predicted",
        "observed": "Observed rate",
        "true": "Mean true probability",
        "ece": "ECE",
        "groups": {
            "dpyd_carrier": "DPYD carriers",
            "dpyd_non_carrier": "DPYD non-carriers",
            "ugt1a1_poor": "UGT1A1 poor metabolisers",
            "ugt1a1_not_poor": "UGT1A1 normal/intermediate",
        },
        "endpoints": {
            "ae_grade3": "any grade ≥ 3",
            "ae_hematologic_grade3": "hematologic",
            "ae_gastrointestinal_grade3": "gastrointestinal",
        },
        "dosing": "Recommended vs observed dosing (true probabilities from the simulator): the "
        "recommender's top regimen, when it holds a fluoropyrimidine, at its recommended "
        "starting dose against the same regimen at the dose practice would have given it "
        "({n} held-out lines, {c} of DPYD carriers).",
        "rec": "Recommended dose",
        "obs": "Observed dosing",
        "diff": "Difference [95% CI]",
        "diff_carriers": "DPYD carriers: difference [95% CI]",
        "safety": "Patients with DPYD activity score 0 or uracilemia ≥ 150 ng/mL: {d} held-out "
        "lines; a fluoropyrimidine offered {o} times, recommended {r} times.",
        "lower": "Recommended doses lower the true grade ≥ 3 toxicity.",
        "not_lower": "Recommended doses do not lower the true grade ≥ 3 toxicity.",
    },
    "fr": {
        "title": "Pharmacogénomique et dose (DPYD, UGT1A1)",
        "intro": "Toxicité hématologique et digestive de grade ≥ 3 sur les lignes de test "
        "traitées par une fluoropyrimidine (groupes DPYD ; porteurs : score d'activité "
        "inférieur à 2) ou par l'irinotécan (groupes UGT1A1). Les modèles de toxicité "
        "prennent en entrée le score d'activité DPYD, le statut de métaboliseur lent "
        "UGT1A1 et la dose initiale relative.",
        "group": "Groupe",
        "endpoint": "Critère",
        "n": "Lignes",
        "events": "Événements",
        "auc": "AUC [IC 95 %]",
        "predicted": "Prédiction moyenne",
        "observed": "Taux observé",
        "true": "Probabilité vraie moyenne",
        "ece": "ECE",
        "groups": {
            "dpyd_carrier": "Porteurs DPYD",
            "dpyd_non_carrier": "Non-porteurs DPYD",
            "ugt1a1_poor": "Métaboliseurs lents UGT1A1",
            "ugt1a1_not_poor": "UGT1A1 normal/intermédiaire",
        },
        "endpoints": {
            "ae_grade3": "tout grade ≥ 3",
            "ae_hematologic_grade3": "hématologique",
            "ae_gastrointestinal_grade3": "digestive",
        },
        "dosing": "Dose recommandée et dose observée (probabilités vraies du simulateur) : le "
        "protocole recommandé en premier, s'il contient une fluoropyrimidine, à sa dose "
        "initiale recommandée, comparé au même protocole à la dose que la pratique "
        "aurait donnée ({n} lignes de test, dont {c} de porteurs DPYD).",
        "rec": "Dose recommandée",
        "obs": "Dose observée",
        "diff": "Différence [IC 95 %]",
        "diff_carriers": "Porteurs DPYD : différence [IC 95 %]",
        "safety": "Patients avec un score d'activité DPYD de 0 ou une uracilémie ≥ 150 ng/mL : "
        "{d} lignes de test ; fluoropyrimidine proposée {o} fois, recommandée {r} fois.",
        "lower": "Les doses recommandées abaissent la toxicité vraie de grade ≥ 3.",
        "not_lower": "Les doses recommandées n'abaissent pas la toxicité vraie de grade ≥ 3.",
    },
}


def _ci(v: Any, lo: Any, hi: Any, lang: str) -> str:
    if v is None:
        return "—"
    s = fmt_number(v, lang, 3)
    if lo is not None and hi is not None:
        s += f" [{fmt_number(lo, lang, 3)}, {fmt_number(hi, lang, 3)}]"
    return s


def pgx_context(
    pgx: Mapping[str, Any] | None,
    lang: str,
    *,
    any_severe_ae: str | None = DEFAULT_ANY_SEVERE_AE,
) -> dict[str, Any] | None:
    """What the template's ``#pgx`` section shows, or None when there is nothing to show.
    ``any_severe_ae``: the endpoint of that role, whose DPYD carriers the dosing intro counts."""
    if not pgx:
        return None
    t = _T[lang]
    num = lambda v, d=3: "—" if v is None else fmt_number(v, lang, d)  # noqa: E731
    tox = pgx.get("toxicity_by_genotype") or {}
    rows = []
    for g, label in t["groups"].items():
        for ep, res in (tox.get(g) or {}).items():
            rows.append(
                {
                    "group": label,
                    "endpoint": t["endpoints"].get(ep, ep),
                    "n": res.get("n", 0),
                    "events": res.get("events", 0),
                    "auc": _ci(res.get("auc"), res.get("auc_low"), res.get("auc_high"), lang),
                    "predicted": num(res.get("mean_predicted")),
                    "observed": num(res.get("observed_rate")),
                    "true": num(res.get("mean_true_probability")),
                    "ece": num(res.get("ece")),
                }
            )
    out: dict[str, Any] = {"t": t, "rows": rows, "skipped": tox.get("skipped")}
    dosing = pgx.get("dosing") or {}
    rec = dosing.get("recommended_fluoropyrimidine") or {}
    if rec:
        n = dosing.get("recommended_fluoropyrimidine_lines", 0)
        c = (rec.get(any_severe_ae or "", {}).get("dpyd_carriers") or {}).get("n", 0)
        out["dosing_intro"] = t["dosing"].format(n=n, c=c)
        out["dosing"] = [
            {
                "endpoint": t["endpoints"].get(ep, ep),
                "rec": num(r["all"].get("recommended")),
                "obs": num(r["all"].get("observed")),
                "diff": _ci(
                    r["all"].get("difference"),
                    r["all"].get("difference_low"),
                    r["all"].get("difference_high"),
                    lang,
                ),
                "diff_carriers": _ci(
                    r["dpyd_carriers"].get("difference"),
                    r["dpyd_carriers"].get("difference_low"),
                    r["dpyd_carriers"].get("difference_high"),
                    lang,
                ),
            }
            for ep, r in rec.items()
        ]
        lower = (dosing.get("summary") or {}).get("recommended_lower_than_observed")
        out["verdict"] = t["lower"] if lower else t["not_lower"]
        s = dosing.get("safety") or {}
        out["safety"] = t["safety"].format(
            d=s.get("deficient_lines", 0),
            o=s.get("deficient_offered_fluoropyrimidine", 0),
            r=s.get("deficient_recommended_fluoropyrimidine", 0),
        )
    if not rows and not rec:
        return None
    return out
