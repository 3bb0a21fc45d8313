"""The pay figures list (issue 13): what the chart, the page's table and the CLI table draw.

Passages are real chunks of the two libraries' articles, read with the lexicon
derived from each library, as in use; answers are written for the purpose.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from advisor.chunking import Chunk, chunk_corpus
from advisor.corpus import load_corpus
from advisor.knowledge.lexicon import Lexicon
from advisor.knowledge.library import library_lexicon
from advisor.paychart import cli_table, pay_chart, table_html
from advisor.payfigures import PayFigure, grouped, pay_figures, worth_charting
from advisor.settings import ChunkSettings

from .conftest import CORPUS, REPO

CAREERS = REPO / "evals" / "corpora" / "careers" / "corpus"


@cache
def library(folder: Path) -> tuple[Lexicon, tuple[Chunk, ...]]:
    articles = load_corpus(folder).articles
    return library_lexicon(articles, folder), tuple(chunk_corpus(articles, ChunkSettings()))


def passage(folder: Path, phrase: str) -> Chunk:
    return next(c for c in library(folder)[1] if phrase in c.text)


def figures_of(answer: str, phrases: list[str], question: str = "", folder: Path = CORPUS):
    cited = [passage(folder, p) for p in phrases]
    numbers = list(range(1, len(cited) + 1))
    return pay_figures(answer, cited, numbers, library(folder)[0], question), cited


def test_each_sourced_figure_with_its_unit_occupation_statistic_reporter_and_period() -> None:
    answer = (
        "PayScale data shows that medical billers make about $40,340 in mean annual earnings [1].\n"
        "- The average salary for a medical biller is around $16 per hour, or $32,000 a year [2]."
    )
    figures, cited = figures_of(answer, ["$40,340", "$16 per hour"], "How much do billers make?")
    assert [(f.text, f.unit) for f in figures] == [
        ("$40,340", "year"), ("$16", "hour"), ("$32,000", "year")
    ]  # fmt: skip
    first, hourly = figures[0], figures[1]
    assert (first.occupation, first.statistic, first.reporter, first.period, first.n) == (
        "medical biller", "average", "PayScale", "2021", 1
    )  # fmt: skip
    assert (hourly.reporter, hourly.period, hourly.n) == ("CareerStep", "2019", 2)
    for f in figures:  # the value shown is the source's own text, and its sentence is there
        assert f.text in cited[f.n - 1].text and f.sentence in cited[f.n - 1].text
    assert first.label == "medical biller · average · PayScale · 2021"


def test_a_figure_no_cited_fact_supports_is_never_listed() -> None:
    """With the guard off (the eval's ablation) a wrong figure reaches the answer text;
    it still never reaches the list, nor does one attributed to the wrong reporter."""
    answer = (
        "Medical billers make about $40,340 a year [1]. Billers make $99,999 a year [1].\n"
        "The BLS says billers earn $32,000 a year [2]."
    )
    figures, _ = figures_of(answer, ["$40,340", "$16 per hour"], "How much do billers make?")
    assert [f.text for f in figures] == ["$40,340"]
    assert pay_figures(answer, [], [], library(CORPUS)[0]) == []  # nothing cited: nothing drawn


def test_prices_and_gaps_are_not_pay_figures() -> None:
    tuition, _ = figures_of("Tuition begins at $1,239 [1].", ["Tuition begins"])
    assert tuition == []
    answer = (
        "RNs earned a median of $86,070 in May 2023, while LPNs earned $59,730 [1]. "
        "That gap of more than $26,000 a year is the main financial argument [1]."
    )
    figures, _ = figures_of(answer, ["gap of more than"], "Which pays more, LPN or RN?", CAREERS)
    assert [(f.text, f.occupation, f.period) for f in figures] == [
        ("$86,070", "registered nurse", "May 2023"),
        ("$59,730", "licensed practical nurse", "May 2023"),
    ]


def test_a_range_is_one_figure_drawn_between_its_ends_only_when_both_are_stated() -> None:
    both = "Many first-year apprentices earn roughly $15 to $20 an hour [1]."
    figures, cited = figures_of(both, ["$15 to $20"], "What do apprentice electricians make?",
                                CAREERS)  # fmt: skip
    assert len(figures) == 1
    ranged = figures[0]
    assert (ranged.value, ranged.high, ranged.unit) == (15, 20, "hour")
    assert ranged.text == "$15 to $20" and ranged.text in cited[0].text
    assert ranged.statistic == "starting range"
    one_end, _ = figures_of("First-year apprentices can earn $20 an hour [1].", ["$15 to $20"],
                            "What do apprentice electricians make?", CAREERS)  # fmt: skip
    assert [(f.text, f.high) for f in one_end] == [("$20", None)]  # $15 was not stated
    assert worth_charting(figures) and not worth_charting(one_end)  # a range states two


def test_the_same_figure_stated_twice_is_one_figure_and_comparisons_group_by_occupation() -> None:
    answer = (
        "Late-career medical coders make an average of $50,240 per year, according to PayScale "
        "data from June, 2021, while late-career medical billers earn a $45,250 average salary "
        "annually [1].\n"
        "- The average salary for a medical biller is around $16 per hour, or $32,000 a year [2].\n"
        "- The average salary for a medical coder is $21 per hour, or $43,000 a year [3].\n"
        "Again: late-career medical coders make an average of $50,240 per year [1]."
    )
    cited = ["$50,240", "$16 per hour, or", "$21 per hour, or"]
    figures, _ = figures_of(answer, cited, "Which pays more?")
    assert len(figures) == 6
    statistic = {f.text: f.statistic for f in figures}
    assert statistic["$50,240"] == "late-career average" and statistic["$21"] == "average"
    assert {f.period for f in figures if f.text == "$50,240"} == {"June 2021"}
    order = [f.occupation for f in grouped(figures)]
    assert order == sorted(order, key=order.index)  # each occupation's bars together
    assert order[0] == "medical coder"  # first named first


def test_top_and_bottom_name_their_share() -> None:
    answer = (
        "The lowest 10 percent earned less than $38,470, and the highest 10 percent earned "
        "more than $104,180 [1]."
    )
    figures, _ = figures_of(answer, ["$38,470"], "How much do electricians make?", CAREERS)
    assert [(f.statistic, f.reporter) for f in figures] == [
        ("bottom 10%", "BLS"), ("top 10%", "BLS")
    ]  # fmt: skip


def sample() -> list[PayFigure]:
    return [
        PayFigure(40340, "year", "medical biller", "average", "PayScale", "2021", 1, "$40,340",
                  "Billers make about $40,340 <b>a year</b>."),
        PayFigure(16, "hour", "medical biller", "average", "CareerStep", "2019", 2, "$16",
                  "Billers earn $16 per hour."),
        PayFigure(15, "hour", "apprentice", "starting range", "BLS", "May 2023", 3, "$15 to $20",
                  "Apprentices earn $15 to $20 an hour.", high=20),
        PayFigure(50240, "year", "medical coder", "late-career average", "PayScale", "June 2021",
                  1, "$50,240", "Coders make $50,240."),
    ]  # fmt: skip


def test_the_chart_keeps_units_apart_draws_ranges_and_shows_only_stated_numbers() -> None:
    chart = pay_chart(sample(), {1: "m1-s1", 2: "m1-s2", 3: "m1-s3"})
    bars = [t for t in chart["data"] if t["type"] == "bar"]
    panel = {t["xaxis"]: {t2["name"] for t2 in bars if t2["xaxis"] == t["xaxis"]} for t in bars}
    assert len(panel) == 2  # yearly and hourly: two panels, two x axes
    assert all(a.get("showticklabels") is False
               for k, a in chart["layout"].items() if k.startswith(("xaxis", "yaxis")))  # fmt: skip
    shown = [text for t in bars for text in t["text"]]
    assert sorted(shown) == sorted(f.text for f in sample())
    ranged = next(t for t in bars if "$15 to $20" in t["text"])
    assert list(ranged["base"]) == [15] and list(ranged["x"]) == [5]
    labels = [a["text"] for a in chart["layout"]["annotations"]]
    assert any("PayScale · June 2021 [1]" in label for label in labels)
    numbers = {n for text in labels + shown for n in re.findall(r"\d[\d,.]*", text)}
    stated = {n for f in sample() for n in re.findall(r"\d[\d,.]*", f"{f.label} {f.text}")}
    assert numbers - {str(f.n) for f in sample()} <= stated  # no number of the chart's own
    hover = json.dumps(chart["data"])
    assert "<b>a year</b>" not in hover and "&lt;b&gt;a year&lt;/b&gt;" in hover  # escaped
    assert "m1-s2:2" in hover  # the card a click opens


def test_the_page_table_and_the_cli_table_show_the_same_figures() -> None:
    html = table_html(sample(), lambda n: f"<button>{n}</button>")
    assert html.count("<tr>") == 1 + len(sample())
    assert "$15 to $20 an hour" in html and "PayScale · June 2021" in html
    assert "&lt;b&gt;" not in html  # the sentence is the chip's preview, not the table's
    from rich.console import Console

    console = Console(width=120, record=True)
    console.print(cli_table(sample()))
    text = console.export_text()
    for f in sample():
        assert f.text in text and f.reporter in text and f"[{f.n}]" in text
