"""`advisor ask` through a running `advisor serve`: no model or index to load.

A cold `advisor ask` must import chromadb and onnxruntime and open the index and
the model (about 1-2 s); a page that is already up has all of that loaded and
answers in milliseconds. So `ask` first tries the page at settings.host:port
through its API (plain HTTP, stdlib only, so trying costs nothing when no
page is there), and answers in-process when there is no page, the page is busy or
fails, or the page runs with other settings (a different index, backend, ...): the
request carries a fingerprint of the settings that shape an answer, and a page
with other settings declines instead of answering from the wrong library.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import urllib.request
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from advisor.settings import Settings

# Settings that change where a page listens or how it queues, not what it answers.
NOT_ANSWER_SHAPING = {"host", "port", "concurrency", "queue_size", "feedback_file", "ask_via_page"}
SETTINGS_DIFFER = "settings_differ"
REMOTE_API = "ask_with_settings"  # the page's endpoint for this; /ask takes a question only


def settings_id(settings: Settings) -> str:
    """Fingerprint of everything that shapes an answer (secrets included, as hashes only)."""
    shaping = settings.model_dump(mode="json", exclude=NOT_ANSWER_SHAPING)
    # a relative path means another folder from another working directory
    shaping["corpus_dir"] = os.path.abspath(settings.corpus_dir)
    shaping["index"]["path"] = os.path.abspath(settings.index.path)
    for speed_only in ("query_threads", "query_cache"):  # the same vectors either way
        shaping["embedding"].pop(speed_only)
    if settings.embedding.model_path:
        shaping["embedding"]["model_path"] = os.path.abspath(settings.embedding.model_path)
    key = settings.generator.api_key
    shaping["generator"]["api_key"] = key.get_secret_value() if key else None
    return hashlib.sha256(json.dumps(shaping, sort_keys=True).encode()).hexdigest()[:24]


def ask_page(settings: Settings, question: str) -> dict[str, Any] | None:
    """The running page's answer as Reply JSON, or None to answer in-process instead."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    try:  # nothing listening is refused at once; a firewalled host must not stall a question
        socket.create_connection((host, settings.port), timeout=0.25).close()
    except OSError:
        return None
    address = f"[{host}]" if ":" in host else host
    base = f"http://{address}:{settings.port}/gradio_api/call/{REMOTE_API}"
    payload = json.dumps({"data": [question, settings_id(settings)]}).encode()
    request = urllib.request.Request(
        base, data=payload, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as posted:
            event = json.load(posted)["event_id"]
        wait = settings.generator.timeout_s + 30
        with urllib.request.urlopen(f"{base}/{event}", timeout=wait) as answered:
            events = answered.read().decode("utf-8")
    except (OSError, ValueError, KeyError, TypeError):  # URLError, HTTPError: OSErrors
        return None  # not an advisor page, or it failed: answer here
    return _reply_json(events)


def _reply_json(events: str) -> dict[str, Any] | None:
    """The `complete` event's reply from Gradio's event stream; None for anything else."""
    kind, data = "", ""
    for line in events.splitlines():
        if line.startswith("event: "):
            kind = line[7:].strip()
        elif line.startswith("data: "):
            data = line[6:]
    if kind != "complete":
        return None
    try:
        reply = json.loads(data)[0]
    except (ValueError, IndexError, TypeError):
        return None
    if not isinstance(reply, dict) or "answer" not in reply or "error" in reply:
        return None  # busy, other settings, or the page's own trouble: answer here
    return reply


def reply_view(reply: dict[str, Any]) -> SimpleNamespace:
    """Reply JSON as the attributes the CLI prints (answer, citations, removed)."""
    return SimpleNamespace(
        answer=reply["answer"],
        refused=reply.get("refused", False),
        citations=[SimpleNamespace(**c) for c in reply.get("citations", [])],
        removed=[SimpleNamespace(**r) for r in reply.get("guard", {}).get("removed", [])],
    )
