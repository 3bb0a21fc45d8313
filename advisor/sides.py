"""A comparison is searched for each side too, so both sides reach the generator.

"Which pays more, medical billing or medical coding?" searched as one query
finds passages about the difference between the two jobs and none with
either's pay; searched once per side ("Which pays more, medical billing?")
each finds its own pay passage. The question's own hits stay first (they
decide the scope check); each side adds its best passages not already there.
"""

from __future__ import annotations

from advisor.intent import COMPARE_QUESTION, MORE_QUESTION, PAY_QUERY_WORDS, PAY_QUESTION
from advisor.knowledge.lexicon import Lexicon
from advisor.knowledge.scope import asked_mentions
from advisor.retrieve import Hit, Retriever

PER_SIDE = 3


def sides_of(lexicon: Lexicon, question: str) -> list[tuple[str, str]]:
    """(side key, the question without the other sides' names) for a question comparing
    two or more occupations or credentials; [] for any other question."""
    if not (COMPARE_QUESTION.search(question) or MORE_QUESTION.search(question)):
        return []
    mentions = [m for m in asked_mentions(lexicon, question) if len(m.keys) == 1]
    keys = list(dict.fromkeys(k for m in mentions for k in m.keys))
    if len(keys) < 2:
        return []
    queries = []
    for key in keys:
        text = question
        for m in sorted(mentions, key=lambda m: -m.start):
            if key not in m.keys:
                text = text[: m.start] + text[m.end :]
        if PAY_QUESTION.search(question):  # "pays more" shares no word with "salary"
            text = f"{text} {PAY_QUERY_WORDS}"
        queries.append((key, " ".join(text.split())))
    return queries


def with_each_side(retriever: Retriever, question: str, hits: list[Hit]) -> list[Hit]:
    """The question's hits, then each side's best passages that are not among them."""
    seen = {h.chunk.chunk_id for h in hits}
    merged = list(hits)
    for _, query in sides_of(retriever.lexicon, question):
        added = 0
        for hit in retriever.search(query).hits:
            if added == PER_SIDE:
                break
            if hit.chunk.chunk_id not in seen:
                seen.add(hit.chunk.chunk_id)
                merged.append(hit)
                added += 1
    return merged
