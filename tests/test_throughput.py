"""Page throughput: answers overlap, and a full queue asks the student to try again.

A real OpenAI-compatible HTTP server (the stub of test_llm_server) takes 2 s before
its first token, as a slow LLM does; 20 students asking at once must not wait 20 x 2 s.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest

from advisor.answer import Advisor
from advisor.chat_service import BUSY, ChatService, empty_session
from advisor.retrieve import Retriever
from advisor.settings import Settings, get_settings

from .browser import serve
from .test_llm_server import QUESTION, Behaviour, Stub, stub  # noqa: F401  (a fixture)

pytestmark = pytest.mark.slow  # a real index, the real model and a real HTTP server

DELAY = 2.0
SESSIONS = 20


class TimedStub(Stub):
    """Every request waits DELAY before its first token; arrival times are kept."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[float] = []

    def next(self, body: dict) -> Behaviour:
        with self.lock:
            self.arrivals.append(time.monotonic())
            self.requests.append(body)
        return Behaviour(
            text="Coders earn a median wage, the articles say.", first_token_delay=DELAY
        )


@pytest.fixture
def slow_llm(stub: tuple[Stub, str], monkeypatch: pytest.MonkeyPatch):  # noqa: F811
    state, url = stub
    timed = TimedStub()
    state.next = timed.next  # the running server asks this object's handler
    monkeypatch.setenv("ADVISOR_GENERATOR__BACKEND", "openai")
    monkeypatch.setenv("ADVISOR_GENERATOR__BASE_URL", url)
    monkeypatch.setenv("ADVISOR_GENERATOR__MODEL", "stub-model")
    monkeypatch.setenv("ADVISOR_GENERATOR__TIMEOUT_S", "30")
    get_settings.cache_clear()
    return timed


def page_settings(real_index: Settings, concurrency: int, queue_size: int) -> Settings:
    return Settings(
        corpus_dir=real_index.corpus_dir,
        index=real_index.index,
        concurrency=concurrency,
        queue_size=queue_size,
    )


def answer(service: ChatService) -> tuple[float, str]:
    """One session's question through the page's handler: seconds taken, last notice."""
    started = time.monotonic()
    outputs = list(service.respond(QUESTION, [], empty_session()))
    return time.monotonic() - started, outputs[-1][3]


def test_twenty_sessions_with_a_slow_llm_are_not_serialised(
    real_index: Settings, real_embedder, slow_llm: TimedStub
) -> None:
    settings = page_settings(real_index, concurrency=SESSIONS, queue_size=10)
    advisor = Advisor(settings, Retriever(settings, real_embedder))
    advisor.ask(QUESTION)  # warm, as `advisor serve` does
    service = ChatService(settings, advisor)
    slow_llm.arrivals.clear()
    started = time.monotonic()
    with ThreadPoolExecutor(SESSIONS) as pool:
        results = list(pool.map(lambda _: answer(service), range(SESSIONS)))
    wall = time.monotonic() - started
    assert all(notice == "" for _, notice in results)
    assert len(slow_llm.arrivals) == SESSIONS
    # serialised, the last would start 19 x 2 s after the first; here they wait together
    assert max(slow_llm.arrivals) - min(slow_llm.arrivals) < DELAY, slow_llm.arrivals
    assert wall < SESSIONS * DELAY / 4, f"{SESSIONS} sessions took {wall:.1f} s"


def test_a_full_queue_asks_the_student_to_try_again(
    real_index: Settings, real_embedder, slow_llm: TimedStub
) -> None:
    settings = page_settings(real_index, concurrency=1, queue_size=1)
    service = ChatService(settings, Advisor(settings, Retriever(settings, real_embedder)))
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: answer(service), range(4)))
    busy = [seconds for seconds, notice in results if BUSY in notice]
    answered = [seconds for seconds, notice in results if notice == ""]
    assert len(busy) == 2 and len(answered) == 2, results  # one answering, one waiting
    assert max(busy) < DELAY  # told at once, not after a wait
    assert max(answered) >= 2 * DELAY  # the second waited for the first: one at a time
    # the question stays in the box (gr.skip) for the student to send again
    outcome = list(service.respond(QUESTION, [], empty_session()))
    assert outcome[-1][3] == ""  # room again once the others finished


@contextmanager
def served(settings: Settings, advisor: Advisor):
    pages = serve(settings, advisor, warm=False)
    try:
        yield next(pages)
    finally:
        pages.close()


def api_ask(url: str, question: str) -> dict:
    """The page's /ask API over HTTP, as gradio_client calls it (submit, then read events)."""
    with httpx.Client(timeout=60) as client:
        posted = client.post(f"{url}gradio_api/call/ask", json={"data": [question]})
        posted.raise_for_status()
        events = client.get(f"{url}gradio_api/call/ask/{posted.json()['event_id']}").text
    assert "event: complete" in events, events[-500:]
    data = [line[6:] for line in events.splitlines() if line.startswith("data: ")]
    return json.loads(data[-1])[0]


def test_the_served_page_answers_at_once_and_says_busy_when_full(
    real_index: Settings, real_embedder, slow_llm: TimedStub
) -> None:
    """Over HTTP through Gradio's queue: 20 at once overlap; past the queue, BUSY, never a 503."""
    settings = page_settings(real_index, concurrency=SESSIONS, queue_size=0)
    advisor = Advisor(settings, Retriever(settings, real_embedder))
    advisor.ask(QUESTION)
    with served(settings, advisor) as url:
        started = time.monotonic()
        with ThreadPoolExecutor(SESSIONS + 5) as pool:
            replies = list(pool.map(lambda _: api_ask(url, QUESTION), range(SESSIONS + 5)))
        wall = time.monotonic() - started
    errors = [r["error"] for r in replies if "error" in r]
    assert set(errors) <= {BUSY} and 5 <= len(errors) < SESSIONS, errors
    assert all("answer" in r for r in replies if "error" not in r)
    assert wall < SESSIONS * DELAY / 4, f"{SESSIONS} answers took {wall:.1f} s"


def test_slots_are_given_back_when_a_session_stops_early(
    real_index: Settings, real_embedder
) -> None:
    """Stop abandons the answer mid-way; its slot must not leak, or the page fills up."""
    settings = page_settings(real_index, concurrency=1, queue_size=0)
    service = ChatService(settings, Advisor(settings, Retriever(settings, real_embedder)))
    for _ in range(3):
        steps = service.respond(QUESTION, [], empty_session())
        next(steps)  # the question and its status are shown
        steps.close()  # what Gradio does to a cancelled generator
    outcome = list(service.respond(QUESTION, [], empty_session()))
    assert outcome[-1][3] == "" and "Many students" not in json.dumps(outcome[-1][0], default=str)
