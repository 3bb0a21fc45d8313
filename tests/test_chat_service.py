"""The page's service without a browser: session state, re-index while running."""

from __future__ import annotations

import pytest

from advisor.answer import Advisor
from advisor.index import build_index, read_manifest
from advisor.page import ChatService, empty_session
from advisor.retrieve import Retriever
from advisor.settings import Settings

pytestmark = pytest.mark.slow


def answer(service: ChatService, question: str, chat: list, session: dict):
    """Run one question through the page's handler; return the final chat, session, sources."""
    for chat_out, session_out, sources, _ in service.respond(question, chat, session):
        last = (chat_out, session_out, sources)
    return last


def test_page_keeps_answering_after_the_index_is_rebuilt(
    real_index: Settings, real_embedder
) -> None:
    service = ChatService(real_index, Advisor(real_index, Retriever(real_index, real_embedder)))
    chat, session, sources = answer(service, "Is CCS better than CPC?", [], empty_session())
    assert "higher salary than CPC" in chat[-1]["content"] and "source-card" in sources
    before = read_manifest(real_index.index).collection
    build_index(real_index, real_embedder, full=True)  # replaces (and deletes) the collection
    assert read_manifest(real_index.index).collection != before
    chat, session, _ = answer(service, "How long is PALS training?", chat, session)
    assert "one-day" in chat[-1]["content"] and len(chat) == 4
    assert len(session["turns"]) == 4 and len(session["replies"]) == 2


def test_empty_question_changes_nothing(real_index: Settings, real_embedder) -> None:
    service = ChatService(real_index, Advisor(real_index, Retriever(real_index, real_embedder)))
    session = empty_session()
    ((chat, session_out, _, _),) = list(service.respond("   ", [], session))
    assert chat == [] and session_out == session
