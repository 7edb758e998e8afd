"""The report functions' default endpoint roles are those of the default configuration."""

from __future__ import annotations

from pathlib import Path

from precision_onco.config import (
    DEFAULT_ANY_SEVERE_AE,
    DEFAULT_EFFICACY,
    compose,
    endpoint_roles,
)

CONF = Path(__file__).resolve().parents[2] / "conf"


def test_default_roles_are_those_of_the_default_endpoints() -> None:
    _, cfg = compose([], conf_dir=CONF)
    roles = endpoint_roles(cfg.endpoints)
    assert (roles.efficacy, roles.any_severe_ae) == (DEFAULT_EFFICACY, DEFAULT_ANY_SEVERE_AE)
