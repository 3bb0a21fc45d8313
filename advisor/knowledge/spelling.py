"""A student's spelling of a job, read as the library's ("medcal codr", "HVAC techs").

Only words that occur nowhere in the articles are respelled, and only into a word of
an occupation's or credential's own name, so a word the library uses ("code") or a job it
lacks ("pilot") is left as typed: a missing job is still declined, never guessed at.
A clipped last word ("techs") becomes the name's ("technicians") only after the name's
other words ("HVAC"), as students shorten names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from difflib import get_close_matches

from advisor.knowledge.lexicon import Lexicon, singular
from advisor.text import tokenize

_WORD = re.compile(r"[A-Za-z]+")
MIN_LETTERS = 4
CUTOFF = 0.8  # difflib's ratio: "codr"~"coder" 0.89, "medcal"~"medical" 0.92


def _name_words(lexicon: Lexicon) -> tuple[set[str], dict[str, set[str]]]:
    """The words of the library's names, and each name's last word by the word before it."""
    words: set[str] = set()
    after: dict[str, set[str]] = {}
    for subject in lexicon.subjects.values():
        for name in subject.names:
            parts = name.lower().split()
            words |= {w for w in parts if w.isalpha() and len(w) >= MIN_LETTERS}
            if len(parts) >= 2 and parts[-1].isalpha():
                after.setdefault(parts[-2], set()).add(parts[-1])
    return words, after


def _cased(typed: str, word: str) -> str:
    return word.capitalize() if typed[:1].isupper() else word


def respell(text: str, lexicon: Lexicon, known: Callable[[Iterable[str]], set[str]]) -> str:
    """`text` with the library's spelling of the job and credential words it garbles."""
    words, after = _name_words(lexicon)
    if not words:
        return text
    found = list(_WORD.finditer(text))
    stems = {m.group(): tokenize(m.group()) for m in found}
    in_articles = known({t for ts in stems.values() for t in ts})
    out, last, previous = [], 0, ""
    for m in found:
        typed, low = m.group(), m.group().lower()
        plural = singular(low) != low
        clipped = [
            w for w in after.get(previous, ())
            if len(low) >= MIN_LETTERS and w != singular(low) and w.startswith(singular(low))
        ]  # fmt: skip
        unknown = bool(stems[typed]) and not set(stems[typed]) & in_articles
        if clipped:
            word = clipped[0] + ("s" if plural else "")
        elif unknown and len(low) >= MIN_LETTERS and low not in words:
            close = get_close_matches(singular(low), words, n=1, cutoff=CUTOFF)
            word = close[0] + ("s" if plural else "") if close else typed
        else:
            word = typed
        out += [text[last : m.start()], typed if word == typed else _cased(typed, word)]
        last, previous = m.end(), low
    return "".join([*out, text[last:]])
