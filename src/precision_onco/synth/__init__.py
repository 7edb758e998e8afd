"""Synthetic cohort simulator with known true outcome probabilities (DESIGN §5)."""

from __future__ import annotations

from precision_onco.synth.simulate import (
    RAW_FILES,
    SynthesisSummary,
    calibrate,
    skip_synthesis,
    synthesize,
)

__all__ = ["RAW_FILES", "SynthesisSummary", "calibrate", "skip_synthesis", "synthesize"]
