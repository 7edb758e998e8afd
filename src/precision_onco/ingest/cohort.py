"""Ingest a whole cohort, as configured in ``conf/cohort/``, into the canonical tables.

Reads the patients and lines tables, FHIR bundles, VCFs and MAFs of
``cohort.inputs``; links variant samples to patients; replaces every raw
patient and sample identifier by its keyed pseudonym; and accounts for every
record of every file (``read == ingested + rejected``). Before returning, the
outputs are scanned for any raw identifier (a leak is a bug and stops the run).
"""

from __future__ import annotations

import dataclasses
import glob
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from precision_onco.catalog.biomarkers import to_short_hgvsp
from precision_onco.compute import LOCAL, Compute
from precision_onco.config import Config
from precision_onco.ingest.contracts import (
    REJECT_COLUMNS,
    VARIANT_COLUMNS,
    FileReport,
    IngestError,
    ReadResult,
)
from precision_onco.ingest.coverage import attach_coverage
from precision_onco.ingest.genes import GeneIndex
from precision_onco.ingest.germline import merge_germline, read_germline_calls
from precision_onco.ingest.maf import read_maf
from precision_onco.ingest.pseudonymize import pseudonymize, resolve_key
from precision_onco.ingest.vcf import read_vcfs

__all__ = ["CohortTables", "Redactor", "expand_paths", "germline_linker", "ingest_cohort"]

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"[A-Za-z0-9_\-]+")


def expand_paths(patterns: Iterable[str], root: Path) -> list[Path]:
    """Files named by ``patterns`` (globs allowed), relative to ``root``, sorted and
    de-duplicated."""
    out: list[Path] = []
    for pat in patterns:
        full = pat if Path(pat).is_absolute() else str(root / pat)
        hits = sorted(glob.glob(full))
        if not hits and not glob.has_magic(pat):
            raise IngestError(pat, "input file not found")
        if not hits:
            log.warning("no file matches %s", pat)
        out.extend(Path(h) for h in hits)
    return list(dict.fromkeys(out))


class Redactor:
    """Replaces raw identifiers inside free text (file names, excerpts) by their pseudonyms.

    Text is split into identifier-like tokens (letters, digits, ``_`` and ``-``);
    a token equal to a raw identifier, or starting with one followed by ``-``
    or ``_``, has that identifier replaced.

    The tokens found to hold no identifier are remembered (up to :attr:`CLEAN_CAP` of
    them): a cohort's texts repeat the same few words (a summary's keys, reasons, a
    reader's warnings), and a text made of such tokens only is returned as it is without
    calling back into Python for each of its tokens.
    """

    #: The most clean tokens remembered (the memory is emptied when full).
    CLEAN_CAP = 200_000

    def __init__(self, mapping: Mapping[str, str]) -> None:
        self.mapping = {k: v for k, v in mapping.items() if k}
        self._clean: set[str] = set()

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the clean tokens (a worker remembers its own)."""
        return {"mapping": self.mapping}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.mapping = state["mapping"]
        self._clean = set()

    def _token(self, m: re.Match[str]) -> str:
        return self._replace(m.group(0))

    def _replace(self, tok: str) -> str:
        """``tok`` with the raw identifier it is or starts with replaced."""
        hit = self.mapping.get(tok)
        if hit is not None:
            return hit
        for sep in ("-", "_"):
            parts = tok.split(sep)
            for i in range(len(parts) - 1, 0, -1):
                head = sep.join(parts[:i])
                if head in self.mapping:
                    rest = sep.join(parts[i:])
                    return self.mapping[head] + sep + _TOKEN.sub(self._token, rest)
        return tok

    def _all_clean(self, text: str) -> bool:
        """Whether no token of ``text`` holds a raw identifier (each token replaced by
        itself, so that substituting gives ``text`` back); remembers the clean ones."""
        new = set(_TOKEN.findall(text))
        new.difference_update(self._clean)
        if not new:
            return True
        clean = {tok for tok in new if self._replace(tok) == tok}
        if len(self._clean) + len(clean) > self.CLEAN_CAP:
            self._clean.clear()
        if len(clean) <= self.CLEAN_CAP:
            self._clean.update(clean)
        return len(clean) == len(new)

    def __call__(self, text: Any) -> Any:
        if not isinstance(text, str) or not self.mapping:
            return text
        if self._all_clean(text):
            return text
        return _TOKEN.sub(self._token, text)

    def leaks(self, text: str) -> bool:
        """True when ``text`` still contains a raw identifier."""
        return self(text) != text


@dataclass
class CohortTables:
    """The canonical tables of one cohort and the per-file accounting."""

    patients: pd.DataFrame
    lines: pd.DataFrame
    variants: pd.DataFrame
    rejects: pd.DataFrame
    files: list[FileReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: rows of the variant table when ``variants`` does not hold them (written by the
    #: workers, :func:`precision_onco.ingest.streamed.ingest_cohort_partitioned`)
    variant_rows: int | None = None
    #: likewise for the rejects
    reject_rows: int | None = None

    def file_warnings(self) -> list[str]:
        """Every file's warnings, each prefixed with its file."""
        return [f"{f.file}: {w}" for f in self.files for w in f.warnings]

    def totals(self) -> dict[str, Any]:
        """:meth:`summary` without its ``files`` list: the tables' sizes, the counts by
        kind of file and by reason, and the warnings."""
        by_kind: dict[str, dict[str, int]] = {}
        reasons: dict[str, int] = {}
        for f in self.files:
            k = by_kind.setdefault(f.kind, {"files": 0, "read": 0, "ingested": 0, "rejected": 0})
            k["files"] += 1
            k["read"] += f.read
            k["ingested"] += f.ingested
            k["rejected"] += f.rejected
            for r, n in f.rejected_by_reason.items():
                reasons[r] = reasons.get(r, 0) + n
        return {
            "tables": {
                "patients": len(self.patients),
                "lines": len(self.lines),
                "variants": len(self.variants) if self.variant_rows is None else self.variant_rows,
                "rejects": len(self.rejects) if self.reject_rows is None else self.reject_rows,
            },
            "by_kind": by_kind,
            "rejected_by_reason": dict(sorted(reasons.items())),
            "warnings": [*self.warnings, *self.file_warnings()],
        }

    def summary(self) -> dict[str, Any]:
        """The content of ``reports/ingest_summary.json``."""
        return {**self.totals(), "files": [f.as_dict() for f in self.files]}

    def summary_chunks(self) -> Iterator[str]:
        """``json.dumps(self.summary(), indent=2, default=str)`` in pieces, one per file
        record after the totals: the same text, without holding every file's record (and
        the whole text) at once, which a cohort of a VCF per patient would."""
        head = json.dumps(self.totals(), indent=2, default=str)
        if not self.files:
            yield head[: -len("\n}")] + ',\n  "files": []\n}'
            return
        yield head[: -len("\n}")] + ',\n  "files": ['
        sep = "\n"
        for f in self.files:
            text = json.dumps(f.as_dict(), indent=2, default=str)
            yield sep + "    " + text.replace("\n", "\n    ")
            sep = ",\n"
        yield "\n  ]\n}"


def _sample_map(cfg: Config, patients: pd.DataFrame, root: Path) -> dict[str, str]:
    sm = cfg.cohort.inputs.samples
    out: dict[str, str] = {}
    if sm.file:
        p = root / sm.file
        try:
            t = pd.read_csv(p, sep=None, engine="python", dtype=str)
        except (OSError, ValueError) as exc:
            raise IngestError(p, f"cannot read the sample map ({exc})") from None
        if not {"sample_id", "patient_id"} <= set(t.columns):
            raise IngestError(p, "the sample map needs columns 'sample_id' and 'patient_id'")
        out.update(zip(t["sample_id"].str.strip(), t["patient_id"].str.strip(), strict=True))
    if sm.column and sm.column not in patients.columns:
        if cfg.cohort.inputs.patients.path:
            raise IngestError(
                cfg.cohort.inputs.patients.path,
                f"cohort.inputs.samples.column {sm.column!r} is not a column of the patients table",
            )
        log.warning(
            "cohort.inputs.samples.column %r: no patients table has that column; "
            "samples are linked by the sample map file or regex only",
            sm.column,
        )
    elif sm.column:
        pairs = patients[[sm.column, "patient_id"]].dropna()
        for s, pid in zip(
            pairs[sm.column].astype(str), pairs["patient_id"].astype(str), strict=True
        ):
            out.setdefault(s, pid)
    return out


def _link(samples: pd.Series, mapping: Mapping[str, str], regex: str | None) -> pd.Series:
    """Patient id of each sample: the map, else the regex's first group, else the sample id."""
    rx = re.compile(regex) if regex else None

    def one(s: str) -> str:
        if s in mapping:
            return mapping[s]
        if rx is not None:
            m = rx.search(s)
            if m:
                return m.group(1) if m.groups() else m.group(0)
        return s

    uniq = {s: one(s) for s in samples.dropna().unique()}
    return samples.map(uniq)


def _read_tables(cfg: Config, root: Path) -> tuple[list[ReadResult], list[ReadResult]]:
    from precision_onco.ingest import tables

    inputs = cfg.cohort.inputs
    codes = (
        tables.load_oncotree_codes(root / cfg.cohort.oncotree_codes)
        if cfg.cohort.oncotree_codes
        else None
    )
    cutoff = date.fromisoformat(cfg.cohort.data_cutoff) if cfg.cohort.data_cutoff else None
    pats, lines = [], []
    if inputs.patients.path:
        pats.append(
            tables.read_patients(root / inputs.patients.path, inputs.patients, oncotree_codes=codes)
        )
    tox = list(cfg.catalog.toxicity_categories)
    if inputs.lines.path:
        lines.append(
            tables.read_lines(
                root / inputs.lines.path, inputs.lines, tox_categories=tox, data_cutoff=cutoff
            )
        )
    if inputs.test_lines.path:
        held = tables.read_lines(
            root / inputs.test_lines.path,
            inputs.test_lines,
            tox_categories=tox,
            data_cutoff=cutoff,
            label="test_lines",
        )
        held.frame["held_out"] = 1
        for r in lines:
            r.frame["held_out"] = 0
        lines.append(held)
        test_pats = _test_patients(inputs)
        if test_pats is not None:
            cfg_p, label = test_pats
            held_pats = tables.read_patients(
                root / cfg_p.path, cfg_p, oncotree_codes=codes, label=label
            )
            pats.append(held_pats)
    return pats, lines


def read_fhir_inputs(
    cfg: Config, root: Path
) -> tuple[list[ReadResult], list[ReadResult], list[ReadResult]]:
    """The patients, lines and variants of each FHIR bundle of ``cohort.inputs.fhir``, in file
    order (a bundle's rejects are counted once, with its patients)."""
    inputs = cfg.cohort.inputs
    pats: list[ReadResult] = []
    lines: list[ReadResult] = []
    variants: list[ReadResult] = []
    fhir_files = expand_paths(inputs.fhir, root)
    if fhir_files:
        from precision_onco.ingest.fhir import read_fhir_bundle

        for f in fhir_files:
            fr = read_fhir_bundle(f, catalog=cfg.catalog, uracil_codes=inputs.fhir_uracil_codes)
            pats.append(ReadResult(fr.patients, fr.rejects, fr.report))
            lines.append(ReadResult(fr.lines, fr.rejects.iloc[0:0], _shadow(fr.report)))
            variants.append(ReadResult(fr.variants, fr.rejects.iloc[0:0], _shadow(fr.report)))
    return pats, lines, variants


def gene_index(cfg: Config, root: Path) -> GeneIndex | None:
    """The gene intervals of ``cohort.inputs.vcf.genes_bed`` (None when not configured)."""
    bed = cfg.cohort.inputs.vcf.genes_bed
    return GeneIndex.from_file(root / bed) if bed else None


def identifier_maps(
    raw_patients: set[str],
    raw_samples: set[str],
    tables: Sequence[pd.DataFrame],
    identifier_columns: Sequence[str],
    key: bytes,
) -> tuple[dict[str, str], dict[str, str], Redactor]:
    """Pseudonyms of every raw patient id and of every raw sample id (those of ``raw_samples``
    and the values of ``identifier_columns`` in ``tables``), and the redactor of both."""
    samples = set(raw_samples)
    for c in identifier_columns:
        for t in tables:
            if c in t.columns:
                samples |= set(t[c].dropna().astype(str))
    patients = sorted(raw_patients)
    pmap = dict(zip(patients, pseudonymize(patients, key), strict=True))
    ordered = sorted(samples)
    smap = dict(zip(ordered, pseudonymize(ordered, key, namespace="sample"), strict=True))
    return pmap, smap, Redactor({**smap, **pmap})


def _test_patients(inputs: Any) -> tuple[Any, str] | None:
    """The patients table of the validation file: ``test_patients`` when set; for a one-table
    cohort (patients and lines from one file), the ``test_lines`` file read with the
    patients mapping."""
    if inputs.test_patients.path:
        return inputs.test_patients, "test_patients"
    if inputs.patients.path and inputs.patients.path == inputs.lines.path:
        return dataclasses.replace(inputs.patients, path=inputs.test_lines.path), "test_lines"
    return None


def _split_warning(cfg: Config) -> str | None:
    """A validation file whose rows the configured split would not hold out."""
    sp = cfg.split
    if sp.method == "column" and sp.column == "held_out" and "1" in map(str, sp.test_values):
        return None
    return (
        "cohort.inputs.test_lines is set but the split does not hold its rows out "
        f"(split.method={sp.method}); to validate on that file, set split.method=column, "
        'split.column=held_out, split.test_values=["1"]'
    )


def _vcf_results(
    cfg: Config, vcf_files: list[Path], *, genes: GeneIndex | None, compute: Compute | None
) -> list[ReadResult]:
    """The VCFs read in one batch: every row under the first file's report, none under the
    others' (no per-file table building)."""
    if not vcf_files:
        return []
    frame, rej, reports = read_vcfs(vcf_files, cfg.cohort.inputs.vcf, genes=genes, compute=compute)
    first = ReadResult(frame, rej, reports[0])
    no_rows, no_rejects = frame.iloc[0:0], rej.iloc[0:0]  # sliced once, not per file
    return [first, *(ReadResult(no_rows, no_rejects, r) for r in reports[1:])]


def _read_inputs(
    cfg: Config, root: Path, compute: Compute | None
) -> tuple[list[ReadResult], list[ReadResult], list[ReadResult], GeneIndex | None]:
    """The patients, lines and variants read from every configured file, and the gene index."""
    inputs = cfg.cohort.inputs
    pat_results, line_results = _read_tables(cfg, root)
    fhir_pat, fhir_lines, var_results = read_fhir_inputs(cfg, root)
    pat_results += fhir_pat
    line_results += fhir_lines
    genes = gene_index(cfg, root)
    vcf_files = expand_paths(inputs.vcf.paths, root)
    var_results += _vcf_results(cfg, vcf_files, genes=genes, compute=compute)
    var_results.extend(
        (compute or LOCAL).map(read_maf, expand_paths(inputs.maf.paths, root), inputs.maf)
    )
    if not (pat_results or line_results or var_results):
        raise IngestError(
            f"cohort {cfg.cohort.name}", "no input files configured under cohort.inputs"
        )
    return pat_results, line_results, var_results, genes


def _with_germline(
    cfg: Config, patients: pd.DataFrame, root: Path, compute: Compute | None
) -> tuple[pd.DataFrame, list[ReadResult], list[str]]:
    """``patients`` with the germline calls merged, the germline read (if any) and its
    warnings."""
    if cfg.cohort.inputs.germline.source == "none":  # pharmacogenomics (issue 17)
        return patients, [], []
    germ = _read_germline(cfg, patients, root, compute)
    if isinstance(germ, str):  # nothing to read: said in the log, not a data problem
        log.info("%s", germ)
        return patients, [], []
    merged, warnings = merge_germline(patients, germ.frame)
    return merged, [germ], warnings


def _checked_reports(results: Sequence[ReadResult]) -> list[FileReport]:
    """The file reports (shadow reports left out), each checked."""
    files = [r.report for r in results if not r.report.extra.get("_shadow")]
    for rep in files:
        rep.check()
    return files


def _link_variants(
    cfg: Config, patients: pd.DataFrame, variants: pd.DataFrame, root: Path
) -> list[str]:
    """Link the variant samples to raw patient ids and add ``hgvsp_short``, in place; the
    warning for rows of no patient."""
    warnings: list[str] = []
    smap = _sample_map(cfg, patients, root)
    unset = variants["patient_id"].isna()
    variants.loc[unset, "patient_id"] = _link(
        variants.loc[unset, "sample_id"].astype(str), smap, cfg.cohort.inputs.samples.regex
    ).to_numpy()
    if len(patients):
        orphans = ~variants["patient_id"].isin(set(patients["patient_id"].astype(str)))
        if orphans.any():
            warnings.append(
                f"{int(orphans.sum())} variant rows from "
                f"{variants.loc[orphans, 'sample_id'].nunique()} samples belong to no "
                "patient of the patients table (check cohort.inputs.samples)"
            )
    variants["hgvsp_short"] = variants["hgvsp"].map(to_short_hgvsp).astype("string")
    return warnings


def _pseudonymized(
    cfg: Config, patients: pd.DataFrame, lines: pd.DataFrame, variants: pd.DataFrame, key: bytes
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, Redactor]:
    """The tables with patient ids, sample ids and identifier columns keyed, and the
    redactor of free text."""
    raw_patients = set(patients.get("patient_id", pd.Series(dtype=str)).dropna().astype(str))
    raw_patients |= set(lines.get("patient_id", pd.Series(dtype=str)).dropna().astype(str))
    raw_patients |= set(variants["patient_id"].dropna().astype(str)) if len(variants) else set()
    raw_samples = set(variants["sample_id"].dropna().astype(str)) if len(variants) else set()
    pmap, smap_k, redact = identifier_maps(
        raw_patients, raw_samples, (patients, lines), cfg.cohort.identifier_columns, key
    )
    patients, lines, variants = (
        _keyed(t, pmap, smap_k, cfg.cohort.identifier_columns) for t in (patients, lines, variants)
    )
    if len(variants):
        variants["sample_id"] = variants["sample_id"].astype("string").map(smap_k).astype("string")
    return patients, lines, variants, redact


def _redact_text(
    variants: pd.DataFrame,
    rejects: pd.DataFrame,
    files: list[FileReport],
    *,
    redact: Redactor,
    root: Path,
) -> None:
    """Raw identifiers replaced in file names, reject excerpts and reasons, and reports, in
    place."""
    names: dict[str, str] = {}  # file name -> redacted relative name, shared by the tables
    dirs: dict[str, Path] = {}  # their directories, resolved
    if len(variants):
        variants["source_file"] = _redact_col(variants["source_file"], redact, root, names, dirs)
    if len(rejects):
        rejects["source_file"] = _redact_col(rejects["source_file"], redact, root, names, dirs)
        rejects["raw"] = _map_unique(rejects["raw"], redact)
        rejects["reason"] = _map_unique(rejects["reason"], redact)
    for rep in files:
        rep.file = _redacted_name(rep.file, redact, root, names, dirs)
        rep.warnings = [redact(w) for w in rep.warnings]
        rep.extra = {k: redact(v) for k, v in rep.extra.items()}


def ingest_cohort(
    cfg: Config, *, root: Path | None = None, compute: Compute | None = None
) -> CohortTables:
    """Read every input of ``cfg.cohort`` into pseudonymized canonical tables.

    With a distributed ``compute``, the VCFs are read by its workers in batches and the MAF
    files one per task; the tables are the same as read here."""
    root = (root or Path.cwd()).resolve()
    inputs = cfg.cohort.inputs
    key = resolve_key(
        cfg.cohort.pseudonymization, synthetic=cfg.cohort.synthetic, project_root=root
    )
    pat_results, line_results, var_results, genes = _read_inputs(cfg, root, compute)
    patients = _concat([r.frame for r in pat_results])
    if len(patients) and patients["patient_id"].duplicated().any():
        patients = patients.drop_duplicates("patient_id", keep="first")
    lines = _concat([r.frame for r in line_results])
    variants = _concat([r.frame for r in var_results], columns=VARIANT_COLUMNS)
    patients, germ_results, germ_warnings = _with_germline(cfg, patients, root, compute)
    warnings: list[str] = [*germ_warnings]
    results = (*pat_results, *line_results, *var_results, *germ_results)
    rejects = _concat([r.rejects for r in results], columns=REJECT_COLUMNS)
    files = _checked_reports(results)
    if inputs.test_lines.path and (why := _split_warning(cfg)):
        warnings.append(why)
    if len(variants):  # link samples to patients (raw ids; pseudonymized below)
        warnings += _link_variants(cfg, patients, variants, root)
    # what each patient's assay covered: an absent call is wild type only for covered genes
    patients, cov_warnings = attach_coverage(
        patients, variants, inputs.coverage, root=root, genes=genes
    )
    warnings += cov_warnings
    patients, lines, variants, redact = _pseudonymized(cfg, patients, lines, variants, key)
    _redact_text(variants, rejects, files, redact=redact, root=root)
    warnings = [redact(w) for w in warnings]
    out = CohortTables(patients, lines, variants, rejects, files, warnings)
    _assert_no_leak(out, redact)
    return out


def _read_germline(
    cfg: Config,
    patients: pd.DataFrame,
    root: Path,
    compute: Compute | None = None,
    *,
    vcf_files: list[Path] | None = None,
) -> ReadResult | str:
    """The germline calls of ``cohort.inputs.germline``, linked to raw patient ids; or why
    none were read (the cohort has no VCF or no patients table). ``vcf_files``: the files
    of ``cohort.inputs.vcf.paths`` when the caller has listed them already (the normal
    column of the tumour VCFs is then read without listing them again)."""
    inputs = cfg.cohort.inputs
    germ = inputs.germline
    patterns = list(germ.paths) or (
        list(inputs.vcf.paths) if germ.source == "normal_column" else []
    )
    if not patterns:
        return (
            "cohort.inputs.germline: source 'normal_column' but the cohort has no VCF "
            "(cohort.inputs.vcf.paths or cohort.inputs.germline.paths): no germline "
            "genotype read, DPYD and UGT1A1 are not tested"
        )
    if not len(patients):
        return (
            "cohort.inputs.germline: no patients table to link the germline samples to: "
            "no germline genotype read, DPYD and UGT1A1 are not tested"
        )
    # the normal column of the tumour VCFs: the files the caller listed, if it did
    files = vcf_files if vcf_files is not None and not germ.paths else None
    return read_germline_calls(
        expand_paths(patterns, root) if files is None else files,
        germ,
        germline_linker(cfg, patients, root),
        label=", ".join(patterns),
        compute=compute,
    )


def germline_linker(cfg: Config, patients: pd.DataFrame, root: Path) -> Callable[[str], str | None]:
    """Germline sample name -> raw patient id of ``patients`` (``None``: no patient): the
    patients-table ``cohort.inputs.germline.sample_column``, else the cohort's sample map."""
    inputs = cfg.cohort.inputs
    known = set(patients["patient_id"].dropna().astype(str)) if len(patients) else set()
    col = inputs.germline.sample_column
    if col:
        if col not in patients.columns:
            raise IngestError(
                inputs.patients.path or "cohort.inputs.patients",
                f"cohort.inputs.germline.sample_column {col!r} is not a column of "
                "the patients table",
            )
        pairs = patients[[col, "patient_id"]].dropna()
        mapping = dict(zip(pairs[col].astype(str), pairs["patient_id"].astype(str), strict=True))
    else:
        mapping = _sample_map(cfg, patients, root)

    def link(sample: str) -> str | None:
        pid = mapping.get(sample)
        if pid is None and not col:
            pid = _link(pd.Series([sample]), mapping, inputs.samples.regex).iat[0]
        return pid if pid in known else None

    return link


def _keyed(
    t: pd.DataFrame,
    pmap: Mapping[str, str],
    smap: Mapping[str, str],
    identifier_columns: Iterable[str],
) -> pd.DataFrame:
    """``t`` with ``patient_id`` replaced by ``patient_key`` and identifier columns
    pseudonymized."""
    if "patient_id" in t.columns:
        key = t["patient_id"].astype("string").map(pmap).astype("string")
        t = t.drop(columns="patient_id")
        t.insert(0, "patient_key", key)
    for c in identifier_columns:
        if c in t.columns:
            t[c] = t[c].astype("string").map(smap).astype("string")
    return t


def _shadow(report: FileReport) -> FileReport:
    """A report that does not count twice (FHIR files give three tables from one file)."""
    return FileReport(file=report.file, kind=report.kind, extra={"_shadow": True})


def _resolved(path: str, dirs: dict[str, Path] | None) -> Path:
    """``Path(path).resolve()``; with ``dirs`` (directory -> resolved, filled here), each
    directory of a cohort's files is resolved once and a file's own name followed only when
    it is a link: one system call per file instead of one per component."""
    if dirs is None or not os.path.isabs(path):
        return Path(path).resolve()
    head, name = os.path.split(path)
    if name in ("", ".", ".."):
        return Path(path).resolve()
    base = dirs.get(head)
    if base is None:
        base = dirs[head] = Path(head).resolve()
    out = base / name
    return Path(path).resolve() if out.is_symlink() else out


def _relative(path: str, root: Path, dirs: dict[str, Path] | None = None) -> str:
    p = _resolved(path, dirs)
    for base, prefix in ((root, ""), (root.parent, "../")):
        try:
            return prefix + str(p.relative_to(base))
        except ValueError:
            continue
    return path


def _redacted_name(
    v: str,
    redact: Redactor,
    root: Path,
    names: dict[str, str],
    dirs: dict[str, Path] | None = None,
) -> str:
    """``v``'s redacted name relative to ``root`` (memoized in ``names``; ``dirs``: see
    :func:`_resolved`)."""
    hit = names.get(v)
    if hit is None:
        hit = names[v] = _relative(redact(v), root, dirs)
    return hit


def _redact_col(
    col: pd.Series,
    redact: Redactor,
    root: Path,
    names: dict[str, str] | None = None,
    dirs: dict[str, Path] | None = None,
) -> pd.Series:
    names = {} if names is None else names
    dirs = {} if dirs is None else dirs
    uniq = {v: _redacted_name(v, redact, root, names, dirs) for v in col.dropna().unique()}
    return col.map(uniq).astype("string")


def _map_unique(col: pd.Series, fn: Callable[[Any], Any]) -> pd.Series:
    """``col.map(fn)``, ``fn`` called once per distinct value (missing values kept)."""
    uniq = {v: fn(v) for v in col.dropna().unique()}
    return col.map(uniq).astype("string")


def _concat(frames: list[pd.DataFrame], columns: Mapping[str, str] | None = None) -> pd.DataFrame:
    frames = [f for f in frames if len(f.columns)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in (columns or {}).items()})
    non_empty = [f for f in frames if len(f)] or frames[:1]
    out = pd.concat(non_empty, ignore_index=True)
    if columns:
        out = out.astype({c: t for c, t in columns.items() if c in out.columns})
    return out


def _assert_no_leak(out: CohortTables, redact: Redactor) -> None:
    """Stop if any raw identifier survived into an output table or the summary."""
    for name in ("patients", "lines", "variants", "rejects"):
        t: pd.DataFrame = getattr(out, name)
        for c in t.columns:
            if t[c].dtype.kind in "OSU" or str(t[c].dtype) in ("string", "str"):
                for v in t[c].dropna().unique():
                    if redact.leaks(str(v)):
                        raise AssertionError(
                            f"raw identifier left in {name}.{c}; refusing to write"
                        )
    # piece by piece: JSON's quotes and brackets end tokens, so no identifier spans two
    # pieces, and the summary's text is never held whole
    if any(redact.leaks(chunk) for chunk in out.summary_chunks()):
        raise AssertionError("raw identifier left in the ingest summary; refusing to write")
