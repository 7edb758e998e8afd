"""Cases recommended together (``Recommender.recommend_many``, what the server does with the
requests that queue up) get exactly the answers each gets alone."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from precision_onco.recommend import service
from precision_onco.recommend.examples import EXAMPLES, example_payload
from precision_onco.recommend.patient import PatientCase
from precision_onco.recommend.service import Recommender

from .cases import case_from_tables

_CLOCK = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z)?")


def _alone(rec: Recommender, cases: list[PatientCase]) -> list[str]:
    return [json.dumps(rec.recommend(c).to_dict(), sort_keys=True) for c in cases]


def _together(rec: Recommender, cases: list[PatientCase], *, most: int | None = None) -> list[str]:
    """The answers of ``cases`` taken together; with ``most``, also that the features were
    built at most that many times (the cases were computed in groups, not one by one)."""
    calls = []
    real = service.build_features

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(len(args[0]))
        return real(*args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(service, "build_features", counted)
        out = [json.dumps(r.to_dict(), sort_keys=True) for r in rec.recommend_many(cases)]
    if most is not None:
        assert len(calls) <= most, f"{len(calls)} feature builds for {len(cases)} cases"
    return out


def _payload_cases(rec: Recommender) -> list[PatientCase]:
    """The examples and variants of them: other presets and lines, two cases of one
    patient key, cases with no key, a cancer type outside the catalog, no eligible
    regimen, no variants, FHIR-style extra markers."""
    out = []
    for name in EXAMPLES:
        out.append(rec.parse(example_payload(name))[0])
    base = example_payload("nsclc_kras_g12c")
    for preset in sorted(rec.presets):
        p = copy.deepcopy(base)
        p["preset"] = preset
        out.append(rec.parse(p)[0])
    same_key = copy.deepcopy(base)
    same_key["lines"][1]["pdl1_tps"] = 5  # same patient key, another state
    out.append(rec.parse(same_key)[0])
    for name in EXAMPLES:
        anonymous = example_payload(name)
        del anonymous["patient"]["patient_key"]
        out.append(rec.parse(anonymous)[0])
    outside = copy.deepcopy(base)
    outside["patient"]["cancer_type"] = "GBM"
    outside["patient"].pop("oncotree_code")
    out.append(rec.parse(outside)[0])
    # every NSCLC regimen already given: nothing eligible at the next line
    given = [r.id for r in rec.catalog.regimens if "NSCLC" in r.cancer_types]
    late = copy.deepcopy(base)
    late["line_number"] = len(given) + 1
    late["lines"] = [{"line_number": i + 1, "regimen_id": r} for i, r in enumerate(given)]
    late["lines"].append({"line_number": len(given) + 1, "albumin": 3.4})
    out.append(rec.parse(late)[0])
    bare = example_payload("melanoma_braf_v600e")
    bare["variants"] = []
    bare.pop("genes_tested")
    out.append(rec.parse(bare)[0])
    third = copy.deepcopy(base)
    third["line_number"] = 3
    third["lines"][1] = {"line_number": 2, "regimen_id": "pembrolizumab_nsclc"}
    third["lines"].append({"line_number": 3, "albumin": 2.9})
    out.append(rec.parse(third)[0])
    return out


def test_payload_cases_together_equal_alone(small_recommender: Any) -> None:
    rec: Recommender = small_recommender[2]
    cases = _payload_cases(rec)
    alone = _alone(rec, cases)
    statuses = {json.loads(a)["status"] for a in alone}
    assert statuses == {"ranked", "no_eligible_regimen", "cancer_type_not_in_catalog"}
    assert _together(rec, cases) == alone
    assert _together(rec, cases[::-1]) == alone[::-1]  # order does not matter


def test_cohort_patients_together_equal_alone(small_cohort: Any, small_recommender: Any) -> None:
    _, _, tables, _ = small_cohort
    rec: Recommender = small_recommender[2]
    pick = tables.lines[["patient_key", "line_number"]].sample(60, random_state=5)
    cases = [
        case_from_tables(tables, str(pk), int(line))
        for pk, line in zip(pick["patient_key"], pick["line_number"], strict=True)
    ]
    alone = _alone(rec, cases)
    assert sum(json.loads(a)["status"] == "ranked" for a in alone) >= 40
    assert _together(rec, cases, most=len(cases) // 2) == alone
    # mixed with the payload cases, one preset or another
    mixed = cases[:20] + _payload_cases(rec)
    assert _together(rec, mixed) == _alone(rec, mixed)


def test_real_shaped_cohort_together_equals_alone(real_shaped: Any) -> None:
    """The Chowell-shaped cohort (one immunotherapy line, its own catalog): answers of many
    patients taken together are their answers alone."""
    tables, _, rec = real_shaped
    pick = tables.lines[["patient_key", "line_number"]].sample(40, random_state=2)
    cases = [
        case_from_tables(tables, str(pk), int(line))
        for pk, line in zip(pick["patient_key"], pick["line_number"], strict=True)
    ]
    alone = _alone(rec, cases)
    assert sum(json.loads(a)["status"] == "ranked" for a in alone) >= 25
    assert _together(rec, cases, most=len(cases) // 2) == alone


def test_payloads_together_equal_one_by_one(small_recommender: Any) -> None:
    """The served entry points: parsed payloads answered together (JSON and FHIR formats)
    equal ``recommend_payload`` of each."""
    rec: Recommender = small_recommender[2]
    payloads = [example_payload(n) for n in EXAMPLES]
    fhir = example_payload("nsclc_kras_g12c")
    fhir["format"] = "fhir"
    payloads.append(fhir)
    one_by_one = [rec.recommend_payload(p) for p in payloads]
    together = rec.recommend_payloads([rec.parse(p) for p in payloads])

    def text(answers: list[dict[str, Any]]) -> str:  # the bundles' clock times set apart
        return _CLOCK.sub("<time>", json.dumps(answers, sort_keys=True, default=str))

    assert text(together) == text(one_by_one)
    assert together[-1]["resourceType"] == "Bundle"


def test_payloads_of_one_shape_are_computed_at_once(small_recommender: Any) -> None:
    """Payloads with the same fields (one connector's, one client's) are computed in one
    pass, whatever their values and keys."""
    rec: Recommender = small_recommender[2]
    cases = []
    for i in range(24):
        p = example_payload("nsclc_kras_g12c")
        p["patient"]["patient_key"] = f"pk_{i:024x}"
        p["patient"]["ecog"] = i % 3
        p["lines"][1].update(albumin=2.5 + i / 10, pdl1_tps=(i * 7) % 100)
        p["variants"][0]["vaf"] = 0.05 + i / 50
        cases.append(rec.parse(p)[0])
    alone = _alone(rec, cases)
    assert len(set(alone)) == len(cases)
    assert _together(rec, cases, most=1) == alone


def test_an_unknown_preset_is_refused_when_parsed(small_recommender: Any) -> None:
    from precision_onco.recommend.patient import PayloadError

    rec: Recommender = small_recommender[2]
    p = example_payload("nsclc_kras_g12c")
    p["preset"] = "no_such_preset"
    with pytest.raises(PayloadError, match="preset: unknown preset 'no_such_preset'"):
        rec.parse(p)
