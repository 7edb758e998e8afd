"""Command-line interface: ``precision-onco <command> ...``.

Commands
--------
config compose   compose conf/ (with Hydra overrides) into params.yaml for DVC
config show      print the composed, validated configuration
synthesize       write a synthetic cohort outside the DVC pipeline
variants         convert VCF/MAF files to the canonical (pseudonymized) variants table
recommend        ranked, explained regimens for a new patient (VCF or MAF + clinical file)
pgx              DPYD/UGT1A1 calls, uracilemia and per-drug starting doses from a germline VCF
serve            the production server of the recommender (MLflow's /invocations contract)
predict          score a table of new patients with a cohort's trained models (no retraining)
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from precision_onco import __version__
from precision_onco.config import (
    Config,
    EndpointRoles,
    compose,
    load_group,
    load_params,
    outputs,
    to_yaml,
)
from precision_onco.errors import ConfigError, InputError, MissingInputError
from precision_onco.stage import EXPECTED_ERRORS, configure_logging, report_user_error

if TYPE_CHECKING:  # annotations only: the commands import these when they run
    import pandas as pd

    from precision_onco.ingest.cohort import Redactor
    from precision_onco.recommend.patient import PatientCase

__all__ = ["main"]

log = logging.getLogger(__name__)

_PARAMS_HEADER = (
    "# Composed from conf/ by `precision-onco config compose`: edit conf/, not this file.\n"
    "# DVC stages read their parameters from here (see README, 'Configuration').\n"
)


def _cmd_config_compose(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if os.environ.get("DVC_EXP_NAME") and not args.overrides and not args.force:
        # Inside `dvc exp run`, DVC's Hydra integration has already composed params.yaml
        # from conf/ with the -S overrides: keep it, only check it.
        _write_catalog_params(out, load_params(out))
        log.info("inside dvc exp run: kept %s composed by DVC (validated)", out)
        return 0
    cfg, typed = compose(args.overrides)
    text = _PARAMS_HEADER + to_yaml(cfg)
    if out.is_file() and out.read_text(encoding="utf-8") == text:
        log.info("%s is up to date", out)
    else:
        out.write_text(text, encoding="utf-8")
        log.info("wrote %s", out)
    _write_catalog_params(out, typed)
    return 0


def _write_catalog_params(params_file: Path, cfg: Config) -> None:
    """``params_file``'s ``catalog`` section, as it is there, to ``paths.outputs.
    catalog_params``: the stages that read the catalog depend on that file (dvc.yaml), so
    that DVC keeps its hash per stage instead of the section's values (dvc.lock stays
    small, and DVC rewrites it after every stage). Left as it is when unchanged."""
    from omegaconf import DictConfig, OmegaConf

    params = OmegaConf.load(params_file)
    section = params.get("catalog") if isinstance(params, DictConfig) else None
    text = OmegaConf.to_yaml(section) if section is not None else "{}\n"
    dest = outputs(cfg).catalog_params
    if dest.is_file() and dest.read_text(encoding="utf-8") == text:
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(text, encoding="utf-8")


def _cmd_config_show(args: argparse.Namespace) -> int:
    cfg, _ = compose(args.overrides)
    sys.stdout.write(to_yaml(cfg))
    return 0


def _cmd_synthesize(args: argparse.Namespace) -> int:
    from precision_onco.synth import synthesize

    _, cfg = compose(args.overrides)
    summary = synthesize(cfg, Path(args.out), progress=sys.stderr.isatty())
    print(
        f"{summary.n_patients} patients, {summary.n_lines} therapy lines, "
        f"{summary.n_variant_records} variant records -> {args.out}"
    )
    return 0


def _cmd_variants(args: argparse.Namespace) -> int:
    import json

    from precision_onco.ingest.contracts import REJECT_COLUMNS, VARIANT_COLUMNS
    from precision_onco.ingest.genes import GeneIndex
    from precision_onco.ingest.variants import read_variants

    key = _variants_key(key_file=args.key_file, demo_key=args.demo_key)
    genes = GeneIndex.from_file(args.genes_bed) if args.genes_bed else None
    results = [
        read_variants(
            f,
            genes=genes,
            tumor_sample=args.tumor_sample,
            pass_only=False if args.all_filters else None,
        )
        for f in args.files
    ]
    var = _stacked([r.frame for r in results], columns=VARIANT_COLUMNS)
    rej = _stacked([r.rejects for r in results], columns=REJECT_COLUMNS)
    var, rej, redact = _pseudonymized(var, rej, key=key, sample_regex=args.sample_regex)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    var.to_parquet(args.out, index=False)
    if args.rejects:
        rej.to_parquet(args.rejects, index=False)
    reports = [_redacted_report(r.report.as_dict(), redact=redact) for r in results]
    if args.json:
        print(json.dumps(reports, indent=2))
    else:
        _print_variant_reports(reports)
        print(
            f"{len(var):,} variant rows -> {args.out}"
            + (f"; {len(rej):,} rejects -> {args.rejects}" if args.rejects else "")
        )
    return 0


def _variants_key(*, key_file: str | None, demo_key: bool) -> bytes:
    """The pseudonymization key of ``variants`` (the demo key only when asked for); its error
    says how to give one."""
    from precision_onco.config.schema import PseudonymizationConfig
    from precision_onco.ingest.pseudonymize import PseudonymizationError, resolve_key

    try:
        return resolve_key(
            PseudonymizationConfig(key_file=key_file, allow_demo_key=demo_key),
            synthetic=demo_key,
        )
    except PseudonymizationError as exc:
        raise PseudonymizationError(
            f"{exc} (or pass --key-file FILE; --demo-key for public or synthetic data only)"
        ) from None


def _stacked(frames: Sequence[pd.DataFrame], *, columns: Mapping[str, Any]) -> pd.DataFrame:
    """The non-empty ``frames`` one under the other, else an empty table of ``columns``
    (name -> dtype)."""
    import pandas as pd

    kept = [f for f in frames if len(f)]
    return (
        pd.concat(kept, ignore_index=True)
        if kept
        else pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})
    )


def _pseudonymized(
    var: pd.DataFrame, rej: pd.DataFrame, *, key: bytes, sample_regex: str | None
) -> tuple[pd.DataFrame, pd.DataFrame, Redactor]:
    """The variants keyed by pseudonymous patient and sample (the patient of a sample: the
    first group of ``sample_regex``, else the sample id), the rejects with file names and raw
    lines redacted (``rej`` is changed in place), and the :class:`Redactor` of those ids."""
    import pandas as pd

    from precision_onco.ingest.cohort import Redactor, _link
    from precision_onco.ingest.pseudonymize import pseudonymize

    samples = sorted(set(var["sample_id"].dropna().astype(str)))
    patients = _link(pd.Series(samples, dtype=object), {}, sample_regex).tolist()
    skeys = dict(zip(samples, pseudonymize(samples, key, namespace="sample"), strict=True))
    pkeys = dict(zip(samples, pseudonymize(patients, key), strict=True))
    redact = Redactor({**dict(zip(patients, pkeys.values(), strict=True)), **skeys})
    var.insert(0, "patient_key", var["sample_id"].astype(str).map(pkeys).astype("string"))
    var = var.drop(columns="patient_id")
    var["sample_id"] = var["sample_id"].astype(str).map(skeys).astype("string")
    var["source_file"] = var["source_file"].map(redact).astype("string")
    rej["source_file"] = rej["source_file"].map(redact).astype("string")
    rej["raw"] = rej["raw"].map(redact).astype("string")
    return var, rej, redact


def _redacted_report(d: dict[str, Any], *, redact: Redactor) -> dict[str, Any]:
    """A file's ingestion report ``d`` (changed in place) with raw identifiers redacted: in
    its file name, warnings and other text fields (not in the rejection reasons)."""
    d["file"] = redact(d["file"])
    d["warnings"] = [redact(w) for w in d["warnings"]]
    d.update({k: redact(v) for k, v in d.items() if k not in ("warnings", "rejected_by_reason")})
    return d


def _print_variant_reports(reports: Sequence[Mapping[str, Any]]) -> None:
    """The console table of the files read: format, records read, ingested and rejected,
    variant rows, then each file's rejections by reason and its warnings."""
    print(f"{'file':<48} {'format':<6} {'read':>9} {'ingested':>9} {'rejected':>9}  rows")
    for d in reports:
        rows = d.get("variant_rows", d["ingested"])
        print(
            f"{d['file'][-48:]:<48} {d['kind']:<6} {d['read']:>9,} {d['ingested']:>9,} "
            f"{d['rejected']:>9,}  {rows:,}"
        )
        for reason, n in d["rejected_by_reason"].items():
            print(f"    rejected {n:,}: {reason}")
        for w in d["warnings"]:
            print(f"    warning: {w}")


def _load_config(params: str, *, default: str = "params.yaml") -> Any:
    """The composed config: ``params`` (an explicit file must exist), else conf/'s defaults."""
    if Path(params).is_file():
        return load_params(params)
    if params != default:
        raise MissingInputError(
            f"--params {params}: no such file (a params.yaml composed by "
            "`precision-onco config compose`)"
        )
    _, cfg = compose([])
    return cfg


def _fmt_p(row: Any, ep: str | None) -> str:
    """``p [low–high]`` of endpoint ``ep`` in a ranked row (— when not modelled)."""
    if ep is None:
        return "—"
    p, lo, hi = row.get(f"p_{ep}"), row.get(f"p_{ep}_low"), row.get(f"p_{ep}_high")
    if p is None:
        return "—"
    return f"{p:.2f} [{lo:.2f}–{hi:.2f}]"


def _model_version(uri: str, run_id: str | None) -> dict[str, Any]:
    """Registered name, version and alias of a ``models:/name@alias`` or ``models:/name/N``."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    out: dict[str, Any] = {"model": uri, "version": None, "run_id": run_id}
    body = uri.removeprefix("models:/")
    try:
        if "@" in body:
            name, alias = body.split("@", 1)
            mv = MlflowClient().get_model_version_by_alias(name, alias)
            out.update(model=name, version=int(mv.version), alias=alias)
        elif "/" in body:
            name, version = body.rsplit("/", 1)
            out.update(model=name, version=int(version))
    except (MlflowException, ValueError):
        pass
    return out


def _write_report(
    answer: dict[str, Any],
    case: Any,
    recommender: Any,
    stem: Path,
    lang: str,
    *,
    pdf: bool,
    chromium: str,
) -> list[Path]:
    """The patient's HTML report (and PDF) beside the JSON answer."""
    from precision_onco.report.patient import patient_context, render_patient
    from precision_onco.report.pdf import html_to_pdf

    n = case.line_number
    current: dict[str, Any] = next((r for r in case.lines if r["line_number"] == n), {})
    ctx = patient_context(
        answer,
        patient=case.patient,
        line_state=current,
        prior_lines=[r for r in case.lines if r["line_number"] < n],
        variants=case.variants,
        catalog=recommender.catalog,
        genes=recommender.panel["symbol"].tolist(),
        efficacy=recommender.roles.efficacy,
        any_severe_ae=recommender.roles.any_severe_ae,
    )
    html = Path(f"{stem}.{lang}.html")
    html.write_text(render_patient(ctx, lang, recommender.catalog), encoding="utf-8")
    out = [html]
    if pdf:
        out.append(html_to_pdf(html, html.with_suffix(".pdf"), chromium=chromium))
    return out


def _write_fhir(
    answer: dict[str, Any],
    case: Any,
    recommender: Any,
    stem: Path,
    lang: str,
    reports: list[Path],
    identifier_map: str | None,
) -> list[Path]:
    """``<stem>.fhir.json`` (FHIR R4 Genomics Reporting bundle) and ``<stem>.mhd.json``."""
    from precision_onco.report.fhir_out import load_identifier_map, write_fhir_files
    from precision_onco.report.fhir_out.produce import case_bundle, documents_of

    ids = load_identifier_map(identifier_map) if identifier_map else None
    bundle = case_bundle(
        answer,
        case,
        recommender.catalog,
        lang=lang,
        documents=documents_of(reports),
        identifiers=ids,
        efficacy=recommender.roles.efficacy,
        any_severe_ae=recommender.roles.any_severe_ae,
    )
    return write_fhir_files(stem, bundle)


def _print_ranked(ranked: Sequence[Mapping[str, Any]], roles: EndpointRoles) -> None:
    """The console table of the ranked regimens: the efficacy and any-severe-AE probabilities
    (the recommender's endpoint roles), the utility and each pharmacogenomic starting dose."""
    import json

    head = (
        f"{'#':>2}  {'regimen':<38} {'p(response) [95% CI]':<22} "
        f"{'p(grade>=3 AE) [95% CI]':<24} {'utility':>8}"
    )
    print(head)
    print("-" * len(head))
    for row in ranked:
        flag = (
            "" if row["rank"] == 1 or row["distinguishable"] else "  ~ not distinguishable from #1"
        )
        print(
            f"{row['rank']:>2}  {row['regimen_id']:<38} {_fmt_p(row, roles.efficacy):<22} "
            f"{_fmt_p(row, roles.any_severe_ae):<24} {row['utility']:>8.3f}{flag}"
        )
        doses = row.get("pgx_dose") or []  # pharmacogenomics (issue 17): JSON text or list
        for d in json.loads(doses) if isinstance(doses, str) else doses:
            pct = (
                "avoid"
                if d["tested"] and d["starting_dose_percent"] is None
                else (f"{d['starting_dose_percent']} %" if d["tested"] else "untested")
            )
            print(f"    {d['drug']}: starting dose {pct} [{d['source']}]")


def _cmd_recommend(args: argparse.Namespace) -> int:
    import time

    import mlflow

    from precision_onco.models.tracking import registered_name

    cfg = _load_config(args.params)
    payload, rejected, case = _new_patient_case(cfg, args)
    uri = args.model or f"models:/{registered_name(cfg, 'recommender')}@champion"
    mlflow.set_tracking_uri(cfg.tracking.uri)
    t0 = time.perf_counter()
    model = _load_recommender_model(uri, tracking_uri=cfg.tracking.uri)
    recommender = model.unwrap_python_model().recommender  # prepared by its load_context
    if recommender.extra_inputs != case.extra_inputs:  # a model of another features config
        case, _ = recommender.parse(payload)
    loaded = time.perf_counter() - t0
    source = _model_version(uri, model.metadata.run_id)
    t1 = time.perf_counter()
    result = recommender.recommend(case)
    secs = time.perf_counter() - t1
    stem, answer = _write_answer(Path(args.out), case=case, result=result, payload=payload)
    reported = {**answer, "provenance": {**answer["provenance"], "recommender": source}}
    lang = args.lang or cfg.report.lang
    html = _write_report(
        reported, case, recommender, stem, lang, pdf=args.pdf, chromium=cfg.report.chromium
    )
    cohort = recommender.provenance.get("cohort", "unknown")
    print(f"recommender {uri} (champion trained on cohort {cohort!r})")
    if args.fhir:
        identifier_map = args.fhir_identifiers or cfg.report.fhir_identifiers
        html += _write_fhir(reported, case, recommender, stem, lang, html, identifier_map)
    _print_outcome(case, result, answer=answer, rejected=rejected, recommender=recommender)
    if len(result.excluded):
        print(f"{len(result.excluded)} regimen(s) excluded, with reasons, in {stem}.json")
    print(
        f"models loaded in {loaded:.2f} s; recommendation in {secs * 1000:.0f} ms; "
        f"wrote {stem}.json, {stem}.parquet, {', '.join(map(str, html))}"
    )
    print("Decision support only: to be weighed by the treating oncologist.")
    return 0


def _new_patient_case(
    cfg: Any, args: argparse.Namespace
) -> tuple[dict[str, Any], dict[str, int], PatientCase]:
    """The new patient's payload from ``recommend``'s files (with the pharmacogenomic calls
    when a germline VCF or a uracilemia is given), the variant records not used (by reason)
    and the case parsed from the payload."""
    from precision_onco.recommend.inputs import new_patient_payload
    from precision_onco.recommend.patient import parse_payload

    payload, rejected = new_patient_payload(
        cfg,
        clinical=args.clinical,
        line=args.line,
        variants=args.vcf or args.maf,
        sample=args.sample,
        preset=args.preset,
    )
    if args.germline_vcf or args.uracil is not None:  # pharmacogenomics (issue 17)
        from precision_onco.pgx import pgx_from_vcf
        from precision_onco.pgx.regimens import add_to_payload

        pgx = pgx_from_vcf(args.germline_vcf, sample=args.germline_sample, uracil_ng_ml=args.uracil)
        add_to_payload(payload, pgx)
    case = parse_payload(
        payload,
        tox_categories=cfg.catalog.toxicity_categories,
        regimen_ids=[r.id for r in cfg.catalog.regimens],
        extra_inputs=cfg.features.extra,
    )
    return payload, rejected, case


def _load_recommender_model(uri: str, *, tracking_uri: str) -> Any:
    """The served recommender model at ``uri``; an :class:`InputError` that says to run the
    pipeline when it cannot be loaded."""
    import mlflow

    try:
        return mlflow.pyfunc.load_model(uri)
    except mlflow.exceptions.MlflowException as exc:
        raise InputError(
            f"cannot load the recommender {uri} from {tracking_uri} "
            f"({exc.message.splitlines()[0]}); run `dvc repro` first"
        ) from None


def _write_answer(
    out: Path, *, case: Any, result: Any, payload: Mapping[str, Any]
) -> tuple[Path, dict[str, Any]]:
    """Write, in ``out``, the answer and the payload (JSON) and the ranked and excluded
    regimens (Parquet) of ``case``; returns the files' stem and the answer."""
    import json

    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"{case.patient_key}.line{case.line_number}"
    answer = result.to_dict()  # the served model's answer, byte for byte in content
    Path(f"{stem}.json").write_text(json.dumps(answer, indent=2, default=str) + "\n")
    Path(f"{stem}.payload.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
    ranked = result.ranked.assign(patient_key=case.patient_key, preset=result.preset)
    ranked.to_parquet(Path(f"{stem}.parquet"), index=False)
    pd.DataFrame(result.excluded).to_parquet(Path(f"{stem}.excluded.parquet"), index=False)
    return stem, answer


def _print_outcome(
    case: Any,
    result: Any,
    *,
    answer: Mapping[str, Any],
    rejected: Mapping[str, int],
    recommender: Any,
) -> None:
    """The recommendation's message, the variant records not used, the ranked regimens."""
    print(f"{case.patient_key}, line {case.line_number}, preset {result.preset}: {result.message}")
    if rejected:
        why = "; ".join(f"{n} {reason}" for reason, n in rejected.items())
        print(f"variant records not used: {why}")
    if len(result.ranked):
        _print_ranked(answer["ranked"], recommender.roles)


def _cmd_pgx(args: argparse.Namespace) -> int:
    import json

    from precision_onco.pgx import format_text, load_definitions, pgx_from_vcf

    if args.vcf is None and args.uracil is None:
        raise InputError("pgx needs --vcf FILE (germline genotypes) and/or --uracil NG_ML")
    result = pgx_from_vcf(
        args.vcf,
        sample=args.sample,
        uracil_ng_ml=args.uracil,
        covered=args.covered,
        definitions=load_definitions(args.definitions),
    )
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        sys.stdout.write(format_text(result))
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    import gc

    # the start allocates some 150,000 objects that live as long as the server: no cyclic
    # collection passes over them while they are made (about 10 % of the start); the
    # server collects once and freezes them before forking its workers
    gc.disable()
    try:
        return _serve(args)
    finally:
        gc.enable()


def _serve(args: argparse.Namespace) -> int:
    from precision_onco.config.schema import ServeConfig
    from precision_onco.serve import ServeSettings
    from precision_onco.serve.server import (
        LOOPBACK,
        resolve_model,
        run,
        single_threaded_native_code,
    )

    single_threaded_native_code()  # before anything imports LightGBM: the workers are forked
    uri, tracking = args.model, None
    needs_registry = uri is None or uri.startswith(("models:/", "runs:/"))
    serve: ServeConfig
    if needs_registry:
        cfg = _load_config(args.params)
        serve, tracking = cfg.serve, cfg.tracking.uri
        from precision_onco.models.tracking import registered_name

        uri = uri or f"models:/{registered_name(cfg, 'recommender')}@champion"
    elif Path(args.params).is_file():
        # a local model file: only the serve group is read (validating the whole
        # configuration would add seconds to the server's start)
        serve = load_group(args.params, "serve")
    else:
        serve = ServeConfig()
    host = args.host or serve.host
    keys_env = args.api_key_env or serve.auth.keys_env
    keys = tuple(k.strip() for k in os.environ.get(keys_env, "").split(",") if k.strip())
    if (args.require_auth or serve.auth.required or host not in LOOPBACK) and not keys:
        raise ConfigError(
            f"serve: an API key is required (host {host}); set {keys_env} to one "
            "or more comma-separated keys"
        )
    hosts = tuple(args.allowed_host or serve.allowed_hosts) + (*LOOPBACK, "[::1]", host)
    settings = ServeSettings(
        max_body_bytes=args.max_body_bytes or serve.max_body_bytes,
        max_batch=args.max_batch or serve.max_batch,
        max_coalesce=serve.max_coalesce,
        request_timeout_s=args.timeout or serve.request_timeout_s,
        allowed_hosts=hosts,
        api_keys=keys,
    )
    run(
        resolve_model(uri, tracking_uri=tracking),
        host=host,
        port=args.port or serve.port,
        workers=args.workers or serve.workers,
        settings=settings,
    )
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from collections import Counter

    from precision_onco.models.predict import models_from_dir, predict_table, write_predictions

    cfg = _load_config(args.params)
    if args.cohort and cfg.cohort.name != args.cohort:
        _, cfg = compose([f"cohort={args.cohort}"])
    name = cfg.cohort.name
    if args.model_dir:
        models, source = models_from_dir(args.model_dir, cohort=name), f"{args.model_dir}/*.joblib"
    elif args.registry or cfg.tracking.enabled:
        from precision_onco.recommend.service import champion_models

        models, comp = champion_models(cfg)
        named = [
            f"{c['model']} v{c['version']} (@{c['alias']}, run {c['run_id']})"
            for c in comp.values()
        ]
        source = ", ".join(named) or "registry"
        if not models:
            raise InputError(
                f"no champion model in the registry {cfg.tracking.uri} for cohort "
                f"{cfg.cohort.name!r}; train it (dvc repro) or pass --model-dir"
            )
    else:
        models_dir = Path(cfg.paths.models_dir)
        models, source = models_from_dir(models_dir, cohort=name), f"{models_dir}/*.joblib"
    result = predict_table(
        args.table, cfg, models, patients=args.patients, variants=args.variants or ()
    )
    out = write_predictions(result, args.out)
    print(
        f"{len(result.predictions)} rows of {args.table}: {result.n_ok} scored, "
        f"{result.n_rejected} rejected (listed with their reason) -> {out}"
        + (f"; {len(result.warnings)} warning(s) logged" if result.warnings else "")
    )
    why = Counter(r.split(":", 1)[0] for r in result.predictions["reason"].dropna())
    for reason, n in why.most_common():
        print(f"    rejected {n}: {reason}")
    print(f"cohort {cfg.cohort.name}; endpoints {', '.join(result.endpoints)}; models {source}")
    print("Decision support only: to be weighed by the treating oncologist.")
    return 0


if TYPE_CHECKING:  # what add_subparsers returns; the class is not subscriptable at run time
    _Subcommands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="precision-onco",
        description="Precision-oncology pipeline: calibrated, explained regimen recommendations "
        "(decision support).",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="debug logging, and the traceback of an error in the input too",
    )
    sub = p.add_subparsers(dest="command", required=True)
    _add_config(sub)
    _add_synthesize(sub)
    _add_variants(sub)
    _add_recommend(sub)
    _add_pgx(sub)
    _add_serve(sub)
    _add_predict(sub)
    return p


def _add_config(sub: _Subcommands) -> None:
    """`config compose` and `config show`."""
    cfg = sub.add_parser("config", help="compose and check the Hydra configuration")
    cfg_sub = cfg.add_subparsers(dest="config_command", required=True)
    c = cfg_sub.add_parser("compose", help="write the composed config to params.yaml")
    c.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. synth.n_patients=500")
    c.add_argument("--out", default="params.yaml", help="output file (default: params.yaml)")
    c.add_argument("--force", action="store_true", help="compose even inside dvc exp run")
    c.set_defaults(func=_cmd_config_compose)
    s = cfg_sub.add_parser("show", help="print the composed, validated config")
    s.add_argument("overrides", nargs="*")
    s.set_defaults(func=_cmd_config_show)


def _add_synthesize(sub: _Subcommands) -> None:
    """`synthesize`: a synthetic cohort outside DVC."""
    syn = sub.add_parser("synthesize", help="write a synthetic cohort (outside DVC)")
    syn.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. synth.n_patients=200")
    syn.add_argument("--out", required=True, help="output directory")
    syn.set_defaults(func=_cmd_synthesize)


def _add_variants(sub: _Subcommands) -> None:
    """`variants`: VCF/MAF files to the canonical variants table."""
    var = sub.add_parser(
        "variants",
        help="convert VCF/MAF files to the canonical variants table",
        description="Convert VCF and MAF files (format detected from the content; plain or "
        "gzipped) to the canonical, pseudonymized variants table and print a per-file summary. "
        "Identifiers are pseudonymized with the key in $PRECISION_ONCO_PSEUDONYM_KEY or "
        "--key-file; --demo-key uses a public key (public or synthetic data only).",
    )
    var.add_argument("files", nargs="+", help="VCF or MAF files")
    var.add_argument("--out", required=True, help="output Parquet file of variant rows")
    var.add_argument("--rejects", help="output Parquet file of rejected records")
    var.add_argument("--genes-bed", help="BED or GTF of gene intervals, for unannotated VCFs")
    var.add_argument("--tumor-sample", help="name of the tumour sample column")
    var.add_argument(
        "--all-filters", action="store_true", help="keep records of any FILTER, not only PASS"
    )
    var.add_argument(
        "--sample-regex", help="regex whose first group is the patient id in a sample id"
    )
    var.add_argument(
        "--key-file", help="file holding the pseudonymization key (outside the repository)"
    )
    var.add_argument(
        "--demo-key",
        action="store_true",
        help="use the public demo key (public or synthetic data only)",
    )
    var.add_argument("--json", action="store_true", help="print the per-file summary as JSON")
    var.set_defaults(func=_cmd_variants)


def _add_recommend(sub: _Subcommands) -> None:
    """`recommend`: ranked, explained regimens for one patient."""
    rec = sub.add_parser(
        "recommend",
        help="ranked, explained regimens for a new patient",
        description="Rank the catalog's regimens for one patient at a therapy line with the "
        "registered `champion` recommender: probabilities of response and of grade >= 3 "
        "toxicity with 95%% intervals, drivers in words, evidence and excluded regimens with "
        "reasons. Writes <out>/<patient_key>.line<N>.json and .parquet.",
    )
    src = rec.add_mutually_exclusive_group()
    src.add_argument("--vcf", help="the tumour's VCF (plain or bgzipped)")
    src.add_argument("--maf", help="the tumour's MAF (choose the sample with --sample)")
    rec.add_argument(
        "--clinical",
        required=True,
        help="clinical JSON, CSV/TSV (a row per line) or FHIR R4 bundle",
    )
    rec.add_argument("--line", required=True, type=int, help="therapy line to recommend for")
    rec.add_argument("--out", default="reports/patients", help="output directory")
    rec.add_argument("--preset", help="utility preset (balanced, efficacy_first, frail, …)")
    rec.add_argument("--sample", help="tumour sample (VCF column or MAF Tumor_Sample_Barcode)")
    rec.add_argument("--model", help="model URI (default: the registry's recommender champion)")
    rec.add_argument("--params", default="params.yaml", help="composed config (params.yaml)")
    rec.add_argument("--lang", choices=["en", "fr"], help="report language (default report.lang)")
    rec.add_argument("--pdf", action="store_true", help="also print the report to PDF (Chromium)")
    rec.add_argument("--germline-vcf", help="germline VCF for DPYD/UGT1A1 dose guidance (pgx)")
    rec.add_argument("--germline-sample", help="its sample column (e.g. the normal)")
    rec.add_argument("--uracil", type=float, metavar="NG_ML", help="plasma uracil, ng/mL")
    rec.add_argument(
        "--fhir",
        action="store_true",
        help="also write <patient_key>.line<N>.fhir.json (FHIR R4 Genomics Reporting "
        "bundle) and .mhd.json (IHE MHD submission); see docs/fhir.md",
    )
    rec.add_argument(
        "--fhir-identifiers",
        metavar="CSV",
        help="patient_key,system,value mapping to the hospital's identifiers, "
        "written into the bundle (default report.fhir_identifiers: none)",
    )
    rec.set_defaults(func=_cmd_recommend)


def _add_pgx(sub: _Subcommands) -> None:
    """`pgx`: DPYD/UGT1A1 calls and starting doses."""
    pgx = sub.add_parser(
        "pgx",
        help="DPYD/UGT1A1 pharmacogenomics and starting doses from a germline VCF",
        description="Call DPYD (CPIC activity score) and UGT1A1 (DPWG diplotype) from a "
        "germline VCF, read uracilemia against the INCa/HAS 2018 thresholds, and print per "
        "drug (fluorouracil, capecitabine, irinotecan) the action and starting-dose percent "
        "with the guideline. A defining position absent from the file is 'not tested'. "
        "See docs/pgx.md.",
    )
    pgx.add_argument(
        "--vcf",
        help="germline VCF (plain or bgzipped; a tumour/normal VCF: the normal column)",
    )
    pgx.add_argument("--sample", help="sample column (required when the file has several)")
    pgx.add_argument("--uracil", type=float, metavar="NG_ML", help="plasma uracil, ng/mL")
    pgx.add_argument(
        "--covered",
        action="store_true",
        help="the VCF covers every defining position: absent means reference",
    )
    pgx.add_argument("--definitions", help="allele definitions YAML (default: the shipped one)")
    pgx.add_argument("--json", action="store_true", help="print the answer as JSON")
    pgx.set_defaults(func=_cmd_pgx)


def _add_serve(sub: _Subcommands) -> None:
    """`serve`: the recommender behind HTTP."""
    srv = sub.add_parser(
        "serve",
        help="serve the recommender (MLflow's /invocations contract, /ping, /ready)",
        description="Serve the registered recommender with worker processes under a supervisor "
        "that restarts dead workers; bounded bodies and batches, per-request time limit, Host "
        "allow-list, optional API key (required beyond loopback). See docs/mlops.md.",
    )
    srv.add_argument(
        "--model",
        help="model URI, MLflow model directory or recommender.joblib "
        "(default: the registry's recommender champion)",
    )
    srv.add_argument("--params", default="params.yaml", help="composed config (params.yaml)")
    srv.add_argument("--host", help="address to bind (default serve.host: 127.0.0.1)")
    srv.add_argument("--port", type=int, help="port (default serve.port: 5001)")
    srv.add_argument("--workers", type=int, help="worker processes (default serve.workers: 2)")
    srv.add_argument(
        "--max-body-bytes",
        type=int,
        help="largest request body (default serve.max_body_bytes: 1 MB; larger: 413)",
    )
    srv.add_argument(
        "--max-batch",
        type=int,
        help="most payloads per request (default serve.max_batch: 100; more: 413)",
    )
    srv.add_argument(
        "--timeout",
        type=float,
        help="per-request time limit in seconds (default serve.request_timeout_s)",
    )
    srv.add_argument(
        "--allowed-host",
        action="append",
        help="Host header value to accept besides the loopback names and --host "
        "(repeat; default serve.allowed_hosts; '*' accepts any)",
    )
    srv.add_argument(
        "--api-key-env",
        help="environment variable with the accepted API keys, comma-separated "
        "(default serve.auth.keys_env: PRECISION_ONCO_API_KEYS)",
    )
    srv.add_argument(
        "--require-auth",
        action="store_true",
        help="require an API key on loopback too (serve.auth.required)",
    )
    srv.set_defaults(func=_cmd_serve)


def _add_predict(sub: _Subcommands) -> None:
    """`predict`: a table of new patients scored."""
    pred = sub.add_parser(
        "predict",
        help="score a table of new patients with the cohort's trained models",
        description="Read a table shaped like the cohort's own input table with the cohort's "
        "column config, and write one row per input row: its source_row (file line), "
        "pseudonymized patient_key, status (ok or rejected) and reason, and for every "
        "endpoint p_<endpoint> with its 95%% interval (p_<endpoint>_low, _high). Models: the "
        "registry's champions when tracking is enabled, else paths.models_dir; --model-dir "
        "to choose. See docs/ingest.md, section 'Scoring new patients'.",
    )
    pred.add_argument("--table", required=True, help="new patients' table (CSV/TSV/Parquet/XLSX)")
    pred.add_argument("--patients", help="their patients table, for a two-table cohort")
    pred.add_argument(
        "--variants", nargs="+", metavar="FILE", help="their VCF/MAF files (globs allowed)"
    )
    pred.add_argument(
        "--cohort", help="cohort config name (conf/cohort/NAME.yaml); default: that of --params"
    )
    pred.add_argument("--params", default="params.yaml", help="composed config (params.yaml)")
    models_src = pred.add_mutually_exclusive_group()
    models_src.add_argument("--model-dir", help="directory of <endpoint>.joblib models")
    models_src.add_argument(
        "--registry", action="store_true", help="the registry's champions (default with tracking)"
    )
    pred.add_argument("--out", required=True, help="output file: .csv, .tsv or .parquet")
    pred.set_defaults(func=_cmd_predict)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``precision-onco`` console script."""
    args = _parser().parse_args(argv)
    configure_logging(logging.DEBUG if args.verbose else logging.INFO)
    try:
        return int(args.func(args))
    except EXPECTED_ERRORS as exc:
        return report_user_error("precision-onco", exc, verbose=args.verbose)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
