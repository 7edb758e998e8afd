"""One patient at a therapy line, as a checked payload: what the CLI builds and the server takes.

A payload is a JSON object::

    {"patient": {"patient_key": "pk_…", "sex": "F", "cancer_type": "NSCLC",
                 "oncotree_code": "LUAD", "stage": "IV", "ecog": 1, "alk_status": "negative"},
     "line_number": 2,
     "lines": [{"line_number": 1, "regimen_id": "carboplatin_pemetrexed", "best_response": "PR",
                "ae_hematologic_max_grade": 3},
               {"line_number": 2, "albumin": 3.4, "creatinine_clearance": 72, "pdl1_tps": 60}],
     "variants": [{"gene": "KRAS", "hgvsp": "p.G12C", "vaf": 0.31, "depth": 210}],
     "genes_tested": ["ALK", "BRAF", "EGFR", "KRAS", "MET", "NRAS", "RET", "ROS1"],
     "preset": "balanced"}

``genes_tested`` lists the genes the tumour's assay covered (with the genes that have a
call): a rule that needs a gene's absence (RAS wild type, no EGFR driver) holds only for
genes in it; otherwise the regimen is excluded as "needs … testing".

``lines`` holds the earlier lines and, optionally, the current line's state
(labs and markers at its start; its regimen and outcomes are ignored).
Every field is checked against the same canonical fields as the cohort's
tables (types, physiological ranges, RECIST and CTCAE codes); a problem raises
:class:`PayloadError` naming the field (``lines[1].albumin``) and what was
expected. Raw identifiers are refused: a payload carries a pseudonymous
``patient_key`` at most (``pk_`` and 24 hexadecimal digits, what
:func:`~precision_onco.ingest.pseudonymize.pseudonymize` writes).

The checks are strict, because the server takes payloads from anyone who can reach
it: unknown keys are refused at every level, numbers must be finite (no NaN or
infinity), regimen ids must be the catalog's (with the closest id suggested), a
protein change must be HGVSp (``p.G12C``, ``p.Gly12Cys``, ``p.E746_A750del``, …),
text is bounded and must be valid Unicode. An error message names the field and
the rule; it shows a short value back only when the field cannot hold an
identifier, never the payload, a key or a long text.

A recommender trained with ``features.extra`` (a cohort's own numeric columns, e.g.
``FCNA`` or ``TMB`` in the Chowell table) takes those columns as model inputs too. Each
is a number in ``patient`` or in the current line's entry (the line's value wins), and
each must be sent, as ``null`` when unknown: a payload that leaves one out is refused
(``patient.FCNA: missing; …``) rather than scored as if the value were unknown by chance.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from precision_onco.catalog.biomarkers import AMINO_ACIDS
from precision_onco.errors import InputError
from precision_onco.ingest.pseudonymize import KEY_PREFIX
from precision_onco.ingest.tables import LINE_FIELDS, PATIENT_FIELDS, Field

__all__ = [
    "MAX_LINES",
    "MAX_TEXT",
    "MAX_VARIANTS",
    "PATIENT_KEY_PATTERN",
    "PATIENT_PAYLOAD_FIELDS",
    "PatientCase",
    "PayloadError",
    "is_hgvsp",
    "parse_payload",
]

#: A pseudonymous key as ingest writes it: ``pk_`` + 24 lowercase hexadecimal digits.
PATIENT_KEY_PATTERN = re.compile(rf"^{KEY_PREFIX}[0-9a-f]{{24}}$")
#: Longest text accepted in any field (characters).
MAX_TEXT = 200
#: Most therapy lines and variant records in one payload.
MAX_LINES = 30
MAX_VARIANTS = 20_000
#: Values shown back in a message are at most this long (and never for identifier fields).
_SHOW = 40
_GENE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,39}$")
_PRESET = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_AA = "(?:" + "|".join(map(re.escape, [*AMINO_ACIDS, *"ACDEFGHIKLMNPQRSTVWYUX*"])) + ")"
_POS = rf"{_AA}\d+"
_TAIL = (
    rf"(?:=|\?|del|dup|(?:delins|ins)(?:{_AA}+|\d+)|{_AA}+(?:fs{_AA}?(?:\d+|\?)?)?"
    rf"|fs{_AA}?(?:\d+|\?)?|{_AA}?ext{_AA}?-?(?:\d+|\?)?)"
)
_BODY = rf"(?:=|\?|0\??|{_POS}(?:_{_POS})?{_TAIL})"
_HGVSP = re.compile(rf"^(?:[A-Za-z0-9_.-]{{1,40}}:)?(?:p\.)?(?:{_BODY}|\({_BODY}\))$")
#: The looser protein notation of older MAFs (Oncotator: ``p.KIM2014fs``, ``p.317_318insM``,
#: ``p.310_311TQ>TKQNPQ``): ``p.``, then amino acids, positions and HGVS operators only.
_LEGACY_HGVSP = re.compile(r"^p\.(?=[^0-9]*[0-9])[A-Za-z0-9_*>=?()-]{2,60}$")

#: Patient fields beyond the tables' checked ones: markers the catalog's biomarkers read.
_MARKERS: dict[str, Field] = {
    "hr_status": Field("code", codes=("positive", "negative")),
    "her2_status": Field("code", codes=("positive", "negative")),
    "alk_status": Field("code", codes=("rearranged", "negative")),
    "germline_brca": Field("code", codes=("pathogenic", "negative")),
    "patient_key": Field("str"),
}
#: Coverage is a top-level list in a payload (``genes_tested``), not a patient text field.
_COVERAGE_FIELDS = ("patient_id", "genes_tested", "assay_panel")
PATIENT_PAYLOAD_FIELDS = {
    k: v for k, v in PATIENT_FIELDS.items() if k not in _COVERAGE_FIELDS
} | _MARKERS
_GRADE = Field("int", 0, 5)
#: A ``features.extra`` model input: any finite number (its range is the cohort's own).
_NUMBER = Field("float")
_VARIANT: dict[str, Field] = {
    "gene": Field("str"),
    "hgvsp": Field("str"),
    "consequence": Field("str"),
    "vaf": Field("float", 0, 1),
    "depth": Field("int", 0, 10**7),
    "chrom": Field("str"),
    "pos": Field("int", 1, 3 * 10**9),
    "ref": Field("str"),
    "alt": Field("str"),
    "filter": Field("str"),
}
#: The variant fields kept as text (``string``) in the variants table.
_VARIANT_TEXT = ("gene", "hgvsp", "consequence", "filter", "chrom", "ref", "alt")
_TOP = ("patient", "line_number", "lines", "variants", "genes_tested", "preset")
_IDENTIFIERS = ("patient_id", "name", "mrn", "tumor_sample_id", "normal_sample_id", "sample_id")
#: Fields of the current line that describe what happened on it (never inputs).
_OUTCOMES = (
    "regimen_id",
    "end_date",
    "best_response",
    "objective_response",
    "discontinued_for_toxicity",
)


class PayloadError(InputError):
    """A payload field is missing, unknown or out of range; the message names it."""


def _show(value: Any) -> str:
    """``value`` as a message may show it: short scalars as they are, else only their kind."""
    if value is None:
        return "null"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**_SHOW:
        return "a number of more than 40 digits"
    if isinstance(value, bool | int | float):
        return repr(value)
    if isinstance(value, str):
        if len(value) > _SHOW:
            return f"a text of {len(value)} characters"
        if not _valid_unicode(value) or not value.isprintable():
            return "a text with invalid or control characters"
        return repr(value)
    return type(value).__name__


def _valid_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (JSON "\ud800")
        return False
    return True


def _text(where: str, value: str) -> str:
    """``value`` stripped, or :class:`PayloadError` when too long or not valid Unicode."""
    if len(value) > MAX_TEXT:
        raise PayloadError(f"{where}: text longer than {MAX_TEXT} characters ({len(value)})")
    if not _valid_unicode(value) or any(not c.isprintable() for c in value):
        raise PayloadError(
            f"{where}: text must be printable Unicode (no lone surrogates or control characters)"
        )
    return value.strip()


def _check(where: str, f: Field, value: Any) -> Any:
    """``value`` as the field's type, or :class:`PayloadError` naming ``where``."""
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        raise PayloadError(
            f"{where}: expected {f.expectation()}, got {value!r} (numbers must "
            "be finite; leave a missing value out or send null)"
        )
    if isinstance(value, str):
        value = _text(where, value)
    bad = PayloadError(f"{where}: expected {f.expectation()}, got {_show(value)}")
    if f.kind in ("int", "float"):
        if isinstance(value, bool):
            raise bad
        try:
            num = float(value)
        except (TypeError, ValueError, OverflowError):
            raise bad from None
        if not math.isfinite(num) or (f.kind == "int" and not num.is_integer()):
            raise bad
        if (f.lo is not None and num < f.lo) or (f.hi is not None and num > f.hi):
            raise bad
        return int(num) if f.kind == "int" else num
    if f.kind == "bool":
        key = str(value).strip().lower()
        if value is True or key in ("1", "1.0", "true", "yes", "y"):
            return 1
        if value is False or key in ("0", "0.0", "false", "no", "n"):
            return 0
        raise bad
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise bad
    text = str(value).strip()
    if f.kind == "code":
        lookup = {c.lower(): c for c in f.codes} | {k.lower(): v for k, v in f.aliases.items()}
        if text.lower() not in lookup:
            raise bad
        return lookup[text.lower()]
    if f.kind == "date":
        try:
            if len(text) > 10 and text[10] not in "T ":
                raise ValueError(text)
            return date.fromisoformat(text[:10])
        except ValueError:
            raise PayloadError(
                f"{where}: expected a date (YYYY-MM-DD), got {_show(value)}"
            ) from None
    return text


def _record(
    where: str,
    obj: Any,
    fields: Mapping[str, Field],
    *,
    extra: Mapping[str, Field] | None = None,
    inputs: Sequence[str] = (),
) -> dict[str, Any]:
    """``obj`` checked against ``fields`` (and ``extra``); ``inputs``: the recommender's
    ``features.extra`` model inputs, named in the message for an unknown field."""
    if not isinstance(obj, Mapping):
        raise PayloadError(f"{where}: expected an object, got {type(obj).__name__}")
    out: dict[str, Any] = {}
    for k, v in obj.items():
        key = str(k)
        if key in _IDENTIFIERS:
            raise PayloadError(
                f"{where}.{key}: raw identifiers are not accepted; send a pseudonymous patient_key"
            )
        spec = fields.get(key) or (extra or {}).get(key)
        if spec is None:
            allowed = ", ".join(sorted(fields))
            more = f"; or this recommender's model inputs: {', '.join(inputs)}" if inputs else ""
            name = key if _GENE.match(key) and len(key) <= _SHOW else "(a field)"
            raise PayloadError(f"{where}.{name}: unknown field (expected one of: {allowed}{more})")
        out[key] = _check(f"{where}.{key}", spec, v)
    return out


def _patient_key(value: Any) -> None:
    """Refuse a ``patient_key`` that is not a pseudonym (a raw id, a name, …); never shown."""
    if value is not None and not (isinstance(value, str) and PATIENT_KEY_PATTERN.match(value)):
        raise PayloadError(
            f"patient.patient_key: expected a pseudonymous key ({KEY_PREFIX} and "
            "24 lowercase hexadecimal digits, as ingest and `precision-onco "
            "recommend` write it); raw or made-up identifiers are refused"
        )


def _regimen(where: str, value: str, regimen_ids: Sequence[str]) -> None:
    """Refuse a regimen id outside the catalog, suggesting the closest catalog id."""
    if value in regimen_ids:
        return
    lowered = {r.lower(): r for r in regimen_ids}
    guess = difflib.get_close_matches(value.lower()[:_SHOW], list(lowered), n=1, cutoff=0.6)
    hint = (
        f"; did you mean {lowered[guess[0]]!r}?"
        if guess
        else f" (the catalog's regimens: {', '.join(sorted(regimen_ids))})"
    )
    raise PayloadError(f"{where}: unknown regimen {_show(value)} in the catalog{hint}")


def is_hgvsp(text: str) -> bool:
    """Whether ``text`` is a protein change in HGVS syntax (one- or three-letter amino acids,
    optionally with ``p.`` and a transcript or protein id): ``p.G12C``, ``p.Gly12Cys``,
    ``ENSP00000256078:p.Gly12Cys``, ``p.E746_A750del``, ``p.K1316Efs*12``, ``p.A100=``, or
    the looser notation of older MAFs (``p.KIM2014fs``, ``p.317_318insM``)."""
    text = text.replace("%3D", "=")
    return _HGVSP.match(text) is not None or _LEGACY_HGVSP.match(text) is not None


@dataclass
class PatientCase:
    """One patient, their lines up to ``line_number`` and the tumour's variants, checked."""

    patient: dict[str, Any]
    line_number: int
    lines: list[dict[str, Any]] = field(default_factory=list)
    variants: list[dict[str, Any]] = field(default_factory=list)
    preset: str | None = None
    #: Genes the tumour's assay covered (``None``: not given); genes with a passing call
    #: count as covered too. A gene outside both is untested, never wild type.
    genes_tested: list[str] | None = None
    #: The recommender's ``features.extra`` model inputs this case was checked for: each is
    #: in :attr:`patient` or the current line's entry, ``None`` when unknown.
    extra_inputs: tuple[str, ...] = ()

    @property
    def patient_key(self) -> str:
        return str(self.patient.get("patient_key") or "new_patient")

    def to_payload(self) -> dict[str, Any]:
        """The JSON payload of this case (what the served model takes)."""

        keep = set(self.extra_inputs)  # sent as null when unknown: still sent

        def js(d: Mapping[str, Any]) -> dict[str, Any]:
            return {
                k: (v.isoformat() if isinstance(v, date) else v)
                for k, v in d.items()
                if v is not None or k in keep
            }

        out: dict[str, Any] = {
            "patient": js(self.patient),
            "line_number": self.line_number,
            "lines": [js(r) for r in self.lines],
            "variants": [js(v) for v in self.variants],
        }
        if self.genes_tested is not None:
            out["genes_tested"] = list(self.genes_tested)
        if self.preset:
            out["preset"] = self.preset
        return out

    def covered_genes(self) -> list[str]:
        """The genes this case counts as tested: ``genes_tested`` and the genes with a
        passing call."""
        called = {
            str(v["gene"])
            for v in self.variants
            if v.get("gene") and v.get("filter") in (None, "PASS", ".")
        }
        return sorted(set(self.genes_tested or ()) | called)

    def _variant_table(self) -> pd.DataFrame:
        """The variants in the processed table's layout: text columns as ``string``, ``vaf``
        as float64, the other columns as pandas infers them, and the ``patient_key``. Each
        column is built once with its final dtype (converting a built frame's columns cost
        a served request milliseconds)."""
        others = [c for c in _VARIANT if c not in _VARIANT_TEXT and c != "vaf"]
        inferred = pd.DataFrame(self.variants, columns=others)  # pandas' own inference
        data: dict[str, Any] = {}
        for c in _VARIANT:
            if c in _VARIANT_TEXT:
                data[c] = pd.array([v.get(c) for v in self.variants], dtype="string")
            elif c == "vaf":
                col = pd.Series([v.get(c) for v in self.variants], dtype=object)
                data[c] = pd.to_numeric(col, errors="coerce").astype("float64").to_numpy()
            else:
                data[c] = inferred[c]
        variants = pd.DataFrame(data, index=inferred.index)
        variants["patient_key"] = self.patient_key
        return variants

    def tables(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """``patients``, ``lines`` (the current line last, without outcomes) and ``variants``
        in the processed tables' layout, keyed by :attr:`patient_key`."""
        key = self.patient_key
        covered = self.covered_genes()
        patients = pd.DataFrame(
            [
                {
                    **self.patient,
                    "patient_key": key,
                    "genes_tested": ";".join(covered) if covered else None,
                }
            ]
        )
        patients["genes_tested"] = patients["genes_tested"].astype("string")
        rows = [dict(r) for r in self.lines if r["line_number"] < self.line_number]
        current = next((dict(r) for r in self.lines if r["line_number"] == self.line_number), {})
        for k in _OUTCOMES:
            current.pop(k, None)
        current = {k: v for k, v in current.items() if not k.startswith("ae_")}
        current["line_number"] = self.line_number
        if "ecog" not in current and self.patient.get("ecog") is not None:
            current["ecog"] = self.patient["ecog"]
        for c in self.extra_inputs:  # the line's value wins over the patient's
            if current.get(c) is None:
                current[c] = self.patient.get(c)
        rows.append(current)
        lines = pd.DataFrame(rows)
        lines["patient_key"] = key
        for c in self.extra_inputs:  # numbers, also when every value is unknown (None)
            lines[c] = pd.to_numeric(lines[c], errors="coerce").astype("float64")
            if c in patients.columns:
                patients[c] = pd.to_numeric(patients[c], errors="coerce").astype("float64")
        for c in ("start_date", "end_date"):
            if c in lines.columns:
                lines[c] = pd.to_datetime(lines[c])
        if lines["line_number"].dtype != "int64":
            lines["line_number"] = lines["line_number"].astype("int64")
        variants = self._variant_table()
        order = lines["line_number"].to_numpy()
        if len(order) > 1 and not (order[1:] > order[:-1]).all():  # else already in order
            lines = lines.sort_values("line_number").reset_index(drop=True)
        return patients, lines, variants


def parse_payload(
    obj: Any,
    *,
    tox_categories: Sequence[str] = (),
    regimen_ids: Sequence[str] | None = None,
    extra_inputs: Sequence[str] = (),
) -> PatientCase:
    """Check a payload (see the module docstring) and return the case.

    ``tox_categories``: the catalog's toxicity categories (then only their
    ``ae_<category>_max_grade`` fields are accepted); ``regimen_ids``: the catalog's
    regimen ids, which every ``regimen_id`` must be (unchecked when ``None``);
    ``extra_inputs``: the recommender's ``features.extra`` model inputs, each required
    in ``patient`` or the current line's entry (``null`` when unknown).
    """
    if not isinstance(obj, Mapping):
        raise PayloadError(
            f"payload: expected a JSON object with {', '.join(_TOP)}; got {type(obj).__name__}"
        )
    unknown = sorted(set(map(str, obj)) - set(_TOP))
    if unknown:
        name = unknown[0] if _GENE.match(unknown[0]) and len(unknown[0]) <= _SHOW else "(a field)"
        raise PayloadError(f"payload.{name}: unknown field (expected: {', '.join(_TOP)})")
    if "patient" not in obj:
        raise PayloadError("payload.patient: missing (the patient's sex, cancer_type, …)")
    if "line_number" not in obj:
        raise PayloadError("payload.line_number: missing (the therapy line to recommend for)")
    if isinstance(obj["patient"], Mapping):
        _patient_key(obj["patient"].get("patient_key"))
    inputs = tuple(str(c) for c in extra_inputs)
    numbers = dict.fromkeys(inputs, _NUMBER)
    patient = _record(
        "patient", obj["patient"], PATIENT_PAYLOAD_FIELDS, extra=numbers, inputs=inputs
    )
    if not patient.get("cancer_type"):
        raise PayloadError("patient.cancer_type: missing (e.g. NSCLC, COADREAD, MEL, BRCA)")
    n = _check("line_number", LINE_FIELDS["line_number"], obj["line_number"])
    if n is None:
        raise PayloadError("line_number: expected an integer 1–30, got null")
    lines = _lines(obj.get("lines"), int(n), tox_categories, regimen_ids, inputs)
    _extras_given(inputs, patient, lines, int(n))
    variants = _variants(obj.get("variants"))
    genes_tested = _gene_list(obj.get("genes_tested"))
    preset = obj.get("preset")
    if preset is not None and not (isinstance(preset, str) and _PRESET.match(preset)):
        raise PayloadError(
            f"preset: expected a preset name (letters, digits, '_'), got {_show(preset)}"
        )
    return PatientCase(
        patient,
        int(n),
        sorted(lines, key=lambda r: r["line_number"]),
        variants,
        preset,
        genes_tested,
        inputs,
    )


def _lines(
    lines_in: Any,
    n: int,
    tox_categories: Sequence[str],
    regimen_ids: Sequence[str] | None,
    inputs: Sequence[str],
) -> list[dict[str, Any]]:
    """The payload's ``lines`` checked: earlier lines with their regimen, at most the line
    to recommend for (``n``), each line once."""
    line_fields = {k: v for k, v in LINE_FIELDS.items() if k != "patient_id"}
    grades = {f"ae_{c}_max_grade": _GRADE for c in tox_categories}
    numbers = dict.fromkeys(inputs, _NUMBER)
    lines_in = lines_in or []
    if not isinstance(lines_in, list):
        raise PayloadError(f"lines: expected a list of lines, got {type(lines_in).__name__}")
    if len(lines_in) > MAX_LINES:
        raise PayloadError(f"lines: at most {MAX_LINES} therapy lines, got {len(lines_in)}")
    lines: list[dict[str, Any]] = []
    seen: set[int] = set()
    for i, r in enumerate(lines_in):
        extra = (
            {}
            if tox_categories
            else {
                k: _GRADE
                for k in (r if isinstance(r, Mapping) else {})
                if str(k).startswith("ae_") and str(k).endswith("_max_grade")
            }
        )
        rec = _record(
            f"lines[{i}]", r, line_fields, extra={**grades, **extra, **numbers}, inputs=inputs
        )
        if rec.get("regimen_id") and regimen_ids is not None:
            _regimen(f"lines[{i}].regimen_id", rec["regimen_id"], regimen_ids)
        ln = rec.get("line_number")
        if ln is None:
            raise PayloadError(f"lines[{i}].line_number: missing")
        if ln > n:
            raise PayloadError(
                f"lines[{i}].line_number: {ln} is after the line to recommend "
                f"for ({n}); give earlier lines and, optionally, line {n}'s "
                "state"
            )
        if ln in seen:
            raise PayloadError(f"lines[{i}].line_number: line {ln} is given twice")
        seen.add(ln)
        if ln < n and not rec.get("regimen_id"):
            raise PayloadError(
                f"lines[{i}].regimen_id: missing for earlier line {ln} (the "
                "catalog id of the regimen given)"
            )
        if "best_response" in rec and "objective_response" not in rec and rec["best_response"]:
            rec["objective_response"] = int(rec["best_response"] in ("CR", "PR"))
        lines.append(rec)
    return lines


def _extras_given(
    inputs: Sequence[str], patient: Mapping[str, Any], lines: Sequence[Mapping[str, Any]], n: int
) -> None:
    """Refuse a payload that leaves out one of the recommender's ``features.extra`` inputs:
    each must be in ``patient`` or line ``n``'s entry, as ``null`` when unknown."""
    current = next((r for r in lines if r["line_number"] == n), {})
    for c in inputs:
        if c not in patient and c not in current:
            raise PayloadError(
                f"patient.{c}: missing; this recommender takes {c!r} as a model input "
                f"(features.extra): send its value in patient or in line {n}'s entry, "
                "or null when unknown"
            )


def _variants(variants_in: Any) -> list[dict[str, Any]]:
    """The payload's ``variants`` checked: a gene symbol each, HGVSp syntax, a consequence
    (``protein_altering_variant`` when only a protein change is given)."""
    variants_in = variants_in or []
    if not isinstance(variants_in, list):
        raise PayloadError(f"variants: expected a list, got {type(variants_in).__name__}")
    if len(variants_in) > MAX_VARIANTS:
        raise PayloadError(
            f"variants: at most {MAX_VARIANTS} variant records, got {len(variants_in)}"
        )
    variants = []
    for i, v in enumerate(variants_in):
        rec = _record(f"variants[{i}]", v, _VARIANT)
        if not rec.get("gene"):
            raise PayloadError(f"variants[{i}].gene: missing (a HGNC gene symbol)")
        if not _GENE.match(rec["gene"]):
            raise PayloadError(
                f"variants[{i}].gene: expected a HGNC gene symbol (letters, "
                f"digits, '-', '.'), got {_show(rec['gene'])}"
            )
        if rec.get("hgvsp") in ("", "."):
            rec["hgvsp"] = None
        if rec.get("hgvsp") and not is_hgvsp(rec["hgvsp"]):
            raise PayloadError(
                f"variants[{i}].hgvsp: expected a protein change in HGVS "
                f"syntax (p.G12C, p.Gly12Cys, p.E746_A750del), got "
                f"{_show(rec['hgvsp'])}"
            )
        if not rec.get("consequence"):
            if not rec.get("hgvsp"):
                raise PayloadError(f"variants[{i}]: give hgvsp (p.G12C) or consequence")
            rec["consequence"] = "protein_altering_variant"
        rec.setdefault("filter", "PASS")
        variants.append(rec)
    return variants


def _gene_list(value: Any) -> list[str] | None:
    """``genes_tested``: a list of HGNC symbols, the genes the tumour's assay covered."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise PayloadError(
            f"genes_tested: expected a list of gene symbols (the genes the "
            f"assay covered), got {type(value).__name__}"
        )
    if len(value) > MAX_VARIANTS:
        raise PayloadError(f"genes_tested: at most {MAX_VARIANTS} genes, got {len(value)}")
    for i, g in enumerate(value):
        if not (isinstance(g, str) and _GENE.match(g)):
            raise PayloadError(
                f"genes_tested[{i}]: expected a HGNC gene symbol (letters, "
                f"digits, '-', '.'), got {_show(g)}"
            )
    return sorted(set(value))
