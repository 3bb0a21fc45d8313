"""Load on the page as students get it: `python evals/load.py --sessions 50 --turns 3`.

Starts `advisor serve` in a subprocess on a free port (the index in index/, the
extractive backend; no LLM settings leak in from the environment), then drives N
concurrent browser sessions, each asking T turns through the page's own chat
event, over HTTP exactly as the browser's JS client does (Gradio's sse_v3 queue
protocol): POST /gradio_api/queue/join with the event's fn_index and trigger_id,
then read /gradio_api/queue/data?session_hash=... until the event completes. Each
session has its own session_hash, so the server keeps its own gr.State, and the
chat value one turn returns is sent with the next, as the page does. The ids are
read from the page's /config (the chat events are private: not in the API info).

Each turn is checked: the chat grew by the question and an answer, the answer is
finished (not the "Searching…" status, not the BUSY notice, not an error message).
Reported: per-turn latency p50/p95/max (join to completion), where it went (queue
wait before the handler starts, the handler itself), errors by kind, total wall, and
the CPU the page and this driver used (they share the machine). A report, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml
from rich.console import Console
from rich.table import Table

from advisor.chat_service import BUSY, friendly_error, message_text
from advisor.generators import GeneratorUnavailableError
from advisor.index import IndexUnavailableError
from advisor.metrics import p95
from advisor.render import message_html, user_html

REPO = Path(__file__).resolve().parent.parent
EVALS = REPO / "evals"
TARGET_P95_S = 1.0  # issue 12: 50 sessions x 3 turns, p95 <= 1 s, 0 errors
console = Console()


# --- the page in a subprocess ------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def page_env() -> dict[str, str]:
    """The caller's environment without any LLM backend: the extractive composer answers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADVISOR_GENERATOR__")}
    return {**env, "ADVISOR_GENERATOR__BACKEND": "extractive", "GRADIO_ANALYTICS_ENABLED": "False"}


@contextmanager
def served_page(timeout_s: float = 300.0) -> Iterator[tuple[str, int]]:
    """`advisor serve` on a free port; yields its URL and pid once /config answers."""
    port = free_port()
    with tempfile.TemporaryFile("w+") as log:
        page = subprocess.Popen(
            [sys.executable, "-m", "advisor", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO, env=page_env(), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                if page.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"advisor serve exited {page.returncode}:\n{log.read()}")
                try:
                    if httpx.get(f"{url}/config", timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"advisor serve did not answer in {timeout_s:.0f} s")
                time.sleep(0.5)
            yield url, page.pid
        finally:
            page.terminate()
            try:
                page.wait(10)
            except subprocess.TimeoutExpired:
                page.kill()
                page.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc), 0 if unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the page's events, as the JS client finds them ---------------------------------------


@dataclass
class Event:
    fn_index: int
    trigger_id: int | None
    inputs: list[str]  # component types, to fill `data` in order


@dataclass
class PageEvents:
    chat: Event
    load: Event | None
    notice: int  # position of the notice HTML among the chat event's outputs


def page_events(config: dict) -> PageEvents:
    """The Ask button's event (its dependency id is the fn_index the browser sends) and the
    page-load event, from the page's /config."""
    components = {c["id"]: c for c in config["components"]}
    by_elem = {c["props"].get("elem_id"): c["id"] for c in config["components"]}
    ask, chat, load = by_elem["ask"], None, None
    for dep in config["dependencies"]:
        targets = [tuple(t) for t in dep["targets"]]
        kinds = [components[i]["type"] for i in dep["inputs"]]
        if (ask, "click") in targets:
            notice = dep["outputs"].index(by_elem["notice"])
            chat = Event(dep["id"], ask, kinds)
        elif any(kind == "load" for _, kind in targets):
            load = Event(dep["id"], targets[0][0], kinds)
    if chat is None:
        raise RuntimeError("the page has no Ask event in its /config")
    return PageEvents(chat, load, notice)


# --- sessions ----------------------------------------------------------------------------


@dataclass
class Turn:
    session: int
    turn: int
    question: str
    seconds: float = 0.0  # join posted -> event completed
    queued: float = 0.0  # join posted -> the handler started
    first: float = 0.0  # join posted -> the question shown (first update)
    error: str = ""  # "" when the turn was answered


@dataclass
class Run:
    turns: list[Turn] = field(default_factory=list)
    opens: list[float] = field(default_factory=list)
    open_errors: list[str] = field(default_factory=list)
    wall: float = 0.0
    page_cpu: float = 0.0
    driver_cpu: float = 0.0


def session_hash() -> str:
    """Like the JS client's Math.random().toString(36).substring(2)."""
    return "".join(random.choices(string.ascii_lowercase + string.digits, k=11))


def conversations(sessions: int, turns: int) -> list[list[str]]:
    """Per session: a question and its follow-up (evals/datasets/conversation.yaml), then
    topic changes (evals/scope.yaml in_scope)."""
    cases = yaml.safe_load((EVALS / "datasets" / "conversation.yaml").read_text())
    pairs = [
        [t["user"] for t in case["turns"]][:2]
        for case in cases
        if all("user" in t for t in case["turns"]) and len(case["turns"]) >= 2
    ]
    in_scope = yaml.safe_load((EVALS / "scope.yaml").read_text())["in_scope"]
    plans = []
    for i in range(sessions):
        others = [in_scope[(i * 7 + j) % len(in_scope)] for j in range(max(0, turns - 2))]
        plans.append([*pairs[i % len(pairs)], *others][:turns])
    return plans


ERROR_MESSAGES = {
    message_html(friendly_error(error))
    for error in (IndexUnavailableError("x"), GeneratorUnavailableError("x"))
} | {message_html("Something went wrong while answering. Please try again.")}


def check_answer(chat: list, notice: str, question: str, before: int) -> str:
    """Why this turn is not a finished answer to `question` after the `before` messages the
    chat had, or "" if it is."""
    if BUSY in notice:
        return "busy"
    if notice:
        return "notice"
    if len(chat) != before + 2 or chat[-1].get("role") != "assistant":
        return "no answer"
    if message_text(chat[-2]) != user_html(question):
        return "wrong question"
    text = message_text(chat[-1])
    if text in ERROR_MESSAGES:
        return "error message"
    if "answer-status" in text or 'class="answer' not in text:
        return "unfinished"
    return ""


async def call(
    client: httpx.AsyncClient, url: str, event: Event, data: list, hash_: str, turn: Turn | None
) -> list:
    """One event through the queue: join, then the session's SSE stream until it completes."""
    started = time.perf_counter()
    body = {"data": data, "event_data": None, "fn_index": event.fn_index,
            "trigger_id": event.trigger_id, "session_hash": hash_}  # fmt: skip
    joined = await client.post(f"{url}/gradio_api/queue/join", json=body)
    if joined.status_code != 200:
        raise LoadError(f"http {joined.status_code}")
    event_id = joined.json()["event_id"]
    params = {"session_hash": hash_}
    async with client.stream("GET", f"{url}/gradio_api/queue/data", params=params) as stream:
        if stream.status_code != 200:
            raise LoadError(f"http {stream.status_code}")
        async for line in stream.aiter_lines():
            if not line.startswith("data:"):
                continue
            message = json.loads(line[5:])
            if message.get("event_id") not in (event_id, None):
                continue
            kind = message["msg"]
            if turn is not None and kind == "process_starts":
                turn.queued = time.perf_counter() - started
            if turn is not None and kind == "process_generating" and not turn.first:
                turn.first = time.perf_counter() - started
            if kind == "process_completed":
                if not message.get("success", False):
                    raise LoadError("failed: " + str(message.get("output", {}).get("error")))
                if turn is not None:
                    turn.seconds = time.perf_counter() - started
                return message["output"]["data"]
            if kind in ("unexpected_error", "server_stopped"):
                raise LoadError(kind)
    raise LoadError("stream ended")


class LoadError(Exception):
    """A turn the page did not answer (HTTP error, failed event, broken stream)."""


async def one_session(
    index: int, questions: list[str], url: str, events: PageEvents, client, run: Run, think: float
) -> None:
    """A student opens the page (HTML, then its load event) and asks, one turn after another
    (after `think` seconds, give or take half, of reading the previous answer)."""
    hash_ = session_hash()
    started = time.perf_counter()
    try:
        page = await client.get(f"{url}/")
        page.raise_for_status()
        if events.load is not None:
            await call(client, url, events.load, [], hash_, None)
        run.opens.append(time.perf_counter() - started)
    except (httpx.HTTPError, LoadError) as error:
        run.open_errors.append(type(error).__name__)
    chat: list = []
    for number, question in enumerate(questions, 1):
        if think and number > 1:
            await asyncio.sleep(think * random.uniform(0.5, 1.5))
        turn = Turn(index, number, question)
        run.turns.append(turn)
        fill = {"textbox": question, "chatbot": chat, "state": None}
        try:
            outputs = await call(
                client, url, events.chat, [fill[k] for k in events.chat.inputs], hash_, turn
            )
            answered = outputs[0] if isinstance(outputs[0], list) else chat
            turn.error = check_answer(answered, outputs[events.notice] or "", question, len(chat))
        except LoadError as error:
            turn.error = str(error).split(":")[0]
            continue
        except httpx.HTTPError as error:
            turn.error = f"http {type(error).__name__}"
            continue
        except Exception as error:  # counted, not raised: one broken turn must not end the run
            turn.error = f"exception {type(error).__name__}"
            continue
        chat = answered  # what the browser shows is what it sends with the next question


async def drive(
    urls: list[str], sessions: int, turns: int, think: float = 0.0, page_pid: int | None = None
) -> Run:
    """All sessions at once; with several page URLs, session i stays on urls[i % n] (as a
    load balancer with sticky sessions would place them)."""
    run = Run()
    limits = httpx.Limits(max_connections=4 * sessions + 10, max_keepalive_connections=sessions)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        events = [page_events((await client.get(f"{url}/config")).json()) for url in urls]
        plans = conversations(sessions, turns)
        page_cpu = cpu_seconds(page_pid) if page_pid else 0.0
        own_cpu = sum(os.times()[:2])
        started = time.perf_counter()
        await asyncio.gather(
            *(
                one_session(i, plans[i], urls[i % len(urls)], events[i % len(urls)], client,
                            run, think)
                for i in range(sessions)
            )
        )  # fmt: skip
        run.wall = time.perf_counter() - started
        run.driver_cpu = sum(os.times()[:2]) - own_cpu
        run.page_cpu = (cpu_seconds(page_pid) - page_cpu) if page_pid else 0.0
    return run


# --- the report --------------------------------------------------------------------------


def row(name: str, samples: list[float]) -> list[str]:
    if not samples:
        return [name, "0", "-", "-", "-"]
    return [name, str(len(samples)), f"{statistics.median(samples) * 1000:.0f}",
            f"{p95(samples) * 1000:.0f}", f"{max(samples) * 1000:.0f}"]  # fmt: skip


def report(run: Run, sessions: int, turns: int, concurrency: str, think: float) -> dict:
    answered = [t for t in run.turns if not t.error]
    errors = Counter(t.error for t in run.turns if t.error)
    table = Table(
        title=f"Page under load: {sessions} sessions x {turns} turns over Gradio's queue "
        f"(extractive, concurrency {concurrency}, think {think:g} s), answered turns, ms"
    )
    for column in ("turns", "n", "p50", "p95", "max"):
        table.add_column(column, justify="right" if column != "turns" else "left")
    for number in range(1, turns + 1):
        table.add_row(*row(f"turn {number}", [t.seconds for t in answered if t.turn == number]))
    table.add_row(*row("all turns", [t.seconds for t in answered]))
    table.add_row(*row("  queued before the handler", [t.queued for t in answered]))
    table.add_row(*row("  question shown", [t.first for t in answered]))
    table.add_row(*row("page open (HTML + load)", run.opens))
    console.print(table)
    seconds = [t.seconds for t in answered]
    summary = {
        "sessions": sessions,
        "turns": len(run.turns),
        "answered": len(answered),
        "errors": sum(errors.values()) + len(run.open_errors),
        "errors_by_kind": dict(errors + Counter(run.open_errors)),
        "turn_p50_s": round(statistics.median(seconds), 3) if seconds else None,
        "turn_p95_s": round(p95(seconds), 3) if seconds else None,
        "turn_max_s": round(max(seconds), 3) if seconds else None,
        "wall_s": round(run.wall, 2),
        "page_cpu_s": round(run.page_cpu, 1),
        "page_cpu_ms_per_turn": round(1000 * run.page_cpu / max(1, len(run.turns))),
        "driver_cpu_s": round(run.driver_cpu, 1),
        "concurrency": concurrency,
        "think_s": think,
    }
    met = bool(seconds) and p95(seconds) <= TARGET_P95_S and summary["errors"] == 0
    summary["target_p95_le_1s_and_0_errors"] = met
    console.print_json(json.dumps(summary))
    return summary


def run_load(
    sessions: int = 50, turns: int = 3, urls: list[str] | None = None, think: float = 0.0
) -> dict:
    """Serve the page (unless `urls` name running ones), drive it, print and return the report."""
    concurrency = os.environ.get("ADVISOR_CONCURRENCY", "default")
    if urls:
        run = asyncio.run(drive([u.rstrip("/") for u in urls], sessions, turns, think))
    else:
        with served_page() as (page_url, pid):
            run = asyncio.run(drive([page_url], sessions, turns, think, pid))
    return report(run, sessions, turns, concurrency, think)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50, help="Concurrent browser sessions.")
    parser.add_argument("--turns", type=int, default=3, help="Questions per session.")
    parser.add_argument(
        "--think", type=float, default=0.0,
        help="Seconds a student reads an answer before the next turn (±50%%); 0: at once.",
    )  # fmt: skip
    parser.add_argument(
        "--url", action="append",
        help="Drive a page already running here instead of starting one (repeat for several "
        "page processes; sessions are spread over them).",
    )  # fmt: skip
    args = parser.parse_args()
    if args.sessions < 1 or args.turns < 1 or args.think < 0:
        parser.error("--sessions and --turns must be at least 1, --think not negative")
    run_load(args.sessions, args.turns, args.url, args.think)


if __name__ == "__main__":
    main()
