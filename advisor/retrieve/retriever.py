"""The retriever: opens the index once, then fuses dense and keyword search per question
(see advisor.retrieve for why both)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from advisor.chunking import Chunk
from advisor.index import IndexUnavailableError
from advisor.index.manifest import Manifest
from advisor.keyword import KeywordIndexError
from advisor.knowledge.lexicon import Lexicon
from advisor.retrieve.fusion import is_duplicate, prefer_asked_subjects, relative_score_fusion
from advisor.retrieve.loaded import (
    PASSAGE_LIMIT,
    Gone,
    Loaded,
    cached,
    chunks_from,
    is_gone,
    load,
    replaced,
    unreachable,
)
from advisor.settings import Settings
from advisor.text import clean_question, tokenize

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
        self._loaded = load(settings)

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

    def _reload(self, stale: Loaded) -> Loaded:
        """The current generation; opened once however many threads found `stale` gone."""
        with self._reload_lock:
            if self._loaded is stale:
                self._loaded = load(self.settings)
            return self._loaded

    def _with_retry(self, work):
        """Run `work(loaded)`; when a rebuild dropped that generation, open the new one."""
        loaded = self._loaded
        for attempt in range(3):
            try:
                return work(loaded)
            except Gone:
                if attempt == 2:
                    raise IndexUnavailableError(
                        "the index changed three times during one search; please try again"
                    ) from None
                loaded = self._reload(loaded)
        raise AssertionError("unreachable")

    def _store(self, loaded: Loaded, call):
        """A chroma call: a dropped collection means `Gone`, other failures a clear error."""
        try:
            return call()
        except IndexUnavailableError:
            raise
        except Exception as err:
            # a collection dropped mid-read fails in many ways ("Missing metadata segment")
            if is_gone(err) or replaced(self.settings, loaded.manifest):
                raise Gone from err
            raise unreachable(self.settings, err) from err

    def _keyword_call(self, loaded: Loaded, call):
        try:
            return call()
        except KeywordIndexError as err:
            if replaced(self.settings, loaded.manifest):
                raise Gone from err
            raise IndexUnavailableError(
                f"{err}; rebuild it with `advisor index` (or `advisor index --full`)"
            ) from err

    def passages(self, ids: list[str]) -> dict[str, Chunk]:
        """The passages with these ids (those the current generation holds)."""
        return self._with_retry(lambda loaded: self._fetch(loaded, ids))

    def _fetch(self, loaded: Loaded, ids: list[str]) -> dict[str, Chunk]:
        """Passages by id: those read before from the generation's cache, the rest in one get."""
        cache = loaded.passages  # shared by threads: read with get(), never c in / c[]
        found = {cid: chunk for cid in ids if (chunk := cache.get(cid)) is not None}
        missing = [cid for cid in dict.fromkeys(ids) if cid not in found]
        if missing:
            got = self._store(
                loaded,
                lambda: loaded.collection.get(ids=missing, include=["documents", "metadatas"]),
            )
            read = chunks_from(got)
            if len(cache) + len(read) > PASSAGE_LIMIT:
                cache.clear()
            cache.update(read)
            found.update(read)
        return found

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
        return self._with_retry(lambda loaded: self._dense(loaded, vector, n))

    def _dense(self, loaded: Loaded, vector: list[float], n: int) -> list[tuple[str, float]]:
        """(id, cosine similarity), best first; the passages are read by `_fetch`, which
        reads only those it has not read before."""
        found = self._store(
            loaded,
            lambda: loaded.collection.query(
                query_embeddings=[vector],
                n_results=max(1, min(n, loaded.size)),
                include=["distances"],
            ),
        )
        return [
            (cid, 1.0 - d) for cid, d in zip(found["ids"][0], found["distances"][0], strict=True)
        ]

    def keyword(self, query: str, n: int) -> list[tuple[str, float]]:
        """(chunk id, BM25 score), best first; only chunks sharing a term with the query."""
        return self._with_retry(lambda loaded: self._keyword(loaded, query, n))

    def _keyword(self, loaded: Loaded, query: str, n: int) -> list[tuple[str, float]]:
        """A full name in the query also searches for its acronym ("registered nurse" finds
        "RN at a glance"); the other way round (LPN -> licensed practical nurse) lowered
        MRR on both libraries' labelled sets (0.84 -> 0.82, 0.74 -> 0.67), so it is not done."""
        tokens = self._query_tokens(loaded, query)
        return self._keyword_call(loaded, lambda: loaded.keyword.search(tokens, n))

    def _query_tokens(self, loaded: Loaded, query: str) -> list[str]:
        return tokenize(" ".join([query, *loaded.lexicon.acronyms_for(query)]))

    def _rescored(
        self, loaded: Loaded, tokens: list[str], ids: list[str], chunks: dict[str, Chunk]
    ) -> list[tuple[str, float]]:
        """BM25 of the dense candidates, for a question some of whose words were in too
        many passages to pick keyword candidates (`KeywordIndex.candidates`): the passages
        that hold only those words are still weighed by them."""

        def words(c: str) -> list[str]:
            return cached(loaded.tokens, c, lambda: tokenize(chunks[c].embed_text))

        passages = {c: words(c) for c in ids if c in chunks}
        scores = self._keyword_call(loaded, lambda: loaded.keyword.score(tokens, passages))
        return sorted(scores.items(), key=lambda pair: -pair[1])

    def search(self, query: str, k: int | None = None) -> SearchResult:
        """Top-k fused passages for a question (validated here, so every caller is safe)."""
        cfg = self.settings.retrieval
        query = clean_question(query, cfg.max_query_chars)
        vector = self.embedder.embed_query(query)
        return self._with_retry(lambda loaded: self._search(loaded, query, vector, k or cfg.k))

    def _search(self, loaded: Loaded, query: str, vector: list[float], k: int) -> SearchResult:
        cfg = self.settings.retrieval
        timings: dict[str, float] = {}
        started = time.perf_counter()
        dense = self._dense(loaded, vector, cfg.candidates)
        timings["dense"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        tokens = self._query_tokens(loaded, query)
        keyword, cut = self._keyword_call(
            loaded, lambda: loaded.keyword.candidates(tokens, cfg.candidates)
        )
        timings["bm25"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        chunks = self._fetch(loaded, [c for c, _ in dense] + [c for c, _ in keyword])
        if not keyword or cut:
            found = dict(keyword)  # the same scores: one BM25 over the same words
            found.update(self._rescored(loaded, tokens, [c for c, _ in dense], chunks))
            keyword = sorted(found.items(), key=lambda pair: -pair[1])
        dense_scores = {cid: sim for cid, sim in dense if cid in chunks}
        bm25_scores = {cid: score for cid, score in keyword if cid in chunks}
        fused = relative_score_fusion(dense_scores, bm25_scores, cfg.dense_weight)
        prefer_asked_subjects(query, fused, chunks, loaded)
        hits: list[Hit] = []
        for cid in sorted(fused, key=lambda c: (-fused[c], c)):
            kept = [h.chunk.chunk_id for h in hits]
            if is_duplicate(cid, kept, chunks, loaded, cfg.duplicate_overlap):
                continue
            hits.append(Hit(chunks[cid], fused[cid], dense_scores.get(cid), bm25_scores.get(cid)))
            if len(hits) == k:
                break
        timings["fuse"] = (time.perf_counter() - started) * 1000
        return SearchResult(hits, timings)
