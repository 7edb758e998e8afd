"""The leakage guard refuses outcome-like inputs, by name, alone or through the model."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from precision_onco.config.schema import FeaturesConfig
from precision_onco.models.leakage import (
    LeakageError,
    check_model,
    check_names,
    check_single,
    single_input_auc,
)


def _features(default_config, **kw) -> FeaturesConfig:
    cfg = copy.deepcopy(default_config.features)
    for k, v in kw.items():
        setattr(cfg, k, v)
    return cfg


@pytest.mark.parametrize(
    "col",
    [
        "OS_Months",
        "PFS_Event",
        "os",
        "date_of_death",
        "Overall_Survival",
        "RF16_prob",
        "progression_date",
        "best_response_2",
        "followup_months",
    ],
)
def test_outcome_like_names_are_refused(default_config, col: str) -> None:
    cfg = _features(default_config, extra=[col])
    with pytest.raises(LeakageError, match=rf"features.extra '{col}' is named like an outcome"):
        check_names(cfg)


@pytest.mark.parametrize("col", ["FCNA", "HED", "HLA_LOH", "MSI_SCORE", "cosmic_sig3", "tmb_log"])
def test_ordinary_names_pass(default_config, col: str) -> None:
    check_names(_features(default_config, extra=[col]))


def test_allow_and_disable_override_the_name_rule(default_config) -> None:
    cfg = _features(default_config, extra=["OS_Months"])
    cfg.leakage.allow = ["OS_Months"]
    check_names(cfg)
    cfg = _features(default_config, extra=["OS_Months"])
    cfg.leakage.enabled = False
    check_names(cfg)


def test_one_input_that_gives_the_outcome_away_is_refused(default_config) -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200).astype(float)
    frame = pd.DataFrame(
        {"lab_x": y * 10 + rng.normal(0, 0.1, 200), "albumin": rng.normal(3.5, 0.5, 200)}
    )
    cfg = _features(default_config)
    with pytest.raises(
        LeakageError,
        match=r"the input 'lab_x' alone predicts response almost "
        r"perfectly on the training rows \(AUC 1.000",
    ):
        check_single("response", frame, y, ["lab_x", "albumin"], cfg)
    cfg.leakage.allow = ["lab_x"]
    got = check_single("response", frame, y, ["lab_x", "albumin"], cfg)
    assert got["strongest_input"] == "lab_x"


def test_single_input_auc_is_folded_and_skips_thin_columns() -> None:
    y = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0], float)
    frame = pd.DataFrame({"down": -y, "thin": [np.nan] * 10 + [1.0, 0.0]})
    aucs = single_input_auc(frame, y, ["down", "thin", "absent"])
    assert aucs == {"down": 1.0}


def test_an_almost_perfect_model_is_refused(default_config) -> None:
    cfg = _features(default_config)
    with pytest.raises(LeakageError, match=r"reaches AUC 0.995 on held-out patients.*'PFS_x'"):
        check_model("response", 0.995, ["PFS_x"], cfg)
    check_model("response", 0.80, ["albumin"], cfg)
