"""The labelled retrieval set in evals/retrieval.yaml, shared by tests and the benchmark."""

from __future__ import annotations

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
