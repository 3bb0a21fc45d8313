"""Who reported a figure whose passage names no one: the one reporter its article names
("Source: U.S. Bureau of Labor Statistics"), else its publisher, as before. The guard still
removes a reply that credits the figure to anyone else. Real articles, real chunks."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from advisor.chunking import Chunk, chunk_article
from advisor.claims import FigureGuard
from advisor.corpus import load_corpus
from advisor.knowledge.facts import FigureFact, PassageReader
from advisor.knowledge.lexicon import Lexicon
from advisor.knowledge.library import library_lexicon
from advisor.settings import ChunkSettings

from .conftest import CORPUS, REPO

CAREERS = REPO / "evals" / "corpora" / "careers" / "corpus"


@cache
def library(folder: Path) -> tuple[Lexicon, tuple[Chunk, ...]]:
    articles = load_corpus(folder).articles
    chunks = tuple(c for a in articles for c in chunk_article(a, ChunkSettings()))
    return library_lexicon(articles, folder), chunks


def fact(folder: Path, doc_id: str, figure: str) -> tuple[Chunk, FigureFact]:
    lexicon, chunks = library(folder)
    chunk = next(c for c in chunks if c.doc_id == doc_id and figure in c.text)
    found = next(f for f in PassageReader(lexicon).facts(chunk) if f.figure.text == figure)
    return chunk, found


def test_an_article_naming_one_reporter_reports_its_unattributed_figures() -> None:
    lexicon, _ = library(CAREERS)
    assert lexicon.doc_reporters["welder-career"] == "BLS"
    chunk, found = fact(CAREERS, "welder-career", "$53,250")
    assert chunk.publisher == "Career Advisor team" and "BLS" not in chunk.text
    assert found.reporter == "BLS"
    assert Lexicon.from_data(lexicon.to_data()).doc_reporters == lexicon.doc_reporters


def test_an_article_naming_two_reporters_keeps_its_publisher() -> None:
    """CareerStep's own "$21 per hour" is CareerStep's, though the article cites the BLS too;
    the paralegal article names the BLS and two associations: nothing is guessed."""
    lexicon, _ = library(CORPUS)
    assert "medical-coding-and-billing-career" not in lexicon.doc_reporters
    assert "paralegal-career" not in library(CAREERS)[0].doc_reporters
    _, found = fact(CORPUS, "medical-coding-and-billing-career", "$21")
    assert found.reporter == "CareerStep"


def test_the_guard_still_checks_who_reported_it() -> None:
    lexicon, _ = library(CAREERS)
    chunk, _ = fact(CAREERS, "welder-career", "$53,250")
    guard = FigureGuard({1: chunk}, lexicon, "What do welders earn?")
    said = "welders working for specialty trade contractors had a median of $53,250 in May 2023"
    assert "$53,250" in guard.check(f"According to the BLS, {said} [1].").text
    for other in ("PayScale", "NALA"):  # a site no article names; a reporter this one does not
        result = guard.check(f"According to {other}, {said} [1].")
        assert "$53,250" not in result.text
        assert any("BLS reported it" in r.reason for r in result.removed), result.removed
