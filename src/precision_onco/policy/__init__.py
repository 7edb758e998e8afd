"""Does following the recommendations help? Off-policy evaluation of treatment policies.

:mod:`~precision_onco.policy.ope` holds the estimators,
:mod:`~precision_onco.models.propensity` the propensity of practice (in ``models``:
propensity-weighted training uses it too), :mod:`~precision_onco.policy.policies` the policies,
:mod:`~precision_onco.policy.evaluate` the evaluation of many policies on one cohort and
:mod:`~precision_onco.policy.study` the study the `policy` stage runs.
"""

from precision_onco.policy.ope import (
    Estimate,
    bootstrap_rows,
    dr_value,
    ipw_value,
    normalized_regret,
    overlap,
    policy_dr,
    policy_ipw,
    with_ci,
)

__all__ = [
    "Estimate",
    "bootstrap_rows",
    "dr_value",
    "ipw_value",
    "normalized_regret",
    "overlap",
    "policy_dr",
    "policy_ipw",
    "with_ci",
]
