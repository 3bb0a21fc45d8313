"""Hybrid retrieval: dense (chroma) and keyword (BM25), fused by reciprocal rank.

Dense search finds paraphrases ("how much do coders earn" ~ "salary");
BM25 finds exact terms the embedder blurs (CCS, CPC, PALS). Reciprocal-rank
fusion combines the two rankings without calibrating their scores against
each other. Passages that say the same thing are collapsed so the top k are
k different pieces of evidence.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from rank_bm25 import BM25Okapi

from advisor.chunking import Chunk
from advisor.index import IndexUnavailableError, Manifest, open_collection
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


def reciprocal_rank_fusion(rankings: list[list[str]], k: int) -> dict[str, float]:
    """Sum of 1/(k + rank) over the rankings an id appears in (Cormack et al., 2009)."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return scores


@dataclass(frozen=True)
class _Loaded:
    """One generation of the index as a retriever sees it; swapped whole, never edited."""

    manifest: Manifest
    collection: Collection
    chunks: dict[str, Chunk]
    ids: list[str]
    words: dict[str, frozenset[str]]
    bm25: BM25Okapi | None
    lexicon: Lexicon
    # whom each passage is about, read on first use (a cache, not state: same every time)
    about: dict[str, frozenset[str]] = field(default_factory=dict, compare=False)


def _load(settings: Settings) -> _Loaded:
    """Open the collection the manifest names and read its passages.

    A build may replace the collection between the manifest read and the
    passage read; then the new manifest is read and the load tried again.
    """
    for attempt in range(3):
        try:
            manifest, collection = open_collection(settings.index)
            got = collection.get(include=["documents", "metadatas"])
            break
        except Exception as err:
            cause = err.__cause__ if isinstance(err, IndexUnavailableError) else err
            if attempt < 2 and cause is not None and _is_gone(cause):
                continue
            if isinstance(err, IndexUnavailableError):
                raise
            raise _unreachable(settings, err) from err
    chunks = {
        cid: Chunk.from_fields({**meta, "chunk_id": cid, "text": doc})
        for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
    }
    ids = list(got["ids"])
    corpus_tokens = [tokenize(chunks[cid].embed_text) for cid in ids]
    return _Loaded(
        manifest=manifest,
        collection=collection,
        chunks=chunks,
        ids=ids,
        words={cid: frozenset(tokenize(chunks[cid].text)) for cid in ids},
        bm25=BM25Okapi(corpus_tokens) if ids else None,
        lexicon=Lexicon.from_data(manifest.library)
        if manifest.library is not None
        else lexicon_from_chunks(chunks.values()),
    )


def _is_gone(err: Exception) -> bool:
    """The collection was dropped by a rebuild (chromadb's NotFoundError)."""
    return type(err).__name__ == "NotFoundError" or "does not exist" in str(err)


def _unreachable(settings: Settings, err: Exception) -> IndexUnavailableError:
    return IndexUnavailableError(
        f"the index could not be searched ({type(err).__name__}: {str(err)[:200]}); "
        "rebuild it with `advisor index --full`"
        + (" or check the chroma server" if settings.index.mode == "server" else "")
    )


class Retriever:
    """Loads the chunks once, then answers many queries; safe to share across threads.

    A rebuild (`advisor index`) drops the collection this retriever loaded. A
    query that finds it gone re-reads the manifest, loads the new generation
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
    def chunks(self) -> dict[str, Chunk]:
        return self._loaded.chunks

    @property
    def ids(self) -> list[str]:
        return self._loaded.ids

    @property
    def _bm25(self) -> BM25Okapi | None:
        return self._loaded.bm25

    @property
    def _words(self) -> dict[str, frozenset[str]]:
        return self._loaded.words

    def _reload(self, stale: _Loaded) -> _Loaded:
        """The current generation; loaded once however many threads found `stale` gone."""
        with self._reload_lock:
            if self._loaded is stale:
                self._loaded = _load(self.settings)
            return self._loaded

    @property
    def lexicon(self) -> Lexicon:
        """What the library is about, loaded with the passages it describes."""
        return self._loaded.lexicon

    def coverage(self, query: str) -> float:
        """Share of the question's words that occur anywhere in the articles (0 for none)."""
        tokens = tokenize(query)
        if not tokens or self._bm25 is None:
            return 0.0
        return sum(t in self._bm25.idf for t in tokens) / len(tokens)

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
        return self._dense(query, n)[0]

    def _dense(self, query: str, n: int) -> tuple[list[tuple[str, float]], _Loaded]:
        """Dense hits and the generation they come from (re-opened if a rebuild dropped it)."""
        vector = self.embedder.embed_query(query)
        loaded = self._loaded
        for attempt in range(3):
            try:
                found = loaded.collection.query(
                    query_embeddings=[vector],
                    n_results=max(1, min(n, len(loaded.ids))),
                    include=["distances"],
                )
                break
            except Exception as err:
                if isinstance(err, IndexUnavailableError):
                    raise
                if attempt == 2 or not _is_gone(err):
                    raise _unreachable(self.settings, err) from err
                loaded = self._reload(loaded)
        hits = zip(found["ids"][0], found["distances"][0], strict=True)
        return [(cid, 1.0 - d) for cid, d in hits if cid in loaded.chunks], loaded

    def keyword(self, query: str, n: int, loaded: _Loaded | None = None) -> list[tuple[str, float]]:
        """(chunk id, BM25 score), best first; only chunks sharing a term with the query.

        A full name in the query also searches for its acronym ("registered nurse" finds
        "RN at a glance"); the other way round (LPN -> licensed practical nurse) lowered
        MRR on both libraries' labelled sets (0.84 -> 0.82, 0.74 -> 0.67), so it is not done."""
        loaded = loaded or self._loaded
        tokens = tokenize(" ".join([query, *loaded.lexicon.acronyms_for(query)]))
        if loaded.bm25 is None or not tokens:
            return []
        scores = loaded.bm25.get_scores(tokens)
        order = np.argsort(-scores)[:n]
        return [(loaded.ids[i], float(scores[i])) for i in order if scores[i] > 0]

    def search(self, query: str, k: int | None = None) -> SearchResult:
        """Top-k fused passages for a question (validated here, so every caller is safe)."""
        cfg = self.settings.retrieval
        query = clean_question(query, cfg.max_query_chars)
        k = k or cfg.k
        timings: dict[str, float] = {}
        started = time.perf_counter()
        dense, loaded = self._dense(query, cfg.candidates)
        timings["dense"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        keyword = self.keyword(query, cfg.candidates, loaded)
        timings["bm25"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        fused = reciprocal_rank_fusion([[c for c, _ in dense], [c for c, _ in keyword]], cfg.rrf_k)
        self._prefer_asked_subjects(query, fused, loaded)
        dense_scores, bm25_scores = dict(dense), dict(keyword)
        hits: list[Hit] = []
        for cid in sorted(fused, key=lambda c: (-fused[c], c)):
            if self._is_duplicate(cid, hits, loaded.words):
                continue
            hits.append(
                Hit(loaded.chunks[cid], fused[cid], dense_scores.get(cid), bm25_scores.get(cid))
            )
            if len(hits) == k:
                break
        timings["fuse"] = (time.perf_counter() - started) * 1000
        return SearchResult(hits, timings)

    def _prefer_asked_subjects(self, query: str, fused: dict[str, float], loaded: _Loaded) -> None:
        """A question about RNs wants passages about RNs: a passage whose article, section
        and text name none of the occupations asked about ranks below those that do."""
        lexicon = loaded.lexicon
        asked = {
            k for k in lexicon.subjects_in(query, question=True)
            if lexicon.subjects[k].kind == "occupation"
        }  # fmt: skip
        if not asked:
            return
        for cid in fused:
            about = loaded.about.get(cid)
            if about is None:  # read once per passage and index generation, not per query
                chunk = loaded.chunks[cid]
                about = lexicon.article_subjects(chunk.doc_id) | lexicon.subjects_in(
                    f"{chunk.section}\n{chunk.text}"
                )
                loaded.about[cid] = about
            if not about & asked:
                fused[cid] *= 0.5

    def _is_duplicate(
        self, cid: str, kept: list[Hit], words: dict[str, frozenset[str]] | None = None
    ) -> bool:
        """Same words, same evidence: a mirrored or quoted passage adds nothing new.

        Compared on the passage text alone; the title is part of the embedded
        text, so vector similarity would keep a copy published under another title.
        """
        limit = self.settings.retrieval.duplicate_overlap
        words = words if words is not None else self._words
        mine = words[cid]
        figures = _numbers(mine)
        return any(
            word_overlap(mine, words[h.chunk.chunk_id]) >= limit
            and _numbers(words[h.chunk.chunk_id]) == figures  # other figures: other evidence
            for h in kept
        )
