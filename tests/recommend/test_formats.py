"""The served answer's formats name the recommender's own endpoints (the roles of the
configuration it was built from), not names written anywhere else."""

from __future__ import annotations

import base64
import copy
import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from precision_onco.recommend.examples import example_payload
from precision_onco.recommend.service import Recommender, recommender_from
from precision_onco.report.fhir_out import validate_bundle

ROOT = Path(__file__).resolve().parents[2]
#: The small recommender's endpoints under other names, their roles declared in config.
RENAMED = {"response": "orr", "ae_grade3": "tox3"}
#: The report's time of generation.
_GENERATED = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")


@pytest.fixture(scope="module")
def renamed(small_recommender: Any) -> Recommender:
    """The small recommender's models, configuration and presets, endpoints renamed."""
    cfg, res, _ = small_recommender
    other = copy.deepcopy(cfg)
    other.endpoints = {RENAMED[ep]: spec for ep, spec in cfg.endpoints.items()}
    other.recommend.weights = {RENAMED.get(k, k): w for k, w in cfg.recommend.weights.items()}
    models = {
        RENAMED[ep]: dataclasses.replace(m, endpoint=RENAMED[ep]) for ep, m in res.models.items()
    }
    return recommender_from(models, other, root=ROOT, provenance={"components": {}})


def _implications(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]
        .get("meta", {})
        .get("profile", [""])[0]
        .endswith("/therapeutic-implication")
    ]


def _codes(obs: dict[str, Any]) -> set[str]:
    return {c["code"]["coding"][0]["code"] for c in obs["component"]}


def _html(bundle: dict[str, Any]) -> str:
    """The bundle's HTML report (its Binary), the time of generation set apart."""
    (binary,) = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Binary"
    ]
    assert binary["contentType"] == "text/html"
    html = base64.b64decode(binary["data"]).decode("utf-8")
    return _GENERATED.sub("<generated>", html)


def test_a_served_fhir_answer_names_the_endpoints_of_its_configuration(
    small_recommender: Any, renamed: Recommender
) -> None:
    """A recommender of endpoints ``orr`` (role efficacy) and ``tox3`` (role any_severe_ae)
    answers in FHIR with the probabilities of those endpoints, as the default-named one does
    with ``response`` and ``ae_grade3``: same texts, same report."""
    rec: Recommender = small_recommender[2]
    assert (renamed.roles.efficacy, renamed.roles.any_severe_ae) == ("orr", "tox3")
    payload = {**example_payload("nsclc_kras_g12c"), "format": "fhir"}
    mine, default = renamed.recommend_payload(payload), rec.recommend_payload(payload)
    validate_bundle(mine)
    ours, theirs = _implications(mine), _implications(default)
    assert ours and len(ours) == len(theirs)
    for o, t in zip(ours, theirs, strict=True):
        assert {"p-orr", "p-tox3"} <= _codes(o)
        assert not {"p-response", "p-ae-grade3"} & _codes(o)
        assert o["note"] == t["note"]  # the probabilities of the endpoints of those roles
        assert "%" in o["note"][0]["text"]
    assert _html(mine) == _html(default)


def test_format_answer_passes_the_recommenders_roles(renamed: Recommender) -> None:
    """Another recommender's roles, another answer: the roles come from the recommender."""
    payload = {**example_payload("nsclc_kras_g12c"), "format": "fhir"}
    no_ae = dataclasses.replace(
        renamed, roles=dataclasses.replace(renamed.roles, any_severe_ae=None)
    )
    codes = set().union(*map(_codes, _implications(no_ae.recommend_payload(payload))))
    assert "p-orr" in codes and "p-tox3" not in codes
