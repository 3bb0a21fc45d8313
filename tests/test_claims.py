"""The figure guard on labelled sets of (answer, passages) pairs written for the purpose.

Two libraries: the five articles (tests/data/guard_cases.yaml) and the team's
second library of nine (guard_cases_careers.yaml). The guard reads each with
the lexicon derived from that library's real articles, as it does in use.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
import yaml

from advisor.chunking import Chunk
from advisor.claims import FigureGuard, citations_in
from advisor.corpus import load_corpus
from advisor.figures import extract_figures
from advisor.knowledge.lexicon import Lexicon
from advisor.knowledge.library import library_lexicon

from .conftest import CORPUS, REPO

DATA = Path(__file__).parent / "data"
LIBRARIES = {
    "guard_cases.yaml": CORPUS,
    "guard_cases_careers.yaml": REPO / "evals" / "corpora" / "careers" / "corpus",
}
SETS = {name: yaml.safe_load((DATA / name).read_text()) for name in LIBRARIES}
CASES = SETS["guard_cases.yaml"]
ALL_CASES = [(name, case) for name, data in SETS.items() for case in data["cases"]]


@cache
def lexicon(name: str) -> Lexicon:
    folder = LIBRARIES[name]
    return library_lexicon(load_corpus(folder).articles, folder)


def passage(key: str, name: str = "guard_cases.yaml") -> Chunk:
    entry = SETS[name]["passages"][key]
    doc = entry.get("doc", key)
    published = str(entry.get("published") or "")
    return Chunk(key, doc, "Test article", "Test", entry["section"], entry["text"], 0, 0, published)


def run_case(case: dict, name: str = "guard_cases.yaml") -> tuple[list[tuple[str, bool]], str]:
    """Each figure of the answer with whether it is bad, and the guarded text."""
    passages = {n: passage(k, name) for n, k in enumerate(case["cite"], start=1)}
    guard = FigureGuard(passages, lexicon(name), case.get("question", ""))
    result = guard.check(case["answer"])
    figures = [(f.text, f.text in case["bad"]) for f in extract_figures(case["answer"])]
    return figures, result.text


def test_labelled_set_is_large_and_covers_every_kind() -> None:
    cases = [case for _, case in ALL_CASES]
    assert len(cases) >= 150
    assert sum(bool(c["bad"]) for c in cases) >= 100
    assert sum(not c["bad"] for c in cases) >= 100
    occupations = {
        key
        for name, data in SETS.items()
        for case in data["cases"]
        for key in lexicon(name).subjects_in(case.get("question", "") + " " + case["answer"])
        if lexicon(name).subjects[key].kind == "occupation"
    }
    assert len(occupations) >= 8, occupations


def test_recall_on_bad_figures_and_false_flag_rate() -> None:
    caught = bad = false_flags = good = 0
    misses, flags = [], []
    for name, case in ALL_CASES:
        figures, text = run_case(case, name)
        for figure, is_bad in figures:
            survived = figure in text
            if is_bad:
                bad += 1
                caught += not survived
                if survived:
                    misses.append(case["answer"])
            else:
                good += 1
                if not survived and case["bad"] == []:
                    false_flags += 1
                    flags.append(case["answer"])
    assert bad >= 30 and good >= 40
    assert caught / bad >= 0.98, f"recall {caught}/{bad}; missed: {misses}"
    assert false_flags / good <= 0.02, f"false flags {false_flags}/{good}: {flags}"


@pytest.mark.parametrize(("name", "case"), ALL_CASES, ids=[c["answer"][:50] for _, c in ALL_CASES])
def test_each_case(name: str, case: dict) -> None:
    if case.get("known"):  # a labelled disagreement, counted in the rates above
        pytest.xfail(case["known"])
    figures, text = run_case(case, name)
    for figure, is_bad in figures:
        if is_bad:
            assert figure not in text
        elif not case["bad"]:
            assert figure in text


def test_removal_records_the_reason() -> None:
    guard = FigureGuard({1: passage("payscale")}, lexicon("guard_cases.yaml"))
    result = guard.check("Coders earn about $43,260 [1]. Billers earn $43,260 [1].")
    assert result.text == "Coders earn about $43,260 [1]."
    (removal,) = result.removed
    assert removal.figure == "$43,260"
    assert "stated for medical biller, but the source states it for medical coder" in (
        removal.reason
    )


def test_a_sentence_naming_nobody_is_checked_against_the_question() -> None:
    guard = FigureGuard(
        {1: passage("payscale")}, lexicon("guard_cases.yaml"), "What do medical billers earn?"
    )
    assert guard.check("They make about $43,260 a year [1].").empty
    guard = FigureGuard(
        {1: passage("payscale")}, lexicon("guard_cases.yaml"), "What do medical coders earn?"
    )
    assert "$43,260" in guard.check("They make about $43,260 a year [1].").text


def test_citation_to_no_passage_is_dropped_and_recorded() -> None:
    result = FigureGuard({1: passage("ccs")}).check("CCS holders often earn more [1][7].")
    assert result.text == "CCS holders often earn more [1]."
    assert [r.reason for r in result.removed] == ["citation [7] points to no passage"]


def test_nothing_sourced_left_means_empty() -> None:
    result = FigureGuard({1: passage("payscale")}).check("Coders earn $95,000 [1].")
    assert result.empty and result.text == ""


def test_uncited_text_without_figures_is_not_an_answer() -> None:
    assert FigureGuard({1: passage("ccs")}).check("Coding is a fine career.").empty


def test_empty_bullets_and_orphan_headings_are_removed() -> None:
    answer = "Coders earn about $43,260 [1].\n\n**Billers**\n- Billers earn $99,999 [1]."
    result = FigureGuard({1: passage("payscale")}, lexicon("guard_cases.yaml")).check(answer)
    assert result.text == "Coders earn about $43,260 [1]."
    assert citations_in(result.text) == [1]


def test_a_students_figure_passes_only_inside_the_denial() -> None:
    lex, passages = lexicon("guard_cases.yaml"), {1: passage("payscale")}
    question = "I heard coders make $95,000, right?"
    denial = "None of the articles reports $95,000 for medical coders; here is what they report."
    guard = FigureGuard(passages, lex, question)
    assert "$95,000" in guard.check(f"{denial}\nCoders earn about $43,260 [1].").text
    assert "$95,000" not in guard.check("Coders earn $95,000 [1].").text
    other = "None of the articles reports $88,000 for medical coders; here is what they report."
    assert "$88,000" not in guard.check(f"{other}\nCoders earn about $43,260 [1].").text
