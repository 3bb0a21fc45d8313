"""A message that asks several questions is answered part by part.

Students write "How much do coders make? How long is training? Do I need a
degree?" in one message. Searched as one query, the parts compete and the
answer covers one of them; each part is instead answered on its own, with its
own citations and its own scope check, so a part the articles do not cover is
said to be not covered while the others are answered.

Splitting is plain English punctuation and question words, never field words:
sentences ending in "?", numbered or bulleted lines, and "…, and how/what/…"
joining two questions. A sentence that asks nothing ("I'm in high school.")
is context for the question after it.
"""

from __future__ import annotations

import re

MAX_PARTS = 8
_QUESTION_START = (
    r"(?:how|what|what's|where|when|which|who|why|is|are|do|does|did|can|could|should|"
    r"would|will|am|any|tell me|list|compare)"
)
_ASKS = re.compile(rf"\?\s*$|^\W*{_QUESTION_START}\b", re.I)
_SENTENCE = re.compile(r"(?<=[?!.])\s+(?=\S)|\n+")
_LIST_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s+")
# "…, and how long is training?" / "… and what do they earn?": a second question joined on
_JOINED = re.compile(
    rf"(?:,\s*(?:and|also|plus)?|\s+and(?: also)?)\s+(?={_QUESTION_START}\b\s+\w+\s+\w+)", re.I
)
MIN_PART_WORDS = 3


def split_parts(message: str) -> list[str]:
    """The questions a message asks, in order; one element when it asks one thing."""
    pieces: list[tuple[str, bool]] = []  # (text, is a list item: a part even unasked)
    for line in _SENTENCE.split(message.strip()):
        item = bool(_LIST_ITEM.match(line))
        line = _LIST_ITEM.sub("", line).strip()
        if line:
            pieces += [(p.strip(), item) for p in _JOINED.split(line) if p.strip()]
    parts: list[str] = []
    context = ""
    for piece, item in pieces:
        piece = piece[0].upper() + piece[1:]
        if not (item or _ASKS.search(piece)):
            context = f"{context} {piece}".strip()  # "I'm in high school." frames the next
            continue
        parts.append(f"{context} {piece}".strip() if context else piece)
        context = ""
    if context and parts:
        parts[-1] = f"{parts[-1]} {context}"
    if len(parts) < 2 or any(len(p.split()) < MIN_PART_WORDS for p in parts):
        return [message.strip()]
    return parts[:MAX_PARTS]
