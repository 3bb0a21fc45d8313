"""`make screenshots`: the page at 1280×800 and 390×844, light and dark: landing, an
answer, its pay chart, a source; saved to screenshots/ (git-ignored). Builds its own
index in a temporary folder.

Run: python -m tests.screenshots [--out screenshots]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from advisor.answer import Advisor
from advisor.index.build import build_index
from advisor.retrieve import Retriever
from advisor.settings import IndexSettings, Settings

from .browser import SIZES, ask, launch_chromium, serve, wait_ready
from .conftest import CORPUS, REPO, MemoEmbedder

QUESTION = "How much do medical coders make compared with medical billers?"


def chart(page, path: Path) -> None:
    """The answer's pay chart (issue 13), then a bar focused: its hover shows the sentence."""
    bar = page.locator("#chat .js-plotly-plot g.point path[tabindex]").first
    bar.wait_for(timeout=30_000)
    page.mouse.wheel(0, 10)  # a student scrolling: the page stops holding the question on top
    page.locator("#chat .js-plotly-plot").first.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    page.screenshot(path=f"{path}.png")
    bar.focus()
    page.wait_for_timeout(300)
    page.screenshot(path=f"{path}-focus.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "screenshots")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(corpus_dir=CORPUS, index=IndexSettings(path=Path(tmp) / "index"),
                            feedback_file=Path(tmp) / "feedback.jsonl")  # fmt: skip
        embedder = MemoEmbedder()
        build_index(settings, embedder)
        advisor = Advisor(settings, Retriever(settings, embedder))
        for url in serve(settings, advisor):
            with sync_playwright() as p:
                browser = launch_chromium(p)
                for name, (width, height) in SIZES.items():
                    for theme in ("light", "dark"):
                        page = browser.new_page(viewport={"width": width, "height": height})
                        page.goto(f"{url}?__theme={theme}")
                        wait_ready(page)
                        page.screenshot(path=str(out / f"{name}-{theme}-landing.png"))
                        ask(page, QUESTION, 0)
                        page.wait_for_timeout(300)
                        page.screenshot(path=str(out / f"{name}-{theme}-answer.png"))
                        chart(page, out / f"{name}-{theme}-chart")
                        page.locator("#chat button.cite").first.focus()
                        page.locator("#chat button.cite").first.click()
                        page.wait_for_timeout(300)
                        page.screenshot(path=str(out / f"{name}-{theme}-source.png"))
                        page.close()
                browser.close()
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main()
