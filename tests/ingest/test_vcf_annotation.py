"""VCF reader property: one-entry annotations read in bulk give the fields of the careful path.

``_Annotator.parse_entries`` reads the CSQ/ANN entries of a file at once with Arrow string
kernels; ``_Annotator._fields`` reads one entry split on ``|``. For any entries (short ones,
empty fields, several consequence terms, HGVSp with or without a ``transcript:`` prefix,
percent-encoded characters, text Arrow cannot hold) the two give the same gene,
consequence and HGVSp.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from precision_onco.ingest.vcf import VcfHeader, _Annotator

LAYOUTS = [
    ("Allele", "Consequence", "IMPACT", "SYMBOL", "Gene", "HGVSp", "CANONICAL"),
    ("Allele", "Gene", "Consequence"),  # gene from Gene, no HGVSp
    ("SYMBOL", "Consequence", "Allele", "HGVSp"),
    None,  # SnpEff ANN
]

pieces = st.sampled_from(
    ["|", "|", "|", "&", ":", "%3D", "%", "BRAF", "p.Val600Glu", "ENSP1.1", "-", " ", "\udce9"]
)
entry = st.lists(pieces, max_size=30).map("".join).filter(lambda e: "," not in e)


@settings(max_examples=150, deadline=None)
@given(
    layout=st.sampled_from(LAYOUTS), entries=st.lists(st.none() | entry, min_size=1, max_size=20)
)
def test_bulk_entries_equal_one_by_one(
    layout: tuple[str, ...] | None, entries: list[str | None]
) -> None:
    header = VcfHeader(
        "VCFv4.2", ("T",), 3, None, None, frozenset(), frozenset(), layout, layout is None, False
    )
    annotate = _Annotator(header, None)
    bulk = list(zip(*annotate.parse_entries(entries), strict=True))
    one_by_one = [
        (None, None, None) if e is None else annotate._fields(e.split("|")) for e in entries
    ]
    assert bulk == one_by_one
