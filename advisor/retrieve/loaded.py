"""One generation of the index as a retriever opens it: the chroma collection, the
keyword file and the lexicon the manifest names, and what is read of it on first use.

A generation is swapped whole when a rebuild replaces it, never edited, so what is
cached on it (passages, their words, whom they are about) can never go stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from advisor.chunking import Chunk
from advisor.index import IndexUnavailableError
from advisor.index.chroma import open_collection
from advisor.index.manifest import Manifest, read_manifest
from advisor.keyword import KeywordIndex, KeywordIndexError, keyword_path
from advisor.knowledge.lexicon import Lexicon
from advisor.knowledge.library import lexicon_from_chunks
from advisor.settings import Settings

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection


# Per-generation caches of what a passage is about and its words; cleared when this full.
CACHE_LIMIT = 50_000
# Passages read from chroma, kept per generation: a warm question reads no text from the
# store (its documents cost more than its vectors: 2.7 vs 0.9 ms a query at five articles).
PASSAGE_LIMIT = 10_000


@dataclass(frozen=True)
class Loaded:
    """One generation of the index as a retriever sees it; swapped whole, never edited."""

    manifest: Manifest
    collection: Collection
    keyword: KeywordIndex
    size: int
    lexicon: Lexicon
    # whom each passage is about and its word set, read on first use (caches, not state)
    about: dict[str, frozenset[str]] = field(default_factory=dict, compare=False)
    words: dict[str, frozenset[str]] = field(default_factory=dict, compare=False)
    passages: dict[str, Chunk] = field(default_factory=dict, compare=False)
    tokens: dict[str, list[str]] = field(default_factory=dict, compare=False)


class Gone(Exception):
    """The generation a query used was replaced by a rebuild: load the new one and retry."""


def load(settings: Settings) -> Loaded:
    """Open the collection and the keyword file the manifest names; no passage is read.

    A build may replace the generation between the manifest read and the
    opening; then the new manifest is read and the opening tried again.
    """
    manifest: Manifest | None = None
    for attempt in range(3):
        try:
            manifest, collection = open_collection(settings.index)
            keyword = KeywordIndex(keyword_path(settings.index.path, manifest.collection))
            break
        except KeywordIndexError as err:
            if attempt < 2 and replaced(settings, manifest):
                continue
            raise IndexUnavailableError(
                f"{err}; rebuild it with `advisor index` (or `advisor index --full`)"
            ) from err
        except Exception as err:
            cause = err.__cause__ if isinstance(err, IndexUnavailableError) else err
            if attempt < 2 and cause is not None and is_gone(cause):
                continue
            if attempt < 2 and manifest is not None and replaced(settings, manifest):
                continue  # dropped while being opened
            if isinstance(err, IndexUnavailableError):
                raise
            raise unreachable(settings, err) from err
    if manifest.library is not None:
        lexicon = Lexicon.from_data(manifest.library)
    else:  # an index built before lexicons were stored: read it back from the passages once
        lexicon = lexicon_from_chunks(all_chunks(collection))
    size = sum(len(entry.chunk_ids) for entry in manifest.documents.values())
    return Loaded(manifest, collection, keyword, size, lexicon)


def replaced(settings: Settings, manifest: Manifest) -> bool:
    try:
        current = read_manifest(settings.index)
    except IndexUnavailableError:
        return False
    return current is not None and current.collection != manifest.collection


def all_chunks(collection: Collection) -> list[Chunk]:
    got = collection.get(include=["documents", "metadatas"])
    return [
        Chunk.from_fields({**meta, "chunk_id": cid, "text": doc})
        for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
    ]


def is_gone(err: Exception) -> bool:
    """The collection was dropped by a rebuild (chromadb's NotFoundError)."""
    return type(err).__name__ == "NotFoundError" or "does not exist" in str(err)


def unreachable(settings: Settings, err: Exception) -> IndexUnavailableError:
    return IndexUnavailableError(
        f"the index could not be searched ({type(err).__name__}: {str(err)[:200]}); "
        "rebuild it with `advisor index --full`"
        + (" or check the chroma server" if settings.index.mode == "server" else "")
    )


def chunks_from(got: dict) -> dict[str, Chunk]:
    """Chunks from a chroma get."""
    ids, docs, metas = got["ids"], got["documents"], got["metadatas"]
    if any(d is None for d in docs) or any(m is None for m in metas):
        raise Gone  # read while a rebuild dropped the collection: its rows are half gone
    return {
        cid: Chunk.from_fields({**meta, "chunk_id": cid, "text": doc})
        for cid, doc, meta in zip(ids, docs, metas, strict=True)
    }


def cached(cache: dict, key: str, make):
    value = cache.get(key)
    if value is None:
        if len(cache) >= CACHE_LIMIT:
            cache.clear()
        value = cache[key] = make()
    return value
