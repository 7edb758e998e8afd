"""Per-drug dose guidance from gene calls and uracilemia.

Each drug of the definitions file has a gene (DPYD for fluorouracil and
capecitabine, UGT1A1 for irinotecan) and, for fluoropyrimidines, the French
uracilemia rule (INCa/HAS 2018). Every rule that applies is shown; the
strictest wins: *avoid* over any dose, then the lowest starting dose.

A DPYD call that is indeterminate still bounds the dose: its activity score
can only be lower than the one found, so the rule of that upper bound is a
ceiling ("at most"), and the answer says what to test. A patient with neither
genotype nor uracilemia gets "not tested" said, never a silent full dose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from precision_onco.errors import InputError
from precision_onco.pgx.call import GeneCall
from precision_onco.pgx.definitions import Definitions, DoseRule

__all__ = ["DrugGuidance", "RuleResult", "UracilResult", "drug_guidance", "interpret_uracil"]


@dataclass(frozen=True)
class UracilResult:
    """A plasma uracil concentration read against the French thresholds."""

    ng_ml: float | None
    deficiency: str | None
    phenotype: str
    rule: DoseRule | None
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "ng_ml": self.ng_ml,
            "measured": self.ng_ml is not None,
            "deficiency": self.deficiency,
            "phenotype": self.phenotype,
            "action": self.rule.action if self.rule else None,
            "source": self.source,
        }


def interpret_uracil(ng_ml: float | None, definitions: Definitions) -> UracilResult:
    """The uracilemia band of ``ng_ml`` (``None``: not measured).

    Raises
    ------
    ValueError
        When ``ng_ml`` is negative or not a number.
    """
    src = definitions.cite(definitions.uracil_source)
    if ng_ml is None:
        return UracilResult(None, None, "indeterminate", None, src)
    try:
        value = float(ng_ml)
    except (TypeError, ValueError):
        raise InputError(f"uracil_ng_ml must be a number of ng/mL, got {ng_ml!r}") from None
    if math.isnan(value):
        return UracilResult(None, None, "indeterminate", None, src)
    if value < 0:
        raise InputError(f"uracil_ng_ml must be >= 0 ng/mL, got {value:g}")
    band = [b for b in definitions.uracil_bands if value >= b.min][-1]
    return UracilResult(value, band.deficiency, band.phenotype, band.rule, src)


@dataclass(frozen=True)
class RuleResult:
    """One rule's answer for a drug (genotype or uracilemia)."""

    basis: str
    action: str
    starting_dose_percent: int | None
    avoid: bool
    source: str
    applies: bool
    ceiling: bool = False

    def strictness(self) -> tuple[int, int]:
        return (0 if self.avoid else 1, self.starting_dose_percent or 0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "basis": self.basis,
            "action": self.action,
            "starting_dose_percent": self.starting_dose_percent,
            "avoid": self.avoid,
            "applies": self.applies,
            "source": self.source,
        }


@dataclass(frozen=True)
class DrugGuidance:
    """The dose guidance for one drug."""

    drug: str
    action: str
    starting_dose_percent: int | None
    avoid: bool
    tested: bool
    source: str
    rules: tuple[RuleResult, ...]
    to_test: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "drug": self.drug,
            "action": self.action,
            "starting_dose_percent": self.starting_dose_percent,
            "avoid": self.avoid,
            "tested": self.tested,
            "source": self.source,
            "to_test": self.to_test,
            "rules": [r.as_dict() for r in self.rules],
        }


#: Said after the action of a rule taken at an activity score's upper bound (positions not
#: tested): the dose is a ceiling.
CEILING_NOTE = " (a ceiling: the positions not tested can only lower the activity score)"


def _from_rule(
    basis: str, rule: DoseRule, defs: Definitions, *, prefix: str = "", ceiling: bool = False
) -> RuleResult:
    action = rule.action
    if ceiling:
        action += CEILING_NOTE
    return RuleResult(
        basis=basis,
        action=f"{prefix}{action}",
        starting_dose_percent=rule.starting_dose_percent,
        avoid=rule.avoid,
        source=defs.cite(rule.source),
        applies=True,
        ceiling=ceiling,
    )


def _not_tested(basis: str, what: str, source: str) -> RuleResult:
    return RuleResult(
        basis=basis,
        action=what,
        starting_dose_percent=None,
        avoid=False,
        source=source,
        applies=False,
    )


def _dpyd_rule(call: GeneCall, defs: Definitions) -> RuleResult:
    src = defs.cite(defs.genes["DPYD"].source)
    # the alleles found, when the call names them; a result taken from the state without its
    # diplotype names none (its variants are unknown, not absent: say nothing of them)
    alleles = call.diplotype or "/".join(a.allele.name for a in call.alleles)
    if call.activity_score is not None:
        rule = defs.dpyd_rules[float(call.activity_score)]
        named = f" ({alleles})" if alleles else ""
        return _from_rule(f"DPYD activity score {call.activity_score:g}{named}", rule, defs)
    bound = call.activity_score_max
    if bound is not None and bound < 2:
        rule = defs.dpyd_rules[float(bound)]
        named = f"{alleles}; " if alleles else ""
        return _from_rule(
            f"DPYD activity score at most {bound:g} ({named}other positions not tested)",
            rule,
            defs,
            ceiling=True,
        )
    return _not_tested("DPYD genotype", f"DPYD not fully tested: {call.to_test}", src)


def _ugt_rule(call: GeneCall, defs: Definitions) -> RuleResult:
    src = defs.cite(defs.genes["UGT1A1"].source)
    if call.phenotype == "indeterminate":
        return _not_tested("UGT1A1 genotype", f"UGT1A1 not fully tested: {call.to_test}", src)
    rule = defs.ugt1a1_rules[call.phenotype]
    return _from_rule(f"UGT1A1 {call.diplotype} ({call.phenotype} metaboliser)", rule, defs)


def _uracil_rule(u: UracilResult, defs: Definitions) -> RuleResult:
    if u.rule is None:
        return _not_tested(
            "uracilemia",
            "uracilemia not measured (mandatory in France before any fluoropyrimidine)",
            u.source,
        )
    return _from_rule(f"uracilemia {u.ng_ml:g} ng/mL ({u.deficiency} DPD deficiency)", u.rule, defs)


def _summary(drug: str, rules: list[RuleResult]) -> tuple[str, RuleResult | None]:
    applied = [r for r in rules if r.applies]
    if not applied:
        return (
            "untested before a fluoropyrimidine: "
            if rules[0].basis.startswith("DPYD")
            else "untested: "
        ) + "; ".join(r.action for r in rules), None
    best = min(applied, key=lambda r: r.strictness())
    head = f"{best.basis}: {best.action}"
    others = [r for r in rules if r is not best]
    if others:
        head += (
            " (also shown: "
            + "; ".join(f"{r.basis}: {r.action}" if r.applies else r.action for r in others)
            + ")"
        )
    return head, best


def _tied_sources(best: RuleResult, rules: list[RuleResult]) -> str:
    """The winning rule's source, with those of rules exactly as strict."""
    tied = [r.source for r in rules if r.applies and r.strictness() == best.strictness()]
    return "; ".join(dict.fromkeys(s for src in tied for s in src.split("; ")))


def drug_guidance(
    drug: str, genes: dict[str, GeneCall], uracil: UracilResult, definitions: Definitions
) -> DrugGuidance:
    """The dose guidance for ``drug`` given gene calls and uracilemia.

    Parameters
    ----------
    drug : str
        A drug of the definitions file (``fluorouracil``, ``capecitabine``, ``irinotecan``).
    genes : dict
        Gene calls by symbol (:func:`~precision_onco.pgx.call.call_genes`).
    uracil : UracilResult
        :func:`interpret_uracil` of the patient's uracilemia (or of ``None``).
    definitions : Definitions

    Returns
    -------
    DrugGuidance
        Action, starting-dose percent (``None`` when to avoid or untested) and sources.
    """
    spec = definitions.drugs.get(drug)
    if spec is None:
        raise InputError(
            f"no pharmacogenomic rule for drug '{drug}'; known: {', '.join(definitions.drugs)}"
        )
    call = genes[spec["gene"]]
    rules = [
        _dpyd_rule(call, definitions) if spec["gene"] == "DPYD" else _ugt_rule(call, definitions)
    ]
    if spec.get("uracil"):
        rules.append(_uracil_rule(uracil, definitions))
    action, best = _summary(drug, rules)
    tested = best is not None
    to_test = call.to_test if call.phenotype == "indeterminate" else None
    sources = "; ".join(dict.fromkeys(r.source for r in rules if r.applies)) or "; ".join(
        dict.fromkeys(r.source for r in rules)
    )
    return DrugGuidance(
        drug=drug,
        action=action,
        starting_dose_percent=None if best is None or best.avoid else best.starting_dose_percent,
        avoid=bool(best and best.avoid),
        tested=tested,
        source=_tied_sources(best, rules) if best else sources,
        rules=tuple(rules),
        to_test=to_test,
    )
