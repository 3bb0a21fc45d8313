"""A figure far out of line with the other articles is flagged when indexing and never used."""

from __future__ import annotations

from pathlib import Path

from advisor.chunking import Chunk
from advisor.claims import FigureGuard
from advisor.index.build import build_index
from advisor.index.manifest import read_manifest
from advisor.knowledge.lexicon import Lexicon
from advisor.settings import Settings

from .conftest import HashEmbedder

PLANTED = """---
title: Career News
publisher: Career News
published: 2024-05-01
---

## Medical coder pay

Medical coders earn an average salary of $500,000 a year, according to a recent survey.
"""


def test_a_planted_figure_is_reported_and_never_supports_an_answer(
    settings: Settings, corpus_dir: Path, hash_embedder: HashEmbedder
) -> None:
    (corpus_dir / "career-news.md").write_text(PLANTED)
    report = build_index(settings, hash_embedder)
    assert [file for file, _ in report.outliers] == ["career-news.md"]
    assert "$500,000 for medical coder" in report.outliers[0][1]
    manifest = read_manifest(settings.index)
    assert manifest is not None and manifest.library is not None
    lexicon = Lexicon.from_data(manifest.library)
    text = PLANTED.split("## Medical coder pay\n\n")[1]
    passage = Chunk("x", "career-news", "Career News", "Career News", "Medical coder pay", text,
                    0, len(text), "2024-05-01")  # fmt: skip
    guard = FigureGuard({1: passage}, lexicon, "How much do medical coders make?")
    assert "$500,000" not in guard.check("Medical coders earn $500,000 a year [1].").text


def test_the_committed_libraries_have_no_outliers(settings: Settings, hash_embedder) -> None:
    report = build_index(settings, hash_embedder)
    assert report.outliers == []
