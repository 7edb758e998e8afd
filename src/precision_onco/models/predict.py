"""Score a table of new patients with a cohort's trained models, without retraining.

The table has the shape of the cohort's own input table and is read with the
cohort's column config (:mod:`~precision_onco.ingest.tables`): the ``lines``
mapping, and for a one-table cohort (``patients.path == lines.path``, as
``conf/cohort/chowell2022.yaml``) the ``patients`` mapping on the same file; a
two-table cohort can give its patients file as well, and VCF/MAF files for the
genomic inputs (linked as the ``ingest`` stage links them). Identifiers are replaced by
their keyed pseudonyms (the cohort's key, so a patient keeps the key of the
training run), features are built as the ``featurize`` stage does, and every
endpoint model gives its probability with its interval
(:meth:`~precision_onco.models.fit.EndpointModel.predict_interval`).

Every input row gets one output row, keyed by its ``source_row`` (the file line,
as in the rejects): ``status`` is ``ok`` with the probabilities, or ``rejected``
with the ``reason`` (the same checks as the ``ingest`` stage). The raw patient
identifier is never written. Outcome columns of the table, if present, are read
and ignored: they are never inputs.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from precision_onco.catalog.biomarkers import to_short_hgvsp
from precision_onco.config import Config
from precision_onco.errors import InputError
from precision_onco.features import CATEGORICAL, build_features, load_panel
from precision_onco.ingest.cohort import (
    Redactor,
    _link,
    _sample_map,
    expand_paths,
    germline_linker,
)
from precision_onco.ingest.contracts import VARIANT_COLUMNS, IngestError, ReadResult
from precision_onco.ingest.genes import GeneIndex
from precision_onco.ingest.germline import merge_germline, read_germline_calls
from precision_onco.ingest.maf import read_maf
from precision_onco.ingest.pseudonymize import pseudonymize, resolve_key
from precision_onco.ingest.tables import (
    load_oncotree_codes,
    read_lines,
    read_patients,
    read_table,
)
from precision_onco.ingest.vcf import read_vcfs
from precision_onco.models.fit import EndpointModel
from precision_onco.models.train import model_frame

__all__ = ["PredictResult", "models_from_dir", "predict_table", "write_predictions"]

log = logging.getLogger(__name__)

#: Columns every output has, before the per-endpoint probabilities.
ID_COLUMNS = ["source_row", "patient_key", "line_number", "regimen_id", "status", "reason"]


@dataclass
class PredictResult:
    """One row per input row (``predictions``), and what the caller should know."""

    predictions: pd.DataFrame
    endpoints: list[str]
    warnings: list[str] = field(default_factory=list)

    @property
    def n_ok(self) -> int:
        return int((self.predictions["status"] == "ok").sum())

    @property
    def n_rejected(self) -> int:
        return int((self.predictions["status"] == "rejected").sum())


def _one_table(cfg: Config) -> bool:
    inputs = cfg.cohort.inputs
    return bool(inputs.patients.path) and inputs.patients.path == inputs.lines.path


def _records(path: Path, cfg_table: Any) -> tuple[list[int], dict[int, str]]:
    """The file line of every record of the table (readable or not), in file order, and the
    raw patient id of each readable one (to key the rows the checks reject)."""
    raw = read_table(path, cfg_table, label="lines")
    lines = {int(n) for n in raw.lines}
    lines |= {int(r["source_line"]) for r in raw.rejects.rows if r["source_line"] is not None}
    src = cfg_table.columns.get("patient_id", "patient_id")
    ids: dict[int, str] = {}
    if src in raw.frame.columns:
        for n, v in zip(raw.lines, raw.frame[src], strict=True):
            if not pd.isna(v) and str(v).strip():
                ids[int(n)] = str(v).strip()
    return sorted(lines), ids


def predict_table(
    table: Path | str,
    cfg: Config,
    models: Mapping[str, EndpointModel],
    *,
    patients: Path | str | None = None,
    variants: Sequence[Path | str] = (),
    root: Path | None = None,
    level: float = 0.95,
) -> PredictResult:
    """Score every row of ``table`` (a lines-shaped table of the cohort of ``cfg``).

    ``patients``: a patients table for a two-table cohort (mapped by
    ``cohort.inputs.patients``); for a one-table cohort the patient columns are read
    from ``table`` itself. ``variants``: the patients' VCF and MAF files (globs
    allowed), read and linked to patients as the ``ingest`` stage does (the cohort's
    ``vcf``/``maf`` and ``samples`` config); without them, genomic model inputs are
    missing (a warning says which). ``root``: the project root (key file, gene panel,
    relative paths). Raises :class:`IngestError` for a fatal problem with the
    file (unreadable, a mapped column missing) and :class:`ValueError` without models.
    """
    if not models:
        raise InputError("no endpoint model to score with (train the cohort first)")
    root = (root or Path.cwd()).resolve()
    path = Path(table)
    lines_cfg, lines_res = _read_lines_table(path, cfg)
    pat_path, pats_res = _read_patients_table(path, cfg, patients, root)
    warnings = [*lines_res.report.warnings, *(pats_res.report.warnings if pats_res else [])]
    reasons = _reasons(lines_res, pats_res if pat_path == path else None)

    key = resolve_key(
        cfg.cohort.pseudonymization, synthetic=cfg.cohort.synthetic, project_root=root
    )
    records, raw_ids = _records(path, lines_cfg)
    lines = lines_res.frame
    pat = pats_res.frame if pats_res is not None else pd.DataFrame({"patient_id": []})
    var, var_warnings = _variants(variants, cfg, pat, root)
    warnings.extend(var_warnings)
    pat, germ_warnings = _germline(variants, cfg, pat, root)
    warnings.extend(germ_warnings)
    everyone = [
        set(raw_ids.values()),
        set(lines["patient_id"].astype(str)),
        set(pat["patient_id"].astype(str)),
        set(var["patient_id"].dropna().astype(str)),
    ]
    pmap = _pseudonyms(set().union(*everyone), key)
    redact = Redactor(pmap)

    if pats_res is not None and pat_path is not None and pat_path != path and len(lines):
        warnings.extend(_patients_file_checks(pats_res, pat_path, lines, pat, pmap, reasons))
    ok_lines = lines[~lines["source_line"].isin(list(reasons))].reset_index(drop=True)
    ok_pat = pat[pat["patient_id"].astype(str).isin(set(ok_lines["patient_id"].astype(str)))]
    ok_pat = ok_pat.drop_duplicates("patient_id")

    scored = _score(
        ok_lines, ok_pat, var, pmap, cfg, models, root=root, level=level, warnings=warnings
    )
    accepted = dict(
        zip(lines["source_line"].astype(int), lines["patient_id"].astype(str), strict=True)
    )
    ids = {n: accepted.get(n, raw_ids.get(n)) for n in records}
    eps = list(models)
    frame = _output(path, records, ids, reasons, scored, pmap, redact, eps)
    warnings = [redact(w) for w in warnings]
    for w in warnings:
        log.warning("%s", w)
    return PredictResult(frame, eps, warnings)


def _pseudonyms(ids: set[str], key: bytes) -> dict[str, str]:
    """The pseudonym of every raw patient id of ``ids``, keyed by ``key``."""
    everyone = sorted(ids)
    return dict(zip(everyone, pseudonymize(everyone, key), strict=True))


def _read_lines_table(path: Path, cfg: Config) -> tuple[Any, ReadResult]:
    """The cohort's lines table config pointed at ``path``, and ``path`` read with it."""
    inputs = cfg.cohort.inputs
    if not inputs.lines.columns and not inputs.lines.path:
        raise IngestError(
            path,
            f"cohort {cfg.cohort.name!r} has no cohort.inputs.lines table "
            "config; predict reads a table mapped as the cohort's lines table",
        )
    lines_cfg = dataclasses.replace(inputs.lines, path=str(path))
    tox = list(cfg.catalog.toxicity_categories)
    # new patients start after the training data cut-off: no cut-off check here
    return lines_cfg, read_lines(path, lines_cfg, tox_categories=tox, data_cutoff=None)


def _read_patients_table(
    path: Path, cfg: Config, patients: Path | str | None, root: Path
) -> tuple[Path | None, ReadResult | None]:
    """The patients file (``patients``, or ``path`` itself for a one-table cohort) and its
    reading, or None for both (a two-table cohort without its patients file)."""
    pat_path: Path | None = None
    if patients is not None:
        pat_path = Path(patients)
    elif _one_table(cfg):
        pat_path = path
    if pat_path is None:
        return None, None
    pat_cfg = dataclasses.replace(cfg.cohort.inputs.patients, path=str(pat_path))
    codes = (
        load_oncotree_codes(root / cfg.cohort.oncotree_codes) if cfg.cohort.oncotree_codes else None
    )
    return pat_path, read_patients(pat_path, pat_cfg, oncotree_codes=codes)


def _reasons(lines_res: ReadResult, same_file: ReadResult | None) -> dict[int, list[str]]:
    """Reasons per file line: the lines checks, and the patient checks of ``same_file``
    (the patients read from the lines file itself, a one-table cohort)."""
    reasons: dict[int, list[str]] = {}
    for r in lines_res.rejects.itertuples(index=False):
        reasons.setdefault(int(r.source_line), []).append(str(r.reason))
    if same_file is not None:
        for r in same_file.rejects.itertuples(index=False):
            # one patient on several lines is no error; a file-level reason is given once
            if str(r.reason).startswith("duplicate row"):
                continue
            got = reasons.setdefault(int(r.source_line), [])
            if str(r.reason) not in got:
                got.append(f"patient columns: {r.reason}")
    return reasons


def _patients_file_checks(
    pats_res: ReadResult,
    pat_path: Path,
    lines: pd.DataFrame,
    pat: pd.DataFrame,
    pmap: Mapping[str, str],
    reasons: dict[int, list[str]],
) -> list[str]:
    """Warnings for the rows of a separate patients file rejected, and a reason added to
    ``reasons`` for every line whose patient has no accepted row there."""
    warnings = [
        f"{pat_path} line {r.source_line} rejected: {r.reason}"
        for r in pats_res.rejects.itertuples(index=False)
    ]
    known = set(pat["patient_id"].astype(str))
    for n, pid in zip(lines["source_line"], lines["patient_id"].astype(str), strict=True):
        if pid not in known:
            reasons.setdefault(int(n), []).append(
                f"patient {pmap[pid]} has no accepted row in the patients file {pat_path}"
            )
    return warnings


def _output(
    path: Path,
    records: list[int],
    ids: Mapping[int, str | None],
    reasons: Mapping[int, list[str]],
    scored: pd.DataFrame,
    pmap: Mapping[str, str],
    redact: Redactor,
    eps: list[str],
) -> pd.DataFrame:
    """One row per file line of ``records``: rejected with its reasons, or its scores."""
    out_rows: list[dict[str, Any]] = []
    by_line = scored.set_index("source_row") if len(scored) else None
    for n in records:
        pid = ids[n]
        row: dict[str, Any] = {"source_row": n, "patient_key": pmap.get(pid) if pid else None}
        if n in reasons:
            row.update(status="rejected", reason=redact("; ".join(reasons[n])))
        elif by_line is not None and n in by_line.index:
            row.update(by_line.loc[n].to_dict(), status="ok", reason=None)
        else:  # cannot happen: every accepted row is scored
            raise AssertionError(f"{path}: line {n} neither scored nor rejected")
        out_rows.append(row)
    prob_cols = [c for ep in eps for c in (f"p_{ep}", f"p_{ep}_low", f"p_{ep}_high")]
    frame = pd.DataFrame(out_rows, columns=[*ID_COLUMNS, *prob_cols])
    return frame.astype(
        {
            "source_row": "int64",
            "patient_key": "string",
            "line_number": "Int64",
            "regimen_id": "string",
            "status": "string",
            "reason": "string",
            **{c: "float64" for c in prob_cols},
        }
    )


def _score(
    lines: pd.DataFrame,
    patients: pd.DataFrame,
    variants: pd.DataFrame,
    pmap: Mapping[str, str],
    cfg: Config,
    models: Mapping[str, EndpointModel],
    *,
    root: Path,
    level: float,
    warnings: list[str],
) -> pd.DataFrame:
    """Features and probabilities of the accepted lines, keyed by ``source_row``."""
    if not len(lines):
        return pd.DataFrame()
    lines = lines.copy()
    lines.insert(0, "patient_key", lines.pop("patient_id").astype(str).map(pmap).astype("string"))
    pats = patients.copy()
    pats.insert(0, "patient_key", pats.pop("patient_id").astype(str).map(pmap).astype("string"))
    variants = variants.copy()
    variants.insert(
        0, "patient_key", variants.pop("patient_id").astype("string").map(pmap).astype("string")
    )
    feats = build_features(
        pats,
        lines,
        variants,
        cfg.features,
        cfg.catalog,
        panel=load_panel(cfg.features, root),
        endpoint_columns=[e.column for e in cfg.endpoints.values()],
    )
    frame = model_frame(feats, cfg)
    src = lines[["patient_key", "line_number", "source_line"]].astype({"line_number": "int64"})
    where = frame[["patient_key", "line_number"]].merge(src, how="left", validate="one_to_one")
    out = pd.DataFrame(
        {
            "source_row": where["source_line"].to_numpy(dtype="int64"),
            "patient_key": frame["patient_key"].to_numpy(),
            "line_number": frame["line_number"].to_numpy(),
            "regimen_id": frame["regimen_id"].to_numpy() if "regimen_id" in frame.columns else None,
        }
    )
    warnings.extend(_input_gaps(frame, models))
    for ep, m in models.items():
        p, lo, hi = m.predict_interval(frame, level)
        out[f"p_{ep}"], out[f"p_{ep}_low"], out[f"p_{ep}_high"] = p, lo, hi
    return out


def _germline(
    files: Sequence[Path | str], cfg: Config, patients: pd.DataFrame, root: Path
) -> tuple[pd.DataFrame, list[str]]:
    """``patients`` with their germline PGx calls from the normal column of the given VCFs,
    when the cohort reads its germline genotypes so (``cohort.inputs.germline``)."""
    germ = cfg.cohort.inputs.germline
    if germ.source != "normal_column" or not files or not len(patients):
        return patients, []
    paths = expand_paths([str(f) for f in files], root)
    vcf = [f for f in paths if not f.name.lower().removesuffix(".gz").endswith(".maf")]
    if not vcf:
        return patients, []
    res = read_germline_calls(vcf, germ, germline_linker(cfg, patients, root), label="--variants")
    out, warnings = merge_germline(patients, res.frame)
    if res.report.rejected:
        warnings.append(
            f"{res.report.rejected} germline file(s) not used: "
            + ", ".join(f"{k} ×{v}" for k, v in res.report.rejected_by_reason.items())
        )
    return out, warnings


def _variants(
    files: Sequence[Path | str], cfg: Config, patients: pd.DataFrame, root: Path
) -> tuple[pd.DataFrame, list[str]]:
    """Variant rows of ``files`` with their raw ``patient_id`` (the cohort's sample linkage),
    and warnings: records not used, samples of no patient of the table."""
    empty = pd.DataFrame({c: pd.Series(dtype=t) for c, t in VARIANT_COLUMNS.items()})
    if not files:
        return empty.assign(hgvsp_short=pd.Series(dtype="string")), []
    paths = expand_paths([str(f) for f in files], root)
    maf = [f for f in paths if f.name.lower().removesuffix(".gz").endswith(".maf")]
    vcf = [f for f in paths if f not in maf]
    inputs = cfg.cohort.inputs
    frames, rejected = [], 0
    if vcf:
        genes = GeneIndex.from_file(root / inputs.vcf.genes_bed) if inputs.vcf.genes_bed else None
        frame, rej, _ = read_vcfs(vcf, inputs.vcf, genes=genes)
        frames.append(frame)
        rejected += len(rej)
    for f in maf:
        r = read_maf(f, inputs.maf)
        frames.append(r.frame)
        rejected += len(r.rejects)
    var = pd.concat([f for f in frames if len(f)] or [empty], ignore_index=True)
    warnings = []
    if rejected:
        warnings.append(f"{rejected} variant records not used (not PASS or unreadable)")
    if len(var):
        smap = _sample_map(cfg, patients, root)
        unset = var["patient_id"].isna()
        linked = _link(var.loc[unset, "sample_id"].astype(str), smap, inputs.samples.regex)
        var.loc[unset, "patient_id"] = linked.to_numpy()
        orphan = ~var["patient_id"].isin(set(patients["patient_id"].astype(str)))
        if orphan.any():
            warnings.append(
                f"{int(orphan.sum())} variant rows from {var.loc[orphan, 'sample_id'].nunique()} "
                "samples belong to no patient of the table (check cohort.inputs.samples)"
            )
            var = var.loc[~orphan].reset_index(drop=True)
    var["hgvsp_short"] = var["hgvsp"].map(to_short_hgvsp).astype("string")
    return var, warnings


def _input_gaps(frame: pd.DataFrame, models: Mapping[str, EndpointModel]) -> list[str]:
    """Model inputs the table does not give (scored as missing), and unseen categories."""
    out: list[str] = []
    needed: dict[str, EndpointModel] = {}
    for m in models.values():
        for c in m.columns:
            needed.setdefault(c, m)
    absent = [c for c in needed if c not in frame.columns]
    if absent:
        more = f", … ({len(absent)} in all)" if len(absent) > 12 else ""
        out.append(
            f"{len(absent)} of {len(needed)} model inputs are not in this table and are scored "
            f"as missing: {', '.join(absent[:12])}{more}"
        )
    for c, m in needed.items():
        if c not in CATEGORICAL or c not in frame.columns or c not in m.levels:
            continue
        seen = set(m.levels[c])
        vals = frame[c].dropna().astype(str)
        new = sorted(set(vals) - seen)
        if new:
            out.append(
                f"{c}: {int(vals.isin(new).sum())} rows have values the models never "
                f"saw in training ({', '.join(new[:5])}): scored as missing"
            )
    return out


def models_from_dir(models_dir: Path | str, *, cohort: str) -> dict[str, EndpointModel]:
    """The ``<endpoint>.joblib`` models of ``models_dir``, refused when its ``manifest.json``
    says they were trained on another cohort than ``cohort``."""
    import json

    from precision_onco.models.fit import load_models

    d = Path(models_dir)
    manifest = d / "manifest.json"
    if manifest.is_file():
        trained_on = json.loads(manifest.read_text()).get("cohort")
        if isinstance(trained_on, dict):
            trained_on = trained_on.get("name")
        if trained_on and trained_on != cohort:
            raise InputError(
                f"{d}: these models were trained on cohort {trained_on!r}, not {cohort!r}; "
                f"train {cohort!r} first or pass its --model-dir"
            )
    models = load_models(d)
    if not models:
        raise InputError(f"no trained model (<endpoint>.joblib) in {d}; train the cohort first")
    return models


def write_predictions(result: PredictResult, out: Path | str) -> Path:
    """Write the predictions as CSV or Parquet, by the file's extension."""
    p = Path(out)
    name = p.name.lower()
    p.parent.mkdir(parents=True, exist_ok=True)
    if name.endswith((".parquet", ".pq")):
        result.predictions.to_parquet(p, index=False)
    elif name.endswith((".csv", ".csv.gz")):
        result.predictions.to_csv(p, index=False)
    elif name.endswith((".tsv", ".tsv.gz")):
        result.predictions.to_csv(p, index=False, sep="\t")
    else:
        raise InputError(f"--out {p}: write .csv, .tsv or .parquet (the extension decides)")
    return p
