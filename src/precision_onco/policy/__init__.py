"""Does following the recommendations help? Off-policy evaluation of treatment policies."""

from precision_onco.policy.ope import (
    Estimate,
    dr_value,
    ipw_value,
    normalized_regret,
    overlap,
    with_ci,
)

__all__ = ["Estimate", "dr_value", "ipw_value", "normalized_regret", "overlap", "with_ci"]
