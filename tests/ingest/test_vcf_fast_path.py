"""VCF reader property: the short path for the common record is only a shortcut.

:func:`precision_onco.ingest.vcf._row_maker` reads a record with one ALT and the tumour's
FORMAT AF and DP itself and hands every other record to the general record-to-row path
(:func:`precision_onco.ingest.vcf._any_record`). Reading a file with the general path
alone must give the same rows, rejects and report, whatever mix of records the file holds:
one or two ALTs, ``*``, AF present, missing, NaN or outside 0-1, DP missing, AD to fall
back on, no, one or several CSQ entries, records that do not pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from precision_onco.config.schema import VcfInputConfig
from precision_onco.ingest import vcf
from precision_onco.ingest.vcf import read_vcf

HEADER = (
    "##fileformat=VCFv4.2\n"
    '##FILTER=<ID=LowQual,Description="Low quality">\n'
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fraction">\n'
    '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n'
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">\n'
    '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl '
    'VEP. Format: Allele|Consequence|IMPACT|SYMBOL|HGVSp|CANONICAL">\n'
    "##contig=<ID=chr1>\n##contig=<ID=7>\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tTUMOR\n"
)

record = st.fixed_dictionaries(
    {
        "chrom": st.sampled_from(["chr1", "7"]),
        "alts": st.sampled_from([["T"], ["G"], ["*"], ["T", "G"], ["G", "*"]]),
        "af": st.sampled_from(["0.25", "0", "1", "1.5", ".", "nan"]),
        "dp": st.sampled_from(["40", "0", "."]),
        "ad": st.sampled_from([None, "10,5", "0,0"]),
        "csq": st.integers(0, 2),  # CSQ entries: none, one per ALT, one per ALT plus another
        "filter": st.sampled_from(["PASS", ".", "LowQual"]),
    }
)


def _line(pos: int, r: dict[str, object]) -> str:
    alts = list(r["alts"])  # type: ignore[call-overload]
    entries = [
        f"{a}|missense_variant|MODERATE|GENE{i}|ENSP{i}.1:p.Val{pos}Glu|YES"
        for i, a in enumerate(alts)
    ]
    if r["csq"] == 2:
        entries.append("A|synonymous_variant|LOW|OTHER|.|")
    info = "CSQ=" + ",".join(entries) if r["csq"] else "."
    af = ",".join([str(r["af"])] * len(alts))
    fmt, sample = ["GT", "AF", "DP"], ["0/1", af, str(r["dp"])]
    if r["ad"] is not None:
        ad = str(r["ad"]) + ",3" * (len(alts) - 1)
        fmt.insert(2, "AD")
        sample.insert(2, ad)
    cols = [
        r["chrom"],
        str(pos),
        ".",
        "C",
        ",".join(alts),
        ".",
        r["filter"],
        info,
        ":".join(fmt),
        ":".join(sample),
    ]
    return "\t".join(str(c) for c in cols) + "\n"


def _general_only(fields: Any, annotate: Any, tumor: str, tally: Any) -> Any:
    return vcf._any_record(fields, annotate, tumor, tally)


def _read(path: Path, pass_only: bool) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, object]]:
    res = read_vcf(path, VcfInputConfig(pass_only=pass_only))
    return res.frame, res.rejects, res.report.as_dict()


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=st.lists(record, min_size=1, max_size=12), pass_only=st.booleans())
def test_general_path_alone_reads_every_file_the_same(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    records: list[dict[str, object]],
    pass_only: bool,
) -> None:
    path = tmp_path / "case.vcf"
    path.write_text(
        HEADER + "".join(_line(100 + 10 * i, r) for i, r in enumerate(records)),
        encoding="utf-8",
    )
    frame, rejects, report = _read(path, pass_only)
    with monkeypatch.context() as m:
        m.setattr(vcf, "_row_maker", _general_only)
        g_frame, g_rejects, g_report = _read(path, pass_only)
    pd.testing.assert_frame_equal(frame, g_frame)
    pd.testing.assert_frame_equal(rejects, g_rejects)
    assert report == g_report


def test_the_short_path_is_taken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The property above compares two paths: the common record does not reach the general one."""
    path = tmp_path / "common.vcf"
    common: dict[str, object] = {
        "chrom": "chr1",
        "alts": ["T"],
        "af": "0.25",
        "dp": "40",
        "ad": None,
        "csq": 1,
        "filter": "PASS",
    }
    path.write_text(HEADER + _line(100, common), encoding="utf-8")
    calls: list[int] = []
    general = vcf._any_record

    def counting(*args: Any) -> Any:
        inner = general(*args)

        def rows_of(*a: Any) -> Any:
            calls.append(1)
            return inner(*a)

        return rows_of

    monkeypatch.setattr(vcf, "_any_record", counting)
    assert len(read_vcf(path, VcfInputConfig()).frame) == 1
    assert calls == []
