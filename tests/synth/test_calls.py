"""The simulated calls of a chunk: one call a site (a second allele only at multi-allelic
artefact sites), sorted, the read counts a filter implies, and the TMB of its PASS calls."""

from __future__ import annotations

import numpy as np
import pytest

from precision_onco.catalog import Catalog
from precision_onco.synth.calls import ARTEFACT_FILTERS
from precision_onco.synth.genome import NONSYNONYMOUS, load_panel
from precision_onco.synth.simulate import _simulate_chunk


@pytest.fixture(scope="module")
def chunk(small_config):
    cfg = small_config.synth
    return cfg, _simulate_chunk((11,), 300, 1, cfg, Catalog(small_config.catalog), load_panel())


def test_one_call_a_site_but_multiallelic_ones(chunk) -> None:
    _, data = chunk
    calls = data.calls
    sort = ["pidx", "chrom", "pos", "multi"]
    assert calls.equals(calls.sort_values(sort, kind="stable").reset_index(drop=True))
    first = calls[~calls["multi"]]
    assert not first.duplicated(["pidx", "chrom", "pos"]).any()
    second = calls[calls["multi"]]
    assert len(second) > 0  # a few multi-allelic sites in 300 samples
    both = second.merge(first, on=["pidx", "chrom", "pos"], suffixes=("", "_1"), validate="1:1")
    assert (both["filter"] == "multiallelic").all() and (both["filter_1"] == "multiallelic").all()
    assert (both["variant_class_1"] == "SNV").all() and not both["driver_1"].any()
    assert ((both["alt"] != both["alt_1"]) & (both["alt"] != both["ref"])).all()
    assert (both["consequence"] == "intron_variant").all() and (both["n_alt_count"] == 0).all()


def test_read_counts_follow_the_filters(chunk) -> None:
    _, data = chunk
    calls = data.calls
    assert set(calls["filter"]) <= {"PASS", "multiallelic", *ARTEFACT_FILTERS}
    assert calls["driver"].any() and (calls.loc[calls["driver"], "filter"] != "germline").all()
    assert (calls["t_depth"] >= 60).all() and (calls["n_depth"] >= 30).all()
    assert (calls["t_alt_count"] >= 1).all()
    assert (calls.loc[calls["filter"] == "PASS", "t_alt_count"] >= 4).all()
    germ = calls[calls["filter"] == "germline"]
    assert len(germ) and (germ["n_alt_count"] / germ["n_depth"]).between(0.25, 0.75).all()


def test_tmb_counts_the_nonsynonymous_pass_calls(chunk) -> None:
    cfg, data = chunk
    calls = data.calls
    counted = calls[calls["consequence"].isin(NONSYNONYMOUS) & (calls["filter"] == "PASS")]
    expected = counted.groupby("pidx").size().reindex(range(300), fill_value=0).to_numpy()
    np.testing.assert_allclose(data.tmb, expected / cfg.panel_size_mb)
