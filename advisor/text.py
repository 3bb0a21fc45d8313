"""Text helpers shared by retrieval, answering and the guard.

Kept in one place so the question the retriever sees, the sentences the
extractive generator picks and the sentences the guard checks are cut the
same way.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

STOPWORDS = frozenset(
    """a about above after again all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its itself
    just me more most my no nor not of off on once only or other our out over own same she
    should so some such than that the their them then there these they this those through
    to too under until up very was we were what when where which while who whom why will
    with would you your yours tell know""".split()
)
_TOKEN = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*")
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ABBREVIATION = re.compile(r"(?:\b[A-Z]\.|\b(?:e\.g|i\.e|etc|vs|Dr|Mr|Mrs|Ms|St)\.)$")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’)]*\s+(?=[\"“(]?[A-Z0-9$])|\n+")


class QuestionError(ValueError):
    """A question that cannot be searched; the message is meant for the user."""


def clean_question(text: str, max_chars: int) -> str:
    """Normalise a user question or explain, in one sentence, why it is not usable."""
    if text is None or not text.strip():
        raise QuestionError("The question is empty: type a question about a career.")
    if len(text) > max_chars:
        raise QuestionError(
            f"The question is {len(text):,} characters long; the limit is {max_chars:,}. "
            "Please ask a shorter question."
        )
    if _SURROGATE.search(text):
        raise QuestionError(
            "The question holds bytes that are not valid UTF-8 text; "
            "please type it again (or save the file as UTF-8)."
        )
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub(" ", text)
    text = re.sub(r"\s+", " ", text).strip()
    if not re.search(r"[A-Za-z0-9]", text):
        if any(unicodedata.category(c).startswith("L") for c in text):
            raise QuestionError(
                "The articles are in English, so I can only search them in English: "
                "please ask your question in English."
            )
        raise QuestionError("The question has no words in it: type a question about a career.")
    return text


def has_surrogates(text: str) -> bool:
    """True for text decoded with errors="surrogateescape" from bytes that are not UTF-8."""
    return bool(_SURROGATE.search(text))


_STEMMER: list = []  # made on first use: a question a running page answers never stems
_STEM_LOCK = threading.Lock()


@lru_cache(maxsize=65536)
def stem(token: str) -> str:
    """Snowball (Porter2): "certifications" and "certification" must match for BM25.

    One stemmer, used under a lock: it keeps the word it is working on in its own
    fields, so two threads stemming at once (concurrent page answers) got each
    other's words back, or an IndexError. Repeated words come from the cache."""
    with _STEM_LOCK:
        if not _STEMMER:
            import snowballstemmer

            _STEMMER.append(snowballstemmer.stemmer("english"))
        return _STEMMER[0].stemWord(token)


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop-word-free, lightly stemmed tokens for BM25 and overlap scores."""
    return [stem(t) for t in _TOKEN.findall(text.lower()) if t not in STOPWORDS]


def word_overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard overlap of two word sets; 0.0 when both are empty."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences (and list items) in `text`."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if "\n" not in match.group() and _ABBREVIATION.search(text, 0, match.start()):
            continue  # "U.S. Career Institute" is one sentence
        _append_span(spans, text, start, match.start())
        start = match.end()
    _append_span(spans, text, start, len(text))
    return spans


def _append_span(spans: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        offset = start + piece.index(stripped)
        spans.append((offset, offset + len(stripped)))
