"""Source sentences as answer candidates: what each is about, who reported its figures.

A sentence is about the occupation it names; else the one the sentence before
it named ("They earn…"); else its section's or article's. A figure sentence is
about whoever its figures are for, read as the guard reads them, so the answer
and the guard never disagree on whose figure it is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from advisor.chunking import Chunk
from advisor.figures import extract_figures
from advisor.knowledge.facts import LABEL_LINE, FigureFact, PassageReader
from advisor.knowledge.lexicon import Lexicon
from advisor.knowledge.scope import asked_mentions
from advisor.text import split_sentences, tokenize

_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
)
MIN_SENTENCE_CHARS = 25
ANAPHORA = re.compile(r"^(?:they|this|that|these|those|it|their|both)\b", re.I)
# Openers that point at a sentence before ("By contrast, …", "That gap …", "Below is …"):
# such a sentence is used only right after the one it points at.
DANGLING = re.compile(
    r"^(?:they|them|their|this|that|these|those|its|such|both|also|however|by contrast"
    r"|in contrast|on the other hand|because of (?:this|these|that)|as a result|similarly"
    r"|likewise|therefore|instead|other|another|the other)\b"
    # "Within those limits, …", "Despite this, …", "At the same time, …"
    r"|^(?:within|under|beyond|despite|given|with|after|before|in|for|on|at|of|from|besides)"
    r" (?:those|these|this|that|such|the same)\b"
    # "The day-to-day work, however, is…"
    r"|^[^,]{0,40}, (?:however|though|by contrast|in contrast|too|instead),",
    re.I,
)
# "Source: U.S. Bureau of Labor Statistics (BLS)", "Source for pay: …": a credit, no answer
CREDIT = re.compile(r"^\W*(?:sources?|data sources?|credits?|note)\b[^:.]{0,30}:", re.I)
PROMISE = re.compile(
    r"\b(?:below (?:is|are|you)|(?:is|are|see) below|the following|here (?:is|are))\b", re.I
)


@dataclass
class Candidate:
    """A source sentence that might go into the answer."""

    n: int
    chunk: Chunk
    text: str
    position: int
    tokens: frozenset[str]
    entities: tuple[str, ...] = ()
    score: float = 0.0
    money: frozenset[float] = frozenset()
    has_figure: bool = False
    is_list: bool = False
    attribution: str = ""
    vague: bool = False  # about the article's several subjects, naming none
    before: Candidate | None = None  # the sentence just before it in its passage
    pay: tuple[FigureFact, ...] = ()  # its amounts, read as the guard reads them


def _published_label(published: str) -> str:
    try:
        parts = [int(p) for p in published.split("-")]
        return date(parts[0], parts[1] if len(parts) > 1 else 1, 1).strftime("%B %Y")
    except (ValueError, IndexError):
        return published


def _attribution(
    chunk: Chunk, unit: str, facts: list[FigureFact], article_reporter: str | None = None
) -> str:
    """Who reported a figure and when, read the way the guard reads it (so a label can
    never contradict what the guard checks): the reporter and period of the unit's first
    figure, else the one reporter the article names, else its publisher, and its date."""
    fact = next(
        (f for f in facts if f.sentence and (f.sentence in unit or unit in f.sentence)
         and f.figure.kind in ("money", "percent", "count")),
        None,
    )  # fmt: skip
    publisher = chunk.publisher if chunk.publisher != "unknown" else f"“{chunk.title}”"
    article_date = _published_label(chunk.published) if chunk.published else None
    who = (fact.reporter if fact else None) or article_reporter or publisher
    if fact is None and article_reporter:  # the reporter's date, not the article's
        dated = re.findall(rf"\b{_MONTH},?\s+(?:19|20)\d{{2}}\b", unit)
        return f"{who}, {dated[-1]}" if dated else f"{who} (undated)"
    year = max(fact.years) if fact and fact.years else None
    if year is None or (fact and str(year) not in chunk.text and article_date):
        return f"{who}, {article_date}" if article_date else f"{who} (undated)"
    upto = chunk.text.find(fact.sentence) + len(fact.sentence) if fact else len(chunk.text)
    months = re.findall(rf"\b({_MONTH}),?\s+{year}\b", chunk.text[:upto])
    return f"{who}, {months[-1]} {year}" if months else f"{who}, {year}"


_LIST_ITEM = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s*")
MAX_LIST_ITEMS = 8


def _table_row(text: str, line: str) -> str:
    """A Markdown table row as a sentence ("Dental assistant — Median pay (May 2023):
    $46,540"); the header and rule rows say nothing alone ("")."""
    if not line.lstrip().startswith("|"):
        return line
    rows = [r for r in text.splitlines() if r.lstrip().startswith("|")]
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    header = [c.strip() for c in rows[0].strip().strip("|").split("|")]
    if line.strip() == rows[0].strip() or set(line.replace("|", "").strip()) <= set("-: "):
        return ""
    pairs = [f"{h}: {c}" for h, c in zip(header[1:], cells[1:], strict=False) if c]
    return f"{cells[0]} — {'; '.join(pairs)}." if pairs else ""


def _units(text: str) -> list[tuple[int, str, bool]]:
    """Sentences, with a list and its "…including:" line joined into one unit.

    A list of credentials is one answer ("A; B; C"), not six fragments
    that each say too little to be chosen.
    """
    sentences = [_table_row(text, text[a:b]) for a, b in split_sentences(text)]
    units: list[tuple[int, str]] = []
    listed: set[int] = set()
    i = 0
    while i < len(sentences):
        head = _LIST_ITEM.sub("", sentences[i]).strip()
        items: list[str] = []
        if head.rstrip(".").endswith(":"):  # "…including:." occurs in the wild
            j = i + 1
            while j < len(sentences) and len(items) < MAX_LIST_ITEMS:
                item = sentences[j]
                if not (_LIST_ITEM.match(item) or len(item) < 80) or item.rstrip().endswith(":"):
                    break
                items.append(_LIST_ITEM.sub("", item).strip().rstrip(".;"))
                j += 1
        if items:
            units.append((i, f"{head.rstrip(':.').rstrip()}: {'; '.join(items)}."))
            listed.add(i)
            i += len(items) + 1
        else:
            units.append((i, head))
            i += 1
    return [(position, unit, position in listed) for position, unit in units]


def named(lex: Lexicon, text: str, question: bool = False) -> list[str]:
    """Subject keys `text` names, in order; a family ("nurses") names each member."""
    return list(dict.fromkeys(k for m in lex.mentions(text, question) for k in sorted(m.keys)))


def question_subjects(lex: Lexicon, question: str) -> list[str]:
    """What the question asks about: "CCS vs CPC" is about credentials, not coding."""
    found = list(dict.fromkeys(k for m in asked_mentions(lex, question) for k in sorted(m.keys)))
    credentials = [k for k in found if lex.subjects[k].kind == "credential"]
    return credentials or found


def _context(reader: PassageReader, chunk: Chunk) -> tuple[list[str], bool]:
    """What a passage is about when its sentence does not say (the reader's section, else
    article), and whether that is ambiguous: an article about two jobs whose sentence
    names neither ("For all of these jobs…") is about neither alone."""
    keys = list(dict.fromkeys(k for g in reader.context_subjects(chunk) for k in sorted(g)))
    from_article = not reader.lexicon.mentions(chunk.section)
    return keys, from_article and len(keys) > 1


_OPENER = re.compile(
    r"^(?:by contrast|in contrast|on the other hand|however|also|similarly|likewise|meanwhile)"
    r",?\s+",
    re.I,
)


def _without_opener(text: str, lex: Lexicon) -> str:
    """ "By contrast, PayScale data … shows that billers make …" stands alone without its
    opener when the rest names whom it is about; otherwise the opener stays (and the
    sentence is used only after the one it contrasts with)."""
    match = _OPENER.match(text)
    rest = text[match.end() :] if match else ""
    if rest and named(lex, rest):
        return rest[0].upper() + rest[1:]
    return text


def _figure_subjects(unit: str, facts: list[FigureFact]) -> list[str]:
    """Whom the unit's pay figures are stated for ("Many first-year apprentices earn $15 to
    $20 an hour, … of the journeyman rate" is apprentices' pay, not journeymen's)."""
    keys = [
        k
        for f in facts
        if f.figure.kind == "money" and f.sentence and f.sentence in unit
        for k in sorted(f.subject_keys)
        if not k.startswith("unlisted")
    ]
    return list(dict.fromkeys(keys))


def _pay_facts(
    unit: str, money: frozenset[float], facts: list[FigureFact]
) -> tuple[FigureFact, ...]:
    """The unit's amounts as facts: those read from its own sentence, else (a table row
    rewritten as a sentence) those of the same value in its passage."""
    mine = [f for f in facts if f.figure.kind == "money" and f.sentence and f.sentence in unit]
    if not mine:
        mine = [f for f in facts if f.figure.kind == "money" and f.figure.value in money]
    return tuple(mine)


def candidates_from(hits: Sequence[Chunk], lex: Lexicon) -> list[Candidate]:
    found: list[Candidate] = []
    reader = PassageReader(lex)
    for n, chunk in enumerate(hits, start=1):
        units = _units(chunk.text)
        facts = reader.facts(chunk)
        previous, vague = _context(reader, chunk)
        label, last = "", None
        for position, clean, is_list in units:
            if LABEL_LINE.match(clean):  # "LPN at a glance" heads the stat lines below it
                label = clean if named(lex, clean) else ""
                continue
            if label and ":" in clean and not named(lex, clean):
                clean = f"{label} — {clean}"  # "LPN at a glance — Median pay: $59,730"
            clean = _without_opener(clean, lex)
            mentioned = named(lex, clean)
            if mentioned:  # "nurses" alone names either kind: it says nothing about which
                vague = all(len(m.keys) > 1 for m in lex.mentions(clean))
            if not mentioned or ANAPHORA.match(clean):  # "They…", "Tuition begins at…"
                mentioned = list(dict.fromkeys(previous + mentioned))
            previous = mentioned or previous
            whose = _figure_subjects(clean, facts)
            if whose:  # a figure is about whom the guard reads it to be about
                mentioned, vague = whose, False
            if len(clean) < MIN_SENTENCE_CHARS or clean.endswith(":") or CREDIT.match(clean):
                continue
            figures = extract_figures(clean)
            candidate = Candidate(
                n, chunk, clean, position, frozenset(tokenize(clean)), tuple(mentioned)
            )
            candidate.is_list = is_list
            candidate.vague = vague
            candidate.money = frozenset(f.value for f in figures if f.kind == "money")
            candidate.has_figure = any(f.kind in ("money", "percent", "count") for f in figures)
            if candidate.has_figure:
                candidate.attribution = _attribution(
                    chunk, clean, facts, lex.doc_reporters.get(chunk.doc_id)
                )
                candidate.pay = _pay_facts(clean, candidate.money, facts)
            candidate.before, last = last, candidate
            found.append(candidate)
    return found


def on_subject(candidates: list[Candidate], wanted: list[str]) -> list[Candidate]:
    """Sentences about what the question asks: another occupation appears only in a
    comparison that names both, and a sentence naming nobody in an article about
    several jobs is not taken as being about the one asked."""
    if not wanted:
        return candidates
    return [c for c in candidates if any(e in c.entities for e in wanted) and not c.vague]
