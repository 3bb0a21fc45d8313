"""The Gradio page for students: a thin layer over Advisor, render and feedback.

Each browser session keeps its own conversation in gr.State (two students
never see each other's history); the Advisor (index, model) is loaded once,
lazily, and shared, so the page starts even when the index is missing and
says how to fix that in the chat instead of crashing.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from typing import Any

from advisor.settings import Settings

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline: no telemetry calls

import gradio as gr

from advisor.answer import Advisor, Reply, Turn
from advisor.feedback import FeedbackError, record_feedback
from advisor.generators import GeneratorUnavailableError
from advisor.index import IndexUnavailableError, read_manifest
from advisor.render import answer_markdown, covers_markdown, escape_text, source_cards
from advisor.retrieve import Retriever
from advisor.text import QuestionError

log = logging.getLogger(__name__)

EXAMPLES = [
    "Is CCS better than CPC?",
    "Coding or billing for an introvert?",
    "How long does training take?",
    "How much do medical coders make compared with medical billers?",
]
CSS = """
.source-card { border: 1px solid #d0d7de; border-radius: 8px; padding: 6px 10px; margin: 6px 0; }
.source-card summary { cursor: pointer; font-weight: 600; }
.source-meta, .source-section { color: #57606a; font-weight: 400; font-size: 0.9em; }
.source-passage mark { background: #fff3b0; }
"""
THEME = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])


def empty_session() -> dict[str, Any]:
    """Per-browser state: the raw turns (for follow-ups) and replies by message index."""
    return {"turns": [], "replies": {}}


class ChatService:
    """Answers for the page; loads the Advisor on first use and retries if that failed.

    A maintainer may run `advisor index` while the page is up: the new build
    replaces the collection the loaded retriever reads, so the manifest is
    checked on every question (one small file read) and the retriever reloaded
    when it changed, keeping the loaded model and generator.
    """

    def __init__(self, settings: Settings, advisor: Advisor | None = None) -> None:
        self.settings = settings
        self._advisor = advisor
        self._lock = threading.Lock()

    def advisor(self) -> Advisor:
        with self._lock:
            current = read_manifest(self.settings.index)
            loaded = self._advisor
            rebuilt = (
                loaded is not None
                and current is not None
                and current.collection != loaded.retriever.manifest.collection
            )
            if loaded is not None and rebuilt:
                retriever = Retriever(self.settings, loaded.retriever.embedder)
                self._advisor = Advisor(self.settings, retriever, loaded.generator)
            if self._advisor is None:
                self._advisor = Advisor(self.settings)
            return self._advisor

    def covers(self) -> list[str]:
        try:
            manifest = read_manifest(self.settings.index)
        except IndexUnavailableError:
            return []
        return [] if manifest is None else manifest.titles

    def respond(
        self, question: str, chat: list[dict], session: dict[str, Any]
    ) -> Iterator[tuple[list[dict], dict[str, Any], str, str]]:
        """Stream one answer into the chat; errors become a friendly chat message."""
        if not question or not question.strip():
            gr.Warning("Type a question first.")
            yield chat, session, gr.skip(), ""
            return
        chat = [*chat, {"role": "user", "content": escape_text(question)},
                {"role": "assistant", "content": ""}]  # fmt: skip
        yield chat, session, gr.skip(), ""
        turns = [Turn(**t) for t in session["turns"]]
        try:
            partial = ""
            for item in self.advisor().stream(question, turns):
                if isinstance(item, Reply):
                    yield self._finish(question, item, chat, session)
                    return
                partial += item
                chat[-1] = {"role": "assistant", "content": escape_text(partial)}
                yield chat, session, gr.skip(), ""
        except Exception as error:  # every failure gets a message with the fix, never a trace
            chat[-1] = {"role": "assistant", "content": friendly_error(error)}
            yield chat, session, gr.skip(), ""

    def _finish(
        self, question: str, reply: Reply, chat: list[dict], session: dict[str, Any]
    ) -> tuple[list[dict], dict[str, Any], str, str]:
        chat[-1] = {"role": "assistant", "content": answer_markdown(reply)}
        session = {
            "turns": [*session["turns"], {"role": "user", "content": question},
                      {"role": "assistant", "content": reply.answer}],
            "replies": {**session["replies"], len(chat) - 1: (question, reply)},
        }  # fmt: skip
        return chat, session, source_cards(reply), ""

    def feedback(self, session: dict[str, Any], data: gr.LikeData) -> None:
        index = data.index[0] if isinstance(data.index, list | tuple) else data.index
        found = session["replies"].get(index)
        if found is None:
            return  # an error message or a user message: nothing to rate
        question, reply = found
        try:
            record_feedback(self.settings.feedback_file, question, reply, data.liked)
        except FeedbackError as error:  # shown to the user, never lost silently
            raise gr.Error(str(error)) from error
        gr.Info("Thanks, your feedback was saved.")

    def api_ask(self, question: str) -> dict[str, object]:
        """The same answer as JSON, for gradio_client and scripts."""
        try:
            return self.advisor().ask(question).as_json()
        except Exception as error:
            return {"error": friendly_error(error)}


def friendly_error(error: Exception) -> str:
    if isinstance(error, QuestionError):
        return escape_text(str(error))
    if isinstance(error, IndexUnavailableError):
        return (
            "I can't reach the article index right now. To fix it, run `advisor index` "
            "(or `make run`), then ask again."
        )
    if isinstance(error, GeneratorUnavailableError):
        return (
            "The answer server isn't reachable right now. Check that it is running, or start "
            "the page with the offline default (`ADVISOR_GENERATOR__BACKEND=extractive`)."
        )
    log.exception("unexpected error while answering")
    return "Something went wrong while answering. Please try again."


def build_app(settings: Settings, advisor: Advisor | None = None) -> gr.Blocks:
    """Build the page from the package; it holds no answering logic of its own."""
    service = ChatService(settings, advisor)
    with gr.Blocks(title="Career Advisor", analytics_enabled=False) as demo:
        gr.Markdown("# Career Advisor")
        covers = gr.Markdown(covers_markdown(service.covers()), elem_id="covers")
        session = gr.State(empty_session())
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    label="Conversation", height=520, elem_id="chat",
                    feedback_options=("Like", "Dislike"), sanitize_html=True,
                )  # fmt: skip
                question = gr.Textbox(
                    label="Your question", placeholder="Ask about billing, coding or PALS…",
                    elem_id="question", max_length=settings.retrieval.max_query_chars,
                )  # fmt: skip
                with gr.Row():
                    send = gr.Button("Ask", variant="primary", elem_id="ask")
                    clear = gr.Button("Clear", elem_id="clear")
                gr.Examples(EXAMPLES, inputs=question, label="Try one of these")
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML(source_cards(None), elem_id="sources")
        outputs = [chatbot, session, sources, question]
        inputs = [question, chatbot, session]
        send.click(service.respond, inputs, outputs, api_visibility="private")
        question.submit(service.respond, inputs, outputs, api_visibility="private")
        clear.click(lambda: ([], empty_session(), source_cards(None), ""), None, outputs)
        # the chatbot's own trash button must forget the conversation too
        chatbot.clear(lambda: (empty_session(), source_cards(None)), None, [session, sources])
        chatbot.like(service.feedback, [session], None)
        gr.api(service.api_ask, api_name="ask")
        # re-read on every page load: an index built after start-up shows up without a restart
        demo.load(lambda: covers_markdown(service.covers()), None, covers, api_visibility="private")
    return demo


def launch(settings: Settings, demo: gr.Blocks | None = None, **kwargs: Any) -> Any:
    """Serve the page on settings.host:settings.port with a bounded queue."""
    demo = demo or build_app(settings)
    return demo.queue(default_concurrency_limit=4, max_size=64).launch(
        server_name=settings.host,
        server_port=settings.port,
        show_error=False,
        theme=THEME,
        css=CSS,
        **kwargs,
    )
