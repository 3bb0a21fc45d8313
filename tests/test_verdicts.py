"""Answers that answer: a verdict first for comparisons, one block per side or none, and
about 120 words — on both libraries, with the real index and the default generator."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from advisor.answer import Advisor, Reply
from advisor.budget import within
from advisor.budget import words as count_words
from advisor.claims import citations_in
from advisor.index.build import build_index
from advisor.parts import split_parts
from advisor.prompts import REFUSAL_PHRASE
from advisor.retrieve import Retriever
from advisor.settings import IndexSettings, Settings
from advisor.sides import sides_of

from .conftest import REPO
from .test_answer import assert_every_figure_is_in_a_cited_passage

pytestmark = pytest.mark.slow
CAREERS = REPO / "evals" / "corpora" / "careers" / "corpus"


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Advisor:
    return _advisor(REPO / "corpus", tmp_path_factory.mktemp("first"), real_embedder)


@pytest.fixture(scope="module")
def careers(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Advisor:
    return _advisor(CAREERS, tmp_path_factory.mktemp("careers"), real_embedder)


def _advisor(corpus: Path, where: Path, embedder) -> Advisor:
    settings = Settings(corpus_dir=corpus, index=IndexSettings(path=where / "index"))
    build_index(settings, embedder)
    return Advisor(settings, Retriever(settings, embedder))


def lead(reply: Reply) -> str:
    return reply.answer.split("\n\n")[0]


def words(reply: Reply) -> int:
    return count_words(reply.answer)


@pytest.mark.parametrize(
    ("library", "question", "verdict"),
    [
        ("first", "Do coders or billers earn more?", "Medical coders, in every source"),
        ("first", "Which pays more, medical coding or medical billing?", "Medical coders, "),
        ("careers", "Do dental hygienists make more than dental assistants?", "Dental hygienists"),
        ("careers", "Which earns more, an LPN or an RN?", "Registered nurses, according to BLS"),
    ],
)
def test_which_pays_more_is_answered_by_the_sources_figures_first(
    request: pytest.FixtureRequest, library: str, question: str, verdict: str
) -> None:
    reply = request.getfixturevalue(library).ask(question)
    assert lead(reply).startswith(verdict), reply.answer
    words_only = re.sub(r"\[\d+\]|\b(?:19|20)\d\d\b", "", lead(reply))
    assert not re.search(r"\d", words_only), "the verdict states no figure (only a year)"
    assert reply.removed == []
    assert_every_figure_is_in_a_cited_passage(reply)


def test_is_x_better_than_y_says_it_depends_with_one_cited_clause_per_side(first: Advisor) -> None:
    reply = first.ask("Is CCS better than CPC?")
    top = lead(reply)
    assert top.startswith("It depends on what you want: ")
    ccs, cpc = top.split("; ", 1)
    assert "CCS" in ccs and re.search(r"\[\d\]$", ccs)
    assert "CPC" in cpc and "outpatient" in cpc and re.search(r"\[\d\]\.$", cpc)
    assert "$" not in reply.answer


@pytest.mark.parametrize(
    ("library", "question"),
    [
        ("first", "Should I become a medical coder or a biller if I hate phone calls?"),
        ("first", "Medical billing vs medical coding?"),
        ("first", "Is CCS better than CPC?"),
        ("careers", "Is it better to be an LPN or an RN?"),
        ("careers", "Dental assistant vs dental hygienist: what's the difference?"),
    ],
)
def test_a_comparison_has_a_block_for_each_side_or_none(
    request: pytest.FixtureRequest, library: str, question: str
) -> None:
    reply = request.getfixturevalue(library).ask(question)
    headings = re.findall(r"^\*\*([^*]+)\*\*$", reply.answer, re.M)
    assert len(headings) in (0, 2), reply.answer
    assert not {"Both", "Also worth knowing"} & set(headings)
    assert words(reply) <= 130, reply.answer
    # no point opens by pointing at a sentence that is not right before it
    for line in reply.answer.splitlines():
        assert not re.match(r"- (?:They|This|That|These|By contrast|On the other hand)\b", line)


def test_answers_are_about_120_words_unless_a_list_is_asked(first: Advisor) -> None:
    for question in [
        "Is medical billing better than medical coding?",
        "Do I need a degree to become a medical biller?",
        "Can medical coders work from home?",
        "What does a medical biller do?",
    ]:
        assert words(first.ask(question)) <= 130, question


def test_the_word_budget_drops_whole_points_never_the_lead_nor_leaves_a_bare_heading() -> None:
    lines = ["Lead " * 30, "", "**A**", "- a " * 30, "", "**B**", "- b " * 40]
    kept = within(lines, 70)
    assert kept[0] == lines[0]
    assert kept[-1].startswith("- a")
    assert within(["Lead " * 200], 10) == ["Lead " * 200]


@pytest.mark.parametrize(
    ("message", "parts"),
    [
        (
            "How much do coders make? How long is training? Do I need a degree?",
            ["How much do coders make?", "How long is training?", "Do I need a degree?"],
        ),
        (
            "I'm in high school. What does a biller do, and how much do they make?",
            ["I'm in high school. What does a biller do", "How much do they make?"],
        ),
        ("1) pay of coders\n2) how long is training", ["Pay of coders", "How long is training"]),
        ("Is CCS better than CPC?", ["Is CCS better than CPC?"]),
        ("Thanks. How long is PALS training?", ["Thanks. How long is PALS training?"]),
        ("Do coders and billers work from home?", ["Do coders and billers work from home?"]),
    ],
)
def test_a_message_is_split_into_the_questions_it_asks(message: str, parts: list[str]) -> None:
    assert split_parts(message) == parts


def test_each_part_gets_its_own_cited_block_and_an_uncovered_part_says_so(first: Advisor) -> None:
    reply = first.ask(
        "How much do coders make? How long is PALS training? How do I become a pilot?"
    )
    blocks = reply.answer.split("\n\n**")
    assert len(blocks) == 3
    assert blocks[0].startswith("**How much do coders make?**") and "$" in blocks[0]
    assert "PALS" in blocks[1] and re.search(r"\[\d\]", blocks[1])
    assert "pilot" in blocks[2].lower() and REFUSAL_PHRASE in blocks[2]
    assert not reply.refused
    # one numbering across the whole reply: every marker has its passage, none is unused
    assert set(citations_in(reply.answer)) == {c.n for c in reply.citations}
    assert_every_figure_is_in_a_cited_passage(reply)


def test_a_later_part_resolves_it_from_the_earlier_one(first: Advisor) -> None:
    reply = first.ask("What is PALS? How often is it renewed?")
    assert "PALS" in reply.standalone_question.split(" | ")[1]
    assert "PALS" in reply.answer.split("\n\n**")[1]


def test_a_figure_in_a_part_is_never_echoed_as_its_heading(first: Advisor) -> None:
    reply = first.ask("I heard coders make $95,000, right? How long is coder training?")
    headings = re.findall(r"^\*\*([^*]+)\*\*$", reply.answer, re.M)
    assert headings and not any("95" in h for h in headings)
    assert "None of the articles reports $95,000" in reply.answer


@pytest.mark.parametrize(
    ("question", "note", "answered"),
    [
        ("Electrician or plumber, which pays better?", "don't cover plumbers", "electricians"),
        ("Do RNs earn more than nurse practitioners?", "not nurse practitioners", "RNs"),
    ],
)
def test_a_comparison_with_an_uncovered_side_says_so_and_answers_the_other(
    careers: Advisor, question: str, note: str, answered: str
) -> None:
    reply = careers.ask(question)
    assert not reply.refused
    assert note in lead(reply)
    assert answered in reply.answer
    assert not lead(reply).startswith("Registered nurses")  # no verdict against a third job
    assert_every_figure_is_in_a_cited_passage(reply)


def test_a_comparison_searches_each_side(first: Advisor) -> None:
    """Searched as one query the pay comparison finds no pay passage for either side."""
    question = "Which pays more, medical billing or medical coding?"
    sides = sides_of(first.retriever.lexicon, question)
    assert [key for key, _ in sides] == ["medical biller", "medical coder"]
    assert all("coding" not in q for k, q in sides if k == "medical biller")
    reply = first.ask(question)
    cited = " ".join(c.section for c in reply.citations)
    assert "pay" in cited.lower() or "salar" in cited.lower()


def test_what_is_written_only_of_another_job_is_said_to_be_about_that_job(first: Advisor) -> None:
    """Only billing's stress is written about: the answer says so, never as if of coders."""
    reply = first.ask("Is medical coding stressful?")
    assert not reply.refused
    assert lead(reply).startswith("The articles don't say this about medical coders.")
    assert "medical billers" in lead(reply)
    assert "Medical billing can be a stressful job" in reply.answer
