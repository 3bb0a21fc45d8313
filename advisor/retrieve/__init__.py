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

from advisor.retrieve.fusion import relative_score_fusion
from advisor.retrieve.retriever import Hit, Retriever, SearchResult

__all__ = ["Hit", "Retriever", "SearchResult", "relative_score_fusion"]
