"""The redaction of raw identifiers in free text, and the resolution of the files' names.

:class:`Redactor` remembers the tokens it found clean, and :func:`_resolved` resolves each
directory once: both must give exactly what the plain computation gives.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from precision_onco.ingest.cohort import _TOKEN, Redactor, _relative, _resolved

RAW = ["PT0001", "PT0001-T", "S_9", "ab", "PT-RAW-0001"]
MAPPING = {r: f"pk_{i:04d}" for i, r in enumerate(RAW)}

_pieces = st.sampled_from([*RAW, "x", "-", "_", "/", ".vcf", " ", "PT", "0001", "é", "pk_0001"])
_texts = st.lists(_pieces, max_size=12).map("".join)


def _plain(mapping: dict[str, str], text: str) -> str:
    """What the redaction gives without its memory of clean tokens."""
    fresh = Redactor(mapping)
    return _TOKEN.sub(fresh._token, text)


@settings(max_examples=300, deadline=None)
@given(st.lists(_texts, min_size=1, max_size=20), st.integers(1, 6))
def test_a_redactor_that_remembers_clean_tokens_redacts_as_the_plain_one(
    texts: list[str], cap: int
) -> None:
    """Each text, in any order and repeated, with a memory small enough to be emptied:
    the same text as the plain substitution, and ``leaks`` as it says."""
    r = Redactor(MAPPING)
    r.CLEAN_CAP = cap
    for text in [*texts, *reversed(texts)]:
        want = _plain(MAPPING, text)
        assert r(text) == want
        assert r.leaks(text) == (want != text)
        assert len(r._clean) <= cap


def test_a_clean_token_is_remembered_and_an_identifier_never() -> None:
    r = Redactor(MAPPING)
    assert r("sample x/PT0001.vcf") == "sample x/pk_0000.vcf"
    assert "PT0001" not in r._clean
    assert {"sample", "x", "vcf"} <= r._clean
    assert r.leaks("file PT0001-T_2.vcf")  # a token starting with an identifier
    assert not r.leaks("file pk_0000.vcf")


def test_a_pickled_redactor_leaves_its_memory_behind() -> None:
    r = Redactor(MAPPING)
    r("many clean words here")
    back = pickle.loads(pickle.dumps(r))
    assert back.mapping == r.mapping and back._clean == set()
    assert back("PT0001 here") == "pk_0000 here"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """real/a.vcf, a directory link to real, a file link and a dangling name."""
    real = tmp_path / "real"
    real.mkdir()
    (real / "a.vcf").write_text("x")
    (real / "b.vcf").write_text("x")
    (tmp_path / "linked").symlink_to(real, target_is_directory=True)
    (real / "c.vcf").symlink_to(real / "b.vcf")
    return tmp_path


@pytest.mark.parametrize(
    "name",
    [
        "real/a.vcf",
        "linked/a.vcf",
        "real/c.vcf",  # a link to b.vcf: followed
        "linked/c.vcf",
        "real/missing.vcf",
        "linked/../real/a.vcf",
        "real/./a.vcf",
        "real//a.vcf",
        "real/",
        "real/..",
        "nowhere/a.vcf",
    ],
)
def test_resolving_each_directory_once_gives_what_resolve_gives(tree: Path, name: str) -> None:
    dirs: dict[str, Path] = {}
    path = f"{tree}/{name}"
    assert _resolved(path, dirs) == Path(path).resolve()
    assert _resolved(path, dirs) == Path(path).resolve()  # from the memory
    assert _relative(path, tree, dirs) == _relative(path, tree)


def test_a_relative_name_is_resolved_from_the_working_directory(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tree)
    assert _resolved("linked/a.vcf", {}) == (tree / "real" / "a.vcf")
    assert os.path.isabs(str(_resolved("real/a.vcf", {})))
