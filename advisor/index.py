"""Embed chunks and store them in chromadb, incrementally and atomically.

Every build writes a fresh collection and only then points `manifest.json`
at it (an atomic file replace), so a build that fails or is killed leaves the
previous index answering questions. Nothing already embedded is embedded again:
unchanged articles, and unchanged passages of a changed article (chunk ids are
content-derived), have their stored vectors copied into the new collection. A different embedding
model or chunker setting invalidates every vector, so it forces a full rebuild.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import shutil
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from advisor import generation, keyword
from advisor.chunking import CHUNKER_VERSION, Chunk, chunk_article
from advisor.corpus import Article, LoadReport, load_corpus, slugify
from advisor.knowledge.lexicon import LexiconData
from advisor.quarantine import Quarantined
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
    keyword_repair: str | None = None  # what was wrong with the keyword file, rebuilt
    resumed_chunks: int = 0  # kept from a build that was killed
    knowledge_updated: bool = False
    derived_articles: int = 0  # articles whose knowledge was derived anew (not cached)
    outliers: list[tuple[str, str]] = field(default_factory=list)  # (file, what is odd)
    quarantined: list[Quarantined] = field(default_factory=list)
    cleaned: list[str] = field(default_factory=list)  # leftover collections removed
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(
            self.added
            or self.updated
            or self.removed
            or self.full_rebuild_reason
            or self.keyword_repair
        )


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


def store_path(settings: IndexSettings) -> Path:
    """The chromadb folder inside the index folder (local mode)."""
    return settings.path / "chroma"


def open_client(settings: IndexSettings) -> ClientAPI:
    """A chromadb client for the configured mode, with telemetry off (we are offline)."""
    import chromadb

    chroma_settings = chromadb.Settings(anonymized_telemetry=False)
    if settings.mode == "server":
        from advisor.store import open_http_client

        return open_http_client(settings, chroma_settings)
    try:
        settings.path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(store_path(settings)), settings=chroma_settings)
    except Exception as err:  # chromadb raises many types for an unusable store
        raise IndexUnavailableError(
            f"cannot open the index folder {settings.path}: {err}; "
            "rebuild it with `advisor index --full`"
        ) from err


def chunk_settings_key(settings: Settings) -> dict[str, Any]:
    """What decides the passages: the settings and the chunker's own rules (its version)."""
    return {**settings.chunking.model_dump(), "chunker": CHUNKER_VERSION}


def _full_rebuild_reason(old: Manifest | None, settings: Settings) -> str | None:
    if old is None:
        return "no index yet"
    if old.embedding_model != settings.embedding.model_name:
        return f"embedding model changed ({old.embedding_model} -> {settings.embedding.model_name})"
    if old.chunking != chunk_settings_key(settings):
        return f"chunker settings changed ({old.chunking} -> {chunk_settings_key(settings)})"
    return None


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


def build_index(
    settings: Settings,
    embedder: SentenceEmbedder | None = None,
    *,
    full: bool = False,
    progress: bool = False,
) -> BuildReport:
    """Bring the index up to date with corpus/, touching only what changed.

    Whatever is on disk, a build ends with a working index: an unreadable
    manifest, or a store that does not open or does not hold the manifest's
    passages, is rebuilt from the corpus (the report says why). Only builds
    are serialised (a lock file); readers never wait.
    """
    started = time.perf_counter()
    loaded = load_corpus(settings.corpus_dir, settings.max_file_bytes)
    if not loaded.articles:
        detail = "; ".join(f"{k}: {v}" for k, v in loaded.problems.items()) or "no articles"
        raise IndexUnavailableError(
            f"no readable article in {settings.corpus_dir} ({detail}); the index was left as it was"
        )
    if settings.index.path.exists() and not settings.index.path.is_dir():
        raise IndexUnavailableError(f"index path {settings.index.path} is not a folder")
    try:
        with build_lock(settings.index):
            report = _build_locked(settings, loaded, embedder, full, progress)
    except OSError as err:  # a folder that cannot be created or written, a full disk
        raise IndexUnavailableError(
            f"cannot write the index folder {settings.index.path} "
            f"({err.strerror or type(err).__name__}); free some space or set "
            "ADVISOR_INDEX__PATH to a folder you may write; the previous index was left as it was"
        ) from err
    report.seconds = time.perf_counter() - started
    return report


def _build_locked(
    settings: Settings,
    loaded: LoadReport,
    embedder: SentenceEmbedder | None,
    full: bool,
    progress: bool,
) -> BuildReport:
    try:
        old = read_manifest(settings.index)
        damage = None
    except IndexUnavailableError as err:
        old, damage = None, f"the manifest was unreadable ({err.__cause__.__class__.__name__})"
    client, store_damage = _open_or_reset(settings.index, full)
    if old is not None and store_damage is None:
        store_damage = verify_store(client, old)
    if store_damage is not None and old is not None:
        damage, old = store_damage, None
    elif store_damage is not None:
        damage = damage or store_damage
    reason = "requested with --full" if full else damage or _full_rebuild_reason(old, settings)
    report, to_embed, carried = _plan(loaded.articles, loaded.problems, old, full or bool(reason))
    report.full_rebuild_reason = reason
    report.quarantined = list(loaded.quarantined)
    if old is not None and not reason:  # a lost or damaged keyword file: a new generation
        report.keyword_repair = keyword.verify(
            keyword.keyword_path(settings.index.path, old.collection), len(_stored_ids(old))
        )
    from advisor.knowledge.library import derive_library

    knowledge = derive_library(loaded.articles, settings, settings.index.path, full)
    library, report.derived_articles = knowledge.data, knowledge.derived
    report.outliers = knowledge.described_outliers(loaded.articles)
    if not report.changed:
        # a build killed earlier may have left a half-written collection behind
        report.cleaned = _drop_stale_collections(client, settings.index, keep=old.collection)
        generation.clear_journal(settings.index.path)
        if old.library != library:  # new knowledge, same passages
            _write_manifest(settings.index, old.model_copy(update={"library": library}))
            report.knowledge_updated = True
        return report

    if embedder is None:
        from advisor.embeddings import SentenceEmbedder

        embedder = SentenceEmbedder(settings.embedding)
    key = {
        "embedding_model": settings.embedding.model_name,
        "chunking": chunk_settings_key(settings),
    }
    target = None if full else generation.unfinished(client, settings.index.path, key)
    if target is None:
        target = client.create_collection(
            f"{settings.index.collection_prefix}-{time.time_ns()}",
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,
        )
        generation.write_journal(settings.index.path, target.name, key)
    name = target.name
    batch = client.get_max_batch_size()
    try:
        documents, new_chunks = _chunk_new(to_embed, carried, settings, report)
        needed = [cid for entry in documents.values() for cid in entry.chunk_ids]
        present = _keep_needed(target, set(needed), batch)
        report.resumed_chunks = len(present)
        # ids are content-derived, so an id already stored has the same vector
        stored = set() if old is None or reason else _stored_ids(old)
        reuse = [cid for entry in carried.values() for cid in entry.chunk_ids]
        reuse += [c.chunk_id for c in new_chunks if c.chunk_id in stored]
        reuse = [cid for cid in reuse if cid not in present]
        if reuse and old is not None:
            source = client.get_collection(old.collection, embedding_function=None)
            report.reused_chunks = generation.copy_chunks(source, target, reuse, batch)
        fresh = [c for c in new_chunks if c.chunk_id not in stored and c.chunk_id not in present]
        report.embedded_chunks = generation.embed_chunks(target, fresh, embedder, progress, batch)
        if not documents:
            raise IndexUnavailableError(
                f"no article in {settings.corpus_dir} yields a passage to index; "
                "the index was left as it was"
            )
        generation.build_keyword_file(
            settings.index.path,
            target,
            needed,
            {c.chunk_id: c for c in new_chunks},
            None if old is None or reason or report.keyword_repair else old.collection,
            batch,
        )
    except KeyboardInterrupt:
        raise  # kept, with its journal: the next build continues where this one stopped
    except BaseException:
        client.delete_collection(name)  # the manifest still names the old collection
        generation.clear_journal(settings.index.path)
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
    generation.clear_journal(settings.index.path)
    report.cleaned = _drop_stale_collections(client, settings.index, keep=name)
    return report


def _chunk_new(
    to_embed: list[Article],
    carried: dict[str, DocumentEntry],
    settings: Settings,
    report: BuildReport,
) -> tuple[dict[str, DocumentEntry], list[Chunk]]:
    """The new generation's documents, and the passages of the articles that changed."""
    documents = dict(carried)
    new_chunks: list[Chunk] = []
    for article in to_embed:
        chunks = chunk_article(article, settings.chunking)
        if not chunks:
            report.problems[article.path.name] = "it yields no passage to index"
            _unplan(report, article.doc_id)
            continue
        documents[article.doc_id] = _entry(article, chunks)
        new_chunks.extend(chunks)
    return documents, new_chunks


def _keep_needed(target: Collection, needed: set[str], batch: int) -> set[str]:
    """What an interrupted build already stored and this one needs; the rest is deleted."""
    held = set(generation.stored_ids(target, batch))
    extra = sorted(held - needed)
    for part in generation.batches(extra, batch):
        target.delete(ids=extra[part])
    return held & needed


def _unplan(report: BuildReport, doc_id: str) -> None:
    """An article that yields nothing is a problem, not an addition or an update."""
    for bucket in (report.added, report.updated):
        if doc_id in bucket:
            bucket.remove(doc_id)


def verify_store(client: ClientAPI, manifest: Manifest) -> str | None:
    """None when the store holds the manifest's collection and passages, else what is wrong."""
    expected = len(_stored_ids(manifest))
    try:
        collection = client.get_collection(manifest.collection, embedding_function=None)
        count = collection.count()
        collection.get(limit=1, include=["embeddings", "documents", "metadatas"])
    except Exception as err:  # NotFoundError, a malformed database, a server error
        return f"the store does not hold the manifest's collection ({type(err).__name__})"
    if count != expected:
        return f"the store holds {count} passages where the manifest lists {expected}"
    return None


_CORRUPT = ("malformed", "not a database", "no such table", "no such column", "corrupt")


def _open_or_reset(settings: IndexSettings, full: bool) -> tuple[ClientAPI, str | None]:
    """Open the store; a local store that cannot even open is set aside and started afresh.

    Only a store that is already unusable is removed, so nothing that answers
    questions is lost: without --full, only when the database says it is
    corrupt (a store that is merely busy or locked is an error, not rubbish).
    A chroma server that cannot be reached is an error.
    """
    try:
        return open_client(settings), None
    except IndexUnavailableError as err:
        cause = err.__cause__
        corrupt = any(word in str(cause).lower() for word in _CORRUPT)
        if settings.mode == "server" or not (full or corrupt):
            raise
        why = f"the store did not open ({type(cause).__name__}: {str(cause)[:120]})"
    reset_store(settings)
    return open_client(settings), why


def reset_store(settings: IndexSettings) -> None:
    """Remove a local chroma folder, forgetting any client this process holds on it."""
    from chromadb.api.shared_system_client import SharedSystemClient

    folder = store_path(settings)
    system = SharedSystemClient._identifier_to_system.pop(str(folder), None)
    SharedSystemClient._identifier_to_refcount.pop(str(folder), None)
    if system is not None:
        with contextlib.suppress(Exception):
            system.stop()
    if folder.exists():
        aside = folder.with_name(f"chroma.broken-{time.time_ns()}")
        os.replace(folder, aside)
        shutil.rmtree(aside, ignore_errors=True)


@contextlib.contextmanager
def build_lock(settings: IndexSettings) -> Iterator[None]:
    """One build at a time per index folder; a second one waits for the first."""
    settings.path.mkdir(parents=True, exist_ok=True)
    with (settings.path / ".build.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _drop_stale_collections(client: ClientAPI, settings: IndexSettings, keep: str) -> list[str]:
    """Remove earlier generations, including ones left by a build that was killed.

    A reader still holding a dropped generation re-opens the current one
    (see `Retriever`), so dropping never fails a request in flight.
    """
    prefix = f"{settings.collection_prefix}-"
    dropped = []
    for collection in client.list_collections():
        if collection.name.startswith(prefix) and collection.name != keep:
            with contextlib.suppress(Exception):  # another process dropped it first
                client.delete_collection(collection.name)
                dropped.append(collection.name)
    keyword.drop_stale(settings.path, keep)
    return dropped


def open_collection(settings: IndexSettings) -> tuple[Manifest, Collection]:
    """The collection the manifest names, or a clear error saying to run `advisor index`.

    Searching needs no write access: an index folder this process may not write
    (a read-only mount, another user's files) is searched from a private copy.
    """
    manifest = read_manifest(settings)
    if manifest is None:
        raise IndexUnavailableError(
            f"no index at {settings.path}; build it with `advisor index` (or `make index`)"
        )
    try:
        client = open_client(settings)
        collection = client.get_collection(manifest.collection, embedding_function=None)
    except Exception as err:  # NotFoundError, or a server that went away
        cause = err.__cause__ if isinstance(err, IndexUnavailableError) else err
        if settings.mode == "local" and _is_read_only(settings, cause):
            return manifest, _read_only_copy(settings, manifest)
        if isinstance(err, IndexUnavailableError):
            raise
        raise IndexUnavailableError(
            f"the index collection {manifest.collection} cannot be opened ({err}); "
            "rebuild it with `advisor index --full`"
        ) from err
    return manifest, collection


def _is_read_only(settings: IndexSettings, err: BaseException | None) -> bool:
    folder = store_path(settings)
    return folder.is_dir() and (
        not os.access(folder, os.W_OK) or "readonly" in str(err).lower().replace("-", "")
    )


_READ_ONLY_COPIES: dict[tuple[str, str], Path] = {}
_COPY_LOCK = threading.Lock()


def _read_only_copy(settings: IndexSettings, manifest: Manifest) -> Collection:
    """Open a private snapshot of a store this process cannot write (removed at exit)."""
    import chromadb

    key = (str(store_path(settings)), manifest.collection)
    with _COPY_LOCK:
        copy = _READ_ONLY_COPIES.get(key)
        if copy is None:
            copy = Path(tempfile.mkdtemp(prefix="advisor-readonly-")) / "chroma"
            shutil.copytree(store_path(settings), copy)
            for path in (copy, *copy.rglob("*")):  # copies keep the read-only bits
                path.chmod(path.stat().st_mode | stat.S_IWUSR)
            atexit.register(shutil.rmtree, copy.parent, ignore_errors=True)
            _READ_ONLY_COPIES[key] = copy
    try:
        client = chromadb.PersistentClient(
            path=str(copy), settings=chromadb.Settings(anonymized_telemetry=False)
        )
        return client.get_collection(manifest.collection, embedding_function=None)
    except Exception as err:
        raise IndexUnavailableError(
            f"the read-only index at {settings.path} cannot be opened ({err}); "
            "rebuild it with `advisor index --full` as a user who may write it"
        ) from err
