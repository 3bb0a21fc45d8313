"""The Gradio page for students: its layout and launch, over advisor.chat_service.

Each browser session keeps its own conversation in gr.State (two students
never see each other's history); the Advisor (index, model) is loaded once
and shared. `launch()` warms it before the server says it is ready, so the
first answer is as fast as the rest; if the index is missing the page still
starts and says how to fix that in the chat instead of crashing.

Messages are HTML built by `advisor.render` from escaped text (the chat's
Markdown rendering is off), so nothing a student or a source wrote is live.
The page's behaviour that needs the browser (citation chips opening their
card, scrolling a new answer to its start, the character counter, Copy)
lives in `advisor/static/page.js`; its look in `advisor/static/page.css`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from advisor.settings import Settings, for_serving

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline: no telemetry calls

import gradio as gr

from advisor.answer import Advisor
from advisor.chat_service import ChatService, empty_session, turn_html
from advisor.remote import REMOTE_API
from advisor.render import covers_html

STATIC = Path(__file__).parent / "static"
CSS = (STATIC / "page.css").read_text(encoding="utf-8")
HEAD = f"<script>{(STATIC / 'page.js').read_text(encoding='utf-8')}</script>"
THEME = gr.themes.Default(
    primary_hue=gr.themes.colors.blue,
    font=["system-ui", "sans-serif"],
    font_mono=["ui-monospace", "monospace"],
)


def launch_options() -> dict[str, Any]:
    """How the page is served: theme, style, behaviour, and no developer footer."""
    return {"theme": THEME, "css": CSS, "head": HEAD, "footer_links": [], "run_history": False}


def header_html(titles: list[str]) -> str:
    return (
        '<header class="page-header"><h1>Career Advisor</h1>'
        '<details class="about"><summary>About these answers</summary>'
        f'<div class="about-body">{covers_html(titles)}</div></details></header>'
    )


PLACEHOLDER = (
    "<p><strong>Ask about a career in the articles</strong>: pay, training, certifications, "
    "where people work, and which job might suit you. Every answer cites its sources.</p>"
)


def build_app(settings: Settings, advisor: Advisor | None = None) -> gr.Blocks:
    """Build the page from the package; it holds no answering logic of its own."""
    settings = for_serving(settings)
    service = ChatService(settings, advisor)
    limit = settings.retrieval.max_query_chars
    # ChatService admits and limits answers itself (settings.concurrency, queue_size), so
    # Gradio's queue starts every event at once and never answers "Queue is full".
    private = {"api_visibility": "private", "show_progress": "hidden", "concurrency_limit": None}
    with gr.Blocks(title="Career Advisor", analytics_enabled=False, fill_height=True) as demo:
        header = gr.HTML(header_html(service.covers()), elem_id="header", padding=False)
        session = gr.State(empty_session())
        chatbot = gr.Chatbot(
            label="Conversation", show_label=False, elem_id="chat", scale=1, height="100%",
            min_height=200, autoscroll=False, render_markdown=False, sanitize_html=True,
            buttons=[], feedback_options=("Like", "Dislike"), placeholder=PLACEHOLDER,
            layout="panel",
        )  # fmt: skip
        with gr.Column(elem_id="composer", scale=0):
            with gr.Row(elem_id="suggestions", equal_height=True):
                chips = [
                    gr.Button(text, size="sm", variant="secondary", elem_classes=["chip"],
                              elem_id=f"chip-{i}", min_width=0)
                    for i, text in enumerate(service.examples)
                ]  # fmt: skip
                # shown by page.css after an answer (the turn marker), not by gr.update
                retry = gr.Button("Retry", size="sm", elem_id="retry", min_width=0)
                copy = gr.Button("Copy", size="sm", elem_id="copy", min_width=0)
                clear = gr.Button("New chat", size="sm", elem_id="clear", min_width=0)
            with gr.Row(elem_id="ask-row", equal_height=True):
                question = gr.Textbox(
                    label="Your question", show_label=False, elem_id="question", scale=1,
                    placeholder="Ask a career question…", lines=1, max_lines=6,
                    container=False, autofocus=True,
                )  # fmt: skip
                send = gr.Button("Ask", variant="primary", elem_id="ask", scale=0, min_width=72)
                stop = gr.Button("Stop", variant="stop", elem_id="stop", scale=0, min_width=72)
            notice = gr.HTML("", elem_id="notice", padding=False)
            turn = gr.HTML(turn_html(""), elem_id="turn", padding=False)
            gr.HTML(f'<p id="char-count" data-limit="{limit}" aria-live="polite"></p>',
                    padding=False, elem_id="char-count-box")  # fmt: skip
        outputs = [chatbot, session, question, notice, turn, *chips]
        asked = gr.on([send.click, question.submit], service.respond,
                      [question, chatbot, session], outputs, **private)  # fmt: skip
        picked = [chip.click(service.respond, [chip, chatbot, session], outputs, **private)
                  for chip in chips]  # fmt: skip
        retried = retry.click(service.retry, [chatbot, session], outputs, **private)
        stop.click(service.stop, [chatbot], [chatbot, turn, *chips],
                   cancels=[asked, *picked, retried], **private)  # fmt: skip
        copy.click(None, None, None, js="() => window.advisorCopyLastAnswer()")
        clear.click(service.clear, None, outputs, **private)
        # the chatbot's own trash button must forget the conversation too
        chatbot.clear(service.clear, None, outputs, **private)
        chatbot.like(service.feedback, [session], None, **private)
        gr.api(service.api_ask, api_name="ask", concurrency_limit=None)
        gr.api(service.api_ask_with_settings, api_name=REMOTE_API, concurrency_limit=None)
        # re-read on every page load: an index built after start-up shows up without a restart
        demo.load(lambda: header_html(service.covers()), None, header, **private)
    demo.service = service  # type: ignore[attr-defined]  # for launch() to warm it
    return demo


def queue_options(settings: Settings) -> dict[str, Any]:
    """Gradio's queue: no limit of its own (ChatService's admission answers BUSY instead)."""
    return {"default_concurrency_limit": None, "max_size": None}


def worker_threads(settings: Settings) -> int:
    """Each admitted answer holds a worker thread while it waits for a slot; leave spare ones
    for the quick events (a BUSY reply, New chat, a thumbs-up, the header)."""
    return settings.concurrency + settings.queue_size + 16


def launch(
    settings: Settings, demo: gr.Blocks | None = None, *, warm: bool = True, **kwargs: Any
) -> Any:
    """Warm the advisor (unless the caller did), then serve on settings.host:settings.port."""
    demo = demo or build_app(settings)
    service = getattr(demo, "service", None)
    if warm and service is not None:
        service.warm()
    return demo.queue(**queue_options(settings)).launch(
        server_name=settings.host,
        server_port=settings.port,
        show_error=False,
        max_threads=worker_threads(settings),
        **launch_options(),
        **kwargs,
    )
