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
