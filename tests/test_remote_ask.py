"""`advisor ask` answers through a running page with the same settings, else in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from advisor.answer import Advisor
from advisor.retrieve import Retriever
from advisor.settings import Settings

from .conftest import REPO
from .test_throughput import served

pytestmark = pytest.mark.slow  # a real index, the real model, a real page

QUESTION = "How much do medical coders earn?"
SCRIPT = (
    "import sys, json\n"
    "from advisor.cli import main\n"
    f"code = main(['ask', {QUESTION!r}, '--json'])\n"
    "loaded = [m for m in ('chromadb', 'onnxruntime', 'numpy') if m in sys.modules]\n"
    "print(json.dumps({'code': code, 'loaded': loaded}))\n"
)


def ask_cli(settings: Settings, port: int, **env: str) -> tuple[dict, dict]:
    """`advisor ask --json` in a fresh interpreter: its reply, and what it had to import."""
    variables = {**os.environ, "PYTHONPATH": str(REPO), "ADVISOR_PORT": str(port),
                 "ADVISOR_HOST": "127.0.0.1", "ADVISOR_INDEX__PATH": str(settings.index.path),
                 "ADVISOR_CORPUS_DIR": str(settings.corpus_dir), **env}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=variables, capture_output=True, text=True, timeout=300
    )
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 2, done.stderr
    return json.loads(lines[0]), json.loads(lines[1])


@pytest.fixture
def page(real_index: Settings, real_embedder):
    advisor = Advisor(real_index, Retriever(real_index, real_embedder))
    with served(real_index, advisor) as url:
        yield int(url.rstrip("/").rsplit(":", 1)[1]), advisor


def test_ask_uses_the_running_page_and_loads_nothing(real_index: Settings, page) -> None:
    port, advisor = page
    reply, run = ask_cli(real_index, port)
    assert run == {"code": 0, "loaded": []}  # no index, no model, not even numpy
    expected = advisor.ask(QUESTION).as_json()
    assert reply["answer"] == expected["answer"] and not reply["refused"]
    assert [c["chunk_id"] for c in reply["citations"]] == [
        c["chunk_id"] for c in expected["citations"]
    ]


def test_a_page_with_other_settings_declines_and_ask_answers_itself(
    real_index: Settings, page
) -> None:
    port, _ = page
    reply, run = ask_cli(real_index, port, ADVISOR_RETRIEVAL__K="3")
    assert run["code"] == 0 and "chromadb" in run["loaded"]  # answered in-process
    assert reply["citations"] and len(reply["citations"]) <= 3


def test_without_a_page_ask_answers_itself(real_index: Settings) -> None:
    from .conftest import free_port

    reply, run = ask_cli(real_index, free_port())
    assert run["code"] == 0 and "chromadb" in run["loaded"]
    assert reply["citations"] and not reply["refused"]
