"""`predict`: new patients scored by a cohort's trained models, one output row per input row."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest

from precision_onco.cli import main
from precision_onco.config import Config, compose, to_yaml
from precision_onco.config.schema import CoverageConfig, TableInputConfig
from precision_onco.features import build_features, load_panel
from precision_onco.ingest.cohort import ingest_cohort
from precision_onco.ingest.contracts import IngestError
from precision_onco.models.predict import predict_table, write_predictions
from precision_onco.models.train import train_all

ROOT = Path(__file__).resolve().parents[2]
KEY = "a-test-key-of-enough-length-0123456789"
N = 320

PATIENTS = {
    "patient_id": "SAMPLE_ID",
    "sex": "Sex (1:Male; 0:Female)",
    "cancer_type": "Cancer_type_grouped_2",
}
LINES = {
    "patient_id": "SAMPLE_ID",
    "regimen_id": "Drug_class",
    "age_at_line": "Age",
    "albumin": "Albumin",
    "nlr": "NLR",
    "tmb": "TMB",
    "objective_response": "Response (1:Responder; 0:Non-responder)",
}


def _table(seed: int = 5) -> pd.DataFrame:
    """A Chowell-shaped one-table cohort: one immunotherapy line per patient, TMB and
    albumin carrying the response signal."""
    rng = np.random.default_rng(seed)
    tmb = np.round(rng.lognormal(np.log(6), 1.0, N), 2)
    alb = np.round(rng.normal(3.8, 0.5, N), 1)
    logit = -1.2 + 0.9 * np.log(tmb / 6) + 1.0 * (alb - 3.8)
    return pd.DataFrame(
        {
            "SAMPLE_ID": [f"S{i:04d}" for i in range(N)],
            "Sex (1:Male; 0:Female)": rng.integers(0, 2, N),
            "Cancer_type_grouped_2": rng.choice(["NSCLC", "MEL"], N),
            "Age": np.round(rng.uniform(35, 85, N), 1),
            "Albumin": alb,
            "NLR": np.round(rng.lognormal(1.3, 0.6, N), 2),
            "TMB": tmb,
            "Drug_class": rng.choice(["anti_pd1_pdl1", "anti_pd1_ctla4"], N),
            "OS_Months": np.round(rng.exponential(20, N), 1),
            "Response (1:Responder; 0:Non-responder)": (
                rng.uniform(size=N) < 1 / (1 + np.exp(-logit))
            ).astype(int),
        }
    )


def _cfg(path: Path) -> Config:
    """A one-table cohort (patients and lines from ``path``), as chowell2022.yaml does."""
    _, base = compose(
        ["endpoints=response", "model.calibration=sigmoid", "model.max_rounds=200"],
        conf_dir=ROOT / "conf",
    )
    inputs = dataclasses.replace(
        base.cohort.inputs,
        patients=TableInputConfig(
            path=str(path), columns=dict(PATIENTS), values={"sex": "1:M; 0:F"}
        ),
        lines=TableInputConfig(path=str(path), columns=dict(LINES), constants={"line_number": "1"}),
        vcf=dataclasses.replace(base.cohort.inputs.vcf, paths=[]),
        maf=dataclasses.replace(base.cohort.inputs.maf, paths=[]),
        samples=dataclasses.replace(base.cohort.inputs.samples, column=None),
        coverage=CoverageConfig(),  # a table cohort: no sequencing assay
    )
    cohort = dataclasses.replace(
        base.cohort,
        name="predict_test",
        synthetic=False,
        inputs=inputs,
        oncotree_codes=None,
        data_cutoff=None,
    )
    features = dataclasses.replace(base.features, exclude=["OS_Months"])
    return dataclasses.replace(base, cohort=cohort, features=features)


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRECISION_ONCO_PSEUDONYM_KEY", KEY)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The cohort ingested, featurized and trained in-process, as the stages do; the models
    and held-out predictions written where the train stage writes them."""
    mp = pytest.MonkeyPatch()
    mp.setenv("PRECISION_ONCO_PSEUDONYM_KEY", KEY)
    root = tmp_path_factory.mktemp("predict")
    df = _table()
    path = root / "cohort.csv"
    df.to_csv(path, index=False)
    cfg = _cfg(path)
    tables = ingest_cohort(cfg, root=root)
    feats = build_features(
        tables.patients,
        tables.lines,
        tables.variants,
        cfg.features,
        cfg.catalog,
        panel=load_panel(cfg.features, root),
        endpoint_columns=[e.column for e in cfg.endpoints.values()],
    )
    res = train_all(cfg, feats, tables.lines)
    models_dir = root / "models"
    models_dir.mkdir()
    for ep, m in res.models.items():
        joblib.dump(m, models_dir / f"{ep}.joblib")
    res.predictions.to_parquet(root / "predictions.parquet", index=False)
    yield {"root": root, "df": df, "path": path, "cfg": cfg, "res": res, "models": models_dir}
    mp.undo()


def test_predict_reproduces_the_held_out_probabilities(trained: dict[str, Any]) -> None:
    root, cfg, res = trained["root"], trained["cfg"], trained["res"]
    stored = pd.read_parquet(root / "predictions.parquet")
    assert len(stored) > 30
    # the held-out rows of the training table, as a new file in another order
    held = set(stored["patient_key"])
    tables = ingest_cohort(cfg, root=root)
    raw_of = dict(zip(tables.lines["source_line"], tables.lines["patient_key"], strict=True))
    df = trained["df"].copy()
    df["_key"] = [raw_of[i + 2] for i in range(len(df))]  # header is line 1
    rows = df[df["_key"].isin(held)].drop(columns="_key").iloc[::-1]
    new = root / "new_patients.csv"
    rows.to_csv(new, index=False)

    from precision_onco.models.fit import load_models

    result = predict_table(new, cfg, load_models(trained["models"]), root=root)
    out = result.predictions
    assert len(out) == len(rows) == len(stored)
    assert (out["status"] == "ok").all() and out["reason"].isna().all()
    assert out["source_row"].tolist() == list(range(2, len(rows) + 2))
    # never the raw id; the cohort's own pseudonym
    assert not out["patient_key"].isin(trained["df"]["SAMPLE_ID"]).any()
    assert out["patient_key"].str.match(r"^pk_[0-9a-f]{24}$").all()
    merged = out.merge(stored, on=["patient_key", "line_number"], validate="one_to_one")
    assert len(merged) == len(stored)
    np.testing.assert_allclose(merged["p_response"], merged["response"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(merged["p_response_low"], merged["response_low"], atol=1e-12)
    np.testing.assert_allclose(merged["p_response_high"], merged["response_high"], atol=1e-12)
    assert (merged["p_response_low"] <= merged["p_response"]).all()
    assert (merged["p_response"] <= merged["p_response_high"]).all()
    assert result.endpoints == ["response"] == list(res.models)


def test_bad_rows_are_listed_with_their_reason(trained: dict[str, Any], tmp_path: Path) -> None:
    cfg = trained["cfg"]
    rows = trained["df"].iloc[:6].copy().astype(object)
    rows.iloc[1, rows.columns.get_loc("Albumin")] = 38.0  # g/L: outside 0.5–7 g/dL
    rows.iloc[2, rows.columns.get_loc("Sex (1:Male; 0:Female)")] = 7  # not in the code list
    rows.iloc[3, rows.columns.get_loc("SAMPLE_ID")] = None  # no patient id
    rows.iloc[4, rows.columns.get_loc("Drug_class")] = "anti_pd1_pdl1"
    text = rows.to_csv(index=False).splitlines()
    text.insert(5, "S9999,1,NSCLC")  # a short row: line 6 of the file
    new = tmp_path / "new.csv"
    new.write_text("\n".join(text) + "\n")

    from precision_onco.models.fit import load_models

    out = predict_table(new, cfg, load_models(trained["models"]), root=trained["root"])
    p = out.predictions.set_index("source_row")
    assert list(p.index) == [2, 3, 4, 5, 6, 7, 8]  # every record, none dropped
    assert p.loc[3, "status"] == "rejected"
    assert p.loc[3, "reason"] == "out of range: albumin: 38.0 is outside 0.5–7 g/dL"
    assert p.loc[4, "status"] == "rejected"
    assert p.loc[4, "reason"] == (
        "patient columns: value not in code list: sex: '7' is not in the code list '1:M; 0:F'"
    )
    assert p.loc[5, "status"] == "rejected"
    assert "patient_id: missing (required)" in p.loc[5, "reason"]
    assert pd.isna(p.loc[5, "patient_key"])
    assert p.loc[6, "status"] == "rejected"
    assert p.loc[6, "reason"] == "wrong number of fields: expected 10 (as in the header), got 3"
    ok = p[p["status"] == "ok"]
    assert list(ok.index) == [2, 7, 8]
    assert ok["p_response"].between(0, 1).all() and ok["reason"].isna().all()
    assert p.loc[3:4, "p_response"].isna().all()
    # rejected rows keep their pseudonymized key where the row had an id
    assert p.loc[3, "patient_key"].startswith("pk_")
    assert not any("S000" in str(v) for v in p["reason"].dropna())


def test_cli_predict_writes_csv_or_parquet(
    trained: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = dataclasses.replace(
        trained["cfg"], tracking=dataclasses.replace(trained["cfg"].tracking, enabled=False)
    )
    params = tmp_path / "params.yaml"
    params.write_text(to_yaml(cfg))
    rows = trained["df"].iloc[:10]
    new = tmp_path / "new.csv"
    rows.to_csv(new, index=False)
    for out in (tmp_path / "scores.csv", tmp_path / "scores.parquet"):
        code = main(
            [
                "predict",
                "--table",
                str(new),
                "--params",
                str(params),
                "--model-dir",
                str(trained["models"]),
                "--out",
                str(out),
            ]
        )
        assert code == 0
        got = pd.read_csv(out) if out.suffix == ".csv" else pd.read_parquet(out)
        assert len(got) == 10 and (got["status"] == "ok").all()
        assert {
            "source_row",
            "patient_key",
            "p_response",
            "p_response_low",
            "p_response_high",
        } <= set(got.columns)
        assert "SAMPLE_ID" not in got.columns
    printed = capsys.readouterr().out
    assert "10 rows of" in printed and "10 scored, 0 rejected" in printed
    code = main(
        [
            "predict",
            "--table",
            str(new),
            "--params",
            str(params),
            "--model-dir",
            str(trained["models"]),
            "--out",
            str(tmp_path / "x.json"),
        ]
    )
    assert code == 2
    assert "write .csv, .tsv or .parquet" in capsys.readouterr().err


def test_a_mapped_column_missing_from_the_table_is_named(
    trained: dict[str, Any], tmp_path: Path
) -> None:
    new = tmp_path / "new.csv"
    trained["df"].drop(columns="Albumin").iloc[:5].to_csv(new, index=False)
    from precision_onco.models.fit import load_models

    with pytest.raises(
        IngestError,
        match=r"cohort.inputs.lines.columns.albumin: source column "
        r"'Albumin' not found",
    ):
        predict_table(new, trained["cfg"], load_models(trained["models"]), root=trained["root"])


def test_no_model_and_bad_extension_fail_clearly(trained: dict[str, Any], tmp_path: Path) -> None:
    new = tmp_path / "new.csv"
    trained["df"].iloc[:3].to_csv(new, index=False)
    with pytest.raises(ValueError, match="no endpoint model to score with"):
        predict_table(new, trained["cfg"], {}, root=trained["root"])
    from precision_onco.models.fit import load_models

    res = predict_table(new, trained["cfg"], load_models(trained["models"]), root=trained["root"])
    with pytest.raises(ValueError, match=r"--out .*x\.xlsx: write \.csv, \.tsv or \.parquet"):
        write_predictions(res, tmp_path / "x.xlsx")


def test_cli_predict_uses_the_registry_champion(
    trained: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With tracking on, `predict` scores with the champion registered by the pipeline."""
    from precision_onco.models.evaluate import evaluate
    from precision_onco.models.fit import load_models
    from precision_onco.models.tracking import log_pipeline_run
    from precision_onco.models.train import model_frame

    cfg = dataclasses.replace(
        trained["cfg"],
        tracking=dataclasses.replace(
            trained["cfg"].tracking,
            enabled=True,
            uri=f"sqlite:///{tmp_path / 'mlruns.db'}",
            artifact_location=str(tmp_path / "artifacts"),
        ),
    )
    res = trained["res"]
    tables = ingest_cohort(cfg, root=trained["root"])
    metrics, curves = evaluate(cfg, res.predictions, tables.lines, tables.patients)
    feats = build_features(
        tables.patients,
        tables.lines,
        tables.variants,
        cfg.features,
        cfg.catalog,
        panel=load_panel(cfg.features, trained["root"]),
    )
    example = model_frame(feats.head(5), cfg)
    decisions = log_pipeline_run(
        cfg, res.models, metrics, curves, example, res.manifest, root=tmp_path
    )
    assert decisions["response"]["promoted"]
    params = tmp_path / "params.yaml"
    params.write_text(to_yaml(cfg))
    new = tmp_path / "new.csv"
    trained["df"].iloc[:12].to_csv(new, index=False)
    out = tmp_path / "scores.parquet"
    assert main(["predict", "--table", str(new), "--params", str(params), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "@champion" in printed and "12 scored, 0 rejected" in printed
    got = pd.read_parquet(out)
    direct = predict_table(new, cfg, load_models(trained["models"]), root=trained["root"])
    np.testing.assert_allclose(got["p_response"], direct.predictions["p_response"], atol=1e-12)


def _two_tables(root: Path, n: int = 220, seed: int = 9) -> tuple[Path, Path]:
    """NSCLC patients with two lines each (carboplatin + pemetrexed, then docetaxel)."""
    rng = np.random.default_rng(seed)
    ids = [f"P{i:04d}" for i in range(n)]
    pd.DataFrame({"pid": ids, "gender": rng.choice(["male", "female"], n), "dx": "NSCLC"}).to_csv(
        root / "patients.csv", index=False
    )
    rows = []
    for pid in ids:
        alb = rng.normal(3.8, 0.5)
        first = rng.choice(["PR", "SD", "PD"], p=[0.3, 0.4, 0.3])
        for line, reg, start, end in (
            (1, "carboplatin_pemetrexed", "2022-01-10", "2022-06-01"),
            (2, "docetaxel", "2022-07-01", "2022-11-01"),
        ):
            p = 1 / (1 + np.exp(-(-1.0 + 1.5 * (alb - 3.8) + (0.8 if first == "PR" else 0))))
            resp = first if line == 1 else rng.choice(["PR", "PD"], p=[p, 1 - p])
            rows.append(
                {
                    "pid": pid,
                    "line": line,
                    "regimen": reg,
                    "start": start,
                    "end": end,
                    "alb": round(alb - 0.2 * (line - 1), 1),
                    "recist": resp,
                }
            )
    pd.DataFrame(rows).to_csv(root / "lines.csv", index=False)
    return root / "patients.csv", root / "lines.csv"


def test_two_table_cohort_with_history_is_reproduced(tmp_path: Path) -> None:
    pats, lines = _two_tables(tmp_path)
    _, base = compose(
        ["endpoints=response", "model.calibration=sigmoid", "model.max_rounds=200"],
        conf_dir=ROOT / "conf",
    )
    inputs = dataclasses.replace(
        base.cohort.inputs,
        patients=TableInputConfig(
            path=str(pats), columns={"patient_id": "pid", "sex": "gender", "cancer_type": "dx"}
        ),
        lines=TableInputConfig(
            path=str(lines),
            columns={
                "patient_id": "pid",
                "line_number": "line",
                "regimen_id": "regimen",
                "start_date": "start",
                "end_date": "end",
                "albumin": "alb",
                "best_response": "recist",
            },
        ),
        vcf=dataclasses.replace(base.cohort.inputs.vcf, paths=[]),
        maf=dataclasses.replace(base.cohort.inputs.maf, paths=[]),
        samples=dataclasses.replace(base.cohort.inputs.samples, column=None),
        coverage=CoverageConfig(),  # a table cohort: no sequencing assay
    )
    cohort = dataclasses.replace(
        base.cohort,
        name="two_tables",
        synthetic=False,
        inputs=inputs,
        oncotree_codes=None,
        data_cutoff=None,
    )
    cfg = dataclasses.replace(base, cohort=cohort)
    tables = ingest_cohort(cfg, root=tmp_path)
    feats = build_features(
        tables.patients,
        tables.lines,
        tables.variants,
        cfg.features,
        cfg.catalog,
        panel=load_panel(cfg.features, tmp_path),
        endpoint_columns=[e.column for e in cfg.endpoints.values()],
    )
    second = feats[feats["line_number"] == 2]
    assert second["prior_best_response"].notna().all() and (second["prior_platinum"] == 1).all()
    res = train_all(cfg, feats, tables.lines)
    held = set(res.predictions["patient_key"])
    # the held-out patients' rows of both tables (a patient's line 1 gives line 2 its history)
    keyed = tables.lines[["patient_key", "source_line"]]
    raw_lines = pd.read_csv(lines)
    raw_lines["_key"] = (
        keyed.set_index("source_line").loc[np.arange(len(raw_lines)) + 2, "patient_key"].to_numpy()
    )
    new_lines = raw_lines[raw_lines["_key"].isin(held)].drop(columns="_key")
    new_pats = pd.read_csv(pats)[lambda d: d["pid"].isin(set(new_lines["pid"]))]
    new_lines.to_csv(tmp_path / "new_lines.csv", index=False)
    new_pats = new_pats.astype(object)
    new_pats.iloc[0, new_pats.columns.get_loc("gender")] = "x"  # one patient row rejected
    missing = new_pats["pid"].iloc[0]
    new_pats.to_csv(tmp_path / "new_patients.csv", index=False)
    models = res.models
    result = predict_table(
        tmp_path / "new_lines.csv",
        cfg,
        models,
        patients=tmp_path / "new_patients.csv",
        root=tmp_path,
    )
    out = result.predictions
    [why] = [w for w in result.warnings if "new_patients.csv line 2 rejected" in w]
    assert why.endswith("rejected: unreadable value: sex: 'x' is not one of M, F, Other, Unknown")
    assert len(out) == len(new_lines)
    bad = out[out["status"] == "rejected"]
    assert len(bad) == 2  # both lines of the patient without a patients row
    assert (
        bad["reason"]
        .str.match(
            r"^patient pk_[0-9a-f]{24} has no accepted row in the patients file "
            r".*new_patients\.csv$"
        )
        .all()
    )
    assert missing not in " ".join(bad["reason"])
    ok = out[out["status"] == "ok"].merge(
        res.predictions, on=["patient_key", "line_number"], validate="one_to_one"
    )
    assert len(ok) == len(res.predictions) - 2
    np.testing.assert_allclose(ok["p_response"], ok["response"], atol=1e-12)
    np.testing.assert_allclose(ok["p_response_high"], ok["response_high"], atol=1e-12)


def test_models_of_another_cohort_are_refused(trained: dict[str, Any], tmp_path: Path) -> None:
    import shutil

    from precision_onco.models.predict import models_from_dir

    d = tmp_path / "models"
    shutil.copytree(trained["models"], d)
    (d / "manifest.json").write_text('{"cohort": "chowell2022", "features": []}')
    with pytest.raises(
        ValueError, match=r"trained on cohort 'chowell2022', not 'predict_test'; train"
    ):
        models_from_dir(d, cohort="predict_test")
    assert list(models_from_dir(d, cohort="chowell2022")) == ["response"]
    with pytest.raises(ValueError, match=r"no trained model \(<endpoint>\.joblib\) in"):
        models_from_dir(tmp_path / "empty", cohort="x")


def test_synthetic_cohort_with_its_vcfs_is_reproduced(
    small_cohort, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two tables and one VCF per patient: `predict` with --patients and --variants gives the
    held-out probabilities of training, genomic features included."""
    from precision_onco.ingest.pseudonymize import pseudonymize, resolve_key

    root, cfg, tables, feats = small_cohort
    raw = root / "data" / "raw"
    pats = pd.read_csv(raw / "patients.csv")
    # the session's cohort was keyed by whichever key was set when it was built (the demo
    # key, or this module's): predict must use the same one
    first = tables.patients.set_index("source_line").loc[2, "patient_key"]
    if pseudonymize([str(pats["patient_id"].iloc[0])], KEY.encode())[0] != first:
        monkeypatch.delenv("PRECISION_ONCO_PSEUDONYM_KEY")
    key = resolve_key(cfg.cohort.pseudonymization, synthetic=True, project_root=root)
    assert pseudonymize([str(pats["patient_id"].iloc[0])], key)[0] == first
    res = train_all(cfg, feats, tables.lines)
    pats["_key"] = pseudonymize(pats["patient_id"].astype(str).tolist(), key)
    chosen = pats[pats["_key"].isin(set(res.predictions["patient_key"]))]
    ids = set(chosen["patient_id"])
    lines = pd.read_csv(raw / "therapy_lines.csv")
    lines[lines["patient_id"].isin(ids)].to_csv(tmp_path / "lines.csv", index=False)
    chosen.drop(columns="_key").to_csv(tmp_path / "patients.csv", index=False)
    vcfs = [str(raw / "vcf" / f"{s}.vcf.gz") for s in chosen["tumor_sample_id"]]
    vcfs.append(str(raw / "vcf" / f"{pats['tumor_sample_id'].iloc[0]}.vcf.gz"))  # no such row
    result = predict_table(
        tmp_path / "lines.csv",
        cfg,
        res.models,
        patients=tmp_path / "patients.csv",
        variants=vcfs,
        root=root,
    )
    out = result.predictions
    assert not any("model inputs are not in this table" in w for w in result.warnings)
    merged = out.merge(res.predictions, on=["patient_key", "line_number"], validate="one_to_one")
    assert len(merged) == len(res.predictions)
    assert (merged["status"] == "ok").all()
    np.testing.assert_allclose(merged["p_response"], merged["response"], atol=1e-12)
    # without the VCFs, the genomic inputs are named as missing
    bare = predict_table(
        tmp_path / "lines.csv", cfg, res.models, patients=tmp_path / "patients.csv", root=root
    )
    [gap] = [w for w in bare.warnings if "model inputs are not in this table" in w]
    assert "EGFR" in gap or "tmb" in gap


CHOWELL = ROOT.parent / "shared" / "data" / "cohorts" / "chowell2022_icb_training.csv"


@pytest.mark.skipif(not CHOWELL.is_file(), reason=f"real Chowell 2022 table not found: {CHOWELL}")
def test_chowell_table_is_scored_as_trained() -> None:
    """The real one-table cohort: every row scored, the held-out rows exactly as in training."""
    _, cfg = compose(["cohort=chowell2022", "split.cv_folds=0"], conf_dir=ROOT / "conf")
    tables = ingest_cohort(cfg, root=ROOT)
    feats = build_features(
        tables.patients,
        tables.lines,
        tables.variants,
        cfg.features,
        cfg.catalog,
        panel=load_panel(cfg.features, ROOT),
        endpoint_columns=[e.column for e in cfg.endpoints.values()],
    )
    res = train_all(cfg, feats, tables.lines)
    result = predict_table(CHOWELL, cfg, res.models, root=ROOT)
    out = result.predictions
    assert len(out) == 1184 and result.n_rejected == 0 and result.warnings == []
    held = out.merge(res.predictions, on=["patient_key", "line_number"], validate="one_to_one")
    assert len(held) == len(res.predictions) > 200
    np.testing.assert_allclose(held["p_response"], held["response"], atol=1e-12)
