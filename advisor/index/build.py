"""Building the next generation: embed only what the plan says changed, then switch.

See the package docstring for the guarantees (atomic switch, nothing embedded twice,
a killed build resumed); this module is the one that keeps them.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from advisor import generation, keyword
from advisor.corpus import LoadReport, load_corpus
from advisor.index import IndexUnavailableError
from advisor.index.manifest import Manifest, read_manifest, stored_ids, write_manifest
from advisor.index.plan import (
    BuildReport,
    chunk_new,
    chunk_settings_key,
    full_rebuild_reason,
    plan_articles,
)
from advisor.index.upkeep import build_lock, drop_stale_collections, open_or_reset, verify_store
from advisor.settings import Settings

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

    from advisor.embeddings import SentenceEmbedder


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
    client, store_damage = open_or_reset(settings.index, full)
    if old is not None and store_damage is None:
        store_damage = verify_store(client, old)
    if store_damage is not None and old is not None:
        damage, old = store_damage, None
    elif store_damage is not None:
        damage = damage or store_damage
    reason = "requested with --full" if full else damage or full_rebuild_reason(old, settings)
    report, to_embed, carried = plan_articles(
        loaded.articles, loaded.problems, old, full or bool(reason)
    )
    report.full_rebuild_reason = reason
    report.quarantined = list(loaded.quarantined)
    if old is not None and not reason:  # a lost or damaged keyword file: a new generation
        report.keyword_repair = keyword.verify(
            keyword.keyword_path(settings.index.path, old.collection), len(stored_ids(old))
        )
    from advisor.knowledge.library import derive_library

    knowledge = derive_library(loaded.articles, settings, settings.index.path, full)
    library, report.derived_articles = knowledge.data, knowledge.derived
    report.outliers = knowledge.described_outliers(loaded.articles)
    if not report.changed:
        # a build killed earlier may have left a half-written collection behind
        report.cleaned = drop_stale_collections(client, settings.index, keep=old.collection)
        generation.clear_journal(settings.index.path)
        if old.library != library:  # new knowledge, same passages
            write_manifest(settings.index, old.model_copy(update={"library": library}))
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
        documents, new_chunks = chunk_new(to_embed, carried, settings, report)
        needed = [cid for entry in documents.values() for cid in entry.chunk_ids]
        present = _keep_needed(target, set(needed), batch)
        report.resumed_chunks = len(present)
        # ids are content-derived, so an id already stored has the same vector
        stored = set() if old is None or reason else stored_ids(old)
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
    write_manifest(
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
    report.cleaned = drop_stale_collections(client, settings.index, keep=name)
    return report


def _keep_needed(target: Collection, needed: set[str], batch: int) -> set[str]:
    """What an interrupted build already stored and this one needs; the rest is deleted."""
    held = set(generation.stored_ids(target, batch))
    extra = sorted(held - needed)
    for part in generation.batches(extra, batch):
        target.delete(ids=extra[part])
    return held & needed
