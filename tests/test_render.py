from __future__ import annotations

import json
from pathlib import Path

from advisor.answer import Citation, Reply
from advisor.claims import Removal
from advisor.feedback import record_feedback
from advisor.render import answer_markdown, covers_markdown, guard_note, source_cards

PASSAGE = (
    "Medical coders earn an average annual salary of about $43,260, according to PayScale "
    "data from June, 2021. By contrast, medical billers make about $40,340. <b>bold</b>"
)


def reply(answer: str, removed: list[Removal] | None = None) -> Reply:
    citation = Citation(
        chunk_id="c1", doc_id="d", title="Pay <Guide>", publisher="PayScale",
        section="Salaries", text=PASSAGE, start=0, end=10, n=1,
    )  # fmt: skip
    return Reply(answer, [citation], removed=removed or [])


def test_source_card_escapes_text_and_highlights_the_cited_sentence() -> None:
    html = source_cards(reply("Coders earn about $43,260 a year [1]."))
    assert "Pay &lt;Guide&gt;" in html and "<Guide>" not in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "<mark>Medical coders earn an average annual salary of about $43,260" in html
    assert "<mark>By contrast" not in html
    assert 'id="source-1"' in html and "Section: Salaries" in html


def test_no_reply_means_a_placeholder() -> None:
    assert "appear here" in source_cards(None)


def test_guard_note_counts_what_was_removed() -> None:
    one = [Removal("s", "no cited passage states $95,000", "$95,000")]
    assert guard_note(reply("x [1]", one)) == (
        "*Note: one figure was removed because no cited source states it.*"
    )
    two = [*one, Removal("t", "r", "$1"), Removal("[7]", "citation [7] points to no passage")]
    note = guard_note(reply("x [1]", two))
    assert "two figures were removed" in note and "citation" in note
    assert guard_note(reply("x [1]")) == ""


def test_answer_markdown_shows_html_literally_and_adds_the_note() -> None:
    removed = [Removal("s", "r", "$9")]
    text = answer_markdown(reply("Use <script>alert(1)</script> **now** [1].", removed))
    assert "&lt;script&gt;" in text and "**now**" in text
    assert text.endswith("no cited source states it.*")


def test_covers_lists_titles_or_says_how_to_index() -> None:
    assert "- A &lt;b&gt;" in covers_markdown(["A <b>"])
    assert "advisor index" in covers_markdown([])


def test_feedback_is_appended_as_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "feedback.jsonl"
    record_feedback(path, "Q1?", reply("A [1]."), liked=True)
    record_feedback(path, "Q2?", reply("B [1]."), liked=False)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(e["question"], e["rating"]) for e in lines] == [("Q1?", "up"), ("Q2?", "down")]
    assert lines[0]["citations"][0]["chunk_id"] == "c1"


def test_page_errors_are_friendly_and_say_how_to_fix() -> None:
    from advisor.generators import GeneratorUnavailableError
    from advisor.index import IndexUnavailableError
    from advisor.page import friendly_error
    from advisor.text import QuestionError

    assert "advisor index" in friendly_error(IndexUnavailableError("no index at /x"))
    assert "extractive" in friendly_error(GeneratorUnavailableError("refused"))
    assert friendly_error(QuestionError("The question is <empty>.")) == (
        "The question is &lt;empty&gt;."
    )
    message = friendly_error(RuntimeError("boom at /secret/path"))
    assert message == "Something went wrong while answering. Please try again."
