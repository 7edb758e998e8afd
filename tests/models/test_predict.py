"""`predict`: new patients scored by a cohort's trained models, one output row per input row."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest

from precision_onco.cli import main
from precision_onco.config import Config, compose, to_yaml
from precision_onco.config.schema import TableInputConfig
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
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
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
