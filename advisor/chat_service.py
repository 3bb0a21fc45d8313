"""The page's conversation service: admits, answers and remembers, one browser at a time.

Kept apart from the layout (advisor.page) so the answering rules (admission and
the BUSY notice, streaming into the chat, retry and stop, feedback, the JSON
API) read and test without building the page.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline: no telemetry calls

import gradio as gr

from advisor.answer import Advisor, Reply, Turn
from advisor.feedback import FeedbackError, record_feedback
from advisor.generators import GeneratorUnavailableError
from advisor.index import IndexUnavailableError
from advisor.index.manifest import Manifest, manifest_path, read_manifest
from advisor.paychart import pay_chart
from advisor.payfigures import worth_charting
from advisor.remote import SETTINGS_DIFFER, settings_id
from advisor.render import (
    answer_html,
    answer_parts,
    card_targets,
    escape_text,
    message_html,
    status_html,
    streaming_html,
    user_html,
)
from advisor.retrieve import Retriever
from advisor.settings import Settings
from advisor.suggest import follow_ups
from advisor.text import QuestionError

log = logging.getLogger(__name__)

CHIPS = 4  # suggestion buttons next to the composer: examples first, follow-ups later
WARM_UP_QUESTION = "What does the job involve day to day?"
BUSY = "Many students are asking right now; please ask again in a moment."
# A streamed answer is redrawn at most this often. Every redraw sends the chat through
# Gradio; the extractive answer, ready in tens of milliseconds, is then one redraw, and
# an LLM's tokens still appear live.
REDRAW_S = 0.1


def empty_session() -> dict[str, Any]:
    """Per-browser state: the raw turns (for follow-ups), replies by message index, the
    last question asked (for Retry) and the suggestions shown (none yet: the examples)."""
    return {"turns": [], "replies": {}, "last_question": "", "chips": []}


def turn_html(turn: str) -> str:
    """The marker page.js sets the controls from: "busy" (Ask off, Stop on, no
    suggestions), "answered" (Retry, Copy, New chat) or "" (a fresh chat).

    One small output instead of a gr.update per button: Gradio builds a new component,
    and inspects its signature, for every update it sends (about 20 ms a turn)."""
    return f'<span data-turn="{turn}"></span>'


class ChatService:
    """Answers for the page; loads the Advisor on first use and retries if that failed.

    A maintainer may run `advisor index` while the page is up: the new build
    replaces the collection the loaded retriever reads, so the manifest file is
    checked on every question (a stat; it is parsed again only when it changed: 7 MB
    at 100,000 passages) and the retriever reloaded when it changed, keeping the
    loaded model and generator.
    """

    def __init__(self, settings: Settings, advisor: Advisor | None = None) -> None:
        self.settings = settings
        self._advisor = advisor
        self._lock = threading.Lock()
        self._manifest_lock = threading.Lock()
        self._manifest: tuple[tuple[int, int, int] | None, Manifest | None] = (None, None)
        self.examples = example_questions_for(settings)
        # Admission: answers in progress plus those waiting; past it, BUSY at once instead of
        # a long wait or Gradio's "Queue is full". Answering: how many run at once.
        self._admitted = threading.BoundedSemaphore(settings.concurrency + settings.queue_size)
        self._answering = threading.BoundedSemaphore(settings.concurrency)
        self.settings_id = settings_id(settings)

    def manifest(self) -> Manifest | None:
        """The index's manifest, read again only when its file was replaced (a build
        writes a new file and renames it into place)."""
        try:
            stat = manifest_path(self.settings.index).stat()
            seen = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        except OSError:
            seen = None  # none yet, or unreadable: read_manifest says which
        with self._manifest_lock:
            kept, manifest = self._manifest
            if seen is None or seen != kept:
                manifest = read_manifest(self.settings.index)
                self._manifest = (seen, manifest)
            return manifest

    def advisor(self) -> Advisor:
        with self._lock:
            current = self.manifest()
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

    def warm(self) -> bool:
        """Load the index and model and answer one question, so the first student waits
        no longer than the next. False (and the page still starts) if that failed."""
        try:
            self.advisor().ask(WARM_UP_QUESTION)
        except Exception as error:  # the page explains a missing index when asked
            log.warning("could not warm the advisor: %s", error)
            return False
        return True

    def covers(self) -> list[str]:
        try:
            manifest = self.manifest()
        except IndexUnavailableError:
            return []
        return [] if manifest is None else manifest.titles

    # --- one question ------------------------------------------------------------------

    def respond(self, question: str, chat: list[dict], session: dict[str, Any]) -> Iterator[tuple]:
        """One answer, if there is room: the question shows at once, its answer when one of
        `settings.concurrency` answer slots is free; a full queue says BUSY instead."""
        if not self._admitted.acquire(blocking=False):
            yield self._out(chat, session, notice=BUSY)
            return
        try:
            steps = self._respond(question, chat, session)
            first = next(steps, None)  # the question and "Searching…", before waiting
            if first is not None:
                yield first
            with self._answering:
                yield from steps
        finally:
            self._admitted.release()

    def _respond(self, question: str, chat: list[dict], session: dict[str, Any]) -> Iterator[tuple]:
        """Stream one answer into the chat; errors become a friendly chat message."""
        limit = self.settings.retrieval.max_query_chars
        question = question or ""
        if not question.strip():
            yield self._out(chat, session, notice="Type a question first.")
            return
        if len(question) > limit:  # never cut silently: the text stays in the box
            yield self._out(chat, session, notice=too_long(len(question), limit))
            return
        session = {**session, "last_question": question}
        count = len(self.covers())
        searching = f"Searching {count} article{'s' if count != 1 else ''}…"
        chat = [*chat, {"role": "user", "content": user_html(question)},
                {"role": "assistant", "content": status_html(searching)}]  # fmt: skip
        yield self._out(chat, session, question="", busy=True)
        turns = [Turn(**t) for t in session["turns"]]
        try:
            partial, shown = "", time.monotonic()
            for item in self.advisor().stream(question, turns):
                if isinstance(item, Reply):
                    yield self._finish(question, item, chat, session)
                    return
                partial += item
                if time.monotonic() - shown < REDRAW_S:
                    continue
                shown = time.monotonic()
                chat[-1] = {"role": "assistant", "content": streaming_html(partial)}
                yield self._out(chat, session, busy=True)
        except Exception as error:  # every failure gets a message with the fix, never a trace
            chat[-1] = {"role": "assistant", "content": message_html(friendly_error(error))}
            yield self._out(chat, session, chips=self.examples)

    def _finish(self, question: str, reply: Reply, chat: list[dict], session: dict) -> tuple:
        index = len(chat) - 1
        content = answer_content(reply, f"m{index}", self.settings.corpus_dir)
        chat[-1] = {"role": "assistant", "content": content}
        asked = [t["content"] for t in session["turns"] if t["role"] == "user"]
        session = {
            **session,
            "turns": [*session["turns"], {"role": "user", "content": question},
                      {"role": "assistant", "content": reply.answer}],
            "replies": {**session["replies"], index: (question, reply)},
        }  # fmt: skip
        chips = follow_ups(question, reply, asked) or self.examples
        return self._out(chat, session, chips=chips)

    def retry(self, chat: list[dict], session: dict[str, Any]) -> Iterator[tuple]:
        """Ask the last question again in place of its answer."""
        question = session.get("last_question", "")
        if not question or len(chat) < 2:
            yield self._out(chat, session, notice="There is no question to retry yet.")
            return
        index = len(chat) - 1
        replies = dict(session["replies"])
        turns = list(session["turns"])
        if replies.pop(index, None) is not None:
            turns = turns[:-2]
        session = {**session, "turns": turns, "replies": replies}
        yield from self.respond(question, chat[:-2], session)

    def stop(self, chat: list[dict]) -> tuple:
        """The student pressed Stop: keep what was shown and say it was stopped."""
        if chat and chat[-1]["role"] == "assistant":
            shown = message_text(chat[-1])
            if "answer-status" in shown:
                shown = ""
            note = '<p class="stopped">Stopped. Ask again or pick a question below.</p>'
            chat = [*chat[:-1], {"role": "assistant", "content": shown + note}]
        return (chat, turn_html(answered(chat)), *self._chips(self.examples))

    def clear(self) -> tuple:
        """A new conversation: nothing shown, nothing remembered."""
        return self._out([], empty_session(), question="", chips=self.examples)

    # --- what the controls show ---------------------------------------------------------

    def _chips(self, chips: list[str]) -> list[str]:
        """The suggestion buttons' texts; "" for one not needed (page.js hides it)."""
        shown = (chips or self.examples)[:CHIPS]
        return [*shown, *[""] * (CHIPS - len(shown))]

    def _out(
        self,
        chat: list[dict],
        session: dict[str, Any],
        *,
        question: Any = None,
        notice: str = "",
        busy: bool = False,
        chips: list[str] | None = None,
    ) -> tuple:
        """What the page shows: chat, session, the question box (kept unless given),
        notice, the turn marker and the suggestions (new ones, else those shown)."""
        notice_html = f'<p class="notice" role="alert">{escape_text(notice)}</p>' if notice else ""
        box = gr.skip() if question is None else question
        if chips is not None:
            session = {**session, "chips": chips}
        turn = "busy" if busy else answered(chat)
        chip_texts = self._chips(session.get("chips", []))
        return (list(chat), session, box, notice_html, turn_html(turn), *chip_texts)

    # --- feedback and the API -----------------------------------------------------------

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

    def api_ask_with_settings(self, question: str, settings_id: str) -> dict[str, object]:
        """`advisor ask` sends its settings' fingerprint (advisor.remote) with the question:
        a page with other settings (another index, backend, ...) declines to answer."""
        if settings_id != self.settings_id:
            return {"error": "This page runs with other settings.", SETTINGS_DIFFER: True}
        return self.api_ask(question)

    def api_ask(self, question: str) -> dict[str, object]:
        """The same answer as JSON, for gradio_client and scripts."""
        if not self._admitted.acquire(blocking=False):
            return {"error": BUSY}
        try:
            with self._answering:
                return self.advisor().ask(question).as_json()
        except Exception as error:
            return {"error": friendly_error(error)}
        finally:
            self._admitted.release()


def answer_content(reply: Reply, prefix: str, corpus_dir: Path) -> str | list:
    """A finished answer as a chat message: with a chart of its pay figures between the
    text and the sources when it states enough of them to compare."""
    if not worth_charting(reply.figures):
        return answer_html(reply, prefix, corpus_dir)
    head, tail = answer_parts(reply, prefix, corpus_dir)
    chart = pay_chart(reply.figures, card_targets(reply, prefix), reply.standalone_question)
    return [head, chart_message(chart), tail]


CHART_ARGS = {"show_label": False, "container": False, "elem_classes": ["pay-chart"]}
# gr.Plot's config for the pay chart, read once at import (inside an event a component
# is only an update): a gr.Plot in a message is rebuilt, and its signature inspected,
# on every redraw of the chat.
CHART_PROPS = gr.Plot(**CHART_ARGS, render=False).get_config()


def chart_message(chart: dict) -> dict[str, Any]:
    """A Plotly JSON figure as the chat's component message (what a gr.Plot becomes)."""
    value = {"type": "plotly", "plot": json.dumps(chart)}
    return {"type": "component", "component": "plot", "value": value,
            "constructor_args": {**CHART_ARGS, "render": False},
            "props": {**CHART_PROPS, "value": value}}  # fmt: skip


def answered(chat: list[dict]) -> str:
    """ "answered" once the chat holds a reply (or an error message), else ""."""
    return "answered" if any(m.get("role") == "assistant" for m in chat) else ""


def message_text(message: dict) -> str:
    """The text of a chat message as Gradio hands it back (a string or content blocks)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def too_long(length: int, limit: int) -> str:
    return (
        f"Your question is {length:,} characters long; the limit is {limit:,}. "
        f"Shorten it by {length - limit:,} characters and ask again: it is still in the box."
    )


def example_questions_for(settings: Settings) -> list[str]:
    """The library's own starter questions (library.yaml `examples:`), else ones made from
    the occupations the index covers: the page knows no field of its own."""
    from advisor.corpus import CorpusError, read_library_file
    from advisor.knowledge.lexicon import Lexicon
    from advisor.knowledge.scope import example_questions

    try:
        listed = read_library_file(settings.corpus_dir).examples
    except CorpusError:
        listed = []
    if listed:
        return listed[:CHIPS]
    try:
        manifest = read_manifest(settings.index)
    except IndexUnavailableError:
        manifest = None
    if manifest is None or manifest.library is None:
        return ["What careers do these articles cover?"]
    return example_questions(Lexicon.from_data(manifest.library), CHIPS)


def friendly_error(error: Exception) -> str:
    """A message the student can act on (plain text; the page escapes it)."""
    if isinstance(error, QuestionError):
        return str(error)
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
