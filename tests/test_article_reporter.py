"""Who reported a figure whose passage names no one: the one reporter its article credits in
a credit line ("Source: U.S. Bureau of Labor Statistics") and names alone, else its
publisher, as before. The guard still removes a reply that credits the figure to anyone
else. Real articles, real chunks."""

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
    """The fact of `figure` in the first passage of `doc_id` stating it without a reporter's
    name (or in the first passage stating it, when every one names a reporter)."""
    lexicon, chunks = library(folder)
    stating = [c for c in chunks if c.doc_id == doc_id and figure in c.text]
    chunk = next((c for c in stating if not lexicon.reporters_in(c.text)), stating[0])
    found = next(f for f in PassageReader(lexicon).facts(chunk) if f.figure.text == figure)
    return chunk, found


def test_an_article_crediting_one_reporter_reports_its_unattributed_figures() -> None:
    lexicon, _ = library(CAREERS)
    assert lexicon.doc_reporters == {
        "dental-assistant-vs-hygienist": "BLS",  # "Source for pay: U.S. Bureau of …"
        "software-developer-vs-data-scientist": "BLS",  # "Source: U.S. Bureau of …"
    }
    chunk, found = fact(CAREERS, "dental-assistant-vs-hygienist", "$87,530")
    assert chunk.publisher == "Career Advisor team" and not lexicon.reporters_in(chunk.text)
    assert found.reporter == "BLS"
    assert Lexicon.from_data(lexicon.to_data()).doc_reporters == lexicon.doc_reporters


def test_an_article_that_only_cites_a_reporter_keeps_its_publisher() -> None:
    """The electrician article cites only the BLS, but its apprentices' "$15 to $20" is its
    own; CareerStep's "$21 per hour" is CareerStep's though it cites the BLS too."""
    lexicon, _ = library(CAREERS)
    for doc_id, figure in [("electrician-career", "$15"), ("welder-career", "$53,250")]:
        assert doc_id not in lexicon.doc_reporters
        assert fact(CAREERS, doc_id, figure)[1].reporter == "Career Advisor team"
    assert library(CORPUS)[0].doc_reporters == {}
    _, found = fact(CORPUS, "medical-coding-and-billing-career", "$21")
    assert found.reporter == "CareerStep"


def test_the_guard_still_checks_who_reported_it() -> None:
    lexicon, _ = library(CAREERS)
    chunk, _ = fact(CAREERS, "dental-assistant-vs-hygienist", "$87,530")
    guard = FigureGuard({1: chunk}, lexicon, "What do dental hygienists earn?")
    said = "dental hygienists earned a median of $87,530 in May 2023"
    assert "$87,530" in guard.check(f"According to the BLS, {said} [1].").text
    for other in ("PayScale", "NALA"):  # a site no article names; a reporter this one does not
        result = guard.check(f"According to {other}, {said} [1].")
        assert "$87,530" not in result.text
        assert any("BLS reported it" in r.reason for r in result.removed), result.removed
