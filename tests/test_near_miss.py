"""Near-miss occupations (issue 8 §4): a job named by a longer phrase whose last word is a
covered job's short name ("nurse practitioner" when the library covers healthcare
practitioners as "practitioners") is declined with the neighbour's name, never given the
neighbour's figures; a modifier that says which worker ("remote coders") is still answered.

The lexicons are derived from each library's real articles; the answers come from a real
index with real embeddings."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.answer import Advisor
from advisor.corpus import load_corpus
from advisor.figures import extract_figures
from advisor.index.build import build_index
from advisor.knowledge.lexicon import Lexicon
from advisor.knowledge.library import library_lexicon
from advisor.knowledge.scope import partly_uncovered, uncovered_occupation
from advisor.prompts import REFUSAL_PHRASE
from advisor.retrieve import Retriever
from advisor.settings import Settings

from .conftest import CORPUS, REPO

CAREERS = REPO / "evals" / "corpora" / "careers" / "corpus"
_LEXICONS: dict[Path, Lexicon] = {}


def lexicon(folder: Path) -> Lexicon:
    if folder not in _LEXICONS:
        _LEXICONS[folder] = library_lexicon(load_corpus(folder).articles, folder)
    return _LEXICONS[folder]


@pytest.mark.parametrize(
    ("folder", "question", "covered", "asked"),
    [
        (CORPUS, "How much does a nurse practitioner make?", "healthcare practitioners",
         "nurse practitioners"),
        (CORPUS, "Nurse practitioner salary?", "healthcare practitioners", "nurse practitioners"),
        (CORPUS, "What is the average nurse practitioner salary?", "healthcare practitioners",
         "nurse practitioners"),
        (CORPUS, "How much does a software coder make?", "medical coders", "software coders"),
        (CORPUS, "How much does a family practitioner make?", "healthcare practitioners",
         "family practitioners"),
        (CAREERS, "How much do web developers make?", "software developers", "web developers"),
        (CAREERS, "How much does a computer scientist make?", "data scientists",
         "computer scientists"),
        (CAREERS, "What does an occupational therapist earn?", "physical therapists",
         "occupational therapists"),
        (CAREERS, "How much does an industrial hygienist make?", "dental hygienists",
         "industrial hygienists"),
        (CAREERS, "How much do data analysts make?", "data scientists", "data analysts"),
    ],
)  # fmt: skip
def test_a_near_miss_is_declined_naming_the_neighbour(
    folder: Path, question: str, covered: str, asked: str
) -> None:
    reason = uncovered_occupation(lexicon(folder), question)
    assert reason is not None and reason.startswith("The articles cover ")
    assert covered in reason and f"not {asked}." in reason


@pytest.mark.parametrize(
    ("folder", "question"),
    [
        (CORPUS, "How much do remote coders make?"),
        (CORPUS, "Do certified coders earn more?"),
        (CORPUS, "How much do experienced coders earn?"),
        (CORPUS, "What do entry-level billers make?"),
        (CORPUS, "How much do medical coders make?"),
        (CORPUS, "What do inpatient coders earn?"),  # "Certified Inpatient Coder" is a name
        (CORPUS, "What do CPC coders earn?"),
        (CORPUS, "How much do insurance billers make?"),  # the articles say "insurance billing"
        (CORPUS, "How much do 10-year coders make?"),
        (CORPUS, "Do travel coders make more?"),
        (CORPUS, "What do coders typically make?"),
        (CORPUS, "Compare billers and coders"),  # a verb, not a modifier
        (CORPUS, "I heard coders make $95,000, right?"),
        (CORPUS, "Do hospitals hire coders?"),
        # where the articles say they work ("work in hospitals, clinics or physicians' offices")
        (CORPUS, "What do hospital coders earn?"),
        (CORPUS, "How much do clinic coders make?"),
        (CORPUS, "physician office coders salary"),
        (CORPUS, "What do healthcare practitioners earn?"),
        (CAREERS, "How much do apprentice electricians make?"),
        (CAREERS, "How much do senior developers make?"),
        (CAREERS, "How much does a licensed therapist make?"),
        (CAREERS, "How much does a junior data scientist make?"),
        (CAREERS, "How much does an underwater welder make?"),
        (CAREERS, "How much do electrical contractors make?"),  # the articles say it
    ],
)
def test_a_modifier_that_says_which_worker_keeps_the_job(folder: Path, question: str) -> None:
    assert uncovered_occupation(lexicon(folder), question) is None
    assert partly_uncovered(lexicon(folder), question) is None


def test_workplaces_are_read_from_where_the_articles_say_workers_work() -> None:
    """Only the list after "work in/at", up to the first item that is not a short place."""
    places = lexicon(CORPUS).workplaces
    assert {"hospital", "clinic", "office", "physician"} <= places
    assert "nurse" not in places  # "…the medical field but don't want to be a doctor or nurse"
    again = Lexicon.from_data(lexicon(CORPUS).to_data())
    assert again.workplaces == places


def test_the_words_before_a_short_name_are_read_from_the_text_and_stored() -> None:
    """Only for one-word names of longer job names, and kept through the manifest's form."""
    first = lexicon(CORPUS)
    assert {"insurance", "medical"} <= first.modifiers["billing"]
    assert "nurse" not in first.modifiers["practitioner"]
    assert "welder" not in lexicon(CAREERS).modifiers  # a job named by one word: not needed
    assert Lexicon.from_data(first.to_data()).modifiers == first.modifiers


def test_a_near_miss_compared_with_a_covered_job_is_named_first() -> None:
    note = partly_uncovered(lexicon(CORPUS), "Do coders earn more than nurse practitioners?")
    assert note == "The articles cover healthcare practitioners, not nurse practitioners."


@pytest.mark.slow
def test_nurse_practitioner_never_gets_the_practitioners_median(advisor: Advisor) -> None:
    reply = advisor.ask("How much does a nurse practitioner make?")
    assert reply.refused and reply.answer.startswith(REFUSAL_PHRASE)
    assert "The articles cover healthcare practitioners, not nurse practitioners." in reply.answer
    assert "$68,190" not in reply.answer and extract_figures(reply.answer) == []


@pytest.mark.slow
@pytest.mark.parametrize(
    "question",
    [
        "How much do remote coders make?",
        "How much do certified coders make?",
        "How much do experienced coders make?",
    ],
)
def test_coders_of_any_kind_still_get_coder_pay(advisor: Advisor, question: str) -> None:
    reply = advisor.ask(question)
    assert not reply.refused
    assert "$" in reply.answer and reply.citations
    assert "$68,190" not in reply.answer  # never the healthcare practitioners' median


@pytest.mark.slow
def test_careers_near_misses_are_declined_and_covered_jobs_answered(
    real_index: Settings, real_embedder, tmp_path: Path
) -> None:
    settings = real_index.model_copy(update={
        "corpus_dir": CAREERS,
        "index": real_index.index.model_copy(update={"path": tmp_path / "careers-index"}),
    })  # fmt: skip
    build_index(settings, real_embedder)
    advisor = Advisor(settings, Retriever(settings, real_embedder))
    for question, neighbour in [
        ("How much do web developers make?", "software developers"),
        ("How much does a data analyst make?", "data scientists"),
    ]:
        reply = advisor.ask(question)
        assert reply.refused and f"The articles cover {neighbour}, not" in reply.answer
        assert extract_figures(reply.answer) == []
    reply = advisor.ask("How much do senior software developers make?")
    assert not reply.refused and "$" in reply.answer


@pytest.fixture
def advisor(real_index: Settings, real_embedder) -> Advisor:
    return Advisor(real_index, Retriever(real_index, real_embedder))
