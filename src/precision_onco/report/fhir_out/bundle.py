"""A patient's recommendation as a FHIR R4 Genomics Reporting bundle and an IHE MHD submission.

:func:`recommendation_bundle` turns the recommender's answer for one patient at one
line (:meth:`PatientResult.to_dict`), the patient's clinical record, markers and
variants into a ``collection`` Bundle; :func:`mhd_submission` wraps the report
document into the ``transaction`` Bundle a hospital connector would forward to a
document registry (the DMP through the ANS's PDSm profile of IHE MHD). Both are
checked by :func:`validate_bundle` (the ``fhir.resources`` R4B models, required
value sets, references that resolve) before they are returned. The mapping is
described resource by resource in docs/fhir.md.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from precision_onco.config.schema import CatalogConfig
from precision_onco.report.fhir_out import resources as res_
from precision_onco.report.fhir_out.mhd import mhd_submission
from precision_onco.report.fhir_out.texts import Texts
from precision_onco.report.fhir_out.validate import FhirBundleError, validate_bundle

__all__ = [
    "FhirBundleError",
    "ReportDocuments",
    "load_identifier_map",
    "mhd_submission",
    "recommendation_bundle",
    "validate_bundle",
    "write_fhir_files",
]


@dataclass
class ReportDocuments:
    """The rendered report: HTML (always, when rendered) and PDF (when printed)."""

    html: bytes | None = None
    pdf: bytes | None = None
    files: dict[str, str] = field(default_factory=dict)  # content type -> file name


def load_identifier_map(path: Path | str) -> dict[str, list[dict[str, str]]]:
    """The ``patient_key,system,value`` CSV mapping pseudonymous keys to the hospital's
    identifiers (several rows per key allowed). Off unless the user gives one."""
    p = Path(path)
    if not p.is_file():
        raise FhirBundleError(
            f"{p}: identifier mapping file not found (a CSV with columns patient_key,system,value)"
        )
    out: dict[str, list[dict[str, str]]] = {}
    with p.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = {"patient_key", "system", "value"} - set(reader.fieldnames or [])
        if missing:
            raise FhirBundleError(
                f"{p}: line 1: missing column(s) {', '.join(sorted(missing))}"
                " (expected patient_key,system,value)"
            )
        for n, row in enumerate(reader, start=2):
            key, system, value = (
                str(row.get(c) or "").strip() for c in ("patient_key", "system", "value")
            )
            if not key or not system or not value:
                raise FhirBundleError(
                    f"{p}: line {n}: patient_key, system and value must all be given"
                )
            if ":" not in system:
                raise FhirBundleError(
                    f"{p}: line {n}: system {system!r} is not a URI (e.g. "
                    "urn:oid:1.2.250.1.213.1.4.8 for the INS-NIR)"
                )
            out.setdefault(key, []).append({"system": system, "value": value})
    return out


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _derived(
    row: Mapping[str, Any],
    catalog: CatalogConfig,
    variant_urls: Mapping[str, list[str]],
    marker_urls: Mapping[str, str],
) -> list[str]:
    """The variant and marker observations behind the biomarkers a regimen relies on."""
    out: list[str] = []
    for m in (row.get("evidence") or {}).get("biomarkers_matched") or []:
        rule = catalog.biomarkers.get(str(m.get("biomarker")))
        if rule is None:
            continue
        for g in rule.genes:
            out += variant_urls.get(g, [])
        if rule.marker and rule.marker in marker_urls:
            out.append(marker_urls[rule.marker])
    return list(dict.fromkeys(out))


def recommendation_bundle(
    answer: Mapping[str, Any],
    *,
    patient: Mapping[str, Any],
    markers: Mapping[str, Any],
    variants: Sequence[Mapping[str, Any]],
    catalog: CatalogConfig,
    lang: str = "en",
    documents: ReportDocuments | None = None,
    identifiers: Sequence[Mapping[str, str]] = (),
    generated: str | None = None,
    check: str = "models",
    efficacy: str | None,
    any_severe_ae: str | None,
) -> dict[str, Any]:
    """The FHIR R4 ``collection`` Bundle of one patient's recommendation, as JSON-ready data
    checked by :func:`validate_bundle` at level ``check`` (``models``, ``rules`` or ``none``).

    ``answer``: :meth:`PatientResult.to_dict` (ranked rows with decoded evidence, excluded
    rows, provenance). ``patient``: the patient's record (sex, birth_year, cancer_type,
    oncotree_code, stage, her2_status); ``markers``: the markers at line start (tmb,
    msi_status, pdl1_tps); ``variants``: the tumour's variants (gene, hgvsp, vaf, depth,
    chrom, pos, ref, alt, consequence). ``lang``: language of the display texts (``en`` or
    ``fr``); codes do not depend on it. ``documents``: the rendered report, attached as the
    DiagnosticReport's ``presentedForm`` and as the DocumentReference's Binary (the PDF when
    present, else the HTML). ``identifiers``: ``system``/``value`` identifiers of the patient
    at the hospital (from :func:`load_identifier_map`); empty (the default): the pseudonymous
    key only. ``generated``: ISO timestamp of the report (now when None). ``efficacy`` /
    ``any_severe_ae``: the endpoints of those roles (``config.endpoint_roles``), whose
    probabilities the therapeutic implications carry (``p_<endpoint>`` of the ranked rows)."""
    t = Texts(lang, catalog, efficacy=efficacy, any_severe_ae=any_severe_ae)
    key, line = str(answer["patient_key"]), int(answer["line_number"])
    when = generated or _now()
    ids = res_.Ids(key, line)
    entries = _bundle_entries(
        answer,
        ids,
        patient=patient,
        markers=markers,
        variants=variants,
        catalog=catalog,
        docs=documents or ReportDocuments(),
        identifiers=identifiers,
        lang=lang,
        t=t,
        when=when,
    )
    doc = _collection(ids, when=when, entries=entries.items)
    validate_bundle(doc, check=check)
    return doc


def _collection(ids: res_.Ids, *, when: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``collection`` Bundle of ``entries``, stamped ``when``."""
    return {
        "resourceType": "Bundle",
        "id": res_.Ids.id_of(ids("bundle")),
        "type": "collection",
        "timestamp": when,
        "entry": entries,
    }


def _bundle_entries(
    answer: Mapping[str, Any],
    ids: res_.Ids,
    *,
    patient: Mapping[str, Any],
    markers: Mapping[str, Any],
    variants: Sequence[Mapping[str, Any]],
    catalog: CatalogConfig,
    docs: ReportDocuments,
    identifiers: Sequence[Mapping[str, str]],
    lang: str,
    t: Texts,
    when: str,
) -> _Entries:
    """The bundle's entries in order: subject, findings, ranked and excluded regimens, the
    report with its provenance, then the shared document (see :func:`recommendation_bundle`)."""
    entries = _Entries()
    prov = answer.get("provenance") or {}
    pat, dev = _subject(
        entries,
        ids,
        str(answer["patient_key"]),
        patient,
        prov,
        identifiers=identifiers,
        catalog=catalog,
        t=t,
    )
    found = _findings(entries, ids, pat, patient=patient, markers=markers, variants=variants, t=t)
    implications, tasks = _ranked(entries, ids, pat, answer, found, catalog=catalog, t=t, when=when)
    results = [*found.results, *implications]
    _excluded(entries, ids, pat, answer, catalog=catalog, t=t, when=when)
    report = _report(
        entries,
        ids,
        pat,
        answer,
        results=results,
        tasks=tasks,
        device_url=dev,
        when=when,
        forms=_presented_forms(docs, ids, lang=lang, t=t),
        t=t,
    )
    _document_entries(entries, ids, pat, docs, report_url=report, lang=lang, t=t, when=when)
    return entries


@dataclass
class _Entries:
    """A bundle's entries in order: each a full URL and its resource."""

    items: list[dict[str, Any]] = field(default_factory=list)

    def add(self, full: str, resource: dict[str, Any] | None) -> str:
        """Append ``resource`` under ``full`` (nothing when None); returns ``full``."""
        if resource is not None:
            self.items.append({"fullUrl": full, "resource": resource})
        return full


@dataclass(frozen=True)
class _Findings:
    """The observations a report's results start with (markers, pharmacogenomic genotypes,
    variants, in that order) and, for :func:`_derived`, the full URLs of the variants by
    gene and of the markers by code."""

    results: list[str]
    variant_urls: dict[str, list[str]]
    marker_urls: dict[str, str]


def _subject(
    entries: _Entries,
    ids: res_.Ids,
    key: str,
    patient: Mapping[str, Any],
    prov: Mapping[str, Any],
    *,
    identifiers: Sequence[Mapping[str, str]],
    catalog: CatalogConfig,
    t: Texts,
) -> tuple[str, str]:
    """Add the Patient, its cancer Condition and the recommender's Device; returns the
    full URLs of the Patient and of the Device."""
    pat = entries.add(
        ids("patient"), res_.patient_resource(ids("patient"), key, patient, identifiers)
    )
    entries.add(ids("condition"), res_.cancer_condition(ids("condition"), pat, patient, catalog, t))
    dev = entries.add(ids("device"), res_.device(ids("device"), prov))
    return pat, dev


def _findings(
    entries: _Entries,
    ids: res_.Ids,
    pat: str,
    *,
    patient: Mapping[str, Any],
    markers: Mapping[str, Any],
    variants: Sequence[Mapping[str, Any]],
    t: Texts,
) -> _Findings:
    """Add the marker observations, the pharmacogenomic genotypes (DPYD, UGT1A1 when
    recorded) and one observation per variant with a gene; returns their full URLs."""
    marker_entries = res_.marker_observations(ids, pat, {**patient, **markers}, t)
    entries.items += marker_entries
    marker_urls = {
        c: ids(f"marker/{c}")
        for c in res_.MARKER_CODES
        if any(e["fullUrl"] == ids(f"marker/{c}") for e in marker_entries)
    }
    pgx_entries = res_.pgx_observations(ids, pat, patient, t)
    entries.items += pgx_entries
    variant_urls: dict[str, list[str]] = {}
    results = [e["fullUrl"] for e in marker_entries + pgx_entries]
    for i, v in enumerate(variants):
        if not v.get("gene"):
            continue
        full = entries.add(
            ids(f"variant/{i}"), res_.variant_observation(ids(f"variant/{i}"), pat, v)
        )
        variant_urls.setdefault(str(v["gene"]), []).append(full)
        results.append(full)
    return _Findings(results=results, variant_urls=variant_urls, marker_urls=marker_urls)


def _ranked(
    entries: _Entries,
    ids: res_.Ids,
    pat: str,
    answer: Mapping[str, Any],
    found: _Findings,
    *,
    catalog: CatalogConfig,
    t: Texts,
    when: str,
) -> tuple[list[str], list[str]]:
    """Add, per ranked regimen in rank order, its therapeutic implication (derived from the
    findings its biomarkers rely on) and its recommendation Task; returns the full URLs of
    the implications and of the tasks."""
    implications: list[str] = []
    tasks: list[str] = []
    for row in sorted(answer.get("ranked") or [], key=lambda r: int(r["rank"])):
        rid = str(row["regimen_id"])
        imp = entries.add(
            ids(f"implication/{rid}"),
            res_.therapeutic_implication(
                ids(f"implication/{rid}"),
                pat,
                row,
                catalog=catalog,
                t=t,
                derived_from=_derived(row, catalog, found.variant_urls, found.marker_urls),
            ),
        )
        implications.append(imp)
        task = res_.recommendation_task(
            ids(f"task/{rid}"), pat, row, imp, catalog=catalog, t=t, generated=when
        )
        tasks.append(entries.add(ids(f"task/{rid}"), task))
    return implications, tasks


def _excluded(
    entries: _Entries,
    ids: res_.Ids,
    pat: str,
    answer: Mapping[str, Any],
    *,
    catalog: CatalogConfig,
    t: Texts,
    when: str,
) -> None:
    """Add the Task of each excluded regimen (the answer's order)."""
    for row in answer.get("excluded") or []:
        rid = str(row["regimen_id"])
        entries.add(
            ids(f"excluded/{rid}"),
            res_.excluded_task(
                ids(f"excluded/{rid}"), pat, row, catalog=catalog, t=t, generated=when
            ),
        )


def _presented_forms(
    docs: ReportDocuments, ids: res_.Ids, *, lang: str, t: Texts
) -> list[dict[str, Any]]:
    """The DiagnosticReport's ``presentedForm``: the HTML, then the PDF, those rendered. The
    document shared (the PDF, else the HTML) is the Binary's: its form points to it; the
    other is inline."""
    forms = []
    if docs.html is not None:
        forms.append(
            res_.attachment(
                docs.html,
                "text/html",
                t.label("report_html"),
                lang,
                inline=docs.pdf is not None,
                url=None if docs.pdf is not None else ids("binary"),
            )
        )
    if docs.pdf is not None:
        forms.append(
            res_.attachment(
                docs.pdf,
                "application/pdf",
                t.label("report_pdf"),
                lang,
                inline=False,
                url=ids("binary"),
            )
        )
    return forms


def _report(
    entries: _Entries,
    ids: res_.Ids,
    pat: str,
    answer: Mapping[str, Any],
    *,
    results: list[str],
    tasks: list[str],
    forms: list[dict[str, Any]],
    device_url: str,
    t: Texts,
    when: str,
) -> str:
    """Add the DiagnosticReport (its results, tasks and presented forms) and the Provenance
    of the report and of what it cites; returns the report's full URL."""
    prov = answer.get("provenance") or {}
    report = entries.add(
        ids("report"),
        res_.diagnostic_report(
            ids("report"),
            pat,
            results=results,
            tasks=tasks,
            forms=forms,
            t=t,
            message=str(answer.get("message") or ""),
            generated=when,
        ),
    )
    entries.add(
        ids("provenance"),
        res_.provenance(
            ids("provenance"),
            targets=[report, *results, *tasks],
            device_url=device_url,
            prov=prov,
            generated=when,
            t=t,
        ),
    )
    return report


def _document_entries(
    entries: _Entries,
    ids: res_.Ids,
    pat: str,
    docs: ReportDocuments,
    *,
    report_url: str,
    lang: str,
    t: Texts,
    when: str,
) -> None:
    """Add the shared document (the PDF, else the HTML) as a Binary and the
    DocumentReference pointing to it and to the report; nothing when none was rendered."""
    document = _document(docs, lang, t)
    if document is None:
        return
    data, ctype, title = document
    binary = entries.add(ids("binary"), res_.binary(ids("binary"), data, ctype))
    content = res_.attachment(data, ctype, title, lang, inline=False, url=binary)
    entries.add(
        ids("document"),
        res_.document_reference(
            ids("document"),
            res_.reference(pat),
            report_url=report_url,
            content=content,
            t=t,
            generated=when,
        ),
    )


def _document(docs: ReportDocuments, lang: str, t: Texts) -> tuple[bytes, str, str] | None:
    if docs.pdf is not None:
        return docs.pdf, "application/pdf", t.label("report_pdf")
    if docs.html is not None:
        return docs.html, "text/html", t.label("report_html")
    return None


def write_fhir_files(
    stem: Path | str, bundle: Mapping[str, Any], *, check: str = "models"
) -> list[Path]:
    """Write ``<stem>.fhir.json`` (the bundle) and, when it holds a document,
    ``<stem>.mhd.json`` (its MHD submission, checked at level ``check``); compact JSON (one
    line: the C encoder, ten times faster than an indented dump). Returns the files written."""

    out = [Path(f"{stem}.fhir.json")]
    out[0].write_text(_json(bundle), encoding="utf-8")
    mhd = mhd_submission(bundle, check=check)
    if mhd is not None:
        out.append(Path(f"{stem}.mhd.json"))
        out[1].write_text(_json(mhd), encoding="utf-8")
    return out


def _json(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"
