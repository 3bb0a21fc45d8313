"""Reliability: rebuilds under live readers, network timeouts, hostile corpus folders."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from advisor.corpus import load_corpus
from advisor.index import IndexUnavailableError
from advisor.index.build import build_index
from advisor.index.chroma import open_client
from advisor.index.manifest import read_manifest
from advisor.retrieve import Retriever
from advisor.settings import IndexSettings, Settings

from .conftest import HashEmbedder


def test_rebuilds_under_a_live_reader_fail_no_request(
    settings: Settings, hash_embedder: HashEmbedder
) -> None:
    build_index(settings, hash_embedder)
    retriever = Retriever(settings, hash_embedder)
    errors: list[BaseException] = []
    answered = 0
    stop = threading.Event()

    def reader() -> None:
        nonlocal answered
        while not stop.is_set():
            try:
                assert retriever.search("how much do medical coders earn").hits
                answered += 1
            except BaseException as error:  # every failure counts
                errors.append(error)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        first = read_manifest(settings.index).collection
        for _ in range(6):
            build_index(settings, HashEmbedder(), full=True)  # drops the collection in use
    finally:
        stop.set()
        thread.join(30)
    assert errors == []
    assert answered > 0
    assert retriever.manifest.collection != first  # the reader moved to a new generation
    assert retriever.search("medical coder salary").hits


def test_reader_holding_a_dropped_collection_answers_from_the_new_one(
    settings: Settings, hash_embedder: HashEmbedder
) -> None:
    build_index(settings, hash_embedder)
    retriever = Retriever(settings, hash_embedder)
    old = retriever.manifest.collection
    build_index(settings, HashEmbedder(), full=True)
    assert old not in [c.name for c in open_client(settings.index).list_collections()]
    assert retriever.search("what does a medical biller do").hits
    assert retriever.manifest.collection == read_manifest(settings.index).collection


@pytest.fixture
def silent_server():
    """Accepts connections and never replies: the hang of issue 10 §6."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not done.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    done.set()
    thread.join(5)
    for conn in held:
        conn.close()
    listener.close()


def test_chroma_server_that_never_replies_times_out(silent_server: int, tmp_path: Path) -> None:
    index = IndexSettings(
        path=tmp_path / "index", mode="server", server_port=silent_server, server_timeout_s=0.5
    )
    started = time.monotonic()
    with pytest.raises(IndexUnavailableError, match=r"did not answer within 0\.5 s"):
        open_client(index)
    assert time.monotonic() - started < 5


def test_chroma_server_that_is_down_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    index = IndexSettings(path=tmp_path / "i", mode="server", server_port=port)
    with pytest.raises(IndexUnavailableError, match="cannot be reached"):
        open_client(index)


def test_special_files_in_corpus_are_skipped_with_a_report(corpus_dir: Path) -> None:
    os.mkfifo(corpus_dir / "pipe.md")
    (corpus_dir / "loop.md").symlink_to(corpus_dir / "loop.md")
    (corpus_dir / "device.md").symlink_to("/dev/zero")
    (corpus_dir / "dangling.md").symlink_to(corpus_dir / "nowhere.md")
    started = time.monotonic()
    report = load_corpus(corpus_dir)
    assert time.monotonic() - started < 10  # a FIFO opened for reading would block forever
    assert "FIFO" in report.problems["pipe.md"]
    assert "symbolic link" in report.problems["loop.md"]
    assert "device" in report.problems["device.md"]
    assert "symbolic link" in report.problems["dangling.md"]
    assert len(report.articles) == 5


def test_oversized_corpus_file_is_reported(corpus_dir: Path) -> None:
    (corpus_dir / "huge.txt").write_text("Huge\n\n" + "Coders code. " * 2000)
    report = load_corpus(corpus_dir, max_bytes=20_000)
    assert "over the 20,000 bytes limit" in report.problems["huge.txt"]
    assert "ADVISOR_MAX_FILE_BYTES" in report.problems["huge.txt"]
    assert len(report.articles) == 5


def test_size_limit_is_a_setting(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVISOR_MAX_FILE_BYTES", "5000")
    assert Settings().max_file_bytes == 5000
    assert Settings(corpus_dir=settings.corpus_dir).max_file_bytes == 5000


def test_text_file_with_no_passage_is_reported_not_added(
    settings: Settings, hash_embedder: HashEmbedder
) -> None:
    (settings.corpus_dir / "headings.txt").write_text("Headings\n\n## One\n## Two\n")
    report = build_index(settings, hash_embedder)
    assert "headings" not in report.added
    assert "no passage" in report.problems["headings.txt"]
    assert "headings" not in read_manifest(settings.index).documents
    assert len(report.added) == 5


def _reply():
    from advisor.answer import Reply

    return Reply(answer="Coders code [1].")


@pytest.mark.parametrize(("liked", "rating"), [(True, "up"), (False, "down"), ("Like", "Like")])
def test_feedback_stores_the_rating_it_was_given(
    tmp_path: Path, liked: object, rating: str
) -> None:
    import json

    from advisor.feedback import record_feedback

    path = tmp_path / "feedback.jsonl"
    record_feedback(path, "Q?", _reply(), liked)
    assert json.loads(path.read_text())["rating"] == rating


@pytest.mark.parametrize("liked", ["", None, 1, ["yes"]])
def test_feedback_that_is_not_a_rating_is_rejected(tmp_path: Path, liked: object) -> None:
    from advisor.feedback import FeedbackError, record_feedback

    path = tmp_path / "feedback.jsonl"
    with pytest.raises(FeedbackError, match="Not a rating"):
        record_feedback(path, "Q?", _reply(), liked)
    assert not path.exists()


def test_yes_is_not_stored_as_down(tmp_path: Path) -> None:
    from advisor.feedback import record_feedback

    path = tmp_path / "feedback.jsonl"
    record_feedback(path, "Q?", _reply(), "yes")
    assert '"rating": "down"' not in path.read_text()


def test_unwritable_feedback_file_is_reported_on_the_page(
    tmp_path: Path, settings: Settings
) -> None:
    import gradio as gr

    from advisor.chat_service import ChatService
    from advisor.feedback import FeedbackError, record_feedback

    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    path = blocker / "feedback.jsonl"
    with pytest.raises(FeedbackError, match="could not be saved"):
        record_feedback(path, "Q?", _reply(), True)
    service = ChatService(settings.model_copy(update={"feedback_file": path}), advisor=object())
    session = {"turns": [], "replies": {1: ("Q?", _reply())}}

    class Like:
        index = 1
        liked = True

    with pytest.raises(gr.Error, match="could not be saved"):
        service.feedback(session, Like())


def test_read_only_index_can_be_searched(tmp_path: Path) -> None:
    """As another user (root ignores permission bits) on an index it may not write."""
    import shutil
    import stat
    import subprocess
    import sys
    import tempfile

    from .conftest import CORPUS, REPO

    if os.geteuid() == 0 and not shutil.which("setpriv"):
        pytest.skip("needs setpriv to drop root's permission to write anything")
    base = Path(tempfile.mkdtemp(prefix="advisor-ro-test-"))
    try:
        base.chmod(0o755)
        settings = Settings(corpus_dir=CORPUS, index=IndexSettings(path=base / "index"))
        build_index(settings, HashEmbedder())
        for path in (base / "index", *(base / "index").rglob("*")):
            path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        script = (
            "import sys\n"
            "from pathlib import Path\n"
            "from advisor.index.chroma import open_collection\n"
            "from advisor.settings import IndexSettings\n"
            "manifest, collection = open_collection(IndexSettings(path=Path(sys.argv[1])))\n"
            "found = collection.query(query_embeddings=[[1.0] + [0.0] * 127], n_results=3)\n"
            "print(len(found['ids'][0]), collection.count())\n"
        )
        prefix = []
        if os.geteuid() == 0:
            prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        done = subprocess.run(
            [*prefix, sys.executable, "-c", script, str(base / "index")],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "HOME": str(base)},
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.split()[0] == "3"
        assert not (base / "index" / "chroma.broken").exists()
    finally:
        for path in (base, *base.rglob("*")):
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
        shutil.rmtree(base, ignore_errors=True)


def test_chroma_server_that_stalls_after_the_heartbeat_times_out(tmp_path: Path) -> None:
    """A server that answers the heartbeat, then never replies to the client's own calls."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    release = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.path.endswith("/heartbeat"):
                body = b'{"nanosecond heartbeat": 1}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            release.wait(10)

        do_POST = do_GET

    class Quiet(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: object, client_address: object) -> None:
            pass

    server = Quiet(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        index = IndexSettings(
            path=tmp_path / "i",
            mode="server",
            server_port=server.server_address[1],
            server_timeout_s=0.5,
        )
        started = time.monotonic()
        with pytest.raises(IndexUnavailableError, match=r"did not answer|cannot be used"):
            open_client(index)
        assert time.monotonic() - started < 5
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def test_rebuilds_under_the_live_page_fail_no_answer(
    settings: Settings, hash_embedder: HashEmbedder
) -> None:
    """The page's own path (ChatService.api_ask, as gradio_client calls it) during rebuilds."""
    from advisor.answer import Advisor
    from advisor.chat_service import ChatService

    build_index(settings, hash_embedder)
    service = ChatService(settings, Advisor(settings, Retriever(settings, hash_embedder)))
    in_flight = service.advisor()  # a request that has its advisor, not yet its passages
    build_index(settings, HashEmbedder(), full=True)
    assert in_flight.ask("How much do medical coders make?").answer
    failures: list[object] = []
    answered = 0
    stop = threading.Event()

    def user() -> None:
        nonlocal answered
        while not stop.is_set():
            reply = service.api_ask("How much do medical coders make?")
            if "error" in reply:
                failures.append(reply["error"])
            answered += 1

    users = [threading.Thread(target=user) for _ in range(2)]
    for thread in users:
        thread.start()
    try:
        for _ in range(4):
            build_index(settings, HashEmbedder(), full=True)
    finally:
        stop.set()
        for thread in users:
            thread.join(60)
    assert failures == []
    assert answered > 0


@pytest.mark.slow
def test_three_thousand_page_answers_during_rebuilds_fail_none(
    settings: Settings, hash_embedder: HashEmbedder
) -> None:
    """Issue 10: rebuilds under a live page fail 0 requests in at least 3,000."""
    from advisor.answer import Advisor
    from advisor.chat_service import ChatService

    build_index(settings, hash_embedder)
    service = ChatService(settings, Advisor(settings, Retriever(settings, hash_embedder)))
    failures: list[object] = []
    answered = 0
    stop = threading.Event()
    lock = threading.Lock()

    def user() -> None:
        nonlocal answered
        while not stop.is_set():
            reply = service.api_ask("How much do medical coders make?")
            with lock:
                answered += 1
                if "error" in reply:
                    failures.append(reply["error"])

    users = [threading.Thread(target=user) for _ in range(3)]
    for thread in users:
        thread.start()
    rebuilds = 0
    try:
        while answered < 3000 and rebuilds < 1500:  # a cap, so a stuck page still ends
            build_index(settings, HashEmbedder(), full=True)
            rebuilds += 1
    finally:
        stop.set()
        for thread in users:
            thread.join(60)
    assert failures == []
    assert answered >= 3000 and rebuilds >= 10, (answered, rebuilds)
