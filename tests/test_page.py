"""The page in a real headless Chromium (Debian's), driven by Playwright; no browser download."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from advisor.answer import Advisor
from advisor.retrieve import Retriever
from advisor.settings import IndexSettings, Settings

from .browser import (
    SIZES,
    artifacts_dir,
    ask,
    axe_source,
    axe_violations,
    open_citation,
    send,
    serve,
    wait_answer,
    wait_ready,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
HOSTILE = "See ![badge](http://evil.test/pixel.png) and [salary data](http://evil.test/x)."


@pytest.fixture
def app_url(real_index: Settings, real_embedder) -> Iterator[str]:
    yield from serve(real_index, Advisor(real_index, Retriever(real_index, real_embedder)))


def open_page(browser, url: str, size: str = "desktop", theme: str = "light"):
    width, height = SIZES[size]
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{url}?__theme={theme}")
    wait_ready(page)
    return page


def in_viewport(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    view = page.viewport_size
    return (
        box is not None and box["y"] >= 0 and box["y"] + box["height"] <= view["height"]
        and box["x"] >= 0 and box["x"] + box["width"] <= view["width"]
    )  # fmt: skip


def test_first_answer_fast_composer_visible_and_chips_open_their_passage(
    app_url: str, browser
) -> None:
    page = open_page(browser, app_url)
    assert in_viewport(page, "#question textarea") and in_viewport(page, "#ask")
    started = time.perf_counter()
    answer = ask(page, "Is CCS better than CPC?", 0)
    assert time.perf_counter() - started <= 1.0, "the first answer took more than 1 s"
    assert "higher salary than CPC" in answer
    assert in_viewport(page, "#question textarea")  # still there after a long answer
    chip = page.locator("#chat button.cite").first
    chip.focus()
    tip = page.locator("#chat .cite-tip").first
    tip.wait_for(state="visible")  # focus previews the passage with its highlighted sentence
    assert "higher salary than CPC" in tip.locator("mark").first.inner_text()
    assert chip.get_attribute("aria-describedby") == tip.get_attribute("id")  # read on focus
    card = page.locator("#chat details.source-card").first
    assert "Medical Billing vs. Medical Coding" in card.locator("summary").inner_text()
    assert not card.locator(".source-passage").first.is_visible()
    open_citation(page.locator("#chat"))
    passage = page.locator("#m1-s1-p1")
    assert "CCS professionals typically work with complex code" in passage.inner_text()
    assert passage.locator("mark").count() >= 1
    assert "unknown" not in card.inner_text() and "not stated" not in card.inner_text()
    follow_ups = page.locator("#suggestions .chip:visible")
    assert 2 <= follow_ups.count() <= 3
    assert page.locator("#retry").is_visible() and page.locator("#copy").is_visible()
    page.screenshot(path=str(artifacts_dir("test-artifacts") / "chat.png"))


def test_composer_in_the_first_screen_on_a_phone_and_answer_scrolls_to_its_start(
    app_url: str, browser
) -> None:
    page = open_page(browser, app_url, "phone")
    assert in_viewport(page, "#question textarea") and in_viewport(page, "#ask")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= SIZES["phone"][0]
    ask(page, "How much do medical coders make compared with medical billers?", 0)
    assert in_viewport(page, "#question textarea")
    # the conversation's buttons come before the sideways-scrolling suggestions
    assert in_viewport(page, "#retry") and in_viewport(page, "#clear")
    lead = page.locator('#chat [data-testid="bot"] .answer-text p').first
    assert in_viewport(page, '#chat [data-testid="bot"] .answer-text p >> nth=0'), lead
    chips = page.locator("#chat button.cite")
    for index in range(min(chips.count(), 3)):  # previews stay inside a phone's screen
        chips.nth(index).scroll_into_view_if_needed()
        chips.nth(index).focus()
        tip = page.locator("#chat .cite-wrap:focus-within .cite-tip")
        tip.wait_for(state="visible")
        page.wait_for_timeout(50)
        box = tip.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= SIZES["phone"][0]


def test_an_earlier_answers_chips_point_at_its_own_sources(app_url: str, browser) -> None:
    page = open_page(browser, app_url)
    ask(page, "Is CCS better than CPC?", 0)
    bots = page.locator("#chat .bot-row")
    before = bots.nth(0).locator(".answer-sources").text_content()
    ask(page, "How much do medical billers make?", 1)
    assert bots.nth(0).locator(".answer-sources").text_content() == before
    for index in (0, 1):  # each chip opens a card inside its own answer
        open_citation(bots.nth(index))
    first = bots.nth(0).locator("details.source-card[open] .source-passage").first.inner_text()
    assert "CCS professionals" in first
    second = bots.nth(1).locator("details.source-card[open]").first.inner_text()
    assert "biller" in second.lower() and "CCS professionals" not in second


def test_ask_is_disabled_while_answering_and_stop_is_offered(app_url: str, browser) -> None:
    page = open_page(browser, app_url)
    page.evaluate("""() => { window.__states = [];
        new MutationObserver(() => window.__states.push(
            [document.querySelector('#ask').disabled, !!document.querySelector('#stop')]))
        .observe(document.body, {subtree: true, childList: true, attributes: true}); }""")
    ask(page, "Where do medical coders work?", 0)
    states = page.evaluate("() => window.__states")
    assert [True, True] in states, "Ask was never disabled with Stop shown"
    assert not page.locator("#ask").is_disabled()


class SlowGenerator:
    """The extractive answer, written slowly: a student sees the status and can press Stop."""

    name = "slow"

    def __init__(self, settings: Settings) -> None:
        from advisor.generators import ExtractiveGenerator

        self.inner = ExtractiveGenerator(settings.answer)

    def generate(self, question, passages, lexicon=None):
        time.sleep(1.5)
        for piece in self.inner.generate(question, passages, lexicon):
            time.sleep(0.3)
            yield piece

    def condense(self, question: str, history: str) -> None:
        return None


def test_status_while_answering_and_stop(real_index: Settings, real_embedder, browser) -> None:
    retriever = Retriever(real_index, real_embedder)
    advisor = Advisor(real_index, retriever, SlowGenerator(real_index))
    for url in serve(real_index, advisor, warm=False):
        page = open_page(browser, url)
        send(page, "Is CCS better than CPC?", 0)
        status = page.locator('#chat [data-testid="bot"] .answer-status')
        status.wait_for()
        assert "Searching 5 articles" in status.inner_text()
        assert page.locator("#ask").is_disabled() and page.locator("#stop").is_visible()
        page.locator("#stop").click()
        page.locator("#chat .stopped").wait_for()
        assert not page.locator("#ask").is_disabled() and not page.locator("#stop").is_visible()
        assert page.locator("#retry").is_visible()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_axe_finds_no_serious_violations(app_url: str, browser, theme: str) -> None:
    source = axe_source()
    if source is None:
        pytest.fail("axe-core is missing: `make axe` installs it from the npm registry")
    page = open_page(browser, app_url, theme=theme)
    assert axe_violations(page, source) == []
    ask(page, "How much do medical coders make compared with medical billers?", 0)
    page.locator("#chat button.cite").first.click()
    assert axe_violations(page, source) == []


def test_markdown_and_html_from_sources_and_questions_stay_inert(
    settings: Settings, real_embedder, browser
) -> None:
    from advisor.index.build import build_index

    article = settings.corpus_dir / "medical-coding-and-billing-career.md"
    text = article.read_text()
    lead = "Medical coders translate patient care"
    article.write_text(text.replace(lead, f"{HOSTILE} {lead}"))
    build_index(settings, real_embedder)
    fetched: list[str] = []
    dialogs: list[str] = []
    question = (
        "**What** do medical coders do? ![x](http://evil.test/q.png) <img src=x onerror=alert(1)>"
    )
    for url in serve(settings, Advisor(settings, Retriever(settings, real_embedder))):
        page = open_page(browser, url)
        page.on("request", lambda r: fetched.append(r.url) if "evil.test" in r.url else None)
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        send(page, question, 0)
        wait_answer(page, 0)
        user_text = page.locator('#chat [data-testid="user"]').first.inner_text()
        assert question in user_text  # shown exactly as typed
        page.locator("#chat details.source-card summary").first.click()
        chat_html = page.locator("#chat").inner_html()
        assert "evil.test/pixel.png" in page.locator("#chat").inner_text()  # the source shows
        assert page.locator("#chat img").count() == 0
        assert page.locator("#chat a[href*='evil.test']").count() == 0
        assert "<strong>What</strong>" not in chat_html
        page.wait_for_timeout(300)
        assert fetched == [] and dialogs == []


def test_two_sessions_keep_separate_histories(app_url: str, browser) -> None:
    first, second = browser.new_context().new_page(), browser.new_context().new_page()
    for page in (first, second):
        page.goto(app_url)
        wait_ready(page)
    ask(first, "Is CCS better than CPC?", 0)
    ask(second, "How long is PALS training?", 0)
    ask(first, "Where do medical coders work?", 1)
    first_chat = first.locator("#chat").inner_text()
    assert "PALS training" not in first_chat.split("Where do medical coders work?")[0]
    assert "Is CCS better than CPC?" not in second.locator("#chat").inner_text()
    assert second.locator('#chat [data-testid="user"]').count() == 1
    assert first.locator('#chat [data-testid="user"]').count() == 2


def test_follow_up_chip_sends_and_retry_copy_and_new_chat(app_url: str, browser) -> None:
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(app_url)
    wait_ready(page)
    page.locator("#chip-0").click()  # an example sends on click
    wait_answer(page, 0)
    page.locator("#copy").click()
    page.wait_for_function("() => document.querySelector('#copy').textContent === 'Copied'")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert "[1]" in copied and "CCS" in copied and "<" not in copied
    suggestion = page.locator("#suggestions .chip:visible").first.inner_text()
    page.locator("#suggestions .chip:visible").first.click()
    page.locator('#chat [data-testid="user"]').nth(1).wait_for()
    wait_answer(page, 1)
    assert suggestion in page.locator('#chat [data-testid="user"]').nth(1).inner_text()
    page.locator("#retry").click()
    page.wait_for_timeout(300)
    wait_answer(page, 1)
    assert page.locator('#chat [data-testid="user"]').count() == 2
    page.locator("#clear").click()
    page.wait_for_function("() => !document.querySelector('#chat [data-testid=\"user\"]')")


def test_thumbs_down_is_saved_for_maintainers(app_url: str, browser, real_index: Settings) -> None:
    page = open_page(browser, app_url)
    ask(page, "Is CCS better than CPC?", 0)
    page.locator("#chat button[aria-label='Dislike']").first.click()
    feedback = real_index.feedback_file
    for _ in range(50):
        if feedback.exists() and feedback.read_text().strip():
            break
        page.wait_for_timeout(100)
    entry = json.loads(feedback.read_text().splitlines()[-1])
    assert entry["rating"] == "down"
    assert entry["question"] == "Is CCS better than CPC?"
    assert "CCS" in entry["answer"] and entry["citations"]


def test_over_long_question_shows_a_counter_and_is_never_cut(app_url: str, browser) -> None:
    page = open_page(browser, app_url)
    long = "Is CCS better than CPC? " + "x" * 2846
    page.locator("#question textarea").fill(long)
    counter = page.locator("#char-count")
    assert "2,870 / 2,000" in counter.inner_text() and "870 too many" in counter.inner_text()
    page.locator("#ask").click()
    page.locator("#notice .notice").wait_for()
    assert "2,870 characters" in page.locator("#notice").inner_text()
    assert page.locator("#question textarea").input_value() == long


def test_missing_index_is_a_friendly_message(tmp_path: Path, browser, corpus_dir: Path) -> None:
    settings = Settings(corpus_dir=corpus_dir, index=IndexSettings(path=tmp_path / "no-index"))
    for url in serve(settings, None):
        page = open_page(browser, url)
        answer = ask(page, "Is CCS better than CPC?", 0)
        assert "advisor index" in answer
        assert "Traceback" not in page.content()


def test_no_developer_footer_and_the_api_answers(app_url: str, browser) -> None:
    from gradio_client import Client

    page = open_page(browser, app_url)
    assert page.get_by_text("Use via API").count() == 0
    assert page.get_by_text("Built with Gradio").count() == 0
    client = Client(app_url, verbose=False)
    reply = client.predict("Is CCS better than CPC?", api_name="/ask")
    assert reply["refused"] is False
    assert reply["citations"][0]["title"] == "Medical Billing vs. Medical Coding"
    assert "[1]" in reply["answer"]


def test_a_second_example_gets_its_own_answer_scrolled_to_its_question(
    app_url: str, browser
) -> None:
    """Issue 9: an example, then another suggestion: the second answer is about the second
    question (no carry-over of the first), and its question is at the top of the chat."""
    page = open_page(browser, app_url)
    page.locator("#chip-0").click()  # "Is CCS better than CPC?"
    first = wait_answer(page, 0)
    chip = page.locator("#chip-1")
    second_question = chip.inner_text()
    chip.click()
    page.locator('#chat [data-testid="user"]').nth(1).wait_for()
    second = wait_answer(page, 1)
    assert second != first and second_question
    # about the second question: its own lead, and it speaks of what the second one asks
    assert second.strip().splitlines()[0] != first.strip().splitlines()[0]
    asked = {w.strip("?,.").lower() for w in second_question.split() if len(w.strip("?,.")) > 5}
    assert any(w in second.lower() for w in asked), (second_question, second[:200])
    assert "I can't answer" not in second
    top = page.evaluate(
        """() => {
            const users = document.querySelectorAll('#chat [data-testid="user"]');
            const chat = document.querySelector('#chat').getBoundingClientRect();
            return users[users.length - 1].getBoundingClientRect().top - chat.top;
        }"""
    )
    assert top < 200, top  # the question starts near the top, its answer below it
    # The library's third example, typed after both: answered as itself, not as the first
    # (the "How long does training take?" after CCS vs CPC got the CCS answer).
    third = ask(page, "How long does training take?", 2)
    assert third.strip().splitlines()[0] != first.strip().splitlines()[0]
    assert any(w in third.lower() for w in ("month", "year", "week"))
    assert "I can't answer" not in third
