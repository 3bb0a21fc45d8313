"""Labelled retrieval sets, shared by tests, the benchmark and the eval.

The first library's is evals/retrieval.yaml; another library keeps its own in
evals/corpora/<name>/retrieval.yaml.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from advisor.settings import PROJECT_ROOT

RETRIEVAL_SET = PROJECT_ROOT / "evals" / "retrieval.yaml"


@dataclass(frozen=True)
class RetrievalCase:
    """A question and what a passage must be to count as answering it."""

    question: str
    docs: tuple[str, ...]
    phrases: tuple[str, ...]

    def matches(self, doc_id: str, text: str) -> bool:
        return doc_id in self.docs and any(p in text for p in self.phrases)

    def rank_in(self, passages: list[tuple[str, str]]) -> int | None:
        """1-based rank of the first (doc_id, text) passage that answers, else None."""
        for rank, (doc_id, text) in enumerate(passages, start=1):
            if self.matches(doc_id, text):
                return rank
        return None


def _as_tuple(value: str | list[str]) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, list) else (value,)


def load_retrieval_set(path: Path = RETRIEVAL_SET) -> list[RetrievalCase]:
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        RetrievalCase(row["question"], _as_tuple(row["doc"]), _as_tuple(row["phrase"]))
        for row in rows
    ]


def retrieval_scores(
    cases: Sequence[RetrievalCase],
    search: Callable[[str], list[tuple[str, str]]],
    k: int = 3,
    prefix: str = "labelled",
) -> dict[str, float | None]:
    """hit@k and MRR of `search` (a question -> ranked (doc_id, text) passages) on a set."""
    ranks = [case.rank_in(search(case.question)) for case in cases]
    if not ranks:
        return {f"{prefix}_hit_at_{k}": None, f"{prefix}_mrr": None}
    return {
        f"{prefix}_hit_at_{k}": sum(r is not None and r <= k for r in ranks) / len(ranks),
        f"{prefix}_mrr": sum(1 / r for r in ranks if r) / len(ranks),
    }


def retrieval_sets(labelled: Path | None) -> dict[str, Path]:
    """A library's labelled sets by metric prefix: retrieval.yaml ("labelled") and, beside
    it, paraphrases.yaml ("paraphrase": the same schema, worded as students ask)."""
    if labelled is None:
        return {}
    sets = {"labelled": labelled, "paraphrase": labelled.with_name("paraphrases.yaml")}
    return {prefix: path for prefix, path in sets.items() if path.is_file()}
