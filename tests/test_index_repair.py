"""The index heals itself: whatever is on disk, `advisor index --full` ends with a
working index, and a plain `advisor index` checks the store before "up to date"."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from advisor.cli import main
from advisor.index.build import build_index
from advisor.index.chroma import open_client, store_path
from advisor.index.manifest import read_manifest
from advisor.retrieve import Retriever
from advisor.settings import Settings, get_settings

from .conftest import HashEmbedder


def _sqlite(settings: Settings) -> Path:
    return store_path(settings.index) / "chroma.sqlite3"


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _manifest(settings: Settings) -> Path:
    return settings.index.path / "manifest.json"


CORRUPTIONS: dict[str, Callable[[Settings], None]] = {
    "manifest-garbage": lambda s: _manifest(s).write_bytes(b"\x8f\x00garbage{{"),
    "manifest-truncated": lambda s: _truncate(_manifest(s)),
    "manifest-empty": lambda s: _manifest(s).write_text(""),
    "manifest-list": lambda s: _manifest(s).write_text("[1, 2, 3]"),
    "manifest-wrong-fields": lambda s: _manifest(s).write_text(json.dumps({"collection": 5})),
    "manifest-null": lambda s: _manifest(s).write_text("null"),
    "manifest-missing-collection": lambda s: _manifest(s).write_text(
        _manifest(s).read_text().replace('"collection": "advisor-', '"collection": "gone-')
    ),
    "manifest-fewer-passages": lambda s: _manifest(s).write_text(
        json.dumps(
            {
                **(m := json.loads(_manifest(s).read_text())),
                "documents": dict(list(m["documents"].items())[:1]),
            }
        )
    ),
    "sqlite-truncated": lambda s: _truncate(_sqlite(s)),
    "sqlite-garbage": lambda s: _sqlite(s).write_bytes(b"garbage" * 5000),
    "sqlite-empty": lambda s: _sqlite(s).write_bytes(b""),
    "sqlite-deleted": lambda s: _sqlite(s).unlink(),
    "store-deleted": lambda s: shutil.rmtree(store_path(s.index)),
}


def _search_works(settings: Settings, embedder: HashEmbedder) -> None:
    hits = Retriever(settings, embedder).search("how much do medical coders earn").hits
    assert hits and all(h.chunk.text for h in hits)


def _fresh_process_view() -> None:
    """Forget chromadb's per-path client cache, as a new `advisor` process would."""
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


@pytest.mark.parametrize("corrupt", list(CORRUPTIONS), ids=list(CORRUPTIONS))
def test_full_rebuild_repairs_any_corruption(
    corrupt: str, settings: Settings, hash_embedder: HashEmbedder
) -> None:
    build_index(settings, hash_embedder)
    _fresh_process_view()
    CORRUPTIONS[corrupt](settings)
    report = build_index(settings, HashEmbedder(), full=True)
    assert report.changed and len(report.added) == 5
    _fresh_process_view()
    _search_works(settings, hash_embedder)
    names = [c.name for c in open_client(settings.index).list_collections()]
    assert names == [read_manifest(settings.index).collection]


@pytest.mark.parametrize("corrupt", list(CORRUPTIONS), ids=list(CORRUPTIONS))
def test_plain_index_never_calls_a_broken_store_up_to_date(
    corrupt: str, settings: Settings, hash_embedder: HashEmbedder
) -> None:
    build_index(settings, hash_embedder)
    _fresh_process_view()
    CORRUPTIONS[corrupt](settings)
    report = build_index(settings, HashEmbedder())
    assert report.changed, "a broken index was reported as up to date"
    assert report.full_rebuild_reason
    _fresh_process_view()
    _search_works(settings, hash_embedder)


def test_cli_index_says_why_it_rebuilt(
    settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("advisor.embeddings.SentenceEmbedder", lambda _settings: HashEmbedder())
    build_index(settings, HashEmbedder())
    _fresh_process_view()
    _sqlite(settings).write_bytes(b"garbage" * 5000)
    get_settings.cache_clear()
    code = main(["index", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Full rebuild: the store did not open" in out
    assert "up to date" not in out


def test_no_op_index_removes_collections_left_by_killed_builds(
    settings: Settings, hash_embedder: HashEmbedder
) -> None:
    build_index(settings, hash_embedder)
    client = open_client(settings.index)
    for n in range(3):  # what three `kill -9` during a build leave behind
        client.create_collection(f"advisor-{n}", embedding_function=None)
    report = build_index(settings, HashEmbedder())
    assert not report.changed
    assert sorted(report.cleaned) == ["advisor-0", "advisor-1", "advisor-2"]
    names = [c.name for c in open_client(settings.index).list_collections()]
    assert names == [read_manifest(settings.index).collection]


def _tiny_corpus(folder: Path, articles: int, passages: int) -> None:
    shutil.rmtree(folder)
    folder.mkdir()
    for a in range(articles):
        body = "\n\n".join(
            f"## Part {p}\n\nItem {a}-{p} describes task number {p} of role {a}."
            for p in range(passages)
        )
        (folder / f"article-{a}.md").write_text(f"---\ntitle: Article {a}\n---\n\n{body}\n")


def test_writes_are_batched_to_the_store_maximum(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A library larger than chroma's max batch (5,461 locally) must index and re-index."""
    _tiny_corpus(settings.corpus_dir, articles=4, passages=30)
    from chromadb.api.client import Client

    monkeypatch.setattr(Client, "get_max_batch_size", lambda self: 7)
    from chromadb.api.models.Collection import Collection

    calls: list[int] = []
    original_add = Collection.add

    def counting(self, ids, *args, **kwargs):
        calls.append(len(ids))
        return original_add(self, ids, *args, **kwargs)

    monkeypatch.setattr(Collection, "add", counting)
    first = build_index(settings, HashEmbedder())
    total = first.embedded_chunks
    assert total == 120 and max(calls) <= 7
    (settings.corpus_dir / "article-0.md").write_text("---\ntitle: New\n---\n\nChanged text.\n")
    again = build_index(settings, HashEmbedder())
    assert again.reused_chunks == 90 and again.embedded_chunks == 1
    assert (
        open_client(settings.index).get_collection(read_manifest(settings.index).collection).count()
        == 91
    )


@pytest.mark.slow
def test_library_larger_than_chroma_max_batch_indexes(settings: Settings) -> None:
    """The real limit: 6,000 tiny passages, more than 5,461 in one write."""
    _tiny_corpus(settings.corpus_dir, articles=60, passages=100)
    report = build_index(settings, HashEmbedder(dims=16))
    assert report.embedded_chunks == 6000
    settings.corpus_dir.joinpath("article-0.md").write_text("---\ntitle: X\n---\n\nOther.\n")
    again = build_index(settings, HashEmbedder(dims=16))
    assert again.reused_chunks == 5900


KILLED_BUILD = """
import sys, time
from pathlib import Path
from advisor.index.build import build_index
from advisor.settings import IndexSettings, Settings
from tests.conftest import HashEmbedder

class Stuck(HashEmbedder):
    def embed_documents(self, texts, progress=False):
        print("embedding", flush=True)
        time.sleep(60)

settings = Settings(corpus_dir=Path(sys.argv[1]), index=IndexSettings(path=Path(sys.argv[2])))
build_index(settings, Stuck(), full=True)
"""


@pytest.mark.slow
def test_kill_9_during_a_build_leaves_a_working_index(
    settings: Settings, hash_embedder: HashEmbedder
) -> None:
    import signal
    import subprocess
    import sys

    from .conftest import REPO

    build_index(settings, hash_embedder)
    before = read_manifest(settings.index)
    for _ in range(2):
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                KILLED_BUILD,
                str(settings.corpus_dir),
                str(settings.index.path),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout.readline().strip() == "embedding"
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    _fresh_process_view()
    assert read_manifest(settings.index) == before
    _search_works(settings, hash_embedder)  # the old index still answers
    names = [c.name for c in open_client(settings.index).list_collections()]
    assert len(names) == 3  # two half-built generations left behind
    report = build_index(settings, HashEmbedder())
    assert not report.changed and len(report.cleaned) == 2
    report = build_index(settings, HashEmbedder(), full=True)
    assert report.changed
    names = [c.name for c in open_client(settings.index).list_collections()]
    assert names == [read_manifest(settings.index).collection]
    _search_works(settings, hash_embedder)


def test_a_busy_store_is_an_error_not_rubbish(
    settings: Settings, hash_embedder: HashEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a store the database calls corrupt is replaced without --full."""
    import chromadb

    from advisor.index import IndexUnavailableError

    build_index(settings, hash_embedder)
    _fresh_process_view()
    files_before = sorted(p.name for p in store_path(settings.index).iterdir())

    def locked(*args: object, **kwargs: object) -> None:
        raise RuntimeError("error returned from database: (code: 5) database is locked")

    monkeypatch.setattr(chromadb, "PersistentClient", locked)
    with pytest.raises(IndexUnavailableError, match="database is locked"):
        build_index(settings, HashEmbedder())
    assert sorted(p.name for p in store_path(settings.index).iterdir()) == files_before
