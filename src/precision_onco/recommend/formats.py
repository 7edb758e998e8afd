"""The answer's format, asked by the payload's top-level ``"format"`` key.

``"json"`` (the default): :meth:`PatientResult.to_dict`. ``"fhir"``: the FHIR R4
Genomics Reporting bundle of the answer (docs/fhir.md), with the HTML report in
``report.lang`` as its presented form. The key is taken out of the payload here,
before the payload's own checks, so that those checks stay about the patient.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from precision_onco.recommend.patient import PayloadError

__all__ = ["FORMATS", "format_answer", "split_format"]

FORMATS = ("json", "fhir")


def split_format(payload: Any) -> tuple[Any, str]:
    """``(payload without "format", format)``; a format not in :data:`FORMATS` is a
    :class:`PayloadError` naming it."""
    if not isinstance(payload, Mapping) or "format" not in payload:
        return payload, "json"
    fmt = payload["format"]
    if fmt not in FORMATS:
        raise PayloadError(f"format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    return {k: v for k, v in payload.items() if k != "format"}, str(fmt)


def format_answer(
    answer: dict[str, Any], case: Any, recommender: Any, fmt: str, *, lang: str = "en"
) -> dict[str, Any]:
    """``answer`` in ``fmt``: itself for ``json``, its FHIR bundle for ``fhir`` (its report
    and bundle show the recommender's efficacy and any-severe-AE endpoints, ``roles``)."""
    if fmt == "json":
        return answer
    from precision_onco.report.fhir_out import ReportDocuments
    from precision_onco.report.fhir_out.produce import case_bundle
    from precision_onco.report.patient import patient_context, render_patient

    n, roles = case.line_number, recommender.roles
    ctx = patient_context(
        answer,
        patient=case.patient,
        line_state=next((r for r in case.lines if r["line_number"] == n), {}),
        prior_lines=[r for r in case.lines if r["line_number"] < n],
        variants=case.variants,
        catalog=recommender.catalog,
        genes=recommender.panel["symbol"].tolist(),
        efficacy=roles.efficacy,
        any_severe_ae=roles.any_severe_ae,
    )
    html = render_patient(ctx, lang, recommender.catalog).encode("utf-8")
    return case_bundle(
        answer,
        case,
        recommender.catalog,
        lang=lang,
        documents=ReportDocuments(html=html),
        efficacy=roles.efficacy,
        any_severe_ae=roles.any_severe_ae,
    )
