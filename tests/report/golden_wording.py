"""The golden corpus of clinical wording: every feature the models use, in each language, at a
few values, as :func:`~precision_onco.report.wording.describe` words it, plus the catalog's
regimen and cancer-type names and a few separation sentences.

``test_golden_wording.py`` checks the wording against ``golden_wording.json``; to write the
file again (only when a wording change is intended), train the models (``dvc repro train``)
and run ``python tests/report/golden_wording.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from precision_onco.config.schema import CatalogConfig
from precision_onco.report.i18n import separation_sentence
from precision_onco.report.wording import cancer_type_name, describe, regimen_name

GOLDEN = Path(__file__).with_name("golden_wording.json")
LANGS = ("en", "fr")
#: Values every feature is worded at (missing, flags, counts, a decimal, a large number).
VALUES: tuple[Any, ...] = (None, float("nan"), 0, 1, 2, 3, 4, 7, 0.0, 1.0, 2.94, 61.5, 250.0)
#: Features the models do not use but the wording knows (and a few it does not).
EXTRA = (
    "line_number",
    "regimen_id",
    "regimen_class",
    "regimen_platinum",
    "bm_unknown_marker",
    "pathway_unknown",
    "FCNA",
    "prior_unknown_class",
    "regimen_has_unknown",
)


def _jsonable(v: Any) -> Any:
    return "nan" if isinstance(v, float) and v != v else v


def _value(v: Any) -> Any:
    return float("nan") if v == "nan" else v


def cases(features: list[str], catalog: CatalogConfig) -> Iterator[dict[str, Any]]:
    """The calls of the corpus (without their outputs)."""
    regimens = [r.id for r in catalog.regimens]
    classes = sorted({r.regimen_class for r in catalog.regimens if r.regimen_class})
    strings = {
        "regimen_id": [*regimens, "not_a_regimen"],
        "cancer_type": [*sorted(catalog.cancer_types), "XYZ"],
        "smoking_status": ["never", "former", "current", "unknown", "sometimes"],
        "regimen_class": [*classes, "chemotherapy", "targeted", "other"],
    }
    for lang in LANGS:
        for f in sorted({*features, *EXTRA}):
            values: list[Any] = list(strings.get(f, VALUES))
            if f not in strings:
                values.append("text")
            # the catalog names biomarkers, regimens, cancer types: worded with and without it
            both = f.startswith("bm_") or f in strings
            for v in values:
                for with_catalog in (True, False) if both else (True,):
                    yield {
                        "fn": "describe",
                        "feature": f,
                        "value": _jsonable(v),
                        "catalog": with_catalog,
                        "lang": lang,
                    }
        for rid in [*regimens, "a_b"]:
            for with_catalog in (True, False):
                yield {"fn": "regimen_name", "value": rid, "catalog": with_catalog, "lang": lang}
        for code in [*sorted(catalog.cancer_types), "XYZ"]:
            yield {"fn": "cancer_type_name", "value": code, "catalog": True, "lang": lang}
        for n in range(5):
            yield {"fn": "separation_sentence", "value": n, "catalog": True, "lang": lang}


def _items(n: int, catalog: CatalogConfig, lang: str) -> list[dict[str, Any]]:
    """``n`` separation items, alternating features that differ and that do not."""
    feats = [
        ("regimen_id", "pembrolizumab_carboplatin_pemetrexed", "carboplatin_pemetrexed"),
        ("albumin", 2.94, 2.94),
        ("gene_KRAS", 1, 1),
        ("regimen_has_targeted", 1, 0),
        ("ecog", 1, 1),
    ]
    out = []
    for i, (f, a, b) in enumerate(feats[:n]):
        out.append(
            {
                "feature": f,
                "difference": (-1) ** i * (0.961 - 0.2 * i),
                "first": describe(f, a, catalog, lang),
                "second": describe(f, b, catalog, lang),
            }
        )
    return out


def output(case: dict[str, Any], catalog: CatalogConfig) -> str:
    """What the wording says for one case (or the error it raises)."""
    try:
        return _output(case, catalog)
    except (ValueError, TypeError) as exc:
        return f"<{type(exc).__name__}: {exc}>"


def _output(case: dict[str, Any], catalog: CatalogConfig) -> str:
    cat = catalog if case["catalog"] else None
    lang = case["lang"]
    if case["fn"] == "describe":
        return describe(case["feature"], _value(case["value"]), cat, lang)
    if case["fn"] == "regimen_name":
        return regimen_name(case["value"], cat, lang)
    if case["fn"] == "cancer_type_name":
        return cancer_type_name(case["value"], cat, lang)
    second = regimen_name("carboplatin_pemetrexed", catalog, lang)
    return separation_sentence(second, _items(int(case["value"]), catalog, lang), lang)


def model_features(models_dir: Path) -> list[str]:
    """Every input column of the trained endpoint models."""
    from precision_onco.models.fit import load_models

    return sorted({c for m in load_models(models_dir).values() for c in m.columns})


def main() -> None:
    from precision_onco.config import compose

    root = Path(__file__).resolve().parents[2]
    _, cfg = compose([], conf_dir=root / "conf")
    features = model_features(root / "models")
    corpus = [{**c, "out": output(c, cfg.catalog)} for c in cases(features, cfg.catalog)]
    rows = ",\n".join(json.dumps(c, ensure_ascii=False) for c in corpus)
    text = f'{{"features": {json.dumps(features)},\n"cases": [\n{rows}\n]}}\n'
    GOLDEN.write_text(text, encoding="utf-8")
    print(f"{len(corpus)} cases, {len(features)} features -> {GOLDEN}")


if __name__ == "__main__":
    main()
