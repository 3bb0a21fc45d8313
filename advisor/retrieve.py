"""Hybrid retrieval: dense (chroma) and keyword (BM25), fused by reciprocal rank.

Dense search finds paraphrases ("how much do coders earn" ~ "salary");
BM25 finds exact terms the embedder blurs (CCS, CPC, PALS). Reciprocal-rank
fusion combines the two rankings without calibrating their scores against
each other. Passages that say the same thing are collapsed so the top k are
k different pieces of evidence.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from rank_bm25 import BM25Okapi

from advisor.chunking import Chunk
from advisor.index import Manifest, open_collection
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


def reciprocal_rank_fusion(rankings: list[list[str]], k: int) -> dict[str, float]:
    """Sum of 1/(k + rank) over the rankings an id appears in (Cormack et al., 2009)."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return scores


class Retriever:
    """Loads the chunks once, then answers many queries; safe to share across threads."""

    def __init__(self, settings: Settings, embedder: SentenceEmbedder | None = None) -> None:
        if embedder is None:
            from advisor.embeddings import SentenceEmbedder

            embedder = SentenceEmbedder(settings.embedding)
        self.settings = settings
        self.embedder = embedder
        self.manifest: Manifest
        self.collection: Collection
        self.manifest, self.collection = open_collection(settings.index)
        got = self.collection.get(include=["documents", "metadatas"])
        self.chunks: dict[str, Chunk] = {
            cid: Chunk.from_fields({**meta, "chunk_id": cid, "text": doc})
            for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        }
        self.ids: list[str] = list(got["ids"])
        self._words = {cid: frozenset(tokenize(self.chunks[cid].text)) for cid in self.ids}
        corpus_tokens = [tokenize(self.chunks[cid].embed_text) for cid in self.ids]
        self._bm25 = BM25Okapi(corpus_tokens) if self.ids else None
        self.lexicon: Lexicon = (
            Lexicon.from_data(self.manifest.library)
            if self.manifest.library is not None
            else lexicon_from_chunks(self.chunks.values())
        )

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
        vector = self.embedder.embed_query(query)
        found = self.collection.query(
            query_embeddings=[vector], n_results=min(n, len(self.ids)), include=["distances"]
        )
        return [
            (cid, 1.0 - d) for cid, d in zip(found["ids"][0], found["distances"][0], strict=True)
        ]

    def keyword(self, query: str, n: int) -> list[tuple[str, float]]:
        """(chunk id, BM25 score), best first; only chunks sharing a term with the query.

        Not expanded with aliases (LPN -> licensed practical nurse): measured on both
        libraries' labelled sets, expansion lowered MRR (0.84 -> 0.82, 0.74 -> 0.67)."""
        tokens = tokenize(query)
        if self._bm25 is None or not tokens:
            return []
        scores = self._bm25.get_scores(tokens)
        order = np.argsort(-scores)[:n]
        return [(self.ids[i], float(scores[i])) for i in order if scores[i] > 0]

    def search(self, query: str, k: int | None = None) -> SearchResult:
        """Top-k fused passages for a question (validated here, so every caller is safe)."""
        cfg = self.settings.retrieval
        query = clean_question(query, cfg.max_query_chars)
        k = k or cfg.k
        timings: dict[str, float] = {}
        started = time.perf_counter()
        dense = self.dense(query, cfg.candidates)
        timings["dense"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        keyword = self.keyword(query, cfg.candidates)
        timings["bm25"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        fused = reciprocal_rank_fusion([[c for c, _ in dense], [c for c, _ in keyword]], cfg.rrf_k)
        dense_scores, bm25_scores = dict(dense), dict(keyword)
        hits: list[Hit] = []
        for cid in sorted(fused, key=lambda c: (-fused[c], c)):
            if self._is_duplicate(cid, hits):
                continue
            hits.append(
                Hit(self.chunks[cid], fused[cid], dense_scores.get(cid), bm25_scores.get(cid))
            )
            if len(hits) == k:
                break
        timings["fuse"] = (time.perf_counter() - started) * 1000
        return SearchResult(hits, timings)

    def _is_duplicate(self, cid: str, kept: list[Hit]) -> bool:
        """Same words, same evidence: a mirrored or quoted passage adds nothing new.

        Compared on the passage text alone; the title is part of the embedded
        text, so vector similarity would keep a copy published under another title.
        """
        limit = self.settings.retrieval.duplicate_overlap
        words = self._words[cid]
        return any(word_overlap(words, self._words[h.chunk.chunk_id]) >= limit for h in kept)
