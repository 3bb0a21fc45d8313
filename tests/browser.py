"""Driving the page in Debian's Chromium with Playwright: shared by the browser tests and
`make screenshots` (tests/screenshots.py). No browser download, no network."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

from advisor.answer import Advisor
from advisor.page import build_app, launch_options, queue_options

from .conftest import REPO, free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Flags for a closed network: without them Chromium keeps trying to reach Google.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
AXE_PATHS = [
    REPO / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js",
    REPO / "tests" / "vendor" / "axe.min.js",
]
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


def serve(settings, advisor: Advisor | None, warm: bool = True) -> Iterator[str]:
    """Serve the page as `advisor serve` does (warmed first), on a free port."""
    port = free_port()
    demo = build_app(settings, advisor)
    if warm:
        demo.service.warm()
    demo.queue(**queue_options(settings)).launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
        **launch_options(),
    )  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def wait_ready(page) -> None:
    """The page is ready when the composer is there and the header has loaded."""
    page.locator("#question textarea").wait_for()
    page.locator("#header h1").wait_for()


def send(page, question: str, answers_before: int) -> None:
    """Type a question and press Ask; sent again if Gradio ignored the click."""
    users = page.locator('#chat [data-testid="user"]')
    for attempt in range(3):
        page.locator("#question textarea").fill(question)
        page.locator("#ask").click()
        try:
            users.nth(answers_before).wait_for(timeout=10_000)
            return
        except Exception:
            if attempt == 2:
                raise


def wait_answer(page, index: int, timeout_ms: int = 60_000) -> str:
    """Wait until answer `index` is final (its text is there and Ask is enabled again)."""
    bot = page.locator("#chat .bot-row").nth(index)
    bot.locator(".answer-text").wait_for(timeout=timeout_ms)
    page.wait_for_function(
        "() => !document.querySelector('#ask').disabled", timeout=timeout_ms, polling=50
    )
    return bot.locator(".answer-text").inner_text()


def ask(page, question: str, answers_before: int) -> str:
    send(page, question, answers_before)
    return wait_answer(page, answers_before)


def open_citation(scope, index: int = 0):
    """Click citation chip `index` in `scope` until its source card is open; return the card.

    A click can land beside a chip that moved an instant after Playwright located it (the
    chat settles on a loaded machine), so a card still closed after a second is clicked
    again; the card that opens must still be the one the chip names."""
    chip = scope.locator("button.cite").nth(index)
    target = chip.get_attribute("value").split(":")[0]
    card = scope.locator(f"details#{target}")
    for attempt in range(3):
        chip.scroll_into_view_if_needed()
        chip.click()
        try:
            card.locator(".source-passage.active").wait_for(state="visible", timeout=2_000)
            return card
        except Exception:
            if attempt == 2:
                raise
    return card


def axe_source() -> str | None:
    for path in AXE_PATHS:
        if path.exists():
            return path.read_text(encoding="utf-8")
    return None


def axe_violations(page, source: str) -> list[dict]:
    """Serious and critical axe-core violations on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=source)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"] if v["impact"] in ("serious", "critical")
    ]  # fmt: skip


def artifacts_dir(name: str) -> Path:
    path = REPO / name
    path.mkdir(exist_ok=True)
    return path
