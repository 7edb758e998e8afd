"""The roles of the configured endpoints (``conf/endpoints/*.yaml``), read in one place.

Library functions take the endpoints they need as keyword arguments; stages and benches
fill them from :func:`endpoint_roles` of the composed configuration, so that which
endpoint is the efficacy endpoint, which is "any grade >= 3 adverse event", which are
explained and which the pharmacogenomic evaluation reports is written once, in ``conf/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from precision_onco.config.schema import EndpointConfig
from precision_onco.errors import ConfigError

__all__ = ["EndpointRoles", "endpoint_roles"]


@dataclass(frozen=True)
class EndpointRoles:
    """Endpoint names by use, in the order of ``conf/endpoints``.

    ``efficacy`` / ``any_severe_ae``: the endpoint with that ``role`` (None when the
    configuration has none, e.g. a response-only cohort has no ``any_severe_ae``);
    ``explained``: those with ``explain: true``; ``pgx_dose``: those with ``pgx_dose: true``.
    """

    efficacy: str | None
    any_severe_ae: str | None
    explained: tuple[str, ...]
    pgx_dose: tuple[str, ...]

    @property
    def headline(self) -> tuple[str, ...]:
        """The efficacy then the any-severe-AE endpoint, those configured: the outcomes the
        policy study and the reports show besides the utility."""
        return tuple(e for e in (self.efficacy, self.any_severe_ae) if e is not None)


def endpoint_roles(endpoints: Mapping[str, EndpointConfig]) -> EndpointRoles:
    """The :class:`EndpointRoles` of a configuration's ``endpoints`` group.

    Raises
    ------
    ConfigError
        When two endpoints claim the same role (naming both).
    """
    by_role: dict[str, str] = {}
    for name, ep in endpoints.items():
        if ep.role == "other":
            continue
        if ep.role in by_role:
            raise ConfigError(
                f"config key 'endpoints.{name}.role': '{ep.role}' is already the role of "
                f"endpoints.{by_role[ep.role]} (one endpoint per role)"
            )
        by_role[ep.role] = name
    return EndpointRoles(
        efficacy=by_role.get("efficacy"),
        any_severe_ae=by_role.get("any_severe_ae"),
        explained=tuple(n for n, ep in endpoints.items() if ep.explain),
        pgx_dose=tuple(n for n, ep in endpoints.items() if ep.pgx_dose),
    )
