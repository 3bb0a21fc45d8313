"""The recipe of docs/deploy.md: one `chroma run`, one index, two `advisor serve` processes.

Everything is real: the chroma server, the index built with the real model into it,
and two page processes started as the docs say, each asked a question over HTTP.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from advisor.index.build import build_index
from advisor.settings import IndexSettings, Settings

from .conftest import REPO, free_port
from .test_server import chroma_server  # noqa: F401  (a fixture)
from .test_throughput import api_ask

pytestmark = [pytest.mark.server, pytest.mark.slow]

QUESTION = "How much do medical coders earn?"


def page_process(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "advisor", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_ready(url: str, proc: subprocess.Popen, log: Path, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"page exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(url, timeout=2).is_success:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"page not ready in {seconds:.0f} s: {log.read_text(errors='replace')[-2000:]}")


@pytest.fixture
def two_pages(
    settings: Settings,
    tmp_path: Path,
    chroma_server: int,  # noqa: F811
    real_embedder,
) -> Iterator[list[str]]:
    index = IndexSettings(
        path=tmp_path / "index", mode="server", server_host="127.0.0.1", server_port=chroma_server
    )
    build_index(settings.model_copy(update={"index": index}), real_embedder)
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "ADVISOR_CORPUS_DIR": str(settings.corpus_dir),
        "ADVISOR_INDEX__PATH": str(index.path),
        "ADVISOR_INDEX__MODE": "server",
        "ADVISOR_INDEX__SERVER_HOST": "127.0.0.1",
        "ADVISOR_INDEX__SERVER_PORT": str(chroma_server),
    }
    ports = [free_port(), free_port()]
    logs = [tmp_path / f"page-{port}.log" for port in ports]
    procs = [page_process(env, port, log) for port, log in zip(ports, logs, strict=True)]
    try:
        urls = [f"http://127.0.0.1:{port}/" for port in ports]
        for url, proc, log in zip(urls, procs, logs, strict=True):
            wait_ready(url, proc, log)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


def test_two_page_processes_answer_from_one_chroma_server(
    two_pages: list[str], tmp_path: Path
) -> None:
    replies = [api_ask(url, QUESTION) for url in two_pages]
    for reply in replies:
        assert "error" not in reply, reply
        assert reply["citations"] and not reply["refused"]
        assert "$" in reply["answer"]  # a pay figure, from the articles on the server
    assert replies[0]["answer"] == replies[1]["answer"]  # one library, one answer
    assert not (tmp_path / "index" / "chroma").exists()  # the vectors live on the server
