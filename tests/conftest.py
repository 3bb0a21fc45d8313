"""Shared fixtures: isolated paths, a fast fake embedder, the real model.

Every test gets its own corpus copy and index folder under tmp_path; nothing
reads or writes the repository's index/. The real sentence-transformers model
is loaded once per session (read-only weights) and its vectors memoised by
text, which is a pure function, so tests stay independent of order.
"""

from __future__ import annotations

import hashlib
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from advisor.embeddings import SentenceEmbedder
from advisor.index.build import build_index
from advisor.settings import EmbeddingSettings, IndexSettings, Settings, get_settings
from advisor.text import tokenize

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"


def free_port() -> int:
    """A free port on 127.0.0.1 for a server a test starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HashEmbedder(Embeddings):
    """Deterministic bag-of-hashed-words vectors: fast, and counts how much it embedded."""

    def __init__(self, dims: int = 128, fail_after: int | None = None) -> None:
        self.dims = dims
        self.calls: list[int] = []
        self.fail_after = fail_after

    def _vector(self, text: str) -> list[float]:
        vec = np.zeros(self.dims)
        for token in tokenize(text) or ["empty"]:
            digest = hashlib.md5(token.encode()).digest()
            vec[int.from_bytes(digest[:4], "little") % self.dims] += 1.0
        return (vec / np.linalg.norm(vec)).tolist()

    def embed_documents(self, texts: list[str], progress: bool = False) -> list[list[float]]:
        if self.fail_after is not None and sum(self.calls) + len(texts) > self.fail_after:
            raise RuntimeError("simulated crash while embedding")
        self.calls.append(len(texts))
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)

    @property
    def embedded(self) -> int:
        return sum(self.calls)


class MemoEmbedder(SentenceEmbedder):
    """The real model, with vectors memoised by text so each test's index builds fast."""

    def __init__(self) -> None:
        super().__init__(EmbeddingSettings())
        self.cache: dict[str, list[float]] = {}

    def embed_documents(self, texts: list[str], progress: bool = False) -> list[list[float]]:
        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if missing:
            self.cache.update(zip(missing, super().embed_documents(missing), strict=True))
        return [self.cache[t] for t in texts]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Send every index and data path to tmp_path, for code that reads settings itself."""
    monkeypatch.setenv("ADVISOR_INDEX__PATH", str(tmp_path / "index"))
    monkeypatch.setenv("ADVISOR_CORPUS_DIR", str(tmp_path / "corpus"))
    monkeypatch.setenv("ADVISOR_FEEDBACK_FILE", str(tmp_path / "feedback.jsonl"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A private copy of the committed corpus that a test may edit."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture
def settings(tmp_path: Path, corpus_dir: Path) -> Settings:
    return Settings(corpus_dir=corpus_dir, index=IndexSettings(path=tmp_path / "index"))


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture(scope="session")
def real_embedder() -> MemoEmbedder:
    return MemoEmbedder()


@pytest.fixture
def real_index(settings: Settings, real_embedder: MemoEmbedder) -> Settings:
    """This test's own index of the committed corpus, with real embeddings."""
    build_index(settings, real_embedder)
    return settings


@pytest.fixture
def browser():
    """Headless Debian Chromium for the page tests (tests/browser.py launches it)."""
    from playwright.sync_api import sync_playwright

    from .browser import CHROMIUM, launch_chromium

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it with apt-get")
    with sync_playwright() as p:
        browser = launch_chromium(p)
        yield browser
        browser.close()
