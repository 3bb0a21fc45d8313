from __future__ import annotations

import json
import re
from pathlib import Path

from advisor.answer import Citation, Reply
from advisor.claims import Removal
from advisor.feedback import record_feedback
from advisor.render import (
    answer_html,
    covers_html,
    format_text,
    guard_note,
    source_url,
    streaming_html,
    user_html,
)

PASSAGE = (
    "Medical coders earn an average annual salary of about $43,260, according to PayScale "
    "data from June, 2021. By contrast, medical billers make about $40,340. <b>bold</b>"
)
HOSTILE = "See ![badge](http://evil.test/pixel.png) and [salary data](http://evil.test/x) now."


def citation(n: int = 1, doc_id: str = "d", text: str = PASSAGE, **kw) -> Citation:
    fields = {"chunk_id": f"c{n}", "doc_id": doc_id, "title": "Pay <Guide>",
              "publisher": "PayScale", "section": "Salaries", "text": text, "start": 0,
              "end": 10, "n": n, **kw}  # fmt: skip
    return Citation(**fields)


def reply(answer: str, removed: list[Removal] | None = None, citations=None) -> Reply:
    return Reply(answer, citations or [citation()], removed=removed or [])


def test_source_card_escapes_text_and_highlights_the_cited_sentence() -> None:
    html = answer_html(reply("Coders earn about $43,260 a year [1]."), "m1")
    assert "Pay &lt;Guide&gt;" in html and "<Guide>" not in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "<mark>Medical coders earn an average annual salary of about $43,260" in html
    assert "<mark>By contrast" not in html
    assert 'id="m1-s1"' in html and "[1] Salaries" in html


def test_each_marker_is_a_chip_pointing_at_its_own_answers_card() -> None:
    html = answer_html(reply("Coders earn about $43,260 a year [1]."), "m3")
    chip = re.search(r'<button type="button" class="cite" value="([^"]+)"', html)
    assert chip and chip.group(1) == "m3-s1:1"
    assert 'id="m3-s1-p1"' in html  # the passage the chip marks when its card opens
    assert '<span class="sr-only">Source </span>1</button>' in html  # named for screen readers
    assert 'class="cite-tip" role="tooltip"' in html and "<mark>" in html.split("cite-tip")[1]


def test_one_card_per_article_with_every_cited_passage() -> None:
    other = "Billers make about $40,340 a year in mean annual earnings, PayScale says."
    cites = [citation(1), citation(2, text=other), citation(3, doc_id="e", title="Other")]
    html = answer_html(reply("A $43,260 [1]. B $40,340 [2]. C [3].", citations=cites), "m1")
    assert html.count('<details class="source-card"') == 2
    assert "Sources · 2 articles" in html
    first_card = html.split('<details class="source-card"')[1]
    assert "m1-s1-p1" in first_card and "m1-s1-p2" in first_card
    assert "[3]" not in html.split("answer-sources")[0]  # [3] is a chip, not plain text


def test_unknown_publisher_and_missing_date_are_omitted() -> None:
    html = answer_html(reply("x [1].", citations=[citation(publisher="unknown")]), "m1")
    assert "unknown" not in html and "not stated" not in html
    assert "source-meta" not in html
    dated = answer_html(reply("x [1].", citations=[citation(published="2021-06")]), "m1")
    assert "PayScale · 2021-06" in dated


def test_source_and_user_markdown_and_html_stay_inert() -> None:
    html = answer_html(reply(f"Sources say {HOSTILE} [1].", citations=[citation(text=HOSTILE)]),
                       "m1")  # fmt: skip
    assert "<img" not in html and "<a " not in html and "href" not in html
    assert "![badge](http://evil.test/pixel.png)" in html  # shown exactly as written
    question = user_html("**bold** <script>alert(1)</script> ![x](http://evil.test/a.png)")
    assert "<script>" not in question and "&lt;script&gt;" in question
    assert "<img" not in question and "![x](http://evil.test/a.png)" in question
    assert "<img" not in streaming_html(HOSTILE) and "<a " not in streaming_html(HOSTILE)


def test_the_advisors_own_formatting_is_rendered() -> None:
    html = format_text("Lead line [1].\n\nWhat they report:\n- **PayScale, 2021:** $43,260 [1]")
    assert html.startswith("<p>Lead line")
    assert "<ul><li><strong>PayScale, 2021:</strong> $43,260" in html
    assert "<h" not in html.replace("<p>", "")  # no headings: the page's order stays valid


def test_link_to_the_original_only_from_front_matter(tmp_path: Path) -> None:
    (tmp_path / "d.md").write_text("---\ntitle: T\nsource_url: https://example.org/a\n---\nx")
    (tmp_path / "e.md").write_text("---\ntitle: T\nsource_url: javascript:alert(1)\n---\nx")
    assert source_url(tmp_path, "d") == "https://example.org/a"
    assert source_url(tmp_path, "e") == "" and source_url(tmp_path, "missing") == ""
    html = answer_html(reply("x [1]."), "m1", tmp_path)
    assert 'href="https://example.org/a"' in html and "Read the original article" in html
    assert "href" not in answer_html(reply("x [1]."), "m1")


def test_guard_note_counts_what_was_removed() -> None:
    one = [Removal("s", "no cited passage states $95,000", "$95,000")]
    assert guard_note(reply("x [1]", one)) == (
        "Note: one figure was removed because no cited source states it."
    )
    two = [*one, Removal("t", "r", "$1"), Removal("[7]", "citation [7] points to no passage")]
    note = guard_note(reply("x [1]", two))
    assert "two figures were removed" in note and "citation" in note
    assert guard_note(reply("x [1]")) == ""
    assert "guard-note" in answer_html(reply("x [1].", one), "m1")


def test_covers_lists_titles_or_says_how_to_index() -> None:
    assert "<li>A &lt;b&gt;</li>" in covers_html(["A <b>"])
    assert "advisor index" in covers_html([])


def test_feedback_is_appended_as_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "feedback.jsonl"
    record_feedback(path, "Q1?", reply("A [1]."), liked=True)
    record_feedback(path, "Q2?", reply("B [1]."), liked=False)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(e["question"], e["rating"]) for e in lines] == [("Q1?", "up"), ("Q2?", "down")]
    assert lines[0]["citations"][0]["chunk_id"] == "c1"


def test_page_errors_are_friendly_and_say_how_to_fix() -> None:
    from advisor.chat_service import friendly_error, too_long
    from advisor.generators import GeneratorUnavailableError
    from advisor.index import IndexUnavailableError
    from advisor.text import QuestionError

    assert "advisor index" in friendly_error(IndexUnavailableError("no index at /x"))
    assert "extractive" in friendly_error(GeneratorUnavailableError("refused"))
    assert friendly_error(QuestionError("The question is <empty>.")) == "The question is <empty>."
    message = friendly_error(RuntimeError("boom at /secret/path"))
    assert message == "Something went wrong while answering. Please try again."
    assert "2,870" in too_long(2870, 2000) and "870" in too_long(2870, 2000)


def test_a_shared_year_alone_does_not_highlight_a_sentence() -> None:
    text = (
        "Jobs are projected to grow by 9% between 2020 and 2030. "
        "The lowest 10% of coders made less than $29,130 in 2020."
    )
    html = answer_html(reply("Coders: under $29,130 in 2020 [1].", citations=[citation(text=text)]),
                       "m1")  # fmt: skip
    passage = html.split('class="source-passage"')[1]
    assert "<mark>The lowest 10%" in passage and "<mark>Jobs" not in passage
