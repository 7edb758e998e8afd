"""A new patient's files (VCF or MAF, and clinical JSON, CSV or FHIR bundle) as a payload.

The clinical file gives the patient and their therapy lines:

* **JSON**: ``{"patient": {"patient_id": …, "sex": …, "cancer_type": …}, "lines": [...]}``
  (the payload layout of :mod:`precision_onco.recommend.patient`, with the raw
  ``patient_id`` that is pseudonymized here);
* **CSV/TSV**: one row per therapy line (earlier lines, and optionally the line
  to recommend for with its labs), the patient's columns repeated on each row; a
  row without ``line_number`` carries the patient only. The columns are the
  canonical ones, or the cohort's own (a file laid out as the cohort's tables:
  ``cohort.inputs.patients`` and ``.lines`` map its columns, codes and units, as
  ingest does);
* **FHIR R4 bundle** (mCODE): read like the cohort's bundles.

The raw identifier becomes ``patient_key`` with the cohort's pseudonymization
key; it never reaches the payload, the outputs or the served model.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from precision_onco.config.schema import (
    CatalogConfig,
    CohortInputsConfig,
    MafInputConfig,
    TableInputConfig,
    VcfInputConfig,
)
from precision_onco.ingest.contracts import IngestError, Rejects
from precision_onco.ingest.tables import LINE_FIELDS, RawTable, apply_mapping, read_table
from precision_onco.recommend.patient import PATIENT_PAYLOAD_FIELDS, PayloadError

__all__ = ["clinical_payload", "new_patient_payload", "read_patient_variants", "variant_records"]

_VARIANT_KEYS = (
    "gene",
    "hgvsp",
    "consequence",
    "vaf",
    "depth",
    "chrom",
    "pos",
    "ref",
    "alt",
    "filter",
)


log = logging.getLogger(__name__)


def _clean(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and v != v:
        return None
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    if hasattr(v, "item"):
        return v.item()
    if isinstance(v, str) and not v.strip():
        return None
    return v


Record = dict[str, Any]


def _split(
    rows: Sequence[Mapping[str, Any]], where: str, extra: Sequence[str] = ()
) -> tuple[Record, list[Record]]:
    """Patient fields (from the first row that has each) and one line per row with a number;
    ``extra``: the recommender's ``features.extra`` columns, kept with their line (with the
    patient from a row without a line number)."""
    patient: dict[str, Any] = {}
    lines: list[dict[str, Any]] = []
    line_keys = set(LINE_FIELDS) - {"patient_id"}
    ids = {str(r["patient_id"]).strip() for r in rows if _clean(r.get("patient_id")) is not None}
    if len(ids) > 1:
        raise PayloadError(f"{where}: rows of {len(ids)} patients; give one patient's rows")
    for r in rows:
        line: dict[str, Any] = {}
        for k, v in r.items():
            v = _clean(v)
            if v is None:
                continue
            if k in PATIENT_PAYLOAD_FIELDS or k in ("patient_id", "genes_tested", "assay_panel"):
                if k == "ecog" and _clean(r.get("line_number")) is not None:
                    line[k] = v
                patient.setdefault(k, v)
            elif k in line_keys or (k.startswith("ae_") and k.endswith("_max_grade")):
                line[k] = v
            elif k in extra:
                # a line's value is that line's: never the patient's, which every line
                # without its own value would take (a row without a line number is the
                # patient's)
                if _clean(r.get("line_number")) is not None:
                    line[k] = v
                else:
                    patient.setdefault(k, v)
        if _clean(r.get("line_number")) is not None:
            lines.append(line)
    return patient, lines


def clinical_payload(
    path: Path | str,
    *,
    catalog: CatalogConfig | None = None,
    extra: Sequence[str] = (),
    inputs: CohortInputsConfig | None = None,
) -> tuple[Record, list[Record], list[Record]]:
    """``(patient, lines, variants)`` from a clinical file; ``patient`` keeps the raw
    ``patient_id`` (pseudonymize before building the payload). ``variants`` come from a
    FHIR bundle's genomic observations (empty for JSON and CSV). ``extra``: the
    recommender's ``features.extra`` inputs, kept from a CSV's columns of those names.
    ``inputs``: the cohort's tables, whose mapping a CSV in the cohort's own layout gets."""
    p = Path(path)
    if not p.is_file():
        raise IngestError(p, "file not found (expected clinical JSON, CSV/TSV or a FHIR bundle)")
    suffix = p.suffix.lower()
    if suffix == ".json":
        return _json_payload(p, catalog)
    if suffix in (".csv", ".tsv", ".txt"):
        return _table_payload(p, suffix=suffix, extra=extra, inputs=inputs)
    raise IngestError(
        p,
        f"unsupported clinical file type {suffix or '(none)'!r}: use .json "
        "(payload or FHIR bundle), .csv or .tsv",
    )


def _json_payload(
    p: Path, catalog: CatalogConfig | None
) -> tuple[Record, list[Record], list[Record]]:
    """:func:`clinical_payload` of a JSON payload or FHIR bundle."""
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IngestError(p, f"not valid JSON ({exc})") from None
    if isinstance(doc, Mapping) and doc.get("resourceType") == "Bundle":
        return _fhir(p, catalog)
    if not isinstance(doc, Mapping) or not isinstance(doc.get("patient"), Mapping):
        raise IngestError(p, 'expected {"patient": {...}, "lines": [...]} or a FHIR Bundle')
    unknown = sorted(set(doc) - {"patient", "lines", "variants", "genes_tested"})
    if unknown:
        raise IngestError(
            p,
            f"unknown top-level field {unknown[0]!r} (expected patient, "
            "lines, variants, genes_tested)",
        )
    lines = doc.get("lines") or []
    if not isinstance(lines, list):
        raise IngestError(p, "'lines' must be a list of therapy lines")
    patient = dict(doc["patient"])
    if doc.get("genes_tested") is not None:
        if not isinstance(doc["genes_tested"], list):
            raise IngestError(
                p, "'genes_tested' must be a list of gene symbols (the genes the assay covered)"
            )
        patient["genes_tested"] = ";".join(map(str, doc["genes_tested"]))
    return patient, [dict(r) for r in lines], list(doc.get("variants") or [])


def _table_payload(
    p: Path,
    *,
    suffix: str,
    extra: Sequence[str],
    inputs: CohortInputsConfig | None,
) -> tuple[Record, list[Record], list[Record]]:
    """:func:`clinical_payload` of a CSV/TSV file (one row per therapy line)."""
    with p.open(encoding="utf-8-sig", newline="") as fh:
        first = fh.readline()
        sep = "\t" if suffix == ".tsv" or "\t" in first else ","
        header = {c.strip() for c in next(csv.reader([first], delimiter=sep), [])}
        specs = _cohort_specs(inputs, header) if inputs else []
        if inputs and specs:  # the cohort's own layout: read and mapped as ingest does
            fmt = "tsv" if sep == "\t" else "csv"
            rows = _cohort_rows(p, specs, fmt, encoding=inputs.lines.encoding)
        else:
            fh.seek(0)
            rows = list(csv.DictReader(fh, delimiter=sep))
    if not rows:
        raise IngestError(p, "no rows (expected a header and one row per therapy line)")
    patient, lines = _split(rows, str(p), extra)
    return patient, lines, []


def _cohort_specs(
    inputs: CohortInputsConfig, header: set[str]
) -> list[tuple[str, TableInputConfig]]:
    """The cohort's table mappings (``cohort.inputs.patients``, ``.lines``) a clinical file
    with ``header`` is laid out by: those whose renamed source columns it has (none: the
    file uses canonical names)."""
    return [
        (label, spec)
        for label, spec in (("patients", inputs.patients), ("lines", inputs.lines))
        if any(src in header and src != canon for canon, src in spec.columns.items())
    ]


def _cohort_rows(
    p: Path,
    specs: Sequence[tuple[str, TableInputConfig]],
    fmt: str,
    *,
    encoding: str,
) -> list[Record]:
    """The rows of a clinical CSV/TSV laid out as the cohort's tables, mapped to canonical
    columns by ``specs`` (names, code lists, units, constants) with ingest's own
    :func:`apply_mapping`; a column a mapping renames, recodes, converts or sets takes that
    mapping's value. A value the mapping refuses is an :class:`IngestError` naming the file
    line, never a dropped row."""
    raw = read_table(p, TableInputConfig(format=fmt, encoding=encoding))
    _refuse(raw.rejects, p)
    rows: list[Record] = [{} for _ in range(len(raw.frame))]
    for label, spec in specs:
        part = RawTable(raw.frame.copy(), raw.lines.copy(), Rejects(str(p)), raw.records)
        apply_mapping(part, spec, p, label=label)
        _refuse(part.rejects, p)
        mapped = {*spec.columns, *spec.values, *spec.units, *spec.constants}
        for row, rec in zip(rows, part.frame.to_dict("records"), strict=True):
            for k, v in rec.items():
                if str(k) in mapped:
                    row[str(k)] = v
                else:
                    row.setdefault(str(k), v)
    return rows


def _refuse(rejects: Rejects, p: Path) -> None:
    """An :class:`IngestError` for the first rejected row of a new patient's file: one
    patient's rows are never dropped."""
    if len(rejects):
        first = rejects.rows[0]
        raise IngestError(p, str(first["reason"]), line=first["source_line"])


def _fhir(p: Path, catalog: CatalogConfig | None) -> tuple[Record, list[Record], list[Record]]:
    from precision_onco.ingest.fhir import read_fhir_bundle

    res = read_fhir_bundle(p, catalog=catalog)
    if len(res.patients) != 1:
        raise IngestError(
            p, f"the bundle has {len(res.patients)} patients; give one patient's bundle"
        )
    prow = {k: _clean(v) for k, v in res.patients.iloc[0].items()}
    patient = {
        k: v
        for k, v in prow.items()
        if (k in PATIENT_PAYLOAD_FIELDS or k in ("patient_id", "genes_tested")) and v is not None
    }
    line_keys = set(LINE_FIELDS) - {"patient_id"}
    lines = [
        {k: _clean(v) for k, v in r.items() if k in line_keys and _clean(v) is not None}
        for r in res.lines.to_dict(orient="records")
    ]
    if prow.get("msi_status") is not None:
        for r in lines:
            r.setdefault("msi_status", prow["msi_status"])
    variants = variant_records(res.variants)
    return patient, lines, variants


def variant_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Canonical variant rows as payload records (no identifiers)."""
    out = []
    for r in frame.to_dict(orient="records"):
        rec = {k: _clean(r.get(k)) for k in _VARIANT_KEYS}
        if rec["gene"] is None:
            continue
        out.append({k: v for k, v in rec.items() if v is not None})
    return out


def read_patient_variants(
    path: Path | str,
    *,
    vcf: VcfInputConfig,
    maf: MafInputConfig,
    sample: str | None = None,
    project_root: Path | None = None,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """One tumour's variants from a VCF or MAF, and the records not used, by reason.

    Raises :class:`IngestError` when the file has variant records but none with a
    protein change: the catalog's biomarker rules (BRAF V600E, EGFR exon 19
    deletions, …) could not be checked, and a ranking would silently treat every
    biomarker as absent.
    """
    from precision_onco.ingest.genes import GeneIndex
    from precision_onco.ingest.variants import read_variants, sniff_format

    fmt = sniff_format(path)
    genes = None
    if vcf.genes_bed:
        bed = Path(vcf.genes_bed)
        root = project_root or Path.cwd()
        genes = GeneIndex.from_file(bed if bed.is_absolute() else root / bed)
    res = read_variants(
        path, vcf=vcf, maf=maf, genes=genes, tumor_sample=sample if fmt == "vcf" else None
    )
    frame = res.frame
    rejects = res.rejects
    if fmt == "maf" and "sample_id" in frame.columns and frame["sample_id"].nunique() > 1:
        if sample is None:
            names = sorted(map(str, frame["sample_id"].dropna().unique()))
            more = ", …" if len(names) > 5 else ""
            raise IngestError(
                Path(path),
                f"the MAF holds {len(names)} tumour samples "
                f"({', '.join(names[:5])}{more}); choose one with --sample",
            )
        frame = frame[frame["sample_id"] == sample]
        if not len(frame):
            raise IngestError(Path(path), f"no rows for sample {sample!r} (Tumor_Sample_Barcode)")
        if len(rejects):  # this sample's rejected rows (its barcode is a field of the excerpt)
            mine = rejects["raw"].astype(str).map(lambda r: sample in r.split())
            rejects = rejects[mine.to_numpy(bool)]
    if len(frame) and not frame["hgvsp"].notna().any():
        raise IngestError(
            Path(path),
            f"none of the {len(frame)} variant records has a protein "
            "change (HGVSp): the catalog's biomarker rules (e.g. BRAF V600E) cannot "
            "be checked; annotate the file with VEP (--symbol --hgvs) or SnpEff "
            "first",
        )
    counts: dict[str, int] = {}
    if len(rejects):
        reasons = rejects["reason"].astype(str).str.split(":").str[0]
        counts = {str(k): int(v) for k, v in reasons.value_counts().items()}
    no_gene = int(frame["gene"].isna().sum())
    if no_gene:
        counts["no gene annotation"] = no_gene
    return variant_records(frame), counts


def _covered(cfg: Any, patient: Record, project_root: Path | None) -> list[str]:
    """Genes a new patient's assay covered: the clinical file's own list (a FHIR bundle's
    region studied, a JSON ``genes_tested``), the panel it names (``assay_panel``) and the
    cohort's assay (``cohort.inputs.coverage``); they are removed from ``patient``."""
    from precision_onco.ingest.coverage import parse_genes, read_gene_file

    cov = cfg.cohort.inputs.coverage
    root = project_root or Path.cwd()
    out = parse_genes(patient.pop("genes_tested", None)) | set(cov.genes)
    if cov.file:
        if (root / cov.file).is_file():
            out |= read_gene_file(root / cov.file)
        else:  # conservative: the cohort's assay is not counted, so nothing is assumed wild type
            log.warning(
                "cohort.inputs.coverage.file %s not found: the cohort's assay is not "
                "counted; only genes the clinical file lists or with a call are "
                "tested",
                cov.file,
            )
    panel = patient.pop("assay_panel", None)
    if panel is not None:
        if str(panel) not in cov.panels:
            raise IngestError(
                f"assay_panel {str(panel)[:40]!r}",
                "not a panel of cohort.inputs."
                f"coverage.panels (known: {sorted(cov.panels) or 'none'})",
            )
        chosen = cov.panels[str(panel)]
        out |= set(chosen.genes)
        if chosen.file:
            out |= read_gene_file(root / chosen.file)
    return sorted(out)


def _number(value: Any) -> float | None:
    """A line number as a CSV cell or JSON value gives it (``"2"``, ``2.0``), else None."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _unknown_extras(
    extra: Sequence[str], patient: Record, lines: Sequence[Record], line: int, where: Path | str
) -> None:
    """Send the ``features.extra`` inputs the clinical file lacks as unknown (``None``),
    with a warning naming them: the model then scores them as missing values."""
    current = next((r for r in lines if _number(r.get("line_number")) == line), {})
    lacking = [c for c in extra if c not in patient and c not in current]
    if lacking:
        log.warning(
            "%s has no %s (features.extra model inputs); scored as unknown",
            where,
            ", ".join(lacking),
        )
    for c in lacking:
        patient[c] = None


def new_patient_payload(
    cfg: Any,
    *,
    clinical: Path | str,
    line: int,
    variants: Path | str | None = None,
    sample: str | None = None,
    preset: str | None = None,
    project_root: Path | None = None,
) -> tuple[dict[str, Any], dict[str, int]]:
    """The payload for a new patient's files (raw id pseudonymized with the cohort's key),
    and the variant records not used, by reason. ``cfg``: the validated :class:`Config`."""
    from precision_onco.ingest.pseudonymize import pseudonymize, resolve_key

    extra = [str(c) for c in cfg.features.extra]
    patient, lines, fhir_variants = clinical_payload(
        clinical, catalog=cfg.catalog, extra=extra, inputs=cfg.cohort.inputs
    )
    _unknown_extras(extra, patient, lines, line, clinical)
    raw_id = patient.pop("patient_id", None)
    for r in lines:
        r.pop("patient_id", None)
    if raw_id is not None:
        key = resolve_key(
            cfg.cohort.pseudonymization, synthetic=cfg.cohort.synthetic, project_root=project_root
        )
        patient["patient_key"] = pseudonymize([raw_id], key)[0]
    rejected: dict[str, int] = {}
    records = fhir_variants
    if variants is not None:
        inputs = cfg.cohort.inputs
        records, rejected = read_patient_variants(
            variants, vcf=inputs.vcf, maf=inputs.maf, sample=sample, project_root=project_root
        )
    payload: dict[str, Any] = {
        "patient": patient,
        "line_number": line,
        "lines": lines,
        "variants": records,
    }
    covered = _covered(cfg, patient, project_root)
    if covered:
        payload["genes_tested"] = covered
    if preset:
        payload["preset"] = preset
    return payload, rejected
