"""A student's spelling of a job, read as the library's ("mecanic", "<Acronym> techs").

Only occupation names are respelled, and only where the question says a job:
- a word no article uses, close to the last word of an occupation's name (its head:
  "mecanics" ~ "mechanics");
- a word no article uses, close to the word before that head in the same name, when
  the (respelled) head follows it ("dentle assistants" ~ "dental assistants");
- a clipped head after the name's other words ("<Acronym> techs" ~ "<Acronym> technicians"),
  when the clipped word is much shorter than the head ("works" is not "workers") and the
  head names people, not the work ("builds" is not "building").
Anything else stays as typed: words the articles use, ordinary English near some name
("worth" is not "North"), and jobs the library lacks, which are then declined.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from difflib import get_close_matches

from advisor.knowledge.lexicon import Lexicon, singular
from advisor.text import tokenize

_WORD = re.compile(r"[A-Za-z]+")
MIN_LETTERS = 4
CUTOFF = 0.8  # difflib's ratio: "wrkr"~"worker" 0.8, "mecanic"~"mechanic" 0.93
CLIPPED = 0.6  # a clipped head keeps at most this share of the head's letters


def _names(lexicon: Lexicon) -> list[list[str]]:
    """The occupations' names as lowercase words, in a stable order."""
    names = {
        tuple(name.lower().split())
        for subject in lexicon.subjects.values()
        if subject.kind == "occupation"
        for name in subject.names
    }
    return [list(n) for n in sorted(names) if all(w.isalpha() for w in n)]


def _cased(typed: str, word: str) -> str:
    return word.capitalize() if typed[:1].isupper() else word


def _respelled(low: str, candidates: Iterable[str]) -> str | None:
    """The candidate `low` misspells (plural kept), or None."""
    one = singular(low)
    close = get_close_matches(one, sorted(set(candidates)), n=1, cutoff=CUTOFF)
    if not close or close[0] == one:
        return None
    return close[0] + ("s" if one != low else "")


def respell(text: str, lexicon: Lexicon, known: Callable[[Iterable[str]], set[str]]) -> str:
    """`text` with the library's spelling of the occupation names it garbles."""
    names = _names(lexicon)
    if not names:
        return text
    found = list(_WORD.finditer(text))
    typed = [m.group() for m in found]
    stems = [tokenize(w) for w in typed]
    in_articles = known({t for ts in stems for t in ts})
    unknown = [bool(ts) and not set(ts) & in_articles and len(w) >= MIN_LETTERS
               for w, ts in zip(typed, stems, strict=True)]  # fmt: skip
    words = [w.lower() for w in typed]
    heads = [n[-1] for n in names]
    for i, low in enumerate(words):  # heads: misspelt, or clipped after the name's other word
        one = singular(low)
        clipped = sorted(
            n[-1] for n in names
            if len(n) >= 2 and i > 0 and words[i - 1] == n[-2] and n[-1] != one
            and len(one) >= MIN_LETTERS and n[-1].startswith(one) and not n[-1].endswith("ing")
            and len(one) <= CLIPPED * len(n[-1])
        )  # fmt: skip
        if clipped:
            words[i] = clipped[0] + ("s" if one != low else "")
        elif unknown[i] and (head := _respelled(low, heads)):
            words[i] = head
    for i in range(len(words) - 1):  # the word before a head, as that name spells it
        head = singular(words[i + 1])
        before = [n[-2] for n in names if len(n) >= 2 and n[-1] == head]
        if unknown[i] and before and (word := _respelled(words[i], before)):
            words[i] = word
    out, last = [], 0
    for m, was, now in zip(found, typed, words, strict=True):
        out += [text[last : m.start()], was if now == was.lower() else _cased(was, now)]
        last = m.end()
    return "".join([*out, text[last:]])
