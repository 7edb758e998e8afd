"""The served app in process: MLflow's contract, limits, auth, Host allow-list, strict payloads.

The property test sends malformed payloads of more than 60 kinds (a field of every level
given a wrong type, NaN, an infinity, a huge number, a long, control-character or
lone-surrogate text, an unknown key, a raw identifier, ...): every one gets a 4xx whose
message starts with the field, none a 5xx, and the next valid request gets the same
answer as before.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from precision_onco.serve import ServeSettings, create_app

from .asgi import call, post
from .conftest import melanoma, nsclc

Payload = dict[str, Any]

NAN, INF = float("nan"), float("inf")


@pytest.fixture(scope="module")
def baseline(app: Any) -> str:
    status, doc = post(app, {"inputs": [nsclc()]})
    assert status == 200, doc
    return json.dumps(doc, sort_keys=True)


def test_ping_ready_and_the_mlflow_contract(app: Any, recommender: Any) -> None:
    assert call(app, "GET", "/ping") == (200, {"status": "alive"})
    status, ready = call(app, "GET", "/ready")
    assert status == 200 and ready["model"] == recommender.fingerprint()
    status, doc = post(app, {"inputs": [nsclc(), melanoma()]})
    assert status == 200
    assert doc["predictions"] == json.loads(
        json.dumps(
            [recommender.recommend_payload(nsclc()), recommender.recommend_payload(melanoma())]
        )
    )
    status, doc = post(app, {"instances": [melanoma()]})  # MLflow's other tensor key
    assert status == 200 and doc["predictions"][0]["status"] == "ranked"


@pytest.mark.parametrize(
    ("body", "status", "named"),
    [
        pytest.param(
            b"{" + b'"inputs": [' + b" " * 200_000 + b"]}",
            413,
            "max_body_bytes",
            id="body_too_large",
        ),
        pytest.param(
            {"inputs": [nsclc()] * 6},
            413,
            "at most 5 payloads per request (max_batch)",
            id="batch_too_large",
        ),
        pytest.param(b"[" * 10_000 + b"]" * 10_000, 400, "nested deeper than 16", id="deep_json"),
        pytest.param(b'{"inputs": [', 400, "invalid JSON at line 1", id="truncated_json"),
        pytest.param(b"\xff\xfe", 400, "not UTF-8", id="not_utf8"),
        pytest.param({"inputs": [nsclc()], "params": {}}, 400, "params: unknown key", id="params"),
        pytest.param({"inputs": []}, 400, "non-empty list", id="empty_batch"),
        pytest.param([nsclc()], 400, "expected a JSON object", id="bare_list"),
        pytest.param(
            {"inputs": [nsclc(), {**nsclc(), "line_number": NAN}]},
            400,
            "inputs[1]: line_number",
            id="nan_in_second",
        ),
    ],
)
def test_limits_and_invalid_json(app: Any, body: Any, status: int, named: str) -> None:
    got, doc = post(app, body)
    assert got == status, doc
    assert named in doc["message"], doc["message"]


def test_host_header_outside_the_allow_list_is_refused(app: Any) -> None:
    status, doc = call(app, "GET", "/ping", headers={"host": "attacker.example:5001"})
    assert status == 400 and "Host header not allowed" in doc["message"]


def test_api_key_is_required_when_configured(recommender: Any) -> None:
    secured = create_app(recommender, ServeSettings(api_keys=("s3cret-key-for-tests",)))
    assert post(secured, {"inputs": [nsclc()]})[0] == 401
    assert post(secured, {"inputs": [nsclc()]}, headers={"authorization": "Bearer nope"})[0] == 401
    ok = post(
        secured, {"inputs": [nsclc()]}, headers={"authorization": "Bearer s3cret-key-for-tests"}
    )
    assert ok[0] == 200
    assert (
        post(secured, {"inputs": [nsclc()]}, headers={"x-api-key": "s3cret-key-for-tests"})[0]
        == 200
    )
    assert call(secured, "GET", "/ping")[0] == 200  # liveness stays open for the supervisor


def test_errors_never_echo_an_identifier_or_the_payload(app: Any) -> None:
    raw = "PT0003936"
    for p in (
        _patient_set("patient_key", raw)(nsclc()),
        _patient_set("patient_id", raw)(nsclc()),
        _patient_set("stage", "x" * 5000)(nsclc()),
    ):
        status, doc = post(app, {"inputs": [p]})
        assert status == 400
        assert raw not in doc["message"] and "x" * 50 not in doc["message"]
        assert "pk_00000000000000000000a001" not in doc["message"]


# ---------------------------------------------------------------- malformed payloads


def _patient_set(key: str, value: Any) -> Callable[[Payload], Payload]:
    def f(p: Payload) -> Payload:
        p["patient"][key] = value
        return p

    return f


def _line_set(i: int, key: str, value: Any) -> Callable[[Payload], Payload]:
    def f(p: Payload) -> Payload:
        p["lines"][i][key] = value
        return p

    return f


def _variant_set(key: str, value: Any) -> Callable[[Payload], Payload]:
    def f(p: Payload) -> Payload:
        p["variants"][0][key] = value
        return p

    return f


def _top_set(key: str, value: Any) -> Callable[[Payload], Payload]:
    def f(p: Payload) -> Payload:
        p[key] = value
        return p

    return f


#: Bad values for any scalar field, each a strategy.
_BAD_SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "nan": st.just(NAN),
    "inf": st.sampled_from([INF, -INF]),
    "list": st.lists(st.integers(), max_size=3),
    "object": st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    "long_text": st.text(min_size=201, max_size=400).filter(lambda s: len(s.strip()) > 200),
    "lone_surrogate": st.sampled_from(["\ud800", "a\udfffb", "\udc00x"]),
    "control_chars": st.sampled_from(["a\x00b", "\x07", "x\x1by"]),
}
_NUMERIC_BAD: dict[str, st.SearchStrategy[Any]] = {
    "huge": st.integers(min_value=10**50, max_value=10**60),
    "bool": st.booleans(),
    "text": st.sampled_from(["abc", "3,4", "1e999x"]),
}

#: (path in the message, setter) of every checked scalar field of the payload.
_FIELDS: list[tuple[str, Callable[[Any], Callable[[Payload], Payload]], bool]] = [
    ("patient.sex", lambda v: _patient_set("sex", v), False),
    ("patient.ecog", lambda v: _patient_set("ecog", v), True),
    ("patient.birth_year", lambda v: _patient_set("birth_year", v), True),
    ("patient.stage", lambda v: _patient_set("stage", v), False),
    ("patient.alk_status", lambda v: _patient_set("alk_status", v), False),
    ("line_number", lambda v: _top_set("line_number", v), True),
    ("lines[0].regimen_id", lambda v: _line_set(0, "regimen_id", v), False),
    ("lines[0].best_response", lambda v: _line_set(0, "best_response", v), False),
    (
        "lines[0].ae_hematologic_max_grade",
        lambda v: _line_set(0, "ae_hematologic_max_grade", v),
        True,
    ),
    ("lines[1].albumin", lambda v: _line_set(1, "albumin", v), True),
    ("lines[1].pdl1_tps", lambda v: _line_set(1, "pdl1_tps", v), True),
    ("variants[0].vaf", lambda v: _variant_set("vaf", v), True),
    ("variants[0].depth", lambda v: _variant_set("depth", v), True),
    ("variants[0].hgvsp", lambda v: _variant_set("hgvsp", v), False),
]


def _kinds() -> list[
    tuple[str, str, Callable[[Any], Callable[[Payload], Payload]], st.SearchStrategy[Any]]
]:
    out = []
    for path, setter, numeric in _FIELDS:
        bad = {**_BAD_SCALARS, **(_NUMERIC_BAD if numeric else {})}
        if path in ("patient.stage", "variants[0].hgvsp", "lines[0].regimen_id"):
            bad.pop("list"), bad.pop("object")  # kept to one kind of wrong type below
        for name, strategy in bad.items():
            out.append((f"{path}={name}", path, setter, strategy))
    return out


_STRUCTURAL: list[tuple[str, str, Callable[[Payload], Any]]] = [
    ("unknown_top_key", "payload.params", _top_set("params", {"x": 1})),
    ("unknown_patient_key", "patient.ecgo", _patient_set("ecgo", 1)),
    ("unknown_line_key", "lines[1].albumine", _line_set(1, "albumine", 3.0)),
    (
        "unknown_ae_category",
        "lines[0].ae_cardiac_max_grade",
        _line_set(0, "ae_cardiac_max_grade", 2),
    ),
    ("unknown_variant_key", "variants[0].sample", _variant_set("sample", "T1")),
    ("raw_patient_id", "patient.patient_id", _patient_set("patient_id", "PT0003936")),
    ("raw_sample_id", "variants[0].tumor_sample_id", _variant_set("tumor_sample_id", "S-1")),
    ("raw_patient_key", "patient.patient_key", _patient_set("patient_key", "PT0003936")),
    ("long_patient_key", "patient.patient_key", _patient_set("patient_key", "pk_" + "a" * 5000)),
    ("unknown_regimen", "lines[0].regimen_id", _line_set(0, "regimen_id", "snake_oil")),
    ("case_regimen", "lines[0].regimen_id", _line_set(0, "regimen_id", "Carboplatin_Pemetrexed")),
    ("garbage_hgvsp", "variants[0].hgvsp", _variant_set("hgvsp", "garbage")),
    ("gene_with_space", "variants[0].gene", _variant_set("gene", "KRAS; DROP")),
    ("lines_object", "lines", _top_set("lines", {"line_number": 1})),
    ("variants_text", "variants", _top_set("variants", "KRAS")),
    ("patient_list", "patient", _top_set("patient", [1])),
    ("preset_object", "preset", _top_set("preset", {"name": "balanced"})),
    ("preset_long", "preset", _top_set("preset", "b" * 500)),
    ("too_many_lines", "lines", _top_set("lines", [{"line_number": 1}] * 31)),
]

KINDS = _kinds()


def test_there_are_at_least_60_kinds() -> None:
    assert len(KINDS) + len(_STRUCTURAL) >= 60, len(KINDS) + len(_STRUCTURAL)


def _assert_refused(app: Any, payload: Payload, path: str) -> None:
    status, doc = post(app, {"inputs": [payload]})
    assert 400 <= status < 500, (status, doc)
    assert doc["message"].split(":")[0] == path, doc["message"]


@pytest.mark.parametrize(
    ("path", "setter", "strategy"), [k[1:] for k in KINDS], ids=[k[0] for k in KINDS]
)
def test_a_malformed_field_gets_a_4xx_naming_it(
    app: Any, baseline: str, path: str, setter: Callable[[Any], Any], strategy: Any
) -> None:
    @settings(
        max_examples=3,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(value=strategy)
    def check(value: Any) -> None:
        _assert_refused(app, setter(value)(nsclc()), path)

    check()
    status, doc = post(app, {"inputs": [nsclc()]})
    assert status == 200 and json.dumps(doc, sort_keys=True) == baseline


@pytest.mark.parametrize(
    ("path", "mutate"), [s[1:] for s in _STRUCTURAL], ids=[s[0] for s in _STRUCTURAL]
)
def test_a_malformed_structure_gets_a_4xx_naming_it(
    app: Any, baseline: str, path: str, mutate: Callable[[Payload], Any]
) -> None:
    _assert_refused(app, mutate(copy.deepcopy(nsclc())), path)
    status, doc = post(app, {"inputs": [nsclc()]})
    assert status == 200 and json.dumps(doc, sort_keys=True) == baseline


def test_a_regimen_typo_gets_a_suggestion(app: Any) -> None:
    status, doc = post(
        app, {"inputs": [_line_set(0, "regimen_id", "Carboplatin_Pemetrexed")(nsclc())]}
    )
    assert status == 400
    assert doc["message"] == (
        "lines[0].regimen_id: unknown regimen 'Carboplatin_Pemetrexed' in "
        "the catalog; did you mean 'carboplatin_pemetrexed'?"
    )
