"""Scale-out mode: the same index code against a real `chroma run` on 127.0.0.1."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from advisor.index import IndexUnavailableError
from advisor.index.build import build_index
from advisor.index.chroma import open_collection
from advisor.index.manifest import read_manifest
from advisor.retrieve import Retriever
from advisor.settings import IndexSettings, Settings

from .conftest import HashEmbedder, free_port

pytestmark = pytest.mark.server


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[int]:
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = free_port()
    proc = subprocess.Popen(
        [
            chroma,
            "run",
            "--path",
            str(tmp_path / "server-data"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).is_success:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("chroma server did not start within 30 s")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _server_settings(settings: Settings, tmp_path: Path, port: int) -> Settings:
    index = IndexSettings(
        path=tmp_path / "index", mode="server", server_host="127.0.0.1", server_port=port
    )
    return settings.model_copy(update={"index": index})


def test_index_and_search_through_a_chroma_server(
    settings: Settings, tmp_path: Path, chroma_server: int
) -> None:
    remote = _server_settings(settings, tmp_path, chroma_server)
    embedder = HashEmbedder()
    report = build_index(remote, embedder)
    assert len(report.added) == 5
    assert not (tmp_path / "index" / "chroma").exists()  # vectors live on the server
    assert open_collection(remote.index)[1].count() == report.embedded_chunks
    assert not build_index(remote, HashEmbedder()).changed
    hits = Retriever(remote, embedder).search("PALS certification renewal", k=3).hits
    assert any("PALS" in h.chunk.text for h in hits)
    manifest = read_manifest(remote.index)
    assert manifest is not None and manifest.collection.startswith("advisor-")


def test_unreachable_server_is_a_clear_error(settings: Settings, tmp_path: Path) -> None:
    remote = _server_settings(settings, tmp_path, free_port())
    with pytest.raises(IndexUnavailableError, match=r"chroma server 127\.0\.0\.1"):
        build_index(remote, HashEmbedder())
