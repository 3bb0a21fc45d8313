"""Hybrid retrieval: dense (chroma) and keyword (BM25), fused by relative score.

Dense search finds paraphrases ("how much do coders earn" ~ "salary");
BM25 finds exact terms the embedder blurs (acronyms, credentials). Each list's
scores are scaled to 0..1 over its own candidates and the two are added with a
weight (Weaviate's "relative score fusion"), so a passage far ahead in one list
stays ahead. Passages that say the same thing are collapsed so the top k are
k different pieces of evidence.

Nothing is loaded per passage at start-up: the keyword index is a file
(advisor.keyword), the vectors stay in chroma, and only the candidates of a
query are read, by id. Opening a library of 100,000 passages costs what
opening five articles costs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
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
from advisor.text import clean_question, tokenize, word_overlap

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

    from advisor.embeddings import SentenceEmbedder


@dataclass(frozen=True)
class Hit:
    """One retrieved passage with the evidence for its rank."""

    chunk: Chunk
    score: float
    dense: float | None = None
    bm25: float | None = None

    def as_json(self) -> dict[str, object]:
        c = self.chunk
        return {
            "chunk_id": c.chunk_id,
            "doc_id": c.doc_id,
            "title": c.title,
            "publisher": c.publisher,
            "section": c.section,
            "text": c.text,
            "score": round(self.score, 6),
            "dense": None if self.dense is None else round(self.dense, 4),
            "bm25": None if self.bm25 is None else round(self.bm25, 4),
            "start": c.start,
            "end": c.end,
        }


@dataclass
class SearchResult:
    hits: list[Hit]
    timings_ms: dict[str, float] = field(default_factory=dict)


def _numbers(words: frozenset[str]) -> frozenset[str]:
    return frozenset(w for w in words if any(ch.isdigit() for ch in w))


def relative_score_fusion(
    dense: dict[str, float], keyword: dict[str, float], dense_weight: float
) -> dict[str, float]:
    """Min-max scaled scores, weighted and added; a passage one list lacks gets 0 there.

    Reciprocal-rank fusion (which it replaced) keeps only ranks: a passage first by a
    wide margin in dense search and eighth in BM25 fell to fourth. Measured on both
    libraries' labelled and paraphrase sets (hit@3/MRR, `make bench`): first library
    0.917/0.840 -> 0.958/0.844 and 0.952/0.848 -> 1.0/0.921; careers 1.0/0.946 (same)
    and 0.870/0.726 -> 0.870/0.767. Weights 0.4-0.7 and z-score scaling did no better.
    """

    def scaled(scores: dict[str, float]) -> dict[str, float]:
        if not scores:
            return {}
        low, high = min(scores.values()), max(scores.values())
        return {c: (v - low) / (high - low) if high > low else 1.0 for c, v in scores.items()}

    d, k = scaled(dense), scaled(keyword)
    return {
        c: dense_weight * d.get(c, 0.0) + (1.0 - dense_weight) * k.get(c, 0.0)
        for c in d.keys() | k.keys()
    }


# Per-generation caches of what a passage is about and its words; cleared when this full.
_CACHE_LIMIT = 50_000


@dataclass(frozen=True)
class _Loaded:
    """One generation of the index as a retriever sees it; swapped whole, never edited."""

    manifest: Manifest
    collection: Collection
    keyword: KeywordIndex
    size: int
    lexicon: Lexicon
    # whom each passage is about and its word set, read on first use (caches, not state)
    about: dict[str, frozenset[str]] = field(default_factory=dict, compare=False)
    words: dict[str, frozenset[str]] = field(default_factory=dict, compare=False)


class _Gone(Exception):
    """The generation a query used was replaced by a rebuild: load the new one and retry."""


def _load(settings: Settings) -> _Loaded:
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
            if attempt < 2 and _replaced(settings, manifest):
                continue
            raise IndexUnavailableError(
                f"{err}; rebuild it with `advisor index` (or `advisor index --full`)"
            ) from err
        except Exception as err:
            cause = err.__cause__ if isinstance(err, IndexUnavailableError) else err
            if attempt < 2 and cause is not None and _is_gone(cause):
                continue
            if attempt < 2 and manifest is not None and _replaced(settings, manifest):
                continue  # dropped while being opened
            if isinstance(err, IndexUnavailableError):
                raise
            raise _unreachable(settings, err) from err
    if manifest.library is not None:
        lexicon = Lexicon.from_data(manifest.library)
    else:  # an index built before lexicons were stored: read it back from the passages once
        lexicon = lexicon_from_chunks(_all_chunks(collection))
    size = sum(len(entry.chunk_ids) for entry in manifest.documents.values())
    return _Loaded(manifest, collection, keyword, size, lexicon)


def _replaced(settings: Settings, manifest: Manifest) -> bool:
    try:
        current = read_manifest(settings.index)
    except IndexUnavailableError:
        return False
    return current is not None and current.collection != manifest.collection


def _all_chunks(collection: Collection) -> list[Chunk]:
    got = collection.get(include=["documents", "metadatas"])
    return [
        Chunk.from_fields({**meta, "chunk_id": cid, "text": doc})
        for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
    ]


def _is_gone(err: Exception) -> bool:
    """The collection was dropped by a rebuild (chromadb's NotFoundError)."""
    return type(err).__name__ == "NotFoundError" or "does not exist" in str(err)


def _unreachable(settings: Settings, err: Exception) -> IndexUnavailableError:
    return IndexUnavailableError(
        f"the index could not be searched ({type(err).__name__}: {str(err)[:200]}); "
        "rebuild it with `advisor index --full`"
        + (" or check the chroma server" if settings.index.mode == "server" else "")
    )


def _chunks(got: dict, first: bool = False) -> dict[str, Chunk]:
    """Chunks from a chroma get (or, with `first`, a one-query result)."""
    ids, docs, metas = got["ids"], got["documents"], got["metadatas"]
    if first:
        ids, docs, metas = ids[0], docs[0], metas[0]
    if any(d is None for d in docs) or any(m is None for m in metas):
        raise _Gone  # read while a rebuild dropped the collection: its rows are half gone
    return {
        cid: Chunk.from_fields({**meta, "chunk_id": cid, "text": doc})
        for cid, doc, meta in zip(ids, docs, metas, strict=True)
    }


def _cached(cache: dict, key: str, make):
    value = cache.get(key)
    if value is None:
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        value = cache[key] = make()
    return value


class Retriever:
    """Opens the index once, then answers many queries; safe to share across threads.

    A rebuild (`advisor index`) drops the generation this retriever opened. A
    query that finds it gone re-reads the manifest, opens the new generation
    and answers from it: a request in flight never fails because of a rebuild.
    """

    def __init__(self, settings: Settings, embedder: SentenceEmbedder | None = None) -> None:
        if embedder is None:
            from advisor.embeddings import SentenceEmbedder

            embedder = SentenceEmbedder(settings.embedding)
        self.settings = settings
        self.embedder = embedder
        self._reload_lock = threading.Lock()
        self._loaded = _load(settings)

    @property
    def manifest(self) -> Manifest:
        return self._loaded.manifest

    @property
    def collection(self) -> Collection:
        return self._loaded.collection

    @property
    def lexicon(self) -> Lexicon:
        """What the library is about, stored in the manifest with the passages it describes."""
        return self._loaded.lexicon

    def _reload(self, stale: _Loaded) -> _Loaded:
        """The current generation; opened once however many threads found `stale` gone."""
        with self._reload_lock:
            if self._loaded is stale:
                self._loaded = _load(self.settings)
            return self._loaded

    def _with_retry(self, work):
        """Run `work(loaded)`; when a rebuild dropped that generation, open the new one."""
        loaded = self._loaded
        for attempt in range(3):
            try:
                return work(loaded)
            except _Gone:
                if attempt == 2:
                    raise IndexUnavailableError(
                        "the index changed three times during one search; please try again"
                    ) from None
                loaded = self._reload(loaded)
        raise AssertionError("unreachable")

    def _store(self, loaded: _Loaded, call):
        """A chroma call: a dropped collection means `_Gone`, other failures a clear error."""
        try:
            return call()
        except IndexUnavailableError:
            raise
        except Exception as err:
            # a collection dropped mid-read fails in many ways ("Missing metadata segment")
            if _is_gone(err) or _replaced(self.settings, loaded.manifest):
                raise _Gone from err
            raise _unreachable(self.settings, err) from err

    def _keyword_call(self, loaded: _Loaded, call):
        try:
            return call()
        except KeywordIndexError as err:
            if _replaced(self.settings, loaded.manifest):
                raise _Gone from err
            raise IndexUnavailableError(
                f"{err}; rebuild it with `advisor index` (or `advisor index --full`)"
            ) from err

    def passages(self, ids: list[str]) -> dict[str, Chunk]:
        """The passages with these ids (those the current generation holds)."""
        return self._with_retry(lambda loaded: self._fetch(loaded, ids))

    def _fetch(self, loaded: _Loaded, ids: list[str]) -> dict[str, Chunk]:
        if not ids:
            return {}
        got = self._store(
            loaded, lambda: loaded.collection.get(ids=ids, include=["documents", "metadatas"])
        )
        return _chunks(got)

    def coverage(self, query: str) -> float:
        """Share of the question's words that occur anywhere in the articles (0 for none)."""
        tokens = tokenize(query)
        if not tokens:
            return 0.0
        found = self.known(tokens)
        return sum(t in found for t in tokens) / len(tokens)

    def known(self, tokens: Iterable[str]) -> set[str]:
        """The (stemmed) tokens that occur in some passage."""
        wanted = list(tokens)
        return self._with_retry(
            lambda loaded: self._keyword_call(loaded, lambda: loaded.keyword.known(wanted))
        )

    def relevance(self, query: str, hits: list[Hit]) -> float:
        """How well the articles can speak to a question, for the refusal threshold.

        Dense similarity alone confuses career-adjacent questions ("become a
        software engineer", 0.39) with terse in-scope ones ("better for an
        extrovert?", 0.34); adding word coverage separates them on evals/scope.yaml.
        """
        best = max((h.dense or 0.0 for h in hits), default=0.0)
        return best + 0.5 * self.coverage(query)

    def dense(self, query: str, n: int) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity), best first."""
        vector = self.embedder.embed_query(query)
        found = self._with_retry(lambda loaded: self._dense(loaded, vector, n))
        return [(cid, sim) for cid, sim, _ in found]

    def _dense(
        self, loaded: _Loaded, vector: list[float], n: int
    ) -> list[tuple[str, float, Chunk]]:
        """(id, cosine similarity, passage), best first; the passages come with the query."""
        found = self._store(
            loaded,
            lambda: loaded.collection.query(
                query_embeddings=[vector],
                n_results=max(1, min(n, loaded.size)),
                include=["distances", "documents", "metadatas"],
            ),
        )
        chunks = _chunks(found, first=True)
        return [
            (cid, 1.0 - d, chunks[cid])
            for cid, d in zip(found["ids"][0], found["distances"][0], strict=True)
        ]

    def keyword(self, query: str, n: int) -> list[tuple[str, float]]:
        """(chunk id, BM25 score), best first; only chunks sharing a term with the query."""
        return self._with_retry(lambda loaded: self._keyword(loaded, query, n))

    def _keyword(self, loaded: _Loaded, query: str, n: int) -> list[tuple[str, float]]:
        """A full name in the query also searches for its acronym ("registered nurse" finds
        "RN at a glance"); the other way round (LPN -> licensed practical nurse) lowered
        MRR on both libraries' labelled sets (0.84 -> 0.82, 0.74 -> 0.67), so it is not done."""
        tokens = tokenize(" ".join([query, *loaded.lexicon.acronyms_for(query)]))
        return self._keyword_call(loaded, lambda: loaded.keyword.search(tokens, n))

    def search(self, query: str, k: int | None = None) -> SearchResult:
        """Top-k fused passages for a question (validated here, so every caller is safe)."""
        cfg = self.settings.retrieval
        query = clean_question(query, cfg.max_query_chars)
        vector = self.embedder.embed_query(query)
        return self._with_retry(lambda loaded: self._search(loaded, query, vector, k or cfg.k))

    def _search(self, loaded: _Loaded, query: str, vector: list[float], k: int) -> SearchResult:
        cfg = self.settings.retrieval
        timings: dict[str, float] = {}
        started = time.perf_counter()
        dense = self._dense(loaded, vector, cfg.candidates)
        timings["dense"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        keyword = self._keyword(loaded, query, cfg.candidates)
        timings["bm25"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        chunks = {cid: chunk for cid, _, chunk in dense}
        chunks.update(self._fetch(loaded, [c for c, _ in keyword if c not in chunks]))
        dense_scores = {cid: sim for cid, sim, _ in dense}
        bm25_scores = {cid: score for cid, score in keyword if cid in chunks}
        fused = relative_score_fusion(dense_scores, bm25_scores, cfg.dense_weight)
        self._prefer_asked_subjects(query, fused, chunks, loaded)
        hits: list[Hit] = []
        for cid in sorted(fused, key=lambda c: (-fused[c], c)):
            if self._is_duplicate(cid, hits, chunks, loaded):
                continue
            hits.append(Hit(chunks[cid], fused[cid], dense_scores.get(cid), bm25_scores.get(cid)))
            if len(hits) == k:
                break
        timings["fuse"] = (time.perf_counter() - started) * 1000
        return SearchResult(hits, timings)

    def _prefer_asked_subjects(
        self, query: str, fused: dict[str, float], chunks: dict[str, Chunk], loaded: _Loaded
    ) -> None:
        """A question about one occupation wants passages about it: a passage whose article,
        section and text name none of the occupations asked about ranks below those that do.

        Whom a passage is about depends on the whole library's lexicon, which changes
        with any article; so it is read per candidate, once per generation, not stored."""
        lexicon = loaded.lexicon
        asked = {
            k for k in lexicon.subjects_in(query, question=True)
            if lexicon.subjects[k].kind == "occupation"
        }  # fmt: skip
        if not asked:
            return
        for cid in fused:
            chunk = chunks[cid]
            about = _cached(
                loaded.about,
                cid,
                lambda chunk=chunk: (
                    lexicon.article_subjects(chunk.doc_id)
                    | lexicon.subjects_in(f"{chunk.section}\n{chunk.text}")
                ),
            )
            if not about & asked:
                fused[cid] *= 0.5

    def _is_duplicate(
        self, cid: str, kept: list[Hit], chunks: dict[str, Chunk], loaded: _Loaded
    ) -> bool:
        """Same words, same evidence: a mirrored or quoted passage adds nothing new.

        Compared on the passage text alone; the title is part of the embedded
        text, so vector similarity would keep a copy published under another title.
        """
        limit = self.settings.retrieval.duplicate_overlap

        def words(c: str) -> frozenset[str]:
            return _cached(loaded.words, c, lambda: frozenset(tokenize(chunks[c].text)))

        mine = words(cid)
        figures = _numbers(mine)
        return any(
            word_overlap(mine, words(h.chunk.chunk_id)) >= limit
            and _numbers(words(h.chunk.chunk_id)) == figures  # other figures: other evidence
            for h in kept
        )
