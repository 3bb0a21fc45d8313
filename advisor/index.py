"""Embed chunks and store them in chromadb, incrementally and atomically.

Every build writes a fresh collection and only then points `manifest.json`
at it (an atomic file replace), so a build that fails or is killed leaves the
previous index answering questions. Nothing already embedded is embedded again:
unchanged articles, and unchanged passages of a changed article (chunk ids are
content-derived), have their stored vectors copied into the new collection. A different embedding
model or chunker setting invalidates every vector, so it forces a full rebuild.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from advisor.chunking import Chunk, chunk_article
from advisor.corpus import Article, load_corpus, slugify
from advisor.knowledge.lexicon import LexiconData
from advisor.settings import IndexSettings, Settings

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

    from advisor.embeddings import SentenceEmbedder

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1


class IndexUnavailableError(RuntimeError):
    """The index is missing, unreadable or unreachable; the message says how to fix it."""


class DocumentEntry(BaseModel):
    content_hash: str
    title: str
    publisher: str
    published: str | None = None
    path: str
    chunk_ids: list[str]


class Manifest(BaseModel):
    """What the current collection holds and how it was built."""

    version: int = MANIFEST_VERSION
    collection: str
    embedding_model: str
    chunking: dict[str, Any]
    built_at: str
    documents: dict[str, DocumentEntry]
    library: LexiconData | None = None  # what the articles are about (advisor.knowledge)

    @property
    def titles(self) -> list[str]:
        """Titles of the indexed articles: the page's "what I cover" and the refusal."""
        return [entry.title for entry in self.documents.values()]


@dataclass
class BuildReport:
    """What a build did, for the CLI to print and the tests to check."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept_despite_errors: list[str] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)
    embedded_chunks: int = 0
    reused_chunks: int = 0
    full_rebuild_reason: str | None = None
    knowledge_updated: bool = False
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.full_rebuild_reason)


def manifest_path(settings: IndexSettings) -> Path:
    return settings.path / MANIFEST_NAME


def read_manifest(settings: IndexSettings) -> Manifest | None:
    """The current manifest, None when no index was built, an error when it is unreadable."""
    path = manifest_path(settings)
    if settings.path.exists() and not settings.path.is_dir():
        raise IndexUnavailableError(f"index path {settings.path} is not a folder")
    if not path.exists():
        return None
    try:
        return Manifest.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValidationError, ValueError) as err:
        raise IndexUnavailableError(
            f"the index manifest {path} is unreadable ({type(err).__name__}); "
            "rebuild it with `advisor index --full`"
        ) from err


def _write_manifest(settings: IndexSettings, manifest: Manifest) -> None:
    """Write beside, then rename: readers see the old or the new manifest, never half."""
    path = manifest_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    tmp.write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
    os.replace(tmp, path)


def open_client(settings: IndexSettings) -> ClientAPI:
    """A chromadb client for the configured mode, with telemetry off (we are offline)."""
    import chromadb

    chroma_settings = chromadb.Settings(anonymized_telemetry=False)
    try:
        if settings.mode == "server":
            return chromadb.HttpClient(
                host=settings.server_host, port=settings.server_port, settings=chroma_settings
            )
        settings.path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(
            path=str(settings.path / "chroma"), settings=chroma_settings
        )
    except Exception as err:  # chromadb raises many types for an unusable store
        where = (
            f"chroma server {settings.server_host}:{settings.server_port}"
            if settings.mode == "server"
            else f"index folder {settings.path}"
        )
        raise IndexUnavailableError(f"cannot open the {where}: {err}") from err


def chunk_settings_key(settings: Settings) -> dict[str, Any]:
    return settings.chunking.model_dump()


def _full_rebuild_reason(old: Manifest | None, settings: Settings) -> str | None:
    if old is None:
        return "no index yet"
    if old.embedding_model != settings.embedding.model_name:
        return f"embedding model changed ({old.embedding_model} -> {settings.embedding.model_name})"
    if old.chunking != chunk_settings_key(settings):
        return f"chunker settings changed ({old.chunking} -> {chunk_settings_key(settings)})"
    return None


def _copy_chunks(source: Collection, target: Collection, ids: list[str]) -> int:
    """Move stored vectors across collections: no re-embedding for unchanged articles."""
    if not ids:
        return 0
    got = source.get(ids=ids, include=["embeddings", "documents", "metadatas"])
    target.add(
        ids=got["ids"],
        embeddings=got["embeddings"],
        documents=got["documents"],
        metadatas=got["metadatas"],
    )
    return len(got["ids"])


def _add_chunks(
    target: Collection, chunks: list[Chunk], embedder: SentenceEmbedder, progress: bool
) -> int:
    if not chunks:
        return 0
    vectors = embedder.embed_documents([c.embed_text for c in chunks], progress=progress)
    target.add(
        ids=[c.chunk_id for c in chunks],
        embeddings=vectors,
        documents=[c.text for c in chunks],
        metadatas=[c.metadata() for c in chunks],
    )
    return len(chunks)


def _stored_ids(manifest: Manifest) -> set[str]:
    return {cid for entry in manifest.documents.values() for cid in entry.chunk_ids}


def _entry(article: Article, chunks: list[Chunk]) -> DocumentEntry:
    return DocumentEntry(
        content_hash=article.content_hash,
        title=article.title,
        publisher=article.publisher,
        published=article.published,
        path=article.path.name,
        chunk_ids=[c.chunk_id for c in chunks],
    )


def _plan(
    articles: list[Article], problems: dict[str, str], old: Manifest | None, full: bool
) -> tuple[BuildReport, list[Article], dict[str, DocumentEntry]]:
    """Sort articles into embed-anew and carry-over; broken files keep their old version."""
    report = BuildReport(problems=dict(problems))
    old_docs = {} if (old is None or full) else old.documents
    to_embed: list[Article] = []
    carried: dict[str, DocumentEntry] = {}
    for article in articles:
        previous = old_docs.get(article.doc_id)
        if previous is not None and previous.content_hash == article.content_hash:
            report.unchanged.append(article.doc_id)
            carried[article.doc_id] = previous
        else:
            (report.updated if previous else report.added).append(article.doc_id)
            to_embed.append(article)
    loaded = {a.doc_id for a in articles}
    broken = {slugify(Path(name).stem) for name in problems}
    for doc_id, entry in old_docs.items():
        if doc_id in loaded:
            continue
        if doc_id in broken:  # a file that broke keeps its last good version
            report.kept_despite_errors.append(doc_id)
            carried[doc_id] = entry
        else:
            report.removed.append(doc_id)
    return report, to_embed, carried


def _library(articles: list[Article], settings: Settings) -> LexiconData:
    """The library's lexicon, stored with the passages so both change together."""
    from advisor.knowledge.library import library_lexicon

    return library_lexicon(articles, settings.corpus_dir).to_data()


def build_index(
    settings: Settings,
    embedder: SentenceEmbedder | None = None,
    *,
    full: bool = False,
    progress: bool = False,
) -> BuildReport:
    """Bring the index up to date with corpus/, touching only what changed."""
    started = time.perf_counter()
    loaded = load_corpus(settings.corpus_dir)
    if not loaded.articles:
        detail = "; ".join(f"{k}: {v}" for k, v in loaded.problems.items()) or "no articles"
        raise IndexUnavailableError(
            f"no readable article in {settings.corpus_dir} ({detail}); the index was left as it was"
        )
    old = read_manifest(settings.index)
    reason = "requested with --full" if full else _full_rebuild_reason(old, settings)
    report, to_embed, carried = _plan(loaded.articles, loaded.problems, old, full or bool(reason))
    report.full_rebuild_reason = reason
    library = _library(loaded.articles, settings)
    if not report.changed:
        if old is not None and old.library != library:  # new knowledge, same passages
            _write_manifest(settings.index, old.model_copy(update={"library": library}))
            report.knowledge_updated = True
        report.seconds = time.perf_counter() - started
        return report

    if embedder is None:
        from advisor.embeddings import SentenceEmbedder

        embedder = SentenceEmbedder(settings.embedding)
    client = open_client(settings.index)
    name = f"{settings.index.collection_prefix}-{time.time_ns()}"
    target = client.create_collection(
        name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
    )
    try:
        documents = dict(carried)
        new_chunks: list[Chunk] = []
        for article in to_embed:
            chunks = chunk_article(article, settings.chunking)
            documents[article.doc_id] = _entry(article, chunks)
            new_chunks.extend(chunks)
        # ids are content-derived, so an id already stored has the same vector
        stored = set() if old is None or reason else _stored_ids(old)
        reuse = [cid for entry in carried.values() for cid in entry.chunk_ids]
        reuse += [c.chunk_id for c in new_chunks if c.chunk_id in stored]
        if reuse and old is not None:
            source = client.get_collection(old.collection, embedding_function=None)
            report.reused_chunks = _copy_chunks(source, target, reuse)
        fresh = [c for c in new_chunks if c.chunk_id not in stored]
        report.embedded_chunks = _add_chunks(target, fresh, embedder, progress)
    except BaseException:
        client.delete_collection(name)  # the manifest still names the old collection
        raise
    _write_manifest(
        settings.index,
        Manifest(
            collection=name,
            embedding_model=settings.embedding.model_name,
            chunking=chunk_settings_key(settings),
            built_at=datetime.now(UTC).isoformat(timespec="seconds"),
            documents=documents,
            library=library,
        ),
    )
    _drop_stale_collections(client, settings.index, keep=name)
    report.seconds = time.perf_counter() - started
    return report


def _drop_stale_collections(client: ClientAPI, settings: IndexSettings, keep: str) -> None:
    """Remove earlier generations, including ones left by a build that was killed."""
    prefix = f"{settings.collection_prefix}-"
    for collection in client.list_collections():
        if collection.name.startswith(prefix) and collection.name != keep:
            client.delete_collection(collection.name)


def open_collection(settings: IndexSettings) -> tuple[Manifest, Collection]:
    """The collection the manifest names, or a clear error saying to run `advisor index`."""
    manifest = read_manifest(settings)
    if manifest is None:
        raise IndexUnavailableError(
            f"no index at {settings.path}; build it with `advisor index` (or `make index`)"
        )
    client = open_client(settings)
    try:
        collection = client.get_collection(manifest.collection, embedding_function=None)
    except Exception as err:  # NotFoundError, or a server that went away
        raise IndexUnavailableError(
            f"the index collection {manifest.collection} cannot be opened ({err}); "
            "rebuild it with `advisor index --full`"
        ) from err
    return manifest, collection
