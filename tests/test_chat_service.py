"""The page's service without a browser: session state, re-index while running."""

from __future__ import annotations

import pytest

from advisor.answer import Advisor
from advisor.chat_service import ChatService, empty_session, turn_html
from advisor.index.build import build_index
from advisor.index.manifest import read_manifest
from advisor.retrieve import Retriever
from advisor.settings import Settings

pytestmark = pytest.mark.slow


def answer(service: ChatService, question: str, chat: list, session: dict):
    """Run one question through the page's handler; return the final chat, session, outputs."""
    for out in service.respond(question, chat, session):
        last = out
    return last[0], last[1], last


def text(message: dict) -> str:
    return message["content"]


def test_page_keeps_answering_after_the_index_is_rebuilt(
    real_index: Settings, real_embedder
) -> None:
    service = ChatService(real_index, Advisor(real_index, Retriever(real_index, real_embedder)))
    chat, session, _ = answer(service, "Is CCS better than CPC?", [], empty_session())
    assert "higher salary than CPC" in text(chat[-1]) and "source-card" in text(chat[-1])
    before = read_manifest(real_index.index).collection
    build_index(real_index, real_embedder, full=True)  # replaces (and deletes) the collection
    assert read_manifest(real_index.index).collection != before
    chat, session, _ = answer(service, "How long is PALS training?", chat, session)
    assert "one-day" in text(chat[-1]) and len(chat) == 4
    assert 'id="m3-s1"' in text(chat[-1]) and 'id="m1-s1"' in text(chat[1])  # own cards
    assert len(session["turns"]) == 4 and len(session["replies"]) == 2


def test_empty_question_changes_nothing(real_index: Settings, real_embedder) -> None:
    service = ChatService(real_index, Advisor(real_index, Retriever(real_index, real_embedder)))
    session = empty_session()
    ((chat, session_out, _, notice, *_),) = list(service.respond("   ", [], session))
    assert chat == [] and session_out == session and "Type a question first" in notice


def test_an_over_long_question_is_explained_and_kept(real_index: Settings, real_embedder) -> None:
    service = ChatService(real_index, Advisor(real_index, Retriever(real_index, real_embedder)))
    ((chat, _, box, notice, *_),) = list(service.respond("x" * 2870, [], empty_session()))
    assert chat == [] and "2,870 characters" in notice and "870" in notice
    assert box is not None and not isinstance(box, str)  # gr.skip(): the text stays in the box


def test_status_first_then_answer_then_follow_ups(real_index: Settings, real_embedder) -> None:
    service = ChatService(real_index, Advisor(real_index, Retriever(real_index, real_embedder)))
    outs = list(service.respond("How long is PALS training?", [], empty_session()))
    first, last = outs[0], outs[-1]
    assert "Searching 5 articles" in text(first[0][-1])
    assert first[4] == turn_html("busy")  # page.js: Ask off, Stop on, no suggestions
    assert last[4] == turn_html("answered")  # Retry, Copy, New chat
    chips = [text for text in last[5:] if text]
    assert 2 <= len(chips) <= 3 and not any("training" in c.lower() for c in chips)


def test_retry_replaces_the_last_answer(real_index: Settings, real_embedder) -> None:
    service = ChatService(real_index, Advisor(real_index, Retriever(real_index, real_embedder)))
    chat, session, _ = answer(service, "Is CCS better than CPC?", [], empty_session())
    for out in service.retry(chat, session):
        last = out
    assert len(last[0]) == 2 and len(last[1]["turns"]) == 2 and list(last[1]["replies"]) == [1]


def test_stop_keeps_what_was_shown_and_offers_retry(settings: Settings) -> None:
    service = ChatService(settings)
    shown = [{"type": "text", "text": "<p>Half</p>"}]  # as Gradio hands a message back
    partial = [{"role": "user", "content": "q"}, {"role": "assistant", "content": shown}]
    chat, turn, *chips = service.stop(partial)
    assert text(chat[-1]).startswith("<p>Half</p>") and "Stopped" in text(chat[-1])
    assert turn == turn_html("answered") and chips == service.examples
