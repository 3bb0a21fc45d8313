"""The LLM backend against a real OpenAI-compatible HTTP server (a stdlib stub).

Not a langchain fake: the real `Advisor` with ADVISOR_GENERATOR__BACKEND=openai
talks HTTP to /v1/chat/completions on 127.0.0.1, with and without SSE
streaming, and every case ends in a guarded answer or a friendly error.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise

import pytest

from advisor.answer import Advisor, Turn
from advisor.chat_service import REDRAW_S, ChatService, empty_session, friendly_error
from advisor.cli import main
from advisor.generators import GeneratorUnavailableError
from advisor.retrieve import Retriever
from advisor.settings import Settings, get_settings

pytestmark = pytest.mark.slow  # a real index with the real embedding model

QUESTION = "How much do medical coders make?"


@dataclass
class Behaviour:
    """What the stub does with one request."""

    text: str = ""
    status: int = 200
    first_token_delay: float = 0.0
    cut_after: int | None = None  # pieces sent before the connection drops
    piece_delay: float = 0.0  # seconds between streamed pieces, as a model generating them


class Stub:
    def __init__(self) -> None:
        self.script: list[Behaviour] = []
        self.requests: list[dict] = []
        self.lock = threading.Lock()

    def next(self, body: dict) -> Behaviour:
        with self.lock:
            self.requests.append(body)
            return self.script.pop(0) if self.script else Behaviour(text="Nothing scripted.")


def _handler(stub: Stub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep pytest output clean
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path != "/v1/chat/completions":
                self.send_error(404)
                return
            act = stub.next(body)
            if act.status != 200:
                self._json(act.status, {"error": {"message": "stub failure", "type": "server"}})
                return
            time.sleep(act.first_token_delay)
            if body.get("stream"):
                self._stream(body, act)
            else:
                message = {"role": "assistant", "content": act.text}
                self._json(
                    200,
                    {
                        "id": "stub-1",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body["model"],
                        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    },
                )

        def _json(self, status: int, data: dict) -> None:
            raw = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _stream(self, body: dict, act: Behaviour) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()  # HTTP/1.0: the body ends when the connection closes
            words = act.text.split(" ")
            pieces = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
            for i, piece in enumerate(pieces):
                if act.cut_after is not None and i >= act.cut_after:
                    self.wfile.flush()
                    return  # dropped mid-sentence, no [DONE]
                self._event(body, {"content": piece}, None)
                time.sleep(act.piece_delay)
            self._event(body, {}, "stop")
            self.wfile.write(b"data: [DONE]\n\n")

        def _event(self, body: dict, delta: dict, finish: str | None) -> None:
            chunk = {
                "id": "stub-1",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": body["model"],
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()

    return Handler


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that timed out closed the socket the stalled handler writes to


@pytest.fixture
def stub() -> Iterator[tuple[Stub, str]]:
    state = Stub()
    server = QuietServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.fixture
def llm_settings(
    real_index: Settings, stub: tuple[Stub, str], monkeypatch: pytest.MonkeyPatch
) -> Settings:
    monkeypatch.setenv("ADVISOR_GENERATOR__BACKEND", "openai")
    monkeypatch.setenv("ADVISOR_GENERATOR__BASE_URL", stub[1])
    monkeypatch.setenv("ADVISOR_GENERATOR__MODEL", "stub-model")
    monkeypatch.setenv("ADVISOR_GENERATOR__TIMEOUT_S", "2")
    get_settings.cache_clear()
    return Settings(corpus_dir=real_index.corpus_dir, index=real_index.index)


@pytest.fixture
def advisor(llm_settings: Settings, real_embedder) -> Advisor:
    return Advisor(llm_settings, Retriever(llm_settings, real_embedder))


def cite(advisor: Advisor, phrase: str, question: str = QUESTION) -> int:
    hits = advisor.retriever.search(question).hits
    return next(i for i, h in enumerate(hits, start=1) if phrase in h.chunk.text)


def test_streamed_answer_is_cited_and_guarded(advisor: Advisor, stub: tuple[Stub, str]) -> None:
    n = cite(advisor, "$43,260")
    stub[0].script = [Behaviour(text=f"Medical coders earn about $43,260 a year [{n}].")]
    reply = advisor.ask(QUESTION)
    assert not reply.refused
    assert reply.answer == "Medical coders earn about $43,260 a year [1]."
    assert reply.citations[0].n == 1 and "$43,260" in reply.citations[0].text
    request = stub[0].requests[0]
    assert request["stream"] is True and request["model"] == "stub-model"
    assert "$43,260" in request["messages"][-1]["content"]  # the passages were sent


def test_the_page_redraws_a_streamed_answer_live_but_not_per_token(
    llm_settings: Settings, advisor: Advisor, stub: tuple[Stub, str]
) -> None:
    """Each redraw sends the chat and the page's controls through Gradio; per line of a
    fast model, that cost most of the page's CPU under load. At most one every REDRAW_S."""
    n = cite(advisor, "$43,260")
    lines = [f"Coders earn about $43,260 a year [{n}]."] + [
        f"Coders handle part {chr(96 + i)} [{n}]." for i in range(1, 16)
    ]  # 16 lines the guard releases one by one, a line every 25 ms or so
    stub[0].script = [Behaviour(text="\n".join(lines), piece_delay=0.005)]
    service = ChatService(llm_settings, advisor)
    shown: list[tuple[float, str]] = []
    for out in service.respond(QUESTION, [], empty_session()):
        shown.append((time.monotonic(), out[0][-1]["content"]))
    streamed = shown[1:-1]  # between "Searching…" and the finished answer
    assert 2 <= len(streamed) <= len(lines) / 2, [c for _, c in shown]
    assert all("$43,260" in content for _, content in streamed)  # the answer so far
    gaps = [b[0] - a[0] for a, b in pairwise(streamed)]
    assert gaps and all(gap >= REDRAW_S * 0.9 for gap in gaps), gaps
    assert "part o" in shown[-1][1] and "source-card" in shown[-1][1]


def test_follow_up_uses_the_non_streaming_call(advisor: Advisor, stub: tuple[Stub, str]) -> None:
    n = cite(advisor, "$43,260")
    stub[0].script = [
        Behaviour(text=QUESTION),  # condense: a standalone question, not streamed
        Behaviour(text=f"Coders earn about $43,260 [{n}]."),
    ]
    history = [
        Turn(role="user", content="What do medical coders do?"),
        Turn(role="assistant", content="They turn records into codes [1]."),
    ]
    reply = advisor.ask("And how much do they make?", history)
    assert [r.get("stream", False) for r in stub[0].requests] == [False, True]
    assert reply.standalone_question == QUESTION
    assert "$43,260" in reply.answer and not reply.refused


def test_invented_figures_are_removed(advisor: Advisor, stub: tuple[Stub, str]) -> None:
    n = cite(advisor, "$43,260")
    text = f"Coders earn about $43,260 [{n}].\nSome coders earn $500,000 a year [{n}]."
    stub[0].script = [Behaviour(text=text)]
    reply = advisor.ask(QUESTION)
    assert "$500,000" not in reply.answer and "$43,260" in reply.answer
    assert [r.figure for r in reply.removed] == ["$500,000"]


def test_stream_cut_mid_sentence_gives_a_guarded_answer(
    advisor: Advisor, stub: tuple[Stub, str]
) -> None:
    n = cite(advisor, "$43,260")
    text = f"Coders earn about $43,260 [{n}].\nSome coders earn $500,000 a year at large hospitals"
    stub[0].script = [Behaviour(text=text, cut_after=9)]  # dropped inside the second line
    items = list(advisor.stream(QUESTION))
    *pieces, reply = items
    assert "$43,260" in reply.answer and "$500,000" not in reply.answer
    assert "".join(pieces) == reply.answer


def test_slow_first_token_within_the_timeout_is_answered(
    advisor: Advisor, stub: tuple[Stub, str]
) -> None:
    n = cite(advisor, "$43,260")
    stub[0].script = [Behaviour(text=f"Coders earn about $43,260 [{n}].", first_token_delay=1.0)]
    reply = advisor.ask(QUESTION)
    assert "$43,260" in reply.answer and not reply.refused


def test_server_error_is_a_friendly_error(advisor: Advisor, stub: tuple[Stub, str]) -> None:
    stub[0].script = [Behaviour(status=500)]
    with pytest.raises(GeneratorUnavailableError, match="openai generator failed") as raised:
        advisor.ask(QUESTION)
    assert "isn't reachable" in friendly_error(raised.value)
    assert len(stub[0].requests) == 1  # no silent retries


def test_server_that_stalls_times_out(advisor: Advisor, stub: tuple[Stub, str]) -> None:
    stub[0].script = [Behaviour(text="too late", first_token_delay=6.0)]
    started = time.monotonic()
    with pytest.raises(GeneratorUnavailableError, match="Timeout"):
        advisor.ask(QUESTION)
    assert time.monotonic() - started < 5  # timeout_s=2, not the server's 6 s


def test_cli_reports_a_stalled_server_in_one_sentence(
    llm_settings: Settings, stub: tuple[Stub, str], capsys: pytest.CaptureFixture[str]
) -> None:
    stub[0].script = [Behaviour(status=503)]
    get_settings.cache_clear()
    code = main(["ask", QUESTION])
    err = capsys.readouterr().err
    assert code == 2
    assert "openai generator failed" in err and "Traceback" not in err
