"""Orchestrates the synthetic cohort: calibrate, simulate chunk by chunk, stream the raw files."""

from __future__ import annotations

import gzip
import json
import logging
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from precision_onco.catalog import Catalog, biomarker_status
from precision_onco.compute import LOCAL, Compute
from precision_onco.config.endpoints import endpoint_roles
from precision_onco.config.schema import Config, SynthConfig
from precision_onco.errors import ConfigError
from precision_onco.ingest.pseudonymize import pseudonymize, resolve_key
from precision_onco.synth.baseline import simulate_baseline
from precision_onco.synth.calls import simulate_calls
from precision_onco.synth.genome import Panel, load_panel
from precision_onco.synth.history import History, guideline_truth_endpoints, simulate_history
from precision_onco.synth.model import Intercepts, RegimenArrays, solve_intercepts
from precision_onco.synth.pgx import Germline, draw_germline, germline_records
from precision_onco.synth.writers import MafWriter, vcf_texts, write_vcf

__all__ = ["RAW_FILES", "SynthesisSummary", "calibrate", "skip_synthesis", "synthesize"]

log = logging.getLogger(__name__)

#: File names the ``synthesize`` stage writes under ``paths.raw_dir``.
RAW_FILES = {
    "vcf_dir": "vcf",
    "maf": "cohort.maf.gz",
    "patients": "patients.csv",
    "lines": "therapy_lines.csv",
    "ground_truth": "ground_truth.parquet",
    "manifest": "synth_manifest.json",
    # the simulated assay's gene list (cohort.inputs.coverage.file of the synthetic cohort)
    "panel_genes": "panel_genes.txt",
}
_CALIBRATION_STREAM = 1_000_003


@dataclass
class SynthesisSummary:
    """Counts and calibration of a synthesized cohort (also written as the manifest)."""

    n_patients: int = 0
    n_lines: int = 0
    n_variant_records: int = 0
    n_maf_rows: int = 0
    n_truth_rows: int = 0
    intercepts: dict[str, dict[str, float]] = field(default_factory=dict)
    reference_check: list[dict[str, object]] = field(default_factory=list)


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _exclude_from_passengers(catalog: Catalog) -> frozenset[str]:
    return frozenset(g for b in catalog.biomarkers.values() for g in b.genes)


@dataclass(frozen=True)
class _Chunk:
    patients: pd.DataFrame
    calls: pd.DataFrame
    status: pd.DataFrame
    tmb: np.ndarray
    germline: Germline | None = None


def _simulate_chunk(
    seed_key: tuple[int, ...],
    n: int,
    first_id: int,
    cfg: SynthConfig,
    catalog: Catalog,
    panel: Panel,
) -> _Chunk:
    rng = _rng(cfg.seed, *seed_key, 0)
    base = simulate_baseline(
        rng,
        n,
        cancer_mix=dict(cfg.cancer_mix),
        first_id=first_id,
        id_prefix=cfg.patient_id_prefix,
        diagnosis=(cfg.diagnosis_start, cfg.diagnosis_end),
        panel=panel,
    )
    calls, tmb = simulate_calls(
        rng,
        base,
        panel=panel,
        panel_size_mb=cfg.panel_size_mb,
        exclude_from_passengers=_exclude_from_passengers(catalog),
    )
    passed = calls[calls["filter"] == "PASS"]
    status = biomarker_status(
        catalog.biomarkers, markers=base.patients, variants=passed, key="pidx"
    )
    germ = draw_germline(_rng(cfg.seed, *seed_key, 2), n, cfg.pgx) if cfg.pgx.enabled else None
    return _Chunk(patients=base.patients, calls=calls, status=status, tmb=tmb, germline=germ)


def _history(
    seed_key: tuple[int, ...],
    chunk: _Chunk,
    cfg: SynthConfig,
    catalog: Catalog,
    intercepts: Intercepts,
    guideline_endpoints: Sequence[str],
) -> History:
    return simulate_history(
        _rng(cfg.seed, *seed_key, 1),
        chunk.patients,
        chunk.status,
        chunk.tmb,
        catalog=catalog,
        cfg=cfg,
        intercepts=intercepts,
        germline=chunk.germline,
        pgx_rng=_rng(cfg.seed, *seed_key, 3),
        guideline_endpoints=guideline_endpoints,
    )


def calibrate(cfg: SynthConfig, catalog: Catalog, panel: Panel | None = None) -> Intercepts:
    """Calibrate the intercepts on an independent cohort of ``cfg.calibration_patients``.

    Fixed-point iterations: simulate the treatment course with the current
    intercepts (common random numbers), then solve each regimen's intercepts
    so that its reference rows reproduce the published rates.
    """
    panel = panel or load_panel()
    arrays = RegimenArrays.from_catalog(catalog)
    chunk = _simulate_chunk(
        (_CALIBRATION_STREAM,), cfg.calibration_patients, 0, cfg, catalog, panel
    )
    intercepts = Intercepts.initial(arrays)
    for it in range(cfg.calibration_iterations):
        hist = _history((_CALIBRATION_STREAM,), chunk, cfg, catalog, intercepts, ())
        intercepts = solve_intercepts(
            hist.ref_regimen,
            hist.ref_resp_off,
            hist.ref_tox_off,
            arrays,
            intercepts,
            ref_tox_rr=hist.ref_tox_rr,
        )
        log.info("calibration iteration %d/%d done", it + 1, cfg.calibration_iterations)
    return intercepts


def _format_lines(lines: pd.DataFrame, ids: np.ndarray, categories: list[str]) -> pd.DataFrame:
    out = pd.DataFrame({"patient_id": ids[lines["pidx"].to_numpy()]})
    out["line_number"] = lines["line_number"].to_numpy()
    out["regimen_id"] = lines["regimen_id"].to_numpy()
    out["start_date"] = pd.to_datetime(lines["start_date"]).dt.strftime("%Y-%m-%d").to_numpy()
    out["end_date"] = pd.to_datetime(lines["end_date"]).dt.strftime("%Y-%m-%d").to_numpy()
    out["age_at_line"] = lines["age_at_line"].round(1).to_numpy()
    out["ecog"] = lines["ecog"].to_numpy()
    for col, nd in (
        ("albumin", 1),
        ("nlr", 2),
        ("hemoglobin", 1),
        ("platelets", 0),
        ("creatinine_clearance", 0),
        ("alt", 0),
        ("bilirubin", 2),
        ("ldh", 0),
    ):
        v = lines[col].round(nd)
        out[col] = (v.astype(int) if nd == 0 else v).to_numpy()
    if "uracil_ng_ml" in lines.columns:  # pharmacogenomics (issue 17)
        out["uracil_ng_ml"] = lines["uracil_ng_ml"].to_numpy()
        out["relative_dose"] = lines["relative_dose"].round(2).to_numpy()
    out["pdl1_tps"] = lines["pdl1_tps"].to_numpy()
    out["msi_status"] = lines["msi_status"].to_numpy()
    out["best_response"] = lines["best_response"].to_numpy()
    for c in categories:
        out[f"ae_{c}_max_grade"] = lines[f"ae_{c}_max_grade"].to_numpy()
    out["ae_any_max_grade"] = lines["ae_any_max_grade"].to_numpy()
    out["discontinued_for_toxicity"] = lines["discontinued_for_toxicity"].to_numpy()
    return out


_PATIENT_COLUMNS = [
    "patient_id",
    "tumor_sample_id",
    "normal_sample_id",
    "sex",
    "birth_year",
    "age_at_diagnosis",
    "diagnosis_date",
    "cancer_type",
    "oncotree_code",
    "stage",
    "smoking_status",
    "ecog",
    "hr_status",
    "her2_status",
    "germline_brca",
    "alk_status",
    "autoimmune_disease",
    "diabetes",
    "ild_history",
]


def _truth_schema(
    categories: list[str], pgx: bool = False, guideline_endpoints: Sequence[str] = ()
) -> pa.Schema:
    """The ground truth's columns; with ``pgx``, the dose columns and the truth at the
    guideline dose of each of ``guideline_endpoints`` the simulator models."""

    fields = [
        pa.field("patient_key", pa.string()),
        pa.field("line_number", pa.int16()),
        pa.field("regimen_id", pa.string()),
        pa.field("observed", pa.bool_()),
        pa.field("p_choice", pa.float64()),
        pa.field("p_response", pa.float64()),
        pa.field("p_ae_grade3", pa.float64()),
        *(pa.field(f"p_ae_{c}_grade3", pa.float64()) for c in categories),
    ]
    if pgx:  # the practice dose of each regimen, the guideline dose and the truth at it
        fields += [
            pa.field("relative_dose", pa.float64()),
            pa.field("guideline_dose", pa.float64()),
            *(
                pa.field(f"p_{ep}_at_guideline_dose", pa.float64())
                for ep in guideline_endpoints
                # the simulator's outcomes: response, any grade >= 3 AE, one per category
                if ep in ("response", "ae_grade3") or ep[3:-7] in categories
            ),
        ]
    return pa.schema(fields)


def _reference_check(
    truth: pd.DataFrame, lines: pd.DataFrame, catalog: Catalog
) -> list[dict[str, object]]:
    """Mean true ORR and grade >= 3 rate of each regimen on its trial-like reference rows."""
    ecog = lines[["patient_key", "line_number", "ecog"]]
    t = truth.merge(ecog, on=["patient_key", "line_number"], how="left")
    out = []
    for reg in catalog.regimens:
        ref = t[
            (t["regimen_id"] == reg.id) & (t["line_number"] == reg.lines.min) & (t["ecog"] <= 1)
        ]
        out.append(
            {
                "regimen_id": reg.id,
                "n_reference_rows": len(ref),
                "published_orr": reg.evidence.orr,
                "simulated_orr": round(float(ref["p_response"].mean()), 4) if len(ref) else None,
                "published_grade3": reg.evidence.grade3_rate,
                "simulated_grade3": round(float(ref["p_ae_grade3"].mean()), 4)
                if len(ref)
                else None,
            }
        )
    return out


@dataclass(frozen=True)
class _ChunkContext:
    """What every chunk of the cohort needs (sent to the workers once)."""

    cfg: SynthConfig
    catalog: Catalog
    panel: Panel
    intercepts: Intercepts
    key: bytes
    vcf_dir: Path
    guideline_endpoints: tuple[str, ...]


@dataclass(frozen=True)
class _ChunkOut:
    """One chunk's rows for the cohort files (its VCFs are already written)."""

    n: int
    patients: pd.DataFrame
    lines: pd.DataFrame
    passed: pd.DataFrame
    samples: pd.DataFrame
    truth: pd.DataFrame
    ref_lines: pd.DataFrame
    n_variant_records: int


def _chunk_files(k: int, ctx: _ChunkContext) -> _ChunkOut:
    """Simulate chunk ``k`` from its own seed, write its VCFs, return its table rows."""
    scfg, cats = ctx.cfg, ctx.catalog.toxicity_categories
    first = k * scfg.chunk_patients
    n = min(scfg.chunk_patients, scfg.n_patients - first)
    chunk = _simulate_chunk((k,), n, first + 1, scfg, ctx.catalog, ctx.panel)
    hist = _history((k,), chunk, scfg, ctx.catalog, ctx.intercepts, ctx.guideline_endpoints)
    p = chunk.patients
    ids = p["patient_id"].to_numpy()
    keys = np.asarray(pseudonymize(ids, ctx.key), dtype=object)
    # raw tables (raw identifiers, as a hospital export would have them)
    pt = p.assign(diagnosis_date=p["diagnosis_date"].dt.strftime("%Y-%m-%d"))[_PATIENT_COLUMNS]
    lines = _format_lines(hist.lines, ids, cats)
    # VCFs, one per tumour sample (the cohort MAF is written by the caller)
    samples = p[["pidx", "tumor_sample_id", "normal_sample_id"]]
    sample_date = (p["diagnosis_date"] + pd.Timedelta(days=14)).dt.strftime("%Y%m%d")
    vcf_samples = pd.DataFrame(
        {
            "tumor_sample_id": p["tumor_sample_id"].to_numpy(),
            "normal_sample_id": p["normal_sample_id"].to_numpy(),
            "file_date": sample_date.to_numpy(),
        },
        index=p["pidx"].to_numpy(),
    )
    calls = chunk.calls
    if chunk.germline is not None:  # genotypes in the normal column (issue 17)
        calls = pd.concat([calls, germline_records(chunk.germline)], ignore_index=True)
    for pidx, text in vcf_texts(calls, vcf_samples):
        write_vcf(ctx.vcf_dir / f"{vcf_samples.at[pidx, 'tumor_sample_id']}.vcf.gz", text)
    # ground truth keyed by the pseudonymized patient key
    truth = hist.truth.assign(patient_key=keys[hist.truth["pidx"].to_numpy()]).drop(columns="pidx")
    kl = hist.lines[["line_number", "ecog"]].assign(patient_key=keys[hist.lines["pidx"].to_numpy()])
    return _ChunkOut(
        n=n,
        patients=pt,
        lines=lines,
        passed=chunk.calls[chunk.calls["filter"] == "PASS"],
        samples=samples,
        truth=truth,
        ref_lines=kl[kl["line_number"] <= 2],
        n_variant_records=int(chunk.calls.groupby(["pidx", "chrom", "pos"]).ngroups),
    )


def _emptied(directory: Path) -> Path:
    """``directory`` created anew, empty (whatever it held is removed)."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir()
    return directory


def _chunk_outs(
    ctx: _ChunkContext, n_chunks: int, *, progress: bool, compute: Compute | None
) -> Iterable[_ChunkOut]:
    """The chunks' rows in chunk order, simulated (and their VCFs written) by the workers of
    ``compute``, each from its own seed; with ``progress``, behind a progress bar."""
    chunks: Iterable[_ChunkOut] = (compute or LOCAL).imap(_chunk_files, range(n_chunks), ctx)
    if progress:
        from tqdm import tqdm

        chunks = tqdm(chunks, desc="synthesize", unit="chunk", total=n_chunks)
    return chunks


def _write_csv(
    frame: pd.DataFrame, path: Path, *, first: bool, float_format: str | None = None
) -> None:
    """``frame`` as CSV rows of ``path``: a new file with its header for the first chunk,
    appended rows for the next ones."""
    frame.to_csv(
        path,
        mode="w" if first else "a",
        header=first,
        index=False,
        lineterminator="\n",
        float_format=float_format,
    )


def _count_chunk(summary: SynthesisSummary, out: _ChunkOut) -> None:
    """Add the patients, lines, variant records and truth rows of ``out`` to ``summary``."""
    summary.n_patients += out.n
    summary.n_lines += len(out.lines)
    summary.n_variant_records += out.n_variant_records
    summary.n_truth_rows += len(out.truth)


def _write_chunks(
    ctx: _ChunkContext,
    out_dir: Path,
    *,
    summary: SynthesisSummary,
    progress: bool,
    compute: Compute | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Append every chunk, in order, to the patients, lines, MAF and ground truth files of
    ``out_dir`` and count it into ``summary``; return the truth and the lines (patient key,
    line number, ECOG) of lines 1 and 2, for the reference check."""
    scfg = ctx.cfg
    maf = MafWriter(out_dir / RAW_FILES["maf"])
    cats = ctx.catalog.toxicity_categories
    schema = _truth_schema(cats, pgx=scfg.pgx.enabled, guideline_endpoints=ctx.guideline_endpoints)
    truth_writer = pq.ParquetWriter(out_dir / RAW_FILES["ground_truth"], schema)
    ref_truth, ref_lines = [], []
    n_chunks = -(-scfg.n_patients // scfg.chunk_patients)
    try:
        for k, out in enumerate(_chunk_outs(ctx, n_chunks, progress=progress, compute=compute)):
            _write_csv(out.patients, out_dir / RAW_FILES["patients"], first=k == 0)
            _write_csv(out.lines, out_dir / RAW_FILES["lines"], first=k == 0, float_format="%.10g")
            maf.write(out.passed, out.samples)
            truth_writer.write_table(
                pa.Table.from_pandas(out.truth, schema=schema, preserve_index=False)
            )
            ref_truth.append(out.truth[out.truth["line_number"] <= 2])
            ref_lines.append(out.ref_lines)
            _count_chunk(summary, out)
            log.info("chunk %d/%d: %d patients, %d lines", k + 1, n_chunks, out.n, len(out.lines))
    finally:
        truth_writer.close()
        maf.close()
    summary.n_maf_rows = maf.rows
    return pd.concat(ref_truth, ignore_index=True), pd.concat(ref_lines, ignore_index=True)


def _manifest(summary: SynthesisSummary, *, seed: int) -> dict[str, object]:
    """The synthesis manifest: seed, counts, file names, calibration and reference check."""
    return {
        "seed": seed,
        "n_patients": summary.n_patients,
        "n_lines": summary.n_lines,
        "n_variant_records": summary.n_variant_records,
        "n_maf_rows": summary.n_maf_rows,
        "n_ground_truth_rows": summary.n_truth_rows,
        "files": RAW_FILES,
        "intercepts": summary.intercepts,
        "reference_check": summary.reference_check,
    }


def _panel_genes_text(panel: Panel) -> str:
    """The simulated assay's gene list: a comment line, then one sorted HGNC symbol a line."""
    genes = sorted(set(panel.genes["symbol"].astype(str)))
    header = "# genes the simulated sequencing assay covers (one HGNC symbol per line)\n"
    return header + "".join(f"{g}\n" for g in genes)


def synthesize(
    cfg: Config, out_dir: Path, *, progress: bool = False, compute: Compute | None = None
) -> SynthesisSummary:
    """Simulate the cohort of ``cfg.synth`` and write its raw files into ``out_dir``.

    Parameters
    ----------
    cfg : Config
        The validated configuration (``synth``, ``catalog`` and the cohort's
        pseudonymization settings are used).
    out_dir : Path
        Destination (``paths.raw_dir``); the files of :data:`RAW_FILES` are replaced.
    progress : bool
        Show a progress bar over chunks.
    compute : Compute, optional
        Where the chunks are simulated (default: this process). Each chunk has its own
        seed, so the cohort is the same whatever the number of workers.

    Returns
    -------
    SynthesisSummary
    """
    catalog = Catalog(cfg.catalog)
    panel = load_panel()
    key = resolve_key(cfg.cohort.pseudonymization, synthetic=True)
    intercepts = calibrate(cfg.synth, catalog, panel)
    summary = SynthesisSummary(intercepts=intercepts.to_dict(catalog.regimen_ids))
    out_dir.mkdir(parents=True, exist_ok=True)
    vcf_dir = _emptied(out_dir / RAW_FILES["vcf_dir"])
    guideline = guideline_truth_endpoints(endpoint_roles(cfg.endpoints))
    ctx = _ChunkContext(cfg.synth, catalog, panel, intercepts, key, vcf_dir, guideline)
    ref_truth, ref_lines = _write_chunks(
        ctx, out_dir, summary=summary, progress=progress, compute=compute
    )
    summary.reference_check = _reference_check(ref_truth, ref_lines, catalog)
    manifest = _manifest(summary, seed=cfg.synth.seed)
    (out_dir / RAW_FILES["manifest"]).write_text(json.dumps(manifest, indent=2) + "\n")
    (out_dir / RAW_FILES["panel_genes"]).write_text(_panel_genes_text(panel))
    return summary


def _cohort_input_paths(cfg: Config, root: Path) -> list[Path]:
    inputs = cfg.cohort.inputs
    named = [
        inputs.patients.path,
        inputs.lines.path,
        inputs.test_lines.path,
        *inputs.vcf.paths,
        *inputs.maf.paths,
        *inputs.fhir,
    ]
    return [(root / p).resolve() for p in named if p]


def skip_synthesis(cfg: Config, out_dir: Path, *, root: Path) -> str:
    """For a cohort that is not synthetic: write placeholders where the ``synthesize`` stage's
    outputs go (DVC expects them), each saying why nothing was simulated; return the reason.

    Refuses when one of the cohort's own input files lies among those outputs (it would be
    overwritten).
    """
    reason = (
        f"cohort {cfg.cohort.name!r} is not synthetic (cohort.synthetic=false): nothing simulated"
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    outs = {k: (out_dir / v).resolve() for k, v in RAW_FILES.items()}
    for p in _cohort_input_paths(cfg, root):
        for name, o in outs.items():
            if p == o or (name == "vcf_dir" and o in p.parents):
                raise ConfigError(
                    f"cohort.inputs: {p} is where the synthesize stage writes "
                    f"({RAW_FILES[name]} under paths.raw_dir={cfg.paths.raw_dir}); keep your own "
                    "files elsewhere, e.g. data/external/"
                )
    vcf_dir = _emptied(outs["vcf_dir"])
    (vcf_dir / "SKIPPED.txt").write_text(reason + "\n", encoding="utf-8")
    for name in ("patients", "lines", "panel_genes"):
        outs[name].write_text(f"# {reason}\n", encoding="utf-8")
    with gzip.open(outs["maf"], "wt", encoding="utf-8") as fh:
        fh.write(f"# {reason}\n")
    cats = Catalog(cfg.catalog).toxicity_categories
    pq.write_table(_truth_schema(cats).empty_table(), outs["ground_truth"])
    outs["manifest"].write_text(json.dumps({"skipped": reason}, indent=2) + "\n", encoding="utf-8")
    return reason
