"""Typed, indexed view of the catalog configuration."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from precision_onco.config.schema import BiomarkerConfig, CatalogConfig, RegimenConfig
from precision_onco.errors import InputError

__all__ = ["PLATINUM_DRUGS", "Catalog"]

#: Drugs whose toxicity rises with poor renal function.
PLATINUM_DRUGS = frozenset({"carboplatin", "cisplatin", "oxaliplatin"})


@dataclass(frozen=True)
class Catalog:
    """Regimens and biomarkers of a :class:`CatalogConfig`, in a fixed order.

    Parameters
    ----------
    config : CatalogConfig
        The validated ``catalog`` config group.
    """

    config: CatalogConfig
    _index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {r.id: i for i, r in enumerate(self.config.regimens)})

    # ----------------------------------------------------------------- lookups
    @property
    def regimens(self) -> list[RegimenConfig]:
        return list(self.config.regimens)

    @property
    def regimen_ids(self) -> list[str]:
        return [r.id for r in self.config.regimens]

    @property
    def biomarkers(self) -> dict[str, BiomarkerConfig]:
        return dict(self.config.biomarkers)

    @property
    def toxicity_categories(self) -> list[str]:
        return list(self.config.toxicity_categories)

    @property
    def cancer_types(self) -> list[str]:
        seen: dict[str, None] = {}
        for r in self.config.regimens:
            for c in r.cancer_types:
                seen.setdefault(c, None)
        return list(seen)

    def index(self, regimen_id: str) -> int:
        """Position of ``regimen_id`` in :attr:`regimen_ids`."""
        try:
            return self._index[regimen_id]
        except KeyError:
            raise InputError(
                f"unknown regimen_id '{regimen_id}'; the catalog has {self.regimen_ids}"
            ) from None

    def regimen(self, regimen_id: str) -> RegimenConfig:
        return self.config.regimens[self.index(regimen_id)]

    # ------------------------------------------------------------- properties
    @staticmethod
    def drug_classes(regimen: RegimenConfig) -> list[str]:
        """The drug classes in a regimen (its components' classes for a combination)."""
        return list(regimen.component_classes) or [regimen.regimen_class]

    def has_class(self, drug_class: str) -> np.ndarray:
        """Boolean vector over regimens: does the regimen contain ``drug_class``?"""
        return np.array([drug_class in self.drug_classes(r) for r in self.config.regimens])

    def has_platinum(self) -> np.ndarray:
        """Boolean vector over regimens: does the regimen contain a platinum drug?"""
        return np.array([bool(PLATINUM_DRUGS & set(r.drugs)) for r in self.config.regimens])

    def has_drug(self, drug: str) -> np.ndarray:
        return np.array([drug in r.drugs for r in self.config.regimens])

    def published(self, what: str) -> np.ndarray:
        """Published ``orr`` or ``grade3_rate`` of every regimen."""
        if what not in ("orr", "grade3_rate"):
            raise ValueError(f"what must be 'orr' or 'grade3_rate', got {what!r}")
        return np.array([getattr(r.evidence, what) for r in self.config.regimens], dtype=float)
