"""The treatment course is its parts in order: simulate_history draws exactly what its steps
draw, in the same order, and no step changes the course it is given."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from precision_onco.catalog import Catalog
from precision_onco.config import endpoint_roles
from precision_onco.synth import history as h
from precision_onco.synth.genome import load_panel
from precision_onco.synth.model import Intercepts, RegimenArrays
from precision_onco.synth.pgx import PgxRegimens
from precision_onco.synth.simulate import _rng, _simulate_chunk


@pytest.fixture(scope="module")
def chunk(small_config):
    cfg = small_config.synth
    catalog = Catalog(small_config.catalog)
    data = _simulate_chunk((7,), 150, 1, cfg, catalog, load_panel())
    assert data.germline is not None  # the default configuration simulates pharmacogenomics
    intercepts = Intercepts.initial(RegimenArrays.from_catalog(catalog))
    endpoints = h.guideline_truth_endpoints(endpoint_roles(small_config.endpoints))
    return cfg, catalog, data, intercepts, endpoints


def _composed(rng, pgx_rng, cfg, catalog, data, intercepts, endpoints):
    """The treatment course written out from the module's steps."""
    arrays = RegimenArrays.from_catalog(catalog)
    cats = catalog.toxicity_categories
    cutoff = np.datetime64(cfg.data_cutoff, "D")
    ids = np.asarray(catalog.regimen_ids, dtype=object)
    imm_k = cats.index("immune_related")
    course = h._initial_course(rng, data.patients, len(catalog.regimens), arrays, cutoff)
    lines, truths = [], []
    for line_number in range(1, cfg.max_lines + 1):
        idx = np.flatnonzero(course.active)
        if not len(idx):
            break
        st = h._line_state(data.patients, data.tmb, course, idx, line_number)
        st, bm, elig, idx = h._eligible(st, data.status, course, idx, catalog)
        if not len(idx):
            break
        probs = h._probabilities(
            pgx_rng,
            st,
            bm,
            elig,
            course.prior_classes[idx],
            arrays=arrays,
            cfg=cfg,
            intercepts=intercepts,
            cats=cats,
            germline=data.germline,
            regs=PgxRegimens.from_catalog(catalog),
        )
        chosen, p_choice = h._choose(rng, probs.choice_mask, st, arrays, cfg)
        truths.append(
            h._truth_rows(
                st,
                line_number,
                elig,
                chosen,
                p_choice,
                probs,
                regimen_ids=ids,
                cats=cats,
                guideline_endpoints=endpoints,
            )
        )
        out = h._outcomes(rng, probs, chosen, arrays)
        lines.append(
            h._line_rows(
                st,
                list(course.labs.columns),
                chosen,
                out,
                probs,
                course.start[idx],
                regimen_ids=ids,
                cats=cats,
                cutoff=cutoff,
            )
        )
        old = course
        kept = {f.name: np.array(getattr(old, f.name), copy=True) for f in dataclasses.fields(old)}
        course = h._advance(rng, old, idx, chosen, out, arrays=arrays, imm_k=imm_k, cutoff=cutoff)
        for name, value in kept.items():  # a new course, the one given left as it was
            assert np.array_equal(np.asarray(getattr(old, name)), value), name
        assert not np.array_equal(course.ecog, old.ecog) or not np.array_equal(course.age, old.age)
    return pd.concat(lines, ignore_index=True), pd.concat(truths, ignore_index=True)


def test_simulate_history_is_its_steps_in_order(chunk) -> None:
    cfg, catalog, data, intercepts, endpoints = chunk
    rng, pgx_rng = _rng(cfg.seed, 7, 1), _rng(cfg.seed, 7, 3)
    hist = h.simulate_history(
        rng,
        data.patients,
        data.status,
        data.tmb,
        catalog=catalog,
        cfg=cfg,
        intercepts=intercepts,
        germline=data.germline,
        pgx_rng=pgx_rng,
        guideline_endpoints=endpoints,
    )
    rng2, pgx_rng2 = _rng(cfg.seed, 7, 1), _rng(cfg.seed, 7, 3)
    lines, truth = _composed(rng2, pgx_rng2, cfg, catalog, data, intercepts, endpoints)
    assert hist.lines["line_number"].max() >= 2  # the course goes on past the first line
    assert "uracil_ng_ml" in hist.lines.columns and "guideline_dose" in hist.truth.columns
    pd.testing.assert_frame_equal(hist.lines, lines)
    pd.testing.assert_frame_equal(hist.truth, truth)
    # nothing drawn beyond the steps' draws: both streams end where the steps leave them
    assert rng.bit_generator.state == rng2.bit_generator.state
    assert pgx_rng.bit_generator.state == pgx_rng2.bit_generator.state


def test_no_line_before_the_cutoff_gives_an_empty_history(chunk) -> None:
    """Nobody starts a line (every first line would start after the data cutoff): no rows,
    empty reference arrays of the calibration's shapes, only the initial course drawn."""
    cfg, catalog, data, intercepts, endpoints = chunk
    early = dataclasses.replace(cfg, data_cutoff="2000-01-01")
    rng = _rng(cfg.seed, 7, 1)
    hist = h.simulate_history(
        rng,
        data.patients,
        data.status,
        data.tmb,
        catalog=catalog,
        cfg=early,
        intercepts=intercepts,
        germline=data.germline,
        pgx_rng=_rng(cfg.seed, 7, 3),
        guideline_endpoints=endpoints,
    )
    assert hist.lines.empty and hist.truth.empty
    assert hist.ref_regimen.shape == (0,) and hist.ref_regimen.dtype.kind == "i"
    assert hist.ref_resp_off.shape == hist.ref_tox_off.shape == (0,)
    assert hist.ref_tox_rr is not None
    assert hist.ref_tox_rr.shape == (0, len(catalog.toxicity_categories))
    rng2 = _rng(cfg.seed, 7, 1)
    arrays = RegimenArrays.from_catalog(catalog)
    cutoff = np.datetime64(early.data_cutoff, "D")
    h._initial_course(rng2, data.patients, len(catalog.regimens), arrays, cutoff)
    assert rng.bit_generator.state == rng2.bit_generator.state
