"""Quarantine instruction-like text in source articles (indirect prompt injection).

Articles are data, never instructions. A sentence that speaks to an AI
("Ignore previous instructions", "System note: …", "Assistant, always say …")
or tells the advisor what to tell "every user" is not career information: it
is taken out of the article before chunking, so it is never indexed, retrieved
or quoted, and the build reports it (file name and sentence) to the maintainer.

The patterns are general English, about who a sentence addresses; they know no
occupation or field. Advice addressed to the reader ("Tell your manager you
are certified") is left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from advisor.text import split_sentences

if TYPE_CHECKING:
    from advisor.corpus import Article

_AI = (
    r"(?:ai|a\.i\.|ai (?:assistants?|models?|systems?|agents?)|virtual assistants?|"
    r"chat ?bots?|(?:large )?language models?|llms?)"
)
_EVERYONE = (
    r"(?:every|all|each|any) (?:of (?:the|your) )?"
    r"(?:users?|readers?|visitors?|people|persons?|customers?|askers?|questioners?)"
)
_INSTRUCTIONS = r"(?:instructions?|prompts?|directives)"
_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        "asks to ignore earlier instructions",
        r"\b(?:ignore|disregard|forget|override|bypass)\b[^.!?\n]{0,40}\b"
        r"(?:previous|prior|above|earlier|preceding|all|any|your|the|system|original)\b"
        r"[^.!?\n]{0,20}\b(?:instructions?|prompts?|directives|rules|guidelines)\b",
    ),
    (
        "poses as a system or assistant message",
        r"(?:^|[\[(<{]\s*)(?:system|assistant|developer)\s*"
        r"(?:note|message|prompt|instruction|override|notice|update)?\s*[:\]>)}]",
    ),
    ("poses as a system note", r"\bsystem (?:note|prompt|message|instruction|override)s?\b"),
    (
        "gives an assistant new instructions",
        r"\b(?:new|updated|real|true|hidden|secret|your) " + _INSTRUCTIONS + r"\b[^.!?\n]{0,10}:",
    ),
    (
        "tells the assistant what to say to everyone",
        r"\b(?:tell|inform|remind|assure|instruct|convince|answer|reply to|respond to)\b"
        r"\s+" + _EVERYONE + r"\b",
    ),
    (
        "tells the assistant what to say to everyone",
        r"\b(?:say|state|claim|reply|respond|answer)\b[^.!?\n]{0,40}\b(?:to|for) "
        + _EVERYONE
        + r"\b",
    ),
    (
        "addresses an AI",
        r"(?:^|[.!?]\s+)(?:dear |hey |hello |attention,? |note to (?:the |all |any )?)?(?:the )?"
        r"(?:" + _AI + r"|assistant|gpt)\s*[,:]",
    ),
    (
        "addresses an AI",
        r"\b(?:you are|you're|if you are|if you're) (?:an? |the )?(?:helpful )?" + _AI + r"\b",
    ),
    (
        "tells an AI what to do",
        r"\b(?:any|all|every|each) " + _AI + r"\b[^.!?\n]{0,60}\b"
        r"(?:reading|processing|summari[sz]ing|answering|using)\b",
    ),
    (
        "tells an AI what to do",
        r"\bfrom now on,? (?:you (?:must|should|will)|always|never|respond|answer|say)\b",
    ),
)
_COMPILED = tuple((why, re.compile(pattern, re.IGNORECASE)) for why, pattern in _PATTERNS)


@dataclass(frozen=True)
class Quarantined:
    """A sentence kept out of the index, where it was and why."""

    file: str
    sentence: str
    why: str


def instruction_like(sentence: str) -> str | None:
    """Why the sentence reads as an instruction to an assistant, or None."""
    for why, pattern in _COMPILED:
        if pattern.search(sentence):
            return why
    return None


def quarantine_text(text: str) -> tuple[str, list[tuple[str, str]]]:
    """The text without its instruction-like sentences, and (sentence, why) for each."""
    found: list[tuple[str, str]] = []
    kept, last = [], 0
    for start, end in split_sentences(text):
        sentence = text[start:end]
        why = instruction_like(sentence)
        if why is None:
            continue
        found.append((sentence, why))
        kept.append(text[last:start])
        last = end
    if not found:
        return text, []
    kept.append(text[last:])
    cleaned = "".join(kept)
    cleaned = re.sub(r"[ \t]+\n", "\n", cleaned)
    cleaned = re.sub(r"\n{3,}", "\n\n", cleaned)
    return cleaned.strip() + "\n", found


def quarantine_article(article: Article) -> tuple[Article, list[Quarantined]]:
    """The article with instruction-like sentences removed, and what was removed."""
    text, found = quarantine_text(article.text)
    if not found:
        return article, []
    held = [Quarantined(article.path.name, sentence, why) for sentence, why in found]
    return replace(article, text=text), held
