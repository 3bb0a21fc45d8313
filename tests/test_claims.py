"""The figure guard on a labelled set of (answer, passages) pairs written for the purpose."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from advisor.chunking import Chunk
from advisor.claims import FigureGuard, citations_in
from advisor.figures import extract_figures

CASES = yaml.safe_load((Path(__file__).parent / "data" / "guard_cases.yaml").read_text())


def passage(key: str) -> Chunk:
    entry = CASES["passages"][key]
    return Chunk(key, key, "Test article", "Test", entry["section"], entry["text"], 0, 0)


def run_case(case: dict) -> tuple[list[tuple[str, bool]], str]:
    """Each figure of the answer with whether it is bad, and the guarded text."""
    guard = FigureGuard({n: passage(k) for n, k in enumerate(case["cite"], start=1)})
    result = guard.check(case["answer"])
    figures = [(f.text, f.text in case["bad"]) for f in extract_figures(case["answer"])]
    return figures, result.text


def test_labelled_set_is_large_and_covers_every_kind() -> None:
    cases = CASES["cases"]
    assert len(cases) >= 60
    assert sum(bool(c["bad"]) for c in cases) >= 30
    assert sum(not c["bad"] for c in cases) >= 30


def test_recall_on_bad_figures_and_false_flag_rate() -> None:
    caught = bad = false_flags = good = 0
    misses, flags = [], []
    for case in CASES["cases"]:
        figures, text = run_case(case)
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


@pytest.mark.parametrize("case", CASES["cases"], ids=lambda c: c["answer"][:50])
def test_each_case(case: dict) -> None:
    figures, text = run_case(case)
    for figure, is_bad in figures:
        if is_bad:
            assert figure not in text
        elif not case["bad"]:
            assert figure in text


def test_removal_records_the_reason() -> None:
    guard = FigureGuard({1: passage("payscale")})
    result = guard.check("Coders earn about $43,260 [1]. Billers earn $43,260 [1].")
    assert result.text == "Coders earn about $43,260 [1]."
    (removal,) = result.removed
    assert removal.figure == "$43,260"
    assert "stated for coder, not for biller" in removal.reason


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
    result = FigureGuard({1: passage("payscale")}).check(answer)
    assert result.text == "Coders earn about $43,260 [1]."
    assert citations_in(result.text) == [1]
