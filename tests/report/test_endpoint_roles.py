"""The report layer finds the efficacy and any-severe-AE outcomes by role, not by name."""

from __future__ import annotations

from precision_onco.report.policy_card import policy_context


def _block(dr: float) -> dict[str, float]:
    return {"dr": dr, "dr_low": dr - 0.1, "dr_high": dr + 0.1}


def test_policy_section_reads_the_outcomes_of_the_roles_it_is_given() -> None:
    section = {
        "policies": {
            "practice": {"utility": _block(0.5), "orr": _block(0.3), "tox3": _block(0.2)},
        }
    }
    ctx = policy_context(section, "en", efficacy="orr", any_severe_ae="tox3")
    assert ctx is not None
    (row,) = ctx["rows"]
    assert row["efficacy"] == "0.300 [0.200, 0.400]"
    assert row["any_severe_ae"] == "0.200 [0.100, 0.300]"
    assert "Policy values on Response" in ctx["svg"]["efficacy"]
    # a cohort without an any-severe-AE endpoint: no column values, no figure
    ctx = policy_context(section, "en", efficacy="orr", any_severe_ae=None)
    assert ctx is not None
    assert ctx["rows"][0]["any_severe_ae"] == "—"
    assert ctx["svg"]["any_severe_ae"] == ""
