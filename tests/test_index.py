from __future__ import annotations

from pathlib import Path

import pytest

from advisor.chunking import CHUNKER_VERSION
from advisor.index import IndexUnavailableError
from advisor.index.build import build_index
from advisor.index.chroma import open_client, open_collection
from advisor.index.manifest import read_manifest
from advisor.settings import ChunkSettings, EmbeddingSettings, Settings

from .conftest import HashEmbedder

DOC = "medical-coder-vs-medical-biller"


def _count(settings: Settings) -> int:
    return open_collection(settings.index)[1].count()


def test_first_build_embeds_every_chunk(settings: Settings, hash_embedder: HashEmbedder) -> None:
    report = build_index(settings, hash_embedder)
    manifest = read_manifest(settings.index)
    assert manifest is not None
    assert len(report.added) == 5
    assert report.full_rebuild_reason == "no index yet"
    total = sum(len(d.chunk_ids) for d in manifest.documents.values())
    assert report.embedded_chunks == total == hash_embedder.embedded == _count(settings)
    assert manifest.embedding_model == settings.embedding.model_name
    assert manifest.chunking == {**settings.chunking.model_dump(), "chunker": CHUNKER_VERSION}
    assert manifest.library is not None  # what the articles are about, stored with them
    assert "medical coder" in {s.key for s in manifest.library.subjects}
    assert open_collection(settings.index)[1].configuration["hnsw"]["space"] == "cosine"


def test_second_build_with_nothing_changed_embeds_nothing(
    settings: Settings, hash_embedder: HashEmbedder
) -> None:
    build_index(settings, hash_embedder)
    collection_before = read_manifest(settings.index).collection
    again = HashEmbedder()
    report = build_index(settings, again)
    assert not report.changed
    assert again.embedded == 0
    assert len(report.unchanged) == 5
    assert read_manifest(settings.index).collection == collection_before


def test_changed_article_is_the_only_one_reembedded(
    settings: Settings, hash_embedder: HashEmbedder
) -> None:
    build_index(settings, hash_embedder)
    path = settings.corpus_dir / f"{DOC}.md"
    path.write_text(path.read_text() + "\n## Outlook\n\nCoders will stay in demand.\n")
    again = HashEmbedder()
    report = build_index(settings, again)
    doc_chunks = len(read_manifest(settings.index).documents[DOC].chunk_ids)
    assert report.updated == [DOC]
    assert again.embedded == report.embedded_chunks == 1  # only the new passage's chunk
    assert report.reused_chunks + report.embedded_chunks == _count(settings)
    assert doc_chunks >= 1
    assert open_collection(settings.index)[1].get(where={"section": "Outlook"})["ids"]


def test_removed_article_is_deleted_and_added_one_indexed(
    settings: Settings, hash_embedder: HashEmbedder
) -> None:
    build_index(settings, hash_embedder)
    (settings.corpus_dir / f"{DOC}.md").unlink()
    (settings.corpus_dir / "new-guide.txt").write_text("New Guide\n\nPhlebotomists draw blood.\n")
    report = build_index(settings, HashEmbedder())
    manifest = read_manifest(settings.index)
    assert report.removed == [DOC]
    assert report.added == ["new-guide"]
    assert DOC not in manifest.documents
    collection = open_collection(settings.index)[1]
    assert not collection.get(where={"doc_id": DOC})["ids"]
    assert collection.get(where={"doc_id": "new-guide"})["ids"]


@pytest.mark.parametrize(
    "change",
    [
        {"chunking": ChunkSettings(size=400)},
        {"embedding": EmbeddingSettings(model_name="another-model")},
    ],
    ids=["chunker", "model"],
)
def test_model_or_chunker_change_forces_full_rebuild(
    settings: Settings, hash_embedder: HashEmbedder, change: dict
) -> None:
    build_index(settings, hash_embedder)
    changed = settings.model_copy(update=change)
    again = HashEmbedder()
    report = build_index(changed, again)
    assert report.full_rebuild_reason and "changed" in report.full_rebuild_reason
    assert report.reused_chunks == 0
    assert again.embedded == _count(changed)


def test_failed_build_leaves_previous_index_usable(
    settings: Settings, hash_embedder: HashEmbedder
) -> None:
    build_index(settings, hash_embedder)
    manifest_before = read_manifest(settings.index)
    count_before = _count(settings)
    path = settings.corpus_dir / f"{DOC}.md"
    path.write_text(path.read_text().replace("$54,972", "$99,999"))
    with pytest.raises(RuntimeError, match="simulated crash"):
        build_index(settings, HashEmbedder(fail_after=0))
    assert read_manifest(settings.index) == manifest_before
    assert _count(settings) == count_before
    names = [c.name for c in open_client(settings.index).list_collections()]
    assert names == [manifest_before.collection]


def test_collections_left_by_a_killed_build_are_cleaned_up(
    settings: Settings, hash_embedder: HashEmbedder
) -> None:
    build_index(settings, hash_embedder)
    open_client(settings.index).create_collection("advisor-1", embedding_function=None)
    build_index(settings, hash_embedder, full=True)
    names = [c.name for c in open_client(settings.index).list_collections()]
    assert names == [read_manifest(settings.index).collection]


def test_file_that_breaks_keeps_its_last_good_version(
    settings: Settings, hash_embedder: HashEmbedder
) -> None:
    build_index(settings, hash_embedder)
    (settings.corpus_dir / f"{DOC}.md").write_bytes(b"\x00\x01binary garbage")
    report = build_index(settings, HashEmbedder())
    assert f"{DOC}.md" in report.problems
    assert report.kept_despite_errors == [DOC]
    assert DOC in read_manifest(settings.index).documents
    assert open_collection(settings.index)[1].get(where={"doc_id": DOC})["ids"]


def test_corpus_with_no_readable_article_leaves_index_untouched(
    settings: Settings, hash_embedder: HashEmbedder
) -> None:
    build_index(settings, hash_embedder)
    before = read_manifest(settings.index)
    for path in settings.corpus_dir.iterdir():
        path.write_text("")
    with pytest.raises(IndexUnavailableError, match="no readable article"):
        build_index(settings, HashEmbedder())
    assert read_manifest(settings.index) == before


def test_missing_index_says_how_to_build_it(settings: Settings) -> None:
    with pytest.raises(IndexUnavailableError, match="advisor index"):
        open_collection(settings.index)


def test_index_path_that_is_a_file_is_reported(settings: Settings, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    bad = settings.model_copy(update={"index": settings.index.model_copy(update={"path": blocker})})
    with pytest.raises(IndexUnavailableError, match="not a folder"):
        open_collection(bad.index)


def test_corrupt_manifest_is_reported(settings: Settings, hash_embedder: HashEmbedder) -> None:
    build_index(settings, hash_embedder)
    (settings.index.path / "manifest.json").write_text("{not json")
    with pytest.raises(IndexUnavailableError, match="unreadable"):
        open_collection(settings.index)
