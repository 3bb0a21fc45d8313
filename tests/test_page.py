"""The page in a real headless Chromium (Debian's), driven by Playwright; no browser download."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from advisor.answer import Advisor
from advisor.page import CSS, THEME, build_app
from advisor.retrieve import Retriever
from advisor.settings import IndexSettings, Settings

from .conftest import REPO, free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"
# Flags for a closed network: without them Chromium keeps trying to reach Google.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def serve(settings: Settings, advisor: Advisor | None) -> Iterator[str]:
    port = free_port()
    demo = build_app(settings, advisor)
    demo.queue(default_concurrency_limit=4).launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
        theme=THEME, css=CSS,
    )  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.fixture
def app_url(real_index: Settings, real_embedder) -> Iterator[str]:
    yield from serve(real_index, Advisor(real_index, Retriever(real_index, real_embedder)))


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it with apt-get")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def ask(page, question: str, answers_before: int) -> str:
    """Type a question, wait until its answer has finished streaming, return its text.

    Gradio ignores a click that lands while the previous event is still
    finishing, so the question is sent again if it did not appear.
    """
    users = page.locator('#chat [data-testid="user"]')
    for attempt in range(3):
        page.locator("#question textarea").fill(question)
        page.locator("#ask").click()
        try:
            users.nth(answers_before).wait_for(timeout=10_000)
            break
        except Exception:
            if attempt == 2:
                raise
    bot = page.locator('#chat [data-testid="bot"]').nth(answers_before)
    bot.wait_for(timeout=60_000)
    previous = None
    for _ in range(600):  # settled: the same non-empty text twice, 200 ms apart
        page.wait_for_timeout(200)
        current = bot.inner_text()
        if current and current == previous:
            return current
        previous = current
    raise AssertionError(f"the answer to {question!r} never settled")


def test_cited_answer_sources_and_follow_up(app_url: str, browser) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(app_url)
    page.get_by_text("Medical Biller and Coder vs PALS").first.wait_for()  # the "covers" note
    answer = ask(page, "Is CCS better than CPC?", 0)
    assert "[1]" in answer and "higher salary than CPC" in answer
    card = page.locator(".source-card").first
    card.wait_for()
    assert "Medical Billing vs. Medical Coding" in card.locator("summary").inner_text()
    passage = card.locator(".source-passage")
    assert not passage.is_visible()
    card.locator("summary").click()
    passage.wait_for(state="visible")
    assert "CCS professionals typically work with complex code" in passage.inner_text()
    assert card.locator("mark").count() >= 1  # the cited sentence is highlighted

    ask(page, "What certifications are there for medical coders?", 1)
    follow_up = ask(page, "Which of those tends to pay more?", 2)
    assert "CCS" in follow_up and "higher salary" in follow_up
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat.png"), full_page=True)


def test_html_in_a_question_is_shown_as_text(app_url: str, browser) -> None:
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(app_url)
    payload = "<img src=x onerror=alert(1)>"
    ask(page, payload, 0)
    user_text = page.locator('#chat [data-testid="user"]').first.inner_text()
    assert payload in user_text
    assert page.locator("#chat img[src='x']").count() == 0
    page.wait_for_timeout(500)
    assert dialogs == []


def test_two_sessions_keep_separate_histories(app_url: str, browser) -> None:
    first, second = browser.new_context().new_page(), browser.new_context().new_page()
    first.goto(app_url)
    second.goto(app_url)
    ask(first, "Is CCS better than CPC?", 0)
    ask(second, "How long is PALS training?", 0)
    ask(first, "Where do medical coders work?", 1)
    first_chat = first.locator("#chat").inner_text()
    second_chat = second.locator("#chat").inner_text()
    assert "PALS training" not in first_chat.split("Where do medical coders work?")[0]
    assert "Is CCS better than CPC?" not in second_chat
    assert second.locator('#chat [data-testid="user"]').count() == 1
    assert first.locator('#chat [data-testid="user"]').count() == 2


def test_thumbs_down_is_saved_for_maintainers(app_url: str, browser, real_index: Settings) -> None:
    page = browser.new_page()
    page.goto(app_url)
    ask(page, "Is CCS better than CPC?", 0)
    page.locator("#chat button[aria-label='Dislike']").first.click()
    feedback = real_index.feedback_file
    page.wait_for_function("() => true")
    for _ in range(50):
        if feedback.exists() and feedback.read_text().strip():
            break
        page.wait_for_timeout(100)
    entry = json.loads(feedback.read_text().splitlines()[-1])
    assert entry["rating"] == "down"
    assert entry["question"] == "Is CCS better than CPC?"
    assert "CCS" in entry["answer"] and entry["citations"]


def test_clear_button_resets_the_conversation(app_url: str, browser) -> None:
    page = browser.new_page()
    page.goto(app_url)
    ask(page, "Is CCS better than CPC?", 0)
    page.locator("#clear").click()
    page.wait_for_function("() => !document.querySelector('#chat [data-testid=\"user\"]')")
    assert page.locator(".source-card").count() == 0


def test_missing_index_is_a_friendly_message(tmp_path: Path, browser, corpus_dir: Path) -> None:
    settings = Settings(corpus_dir=corpus_dir, index=IndexSettings(path=tmp_path / "no-index"))
    for url in serve(settings, None):
        page = browser.new_page()
        page.goto(url)
        answer = ask(page, "Is CCS better than CPC?", 0)
        assert "advisor index" in answer
        assert "Traceback" not in page.content()


def test_gradio_client_gets_a_cited_answer(app_url: str) -> None:
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    reply = client.predict("Is CCS better than CPC?", api_name="/ask")
    assert reply["refused"] is False
    assert reply["citations"][0]["title"] == "Medical Billing vs. Medical Coding"
    assert "[1]" in reply["answer"]
