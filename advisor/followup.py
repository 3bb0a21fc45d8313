"""Follow-up or new topic: a question made standalone from the conversation, offline.

Decided from what the question itself names (the library's occupations and
credentials) and how it is phrased:

- "And billers?" / "What about data scientists?": the last question again, about
  the newly named subject ("What do medical billers earn?").
- "How much do they earn?" / "Which of those pays more?": the question with the
  subjects (and credentials) the conversation was about added.
- "And remote work?": the new topic, about the same subjects.
- Anything else is a new topic and stands alone: "How long does training take?"
  after a CCS question carries no CCS into the search.
Deterministic and fast; an LLM condenser stays optional behind the LLM backends.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from advisor.knowledge.derive import job_nouns
from advisor.knowledge.lexicon import Lexicon, singular
from advisor.prompts import REFUSAL_PHRASE

_ELLIPSIS = re.compile(
    r"^\W*(?:and|also|but|plus|so|what about|how about|same for|ok(?:ay)?,?)\b", re.I
)
_REFERENCE = re.compile(
    r"\b(?:they|them|their|theirs|those|these|it|its|that one|this one|either|both"
    r"|the other|which one|each)\b",
    re.I,
)

# "Which of those pays more?": a choice among what the last answer listed.
_SET_REFERENCE = re.compile(
    r"\b(?:those|these|either|both|the other|which one|each|which of)\b", re.I
)


class TurnLike(Protocol):
    role: str
    content: str


def _last(history: Sequence[TurnLike], role: str) -> str:
    return next((t.content for t in reversed(history) if t.role == role), "")


def _names(lexicon: Lexicon, text: str) -> list[str]:
    """The names `text` uses for the subjects it mentions, as written, in order: the
    library's, and jobs it lacks ("airline pilot"), so "they" can be about those too.
    A refusal names only what the library covers, never what "they" are."""
    if text.startswith(REFUSAL_PHRASE):
        return []
    mentions = [(m.start, m.end) for m in lexicon.mentions(text, question=True)]
    jobs = [(a, b) for a, b, _ in job_nouns(text)
            if not any(x < b and a < y for x, y in mentions)]  # fmt: skip
    return list(dict.fromkeys(text[a:b] for a, b in sorted(mentions + jobs)))


def conversation_subjects(history: Sequence[TurnLike], lexicon: Lexicon) -> list[str]:
    """What the conversation was last about: the last question's subjects, else its answer's."""
    for turn in reversed(history):  # the last question that named something
        if turn.role == "user" and (names := _names(lexicon, turn.content)):
            return names
    return _names(lexicon, _last(history, "assistant"))[:2]


def _recent_names(history: Sequence[TurnLike], lexicon: Lexicon, n: int) -> list[str]:
    """The last `n` different subjects the student asked about, latest first."""
    found: dict[frozenset[str] | str, str] = {}
    for turn in reversed(history):
        if turn.role != "user":
            continue
        for name in _names(lexicon, turn.content):
            key = lexicon.subjects_in(name) or singular(name.lower())
            found.setdefault(key, name)
            if len(found) == n:
                return list(found.values())
    return list(found.values())


def is_follow_up(question: str, lexicon: Lexicon) -> bool:
    """Does the question lean on the conversation rather than stand alone?"""
    return bool(_ELLIPSIS.search(question) or _REFERENCE.search(question))


def standalone(question: str, history: Sequence[TurnLike], lexicon: Lexicon) -> str:
    """The question as a search would need it, given the conversation so far."""
    last_user, last_answer = _last(history, "user"), _last(history, "assistant")
    if not last_user:
        return question
    named_now = _names(lexicon, question)
    named_before = _names(lexicon, last_user)
    elliptical = bool(_ELLIPSIS.search(question))
    if named_now and elliptical and named_before and len(question.split()) <= 8:
        return _swap(last_user, named_before, " and ".join(named_now))
    if elliptical and named_before and (job := _new_job(question, last_user, named_before)):
        return job  # "What about pilots?": the same question about a job the library may lack
    if named_now:
        return question  # it says what it is about: a new topic, or an explicit one
    if _REFERENCE.search(question):
        credentials = {n for s in lexicon.credentials() for n in s.names}
        listed = [n for n in _names(lexicon, last_answer) if n in credentials]
        if not _SET_REFERENCE.search(question):  # "they" are the subjects, not what was listed
            listed = []
        context = named_before or conversation_subjects(history, lexicon)
        if _SET_REFERENCE.search(question) and not listed and len(context) == 1:
            # "which of them pays more?" after one job, then "and what about <another>?": both
            pair = _recent_names(history, lexicon, 2)
            if len(pair) == 2:
                return f"{question} {pair[1]} or {pair[0]}"
        extra = list(dict.fromkeys([*listed, *context]))
        return " ".join([question, *extra]) if extra else f"{question} ({last_user})"
    if elliptical:  # "And remote work?": the new topic, same subjects
        return " ".join([question, *named_before]) if named_before else f"{question} ({last_user})"
    return question


def _new_job(question: str, last_user: str, named_before: list[str]) -> str | None:
    """ "What about pilots?" after a pay question: the pay question about pilots, when what
    follows the ellipsis reads as a job in the last question's place; else None."""
    rest = _ELLIPSIS.sub("", question).strip(" ?!.,")
    if not rest or len(rest.split()) > 4 or _REFERENCE.search(rest):
        return None
    swapped = _swap(last_user, named_before, rest)
    at = swapped.find(rest)
    if at < 0:
        return None
    in_place = any(a < at + len(rest) and at < b for a, b, _ in job_nouns(swapped))
    words = rest.split()
    one = " ".join([*words[:-1], singular(words[-1])])
    as_work = job_nouns(f"Can I work as a {one}?")  # "a hospital" is no job one works as
    return swapped if in_place and as_work else None


def _swap(question: str, old_names: list[str], new: str) -> str:
    """ "What do software developers earn?" about data scientists instead."""
    swapped, placed = question, False
    for old in old_names:
        if old in swapped:
            swapped = swapped.replace(old, "" if placed else new, 1)
            placed = True
    swapped = re.sub(r"\s{2,}", " ", swapped)
    swapped = re.sub(r"\s+(?:and|or|vs\.?|versus|compared (?:with|to))\s*(?=[?.!,]|$)", "", swapped)
    return swapped.strip()
