"""Model inputs: line-state features and candidate-regimen features (see :mod:`.build`)."""

from precision_onco.features.build import (
    CATEGORICAL,
    OUTCOME_COLUMNS,
    build_features,
    candidate_features,
    load_panel,
    model_matrix,
    undeclared_numeric,
)

__all__ = [
    "CATEGORICAL",
    "OUTCOME_COLUMNS",
    "build_features",
    "candidate_features",
    "load_panel",
    "model_matrix",
    "undeclared_numeric",
]
