"""Pay at a glance (issue 13) in a real headless Chromium, on both libraries.

Every check reads what the page draws (the chart's SVG, its labels, the cards'
passages), not the list it was drawn from: one bar per distinct pay figure in
the answer text, every label naming a reporter and a period its passage gives,
every number on the chart verbatim in a cited passage, a figure the guard
removed nowhere, a bar's hover and focus showing its sentence and a click
opening its card, the chart inside a 390×844 phone screen, and axe clean.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from advisor.answer import Advisor
from advisor.figures import extract_figures
from advisor.index.build import build_index
from advisor.retrieve import Retriever
from advisor.settings import IndexSettings, Settings, get_settings

from .browser import SIZES, ask, axe_source, axe_violations, serve
from .conftest import REPO
from .test_llm_server import Behaviour, QuietServer, Stub, _handler, cite
from .test_page import open_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CAREERS = REPO / "evals" / "corpora" / "careers" / "corpus"
BILLERS = "How much do medical billers make?"
ELECTRICIANS = "How much do electricians make?"
PLOT = "#chat .js-plotly-plot"
HOVERED = "() => document.querySelector('#chat .hoverlayer').textContent.length > 40"
AMOUNT = re.compile(r"\$\d[\d,]*(?:\.\d+)?")

# What the page draws for answer `index`: bar values, bar labels, and for each [n] the
# passage text and its card's header (title, publisher, date).
READ_CHART = """(index) => {
  const row = document.querySelectorAll('#chat .bot-row')[index];
  const plot = row.querySelector('.js-plotly-plot');
  const texts = (sel) => [...plot.querySelectorAll(sel)].map((t) => t.textContent);
  const passages = {};
  for (const quote of row.querySelectorAll('.source-passage')) {
    const n = quote.id.split('-p').pop();
    const card = quote.closest('details').querySelector('summary');
    passages[n] = [quote.textContent, card.textContent];
  }
  const box = plot.getBoundingClientRect();
  const inside = [...plot.querySelectorAll('.main-svg text')].every((t) => {
    const r = t.getBoundingClientRect();
    return r.width === 0 || (r.left >= box.left - 1 && r.right <= box.right + 1);
  });
  return {
    bars: plot.querySelectorAll('g.trace.bars g.point path').length,
    values: texts('g.trace.bars text.bartext'),
    labels: (plot.layout.annotations || []).map((a) => a.text)
      .filter((t) => /\\[\\d+\\]$/.test(t)),
    svg: [...plot.querySelectorAll('.main-svg text')].filter((t) => !t.closest('.hoverlayer'))
      .map((t) => t.textContent),
    passages, inside, left: box.left, right: box.right,
    table: [...row.querySelectorAll('.pay-table tbody tr')].map((r) => r.textContent),
    answer: row.querySelector('.answer-text').innerText,
  };
}"""


def library_settings(tmp_path: Path, corpus: Path, embedder) -> Settings:
    settings = Settings(corpus_dir=corpus, index=IndexSettings(path=tmp_path / "index"),
                        feedback_file=tmp_path / "feedback.jsonl")  # fmt: skip
    build_index(settings, embedder)
    return settings


@pytest.fixture
def careers_url(tmp_path: Path, real_embedder) -> Iterator[str]:
    settings = library_settings(tmp_path, CAREERS, real_embedder)
    yield from serve(settings, Advisor(settings, Retriever(settings, real_embedder)))


@pytest.fixture
def coding_url(real_index: Settings, real_embedder) -> Iterator[str]:
    yield from serve(real_index, Advisor(real_index, Retriever(real_index, real_embedder)))


def chart_of(page, index: int = 0) -> dict:
    row = page.locator("#chat .bot-row").nth(index)
    row.locator(".js-plotly-plot g.trace.bars g.point path[tabindex]").first.wait_for()
    return page.evaluate(READ_CHART, index)


def check_chart(page, index: int = 0) -> dict:
    """The guarantees of issue 13 on answer `index`, read from the page."""
    drawn = chart_of(page, index)
    stated = {f.value for f in extract_figures(drawn["answer"]) if f.kind == "money"}
    values = [v for v in drawn["values"] if v.strip()]
    assert drawn["bars"] == len(values) == len(drawn["labels"]) == len(drawn["table"])
    assert {f.value for v in values for f in extract_figures(v)} == stated  # one bar per figure
    cited = " ".join(text for text, _ in drawn["passages"].values())
    for amount in AMOUNT.findall(" ".join(drawn["svg"])):  # every number on the chart
        assert amount in cited, f"{amount} is on the chart but in no cited passage"
    for label in drawn["labels"]:
        who, when = label.split("<br>")[-1].rsplit(" [", 1)[0].rsplit(" · ", 1)
        n = label.rsplit("[", 1)[1].rstrip("]")
        text, header = drawn["passages"][n]
        assert "not stated" not in who + when, label
        assert who in text or who in header, f"{label}: {who} is not in passage [{n}]"
        year = re.search(r"(?:19|20)\d{2}", when).group()
        assert year in text or year in header, f"{label}: {year} is not in passage [{n}]"
    assert drawn["inside"], "a label or value is cut off at the chart's edge"
    return drawn


def test_billers_pay_chart_bars_labels_values_hover_focus_and_click(
    coding_url, browser, real_index: Settings
) -> None:
    page = open_page(browser, coding_url)
    ask(page, BILLERS, 0)
    drawn = check_chart(page)
    assert len(drawn["values"]) >= 3
    units = " ".join(drawn["table"])
    assert "an hour" in units and "a year" in units
    plot = page.locator(PLOT).first
    assert plot.locator(".subplot").count() == 2  # hourly and yearly: separate panels
    bar = plot.locator("g.trace.bars g.point path").first
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    hover = plot.locator(".hoverlayer")
    page.wait_for_function(HOVERED)
    sentence = hover.text_content()
    assert drawn["values"][0] in sentence  # the source sentence, with the value in it
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    n = drawn["labels"][0].rsplit("[", 1)[1].rstrip("]")
    opened = page.locator("#chat details.source-card[open]")
    opened.first.wait_for()
    assert opened.locator(f'[id$="-p{n}"].active').count() == 1
    page.evaluate(
        "() => document.querySelectorAll('#chat details').forEach(d => { d.open = false })"
    )
    page.mouse.move(0, 0)  # the mouse leaves the chart: its hover label goes
    page.wait_for_function(HOVERED.replace("> 40", "== 0"))
    last = plot.locator("g.trace.bars g.point path[tabindex]").last
    last.focus()  # keyboard: focus shows the sentence, Enter opens the card
    page.wait_for_function(HOVERED)
    assert "Opens its source" in last.get_attribute("aria-label")
    page.keyboard.press("Enter")
    opened.first.wait_for()
    page.locator("#chat .bot-row button[aria-label='Dislike']:visible").click()  # one pair only
    feedback = real_index.feedback_file
    for _ in range(50):
        if feedback.exists() and feedback.read_text().strip():
            break
        page.wait_for_timeout(100)
    entry = json.loads(feedback.read_text().splitlines()[-1])
    assert entry["question"] == BILLERS and entry["rating"] == "down"


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_chart_fits_a_phone_and_axe_finds_no_serious_violations(coding_url, browser, theme) -> None:
    source = axe_source()
    if source is None:
        pytest.fail("axe-core is missing: `make axe` installs it from the npm registry")
    page = open_page(browser, coding_url, size="phone", theme=theme)
    ask(page, BILLERS, 0)
    drawn = check_chart(page)
    width = SIZES["phone"][0]
    assert drawn["left"] >= 0 and drawn["right"] <= width
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    assert axe_violations(page, source) == []


def test_second_library_gives_the_same_guarantees(careers_url, browser) -> None:
    source = axe_source()
    if source is None:
        pytest.fail("axe-core is missing: `make axe` installs it from the npm registry")
    page = open_page(browser, careers_url, size="phone", theme="dark")
    ask(page, ELECTRICIANS, 0)
    drawn = check_chart(page)
    assert all("electrician" in row for row in drawn["table"])
    ask(page, "How much do apprentice electricians make?", 1)
    ranged = check_chart(page, 1)  # one figure stating two values: a bar between its ends
    assert ranged["values"] == ["$15 to $20"] and "an hour" in ranged["table"][0]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= SIZES["phone"][0]
    assert axe_violations(page, source) == []


@pytest.fixture
def llm_url(
    real_index: Settings, real_embedder, monkeypatch
) -> Iterator[tuple[Stub, str, Advisor]]:
    """The page answering through the openai backend, from a real HTTP stub of an LLM."""
    import threading

    state = Stub()
    server = QuietServer(("127.0.0.1", 0), _handler(state))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("ADVISOR_GENERATOR__BACKEND", "openai")
    base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    monkeypatch.setenv("ADVISOR_GENERATOR__BASE_URL", base_url)
    monkeypatch.setenv("ADVISOR_GENERATOR__MODEL", "stub-model")
    get_settings.cache_clear()
    settings = Settings(corpus_dir=real_index.corpus_dir, index=real_index.index,
                        feedback_file=real_index.feedback_file)  # fmt: skip
    advisor = Advisor(settings, Retriever(settings, real_embedder))
    for url in serve(settings, advisor, warm=False):  # warming would use up a scripted reply
        yield state, url, advisor
    server.shutdown()
    server.server_close()


def test_a_figure_the_guard_removed_never_reaches_the_chart(llm_url, browser) -> None:
    stub, url, advisor = llm_url
    a = cite(advisor, "$40,340", BILLERS)
    b = cite(advisor, "$16 per hour, or", BILLERS)
    stub.script = [Behaviour(text=(
        f"PayScale data shows that medical billers make about $40,340 a year [{a}].\n"
        f"- The average salary for a medical biller is around $16 per hour, "
        f"or $32,000 a year [{b}].\n"
        f"- Medical billers earn a median of $58,100 a year [{a}]."
    ))]  # fmt: skip
    page = open_page(browser, url)
    ask(page, BILLERS, 0)
    drawn = check_chart(page)
    assert "removed" in page.locator("#chat .guard-note").inner_text()
    assert sorted(drawn["values"]) == sorted(["$40,340", "$16", "$32,000"])
    shown = " ".join(drawn["svg"] + drawn["table"]) + page.locator("#chat").inner_text()
    assert "58,100" not in shown
