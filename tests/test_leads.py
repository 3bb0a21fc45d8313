"""What the extractive answer opens with, on both libraries' real articles and lexicons.

Each case gives the composer the passages a search would give it (real chunks, found by
a phrase they contain) and checks the first line: it must answer the question asked,
in the source's own words, with nothing before it that points elsewhere.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from advisor.chunking import Chunk, chunk_corpus
from advisor.corpus import load_corpus
from advisor.extractive import compose
from advisor.knowledge.lexicon import Lexicon
from advisor.knowledge.library import library_lexicon
from advisor.settings import ChunkSettings

from .conftest import CORPUS, REPO

CAREERS = REPO / "evals" / "corpora" / "careers" / "corpus"


@cache
def library(folder: Path) -> tuple[list[Chunk], Lexicon]:
    articles = load_corpus(folder).articles
    return chunk_corpus(articles, ChunkSettings()), library_lexicon(articles, folder)


def answer(folder: Path, question: str, *phrases: str) -> str:
    chunks, lexicon = library(folder)
    passages = [next(c for c in chunks if phrase in c.text) for phrase in phrases]
    return compose(question, passages, 5, 3, lexicon)


def lead(text: str) -> str:
    return text.strip().splitlines()[0]


def test_a_short_question_gets_its_own_clause_first() -> None:
    """ "Billing programs take months to two years, while PALS training is typically a
    one-day course": asked about PALS, the answer opens with the PALS clause, verbatim."""
    text = answer(
        CORPUS, "How long is PALS training?", "Becoming a PALS provider", "one-day course"
    )
    assert lead(text).startswith("PALS training is typically a one-day course")
    assert "Medical Billing" not in lead(text)


def test_how_often_is_not_how_long() -> None:
    """ "Renewing the certification every two years" does not answer "how long"."""
    text = answer(
        CORPUS, "How long is PALS training?", "Becoming a PALS provider", "one-day course"
    )
    assert "every two years" not in lead(text)


def test_a_source_credit_line_is_never_an_answer() -> None:
    text = answer(CAREERS, "What's the job outlook for data scientists?", "Projected growth")
    assert not lead(text).lower().startswith("source")
    assert "36%" in lead(text)


@pytest.mark.parametrize(
    ("folder", "question", "phrase", "expected"),
    [
        (CAREERS, "Do paralegals need a certificate?", "No state requires certification",
         "No state requires certification"),
        (CORPUS, "Do I need a degree to become a medical coder?",
         "A medical degree is not required", "A medical degree is not required"),
    ],
)  # fmt: skip
def test_do_i_need_is_answered_by_what_is_required(
    folder: Path, question: str, phrase: str, expected: str
) -> None:
    assert lead(answer(folder, question, phrase)).startswith(expected)


def test_which_certification_names_one() -> None:
    """ "Which certification…?" or "What exam…?" opens with a credential by name."""
    text = answer(
        CAREERS,
        "What exam do pharmacy technicians take?",
        "Most formal training programs",
        "Certified Pharmacy Technician (CPhT) credential",
    )
    assert "CPhT" in lead(text)


def test_what_the_library_covers_names_jobs_and_no_credential_twice() -> None:
    """ "…pharmacy technicians, …, welders and CPhT" named a credential as a job: a
    credential is listed only when no listed job is its own (PALS is; CPhT is not)."""
    from advisor.knowledge.scope import covered_phrase

    careers = covered_phrase(library(CAREERS)[1])
    assert "pharmacy technicians" in careers and "CPhT" not in careers
    assert covered_phrase(library(CORPUS)[1]).endswith("and PALS")
