"""DPYD activity scores and UGT1A1 diplotypes from VCFs built at the published positions."""

from __future__ import annotations

import itertools

import pytest

from precision_onco.pgx import pgx_from_vcf

from .conftest import DPYD, DPYD_VALUE, UGT6, UGT28, panel


def _expected(values: list[float]) -> tuple[float, str]:
    """CPIC: AS = sum of the two lowest allele values (1 for a normal allele)."""
    score = sum(sorted([*values, 1.0, 1.0])[:2])
    phenotype = "normal" if score == 2 else "intermediate" if score >= 1 else "poor"
    return score, phenotype


SINGLE = [(n, gt) for n in DPYD for gt in ("0/1", "1/1")]
PAIRS = list(itertools.combinations(DPYD, 2))


@pytest.mark.parametrize(("name", "gt"), SINGLE)
def test_dpyd_het_and_hom(write_vcf, name, gt):
    res = pgx_from_vcf(write_vcf(panel({name: gt})))
    call = res.genes["DPYD"]
    copies = gt.count("1")
    score, phenotype = _expected([DPYD_VALUE[name]] * copies)
    assert call.activity_score == score
    assert call.phenotype == phenotype
    assert [(a.allele.name, a.copies) for a in call.alleles] == [(name, copies)]
    assert call.not_tested == () and call.indeterminate == ()


@pytest.mark.parametrize(("first", "second"), PAIRS)
def test_dpyd_compound_heterozygotes(write_vcf, first, second):
    res = pgx_from_vcf(write_vcf(panel({first: "0/1", second: "0/1"})))
    call = res.genes["DPYD"]
    score, phenotype = _expected([DPYD_VALUE[first], DPYD_VALUE[second]])
    assert (call.activity_score, call.phenotype) == (score, phenotype)
    assert sorted(call.diplotype.split("/")) == sorted([first, second])
    assert any("in trans" in n for n in call.notes)


def test_published_examples(write_vcf):
    """Worked values from the CPIC tables."""
    cases = {
        (("c.1905+1G>A", "0/1"),): (1.0, "intermediate", "Reference/c.1905+1G>A"),
        (("c.2846A>T", "1/1"),): (1.0, "intermediate", "c.2846A>T/c.2846A>T"),
        (("c.2846A>T", "0/1"),): (1.5, "intermediate", "Reference/c.2846A>T"),
        (("c.1679T>G", "0/1"), ("c.1156G>T", "0/1")): (0.0, "poor", "c.1679T>G/c.1156G>T"),
        (("c.1905+1G>A", "0/1"), ("c.1129-5923C>G", "0/1")): (0.5, "poor", None),
        # three variant alleles: the two lowest count
        (("c.2846A>T", "1/1"), ("c.1905+1G>A", "0/1")): (0.5, "poor", None),
    }
    for gts, (score, phenotype, diplotype) in cases.items():
        call = pgx_from_vcf(write_vcf(panel(dict(gts)))).genes["DPYD"]
        assert (call.activity_score, call.phenotype) == (score, phenotype), gts
        if diplotype:
            assert call.diplotype == diplotype


def test_reference_everywhere_is_normal(write_vcf):
    res = pgx_from_vcf(write_vcf(panel()))
    assert res.genes["DPYD"].activity_score == 2.0
    assert res.genes["DPYD"].phenotype == "normal"
    assert res.genes["DPYD"].diplotype == "Reference/Reference"
    assert res.genes["UGT1A1"].diplotype == "*1/*1"
    assert res.genes["UGT1A1"].phenotype == "normal"


def test_hapb3_from_tag_when_causal_not_tested(write_vcf):
    recs = [r for r in panel(tag="0/1") if r[1] != DPYD["c.1129-5923C>G"][1]]
    call = pgx_from_vcf(write_vcf(recs)).genes["DPYD"]
    assert call.activity_score == 1.5
    assert call.alleles[0].allele.alias == "HapB3"
    assert "tag" in call.alleles[0].evidence
    assert any("inferred from the tag c.1236G>A" in n for n in call.notes)


def test_hapb3_causal_wins_over_tag(write_vcf):
    call = pgx_from_vcf(write_vcf(panel(tag="0/1"))).genes["DPYD"]
    assert call.activity_score == 2.0
    assert any("disagrees" in n for n in call.notes)


UGT_CASES = {
    ("0/0", "0/0"): ("*1/*1", "normal"),
    ("0/1", "0/0"): ("*1/*28", "intermediate"),
    ("1/1", "0/0"): ("*28/*28", "poor"),
    ("0/0", "0/1"): ("*1/*6", "intermediate"),
    ("0/0", "1/1"): ("*6/*6", "poor"),
    ("0/1", "0/1"): ("*6/*28", "poor"),
}


@pytest.mark.parametrize(("gts", "expected"), UGT_CASES.items())
def test_ugt1a1_diplotypes(write_vcf, gts, expected):
    call = pgx_from_vcf(write_vcf(panel(ugt28=gts[0], ugt6=gts[1]))).genes["UGT1A1"]
    assert (call.diplotype, call.phenotype) == expected


@pytest.mark.parametrize(
    ("ref", "alt", "gt", "expected"),
    [
        ("CAT", "CATAT,C", "1/2", ("*28/*36", "intermediate")),  # multi-allelic (TA)7/(TA)5
        ("CAT", "CATAT,CATATAT", "1/2", ("*28/*37", "poor")),  # (TA)7/(TA)8
        ("C", "CAT", "1/1", ("*28/*28", "poor")),  # trimmed representation
        ("CAT", "C", "0/1", ("*1/*36", "normal")),
    ],
)
def test_ugt1a1_ta_repeat_representations(write_vcf, ref, alt, gt, expected):
    recs = [r for r in panel() if r[1] != UGT28[1]] + [("2", UGT28[1], ref, alt, gt)]
    call = pgx_from_vcf(write_vcf(recs)).genes["UGT1A1"]
    assert (call.diplotype, call.phenotype) == expected


def test_undefined_repeat_length_is_indeterminate(write_vcf):
    recs = [r for r in panel() if r[1] != UGT28[1]] + [("2", UGT28[1], "CAT", "CATATATAT", "0/1")]
    call = pgx_from_vcf(write_vcf(recs)).genes["UGT1A1"]
    assert call.phenotype == "indeterminate"
    assert "(TA)9 repeat" in call.indeterminate[0]["reason"]


def test_split_multiallelic_records(write_vcf):
    """bcftools norm -m- writes one record per ALT at the same position."""
    recs = [r for r in panel() if r[1] != UGT28[1]]
    recs += [("2", UGT28[1], "CAT", "CATAT", "0/1"), ("2", UGT28[1], "CAT", "CATATAT", "0/1")]
    call = pgx_from_vcf(write_vcf(recs)).genes["UGT1A1"]
    assert (call.diplotype, call.phenotype) == ("*28/*37", "poor")


@pytest.mark.parametrize("chr_prefix", [True, False])
@pytest.mark.parametrize("bgzip", [False, True])
def test_plain_bgzipped_indexed_and_contig_names(write_vcf, chr_prefix, bgzip):
    path = write_vcf(panel({"c.2846A>T": "0/1"}, ugt28="0/1"), chr_prefix=chr_prefix, bgzip=bgzip)
    res = pgx_from_vcf(path)
    assert res.reading.indexed is bgzip
    assert res.genes["DPYD"].activity_score == 1.5
    assert res.genes["UGT1A1"].diplotype == "*1/*28"
    pos = res.to_dict()["genes"]["DPYD"]["alleles"][0]["evidence"]
    assert pos.startswith("chr1:97082391")  # positions named as in the definitions


def test_bgzipped_without_index_is_streamed(write_vcf):
    path = write_vcf(panel({"c.1905+1G>A": "0/1"}), bgzip=True, index=False)
    res = pgx_from_vcf(path)
    assert res.reading.indexed is False
    assert res.genes["DPYD"].activity_score == 1.0


def test_normal_column_of_tumour_normal_vcf(write_vcf):
    recs = [(c, p, r, a, "0/1\t0/0") for c, p, r, a, _ in panel()]
    recs[0] = (*recs[0][:4], "0/0\t0/1")  # the normal carries c.1905+1G>A
    path = write_vcf(recs, samples=("TUMOR", "NORMAL"))
    res = pgx_from_vcf(path, sample="NORMAL")
    assert res.reading.sample == "NORMAL"
    assert res.genes["DPYD"].activity_score == 1.0
    hdr = write_vcf(recs, samples=("TUMOR", "NORMAL"), header=["##normal_sample=NORMAL"])
    res = pgx_from_vcf(hdr)
    assert (res.reading.sample, res.reading.sample_source) == ("NORMAL", "##normal_sample header")
    assert res.genes["DPYD"].activity_score == 1.0


def test_absent_positions_are_not_tested(write_vcf):
    recs = [r for r in panel({"c.2846A>T": "0/1"}) if r[1] != DPYD["c.1905+1G>A"][1]]
    recs = [r for r in recs if r[0] != "2"]
    res = pgx_from_vcf(write_vcf(recs))
    dpyd = res.genes["DPYD"]
    assert dpyd.phenotype == "indeterminate" and dpyd.activity_score is None
    assert dpyd.activity_score_max == 1.5
    assert [i["rsid"] for i in dpyd.not_tested] == ["rs3918290"]
    assert "rs3918290" in dpyd.to_test
    ugt = res.genes["UGT1A1"]
    assert ugt.phenotype == "indeterminate"
    assert {i["rsid"] for i in ugt.not_tested} == {"rs3064744", "rs4148323"}
    assert "rs4148323" in ugt.to_test


def test_declared_coverage_makes_absent_positions_reference(write_vcf):
    path = write_vcf([(*UGT6, "0/1")])
    res = pgx_from_vcf(path, covered=True)
    assert res.genes["DPYD"].activity_score == 2.0
    assert res.genes["UGT1A1"].diplotype == "*1/*6"
    assert pgx_from_vcf(path).genes["DPYD"].phenotype == "indeterminate"


def test_gvcf_reference_blocks_count_as_tested(write_vcf):
    blocks = [
        ("1", 97000000, "A", "<NON_REF>;END=97800000", "0/0"),
        ("2", 233760000, "G", "<NON_REF>;END=233760400", "0/0"),
        ("2", 233760498, "G", "A,<NON_REF>", "0/1"),
    ]
    res = pgx_from_vcf(write_vcf(blocks, header=['##ALT=<ID=NON_REF,Description="any">']))
    assert res.reading.gvcf
    assert res.genes["DPYD"].activity_score == 2.0
    assert res.genes["UGT1A1"].diplotype == "*1/*6"


def test_homozygous_no_function_decides_despite_untested_positions(write_vcf):
    (c, p, r, a) = DPYD["c.1905+1G>A"]
    res = pgx_from_vcf(write_vcf([(c, p, r, a, "1/1")]))
    dpyd = res.genes["DPYD"]
    assert (dpyd.activity_score, dpyd.phenotype) == (0.0, "poor")
    assert dpyd.not_tested  # still listed


def test_gt_only_single_sample_and_other_format_fields(write_vcf):
    recs = [(c, p, r, a, f"{gt}:30") for c, p, r, a, gt in panel({"c.557A>G": "0/1"})]
    call = pgx_from_vcf(write_vcf(recs, fmt="GT:DP")).genes["DPYD"]
    assert call.activity_score == 1.5


def test_ugt6_record_elsewhere_does_not_leak(write_vcf):
    """A variant one base away from a defining position is not that allele."""
    recs = panel() + [("2", UGT6[1] + 1, "C", "T", "1/1")]
    assert pgx_from_vcf(write_vcf(recs)).genes["UGT1A1"].diplotype == "*1/*1"


def test_files_with_the_same_records_share_one_call_and_others_get_their_own(
    write_vcf, monkeypatch
):
    """A cohort's files are called through a memo keyed by the records read at the defining
    positions (pgx.genotype._Plan.memo): every reading equals the one made with an empty
    memo, whatever came before it, and a full memo starts again without changing a call."""
    from precision_onco.pgx import genotype, load_definitions, read_germline

    defs = load_definitions()
    records = [
        panel(),
        panel({"c.1905+1G>A": "0/1"}),
        panel(),
        panel({"c.1905+1G>A": "1/1"}),
        panel(ugt28="0/1"),
        panel({"c.2846A>T": "./1"}),
        [r for r in panel() if r[0] != "2"],  # UGT1A1 not tested
        panel({"c.1905+1G>A": "0/1"}),
    ]
    files = [write_vcf(r) for r in records]
    files.append(write_vcf(panel({"c.1905+1G>A": "0/1"}), chr_prefix=False))
    files.append(write_vcf(panel({"c.1679T>G": "0/1"}), bgzip=True, index=False))
    for size in (genotype._MEMO_SIZE, 2):
        monkeypatch.setattr(genotype, "_MEMO_SIZE", size)
        for covered in (False, True):
            genotype._PLANS.clear()
            shared = [read_germline(f, definitions=defs, covered=covered) for f in files]
            fresh = []
            for f in files:
                genotype._PLANS.clear()
                fresh.append(read_germline(f, definitions=defs, covered=covered))
            assert shared == fresh
            assert len({r.calls[("DPYD", 97450058)].alleles for r in shared}) == 3
    monkeypatch.undo()
    genotype._PLANS.clear()
    for f in files:
        read_germline(f, definitions=defs)
    (plan,) = (p for d, p in genotype._PLANS.values() if d is defs)
    assert len(plan.memo) == 8  # ten files, two record sets seen twice
