"""Bad germline input: a clear message, or an indeterminate call with its reason."""

from __future__ import annotations

import pytest

from precision_onco.pgx import PgxInputError, load_definitions, pgx_from_vcf
from precision_onco.pgx.definitions import DefinitionsError

from .conftest import DPYD, UGT28, panel

STAR2A = DPYD["c.1905+1G>A"]


def test_several_samples_without_sample(write_vcf):
    path = write_vcf([(*STAR2A, "0/1\t0/0")], samples=("TUMOR", "NORMAL"))
    with pytest.raises(
        PgxInputError,
        match=r"2 samples \(TUMOR, NORMAL\) and no --sample: "
        r"name the germline \(normal\) column with --sample NAME",
    ):
        pgx_from_vcf(path)


def test_unknown_sample_name(write_vcf):
    path = write_vcf([(*STAR2A, "0/1")], samples=("S1",))
    with pytest.raises(PgxInputError, match="no sample 'BLOOD'; the file has S1"):
        pgx_from_vcf(path, sample="BLOOD")


def test_sites_only_vcf(write_vcf):
    path = write_vcf([(*STAR2A, "")], samples=())
    with pytest.raises(PgxInputError, match=r"no sample column \(a sites-only VCF\)"):
        pgx_from_vcf(path)


def test_no_gt_in_header(write_vcf):
    path = write_vcf([(*STAR2A, "12")], gt_header=False, fmt="DP")
    with pytest.raises(PgxInputError, match="no GT field in the FORMAT header"):
        pgx_from_vcf(path)


def test_record_without_gt_is_indeterminate(write_vcf):
    recs = [r if r[1] != STAR2A[1] else (*STAR2A, "30") for r in panel()]
    path = write_vcf(recs)
    # FORMAT of that record is DP only
    text = path.read_text().replace(
        f"{STAR2A[1]}\t.\tC\tT\t50\tPASS\t.\tGT\t30", f"{STAR2A[1]}\t.\tC\tT\t50\tPASS\t.\tDP\t30"
    )
    path.write_text(text)
    dpyd = pgx_from_vcf(path).genes["DPYD"]
    assert dpyd.phenotype == "indeterminate" and dpyd.activity_score is None
    assert dpyd.indeterminate[0]["reason"] == "no GT for the sample at chr1:97450058"


def test_half_call_is_indeterminate_with_a_ceiling(write_vcf):
    dpyd = pgx_from_vcf(write_vcf(panel({"c.1905+1G>A": "./1"}))).genes["DPYD"]
    assert dpyd.phenotype == "indeterminate" and dpyd.activity_score is None
    assert dpyd.activity_score_max == 1.0  # at least one no-function copy
    assert dpyd.indeterminate[0]["reason"] == (
        "half call (./1) at chr1:97450058: one allele not called"
    )
    assert "rs3918290" in dpyd.to_test


def test_half_call_reference_side(write_vcf):
    dpyd = pgx_from_vcf(write_vcf(panel({"c.2846A>T": "0/."}))).genes["DPYD"]
    assert dpyd.phenotype == "indeterminate"
    assert dpyd.activity_score_max == 2.0


def test_no_call_is_not_tested(write_vcf):
    dpyd = pgx_from_vcf(write_vcf(panel({"c.1679T>G": "./."}))).genes["DPYD"]
    assert dpyd.phenotype == "indeterminate"
    assert dpyd.not_tested[0]["reason"] == "no call (./.) at chr1:97515787"


def test_ref_mismatch_says_build(write_vcf):
    recs = [r if r[1] != STAR2A[1] else ("1", STAR2A[1], "G", "A", "0/1") for r in panel()]
    res = pgx_from_vcf(write_vcf(recs))
    dpyd = res.genes["DPYD"]
    assert dpyd.phenotype == "indeterminate" and dpyd.activity_score is None
    reason = dpyd.indeterminate[0]["reason"]
    assert reason.startswith("REF G at chr1:97450058 but GRCh38 has C there (c.1905+1G>A)")
    assert "GRCh37 vs GRCh38" in reason
    assert res.reading.warnings == (
        "REF differs from GRCh38 at 1 defining position(s): is the file on GRCh37? "
        "The definitions are GRCh38",
    )


def test_grch37_header_is_refused(write_vcf):
    path = write_vcf(panel(), contig_lengths=(249250621, 243199373))
    with pytest.raises(
        PgxInputError,
        match=r"contig lengths are GRCh37 \(chr1 length "
        r"249,250,621\) but the allele definitions are GRCh38 positions: lift",
    ):
        pgx_from_vcf(path)


def test_grch37_reference_line_is_refused(write_vcf):
    path = write_vcf(panel(), header=["##reference=file:///refs/human_g1k_v37.fasta"])
    with pytest.raises(PgxInputError, match="is GRCh37 but the allele definitions are GRCh38"):
        pgx_from_vcf(path)


def test_unknown_allele_at_defining_position(write_vcf):
    recs = [r if r[1] != STAR2A[1] else ("1", STAR2A[1], "C", "T,G", "0/2") for r in panel()]
    dpyd = pgx_from_vcf(write_vcf(recs)).genes["DPYD"]
    assert dpyd.phenotype == "indeterminate" and dpyd.activity_score is None
    assert dpyd.indeterminate[0]["reason"] == (
        "C>G at chr1:97450058 is not a defined allele (defined here: c.1905+1G>A)"
    )
    # the defined ALT of the same record, called, is fine
    recs = [r if r[1] != STAR2A[1] else ("1", STAR2A[1], "C", "T,G", "0/1") for r in panel()]
    assert pgx_from_vcf(write_vcf(recs)).genes["DPYD"].activity_score == 1.0


def test_spanning_deletion_is_indeterminate(write_vcf):
    recs = panel() + [("1", STAR2A[1] - 2, "AACT", "A", "0/1")]
    dpyd = pgx_from_vcf(write_vcf(recs)).genes["DPYD"]
    assert dpyd.phenotype == "indeterminate"
    assert (
        "overlaps chr1:97450058: the allele there is not known" in (dpyd.indeterminate[0]["reason"])
    )


def test_snv_inside_the_ta_repeat_is_indeterminate(write_vcf):
    recs = panel() + [("2", UGT28[1] + 4, "T", "G", "0/1")]
    ugt = pgx_from_vcf(write_vcf(recs)).genes["UGT1A1"]
    assert ugt.phenotype == "indeterminate"
    assert ugt.indeterminate[0]["reason"] == (
        "T>G (record at chr2:233760237) at chr2:233760233 is not a defined allele "
        "(defined here: *28, *36, *37)"
    )


def test_missing_file():
    with pytest.raises(PgxInputError, match="nope.vcf: no such file"):
        pgx_from_vcf("nope.vcf")


def test_not_a_vcf(tmp_path):
    p = tmp_path / "x.vcf"
    p.write_text("hello\n")
    with pytest.raises(PgxInputError, match="x.vcf: not a readable VCF"):
        pgx_from_vcf(p)


def test_negative_uracil():
    with pytest.raises(ValueError, match="uracil_ng_ml must be >= 0 ng/mL, got -3"):
        pgx_from_vcf(None, uracil_ng_ml=-3)


def test_malformed_definitions(tmp_path):
    p = tmp_path / "defs.yaml"
    p.write_text("version: x\nbuild: GRCh38\nsources: {}\ngenes:\n  DPYD: {chrom: '1'}\n")
    with pytest.raises(
        DefinitionsError,
        match=r"defs.yaml: genes.DPYD: missing required "
        r"field 'alleles'",
    ):
        load_definitions(p)


def test_haploid_genotypes(write_vcf):
    dpyd = pgx_from_vcf(write_vcf(panel({"c.1905+1G>A": "."}))).genes["DPYD"]
    assert dpyd.not_tested[0]["reason"] == "no call (./.) at chr1:97450058"
    dpyd = pgx_from_vcf(write_vcf(panel({"c.1905+1G>A": "1"}))).genes["DPYD"]
    assert dpyd.phenotype == "indeterminate"
    assert dpyd.indeterminate[0]["reason"] == (
        "1-ploid genotype at chr1:97450058 (expected diploid)"
    )
