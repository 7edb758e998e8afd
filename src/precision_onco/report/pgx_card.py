"""The model card's pharmacogenomics section (issue 17): the toxicity models in DPYD
carriers vs non-carriers and UGT1A1 poor metabolisers vs the others, and the true toxicity of
recommended vs observed dosing (``metrics["pgx"]``, see :mod:`precision_onco.policy.pgx_dose`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from precision_onco.report.i18n import fmt_number
from precision_onco.report.phrases import PHRASES

__all__ = ["pgx_context"]

_T: dict[str, Any] = {lang: p["pgx_card"] for lang, p in PHRASES.items()}


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
    any_severe_ae: str | None,
) -> dict[str, Any] | None:
    """What the template's ``#pgx`` section shows, or None when there is nothing to show.
    ``any_severe_ae``: the endpoint of that role, whose DPYD carriers the dosing intro counts."""
    if not pgx:
        return None
    t = _T[lang]
    tox = pgx.get("toxicity_by_genotype") or {}
    rows = _toxicity_rows(tox, t, lang)
    out: dict[str, Any] = {"t": t, "rows": rows, "skipped": tox.get("skipped")}
    dosing = pgx.get("dosing") or {}
    rec = dosing.get("recommended_fluoropyrimidine") or {}
    if rec:
        out.update(_dosing_context(dosing, rec, t, lang, any_severe_ae=any_severe_ae))
    if not rows and not rec:
        return None
    return out


def _num(v: Any, lang: str, d: int = 3) -> str:
    """``v`` in ``lang``'s number format with ``d`` decimals; a dash when None."""
    return "—" if v is None else fmt_number(v, lang, d)


def _toxicity_rows(tox: Mapping[str, Any], t: Mapping[str, Any], lang: str) -> list[dict[str, Any]]:
    """The toxicity-by-genotype table: per genotype group (in ``t``'s order), per endpoint."""
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
                    "predicted": _num(res.get("mean_predicted"), lang),
                    "observed": _num(res.get("observed_rate"), lang),
                    "true": _num(res.get("mean_true_probability"), lang),
                    "ece": _num(res.get("ece"), lang),
                }
            )
    return rows


def _dosing_context(
    dosing: Mapping[str, Any],
    rec: Mapping[str, Any],
    t: Mapping[str, Any],
    lang: str,
    *,
    any_severe_ae: str | None,
) -> dict[str, Any]:
    """The dosing summary of the recommended fluoropyrimidine ``rec``: intro, table, verdict
    and the safety line about DPD-deficient patients."""
    n = dosing.get("recommended_fluoropyrimidine_lines", 0)
    c = (rec.get(any_severe_ae or "", {}).get("dpyd_carriers") or {}).get("n", 0)
    out: dict[str, Any] = {"dosing_intro": t["dosing"].format(n=n, c=c)}
    out["dosing"] = [
        {
            "endpoint": t["endpoints"].get(ep, ep),
            "rec": _num(r["all"].get("recommended"), lang),
            "obs": _num(r["all"].get("observed"), lang),
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
    return out
