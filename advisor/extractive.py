"""The default generator: an answer composed only of source sentences.

Offline, deterministic and fast (a few milliseconds per answer), and it
cannot invent: every sentence is copied from a numbered passage and carries
its [n]. It picks sentences for the question (term overlap weighted by rarity,
the passage's rank, and what the question asks about: pay, duration, two
things compared), drops near-repeats, and lays them out as a short answer:
one lead sentence, then the supporting points. Pay questions list every
sourced figure with who reported it and when, side by side, never merged.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from advisor.chunking import Chunk
from advisor.figures import clause_around, extract_figures
from advisor.intent import (
    COMPARATIVE,
    COMPARE_QUESTION,
    COST_QUESTION,
    DEFINITION,
    DEFINITION_QUESTION,
    DUTIES_HEADING,
    DUTIES_QUESTION,
    FRAMING_TOKENS,
    LIST_QUESTION,
    MORE_QUESTION,
    PAY_QUESTION,
    PAY_WORDS,
    PLACES,
    TIME_QUESTION,
    WHERE_QUESTION,
)
from advisor.knowledge.facts import LABEL_LINE, FigureFact, PassageReader, statistic_of
from advisor.knowledge.lexicon import Lexicon
from advisor.knowledge.scope import join_names, plural
from advisor.text import split_sentences, tokenize, word_overlap

_MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
)
MIN_SENTENCE_CHARS = 25
_ANAPHORA = re.compile(r"^(?:they|this|these|those|it|their|both)\b", re.I)
# Openers that point at a sentence before ("By contrast, …", "That gap …", "Below is …"):
# such a sentence is used only right after the one it points at.
_DANGLING = re.compile(
    r"^(?:they|them|their|this|these|those|its|such|both|also|however|by contrast"
    r"|in contrast|on the other hand|because of (?:this|these|that)|as a result|similarly"
    r"|likewise|therefore|other|another|the other)\b",
    re.I,
)
_PROMISE = re.compile(
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


def _published_label(published: str) -> str:
    try:
        parts = [int(p) for p in published.split("-")]
        return date(parts[0], parts[1] if len(parts) > 1 else 1, 1).strftime("%B %Y")
    except (ValueError, IndexError):
        return published


def _attribution(chunk: Chunk, unit: str, facts: list[FigureFact]) -> str:
    """Who reported a figure and when, read the way the guard reads it (so a label can
    never contradict what the guard checks): the reporter and period of the unit's first
    figure, else the article's publisher and date."""
    fact = next(
        (f for f in facts if f.sentence and (f.sentence in unit or unit in f.sentence)
         and f.figure.kind in ("money", "percent", "count")),
        None,
    )  # fmt: skip
    publisher = chunk.publisher if chunk.publisher != "unknown" else f"“{chunk.title}”"
    article_date = _published_label(chunk.published) if chunk.published else None
    who = (fact.reporter if fact else None) or publisher
    year = max(fact.years) if fact and fact.years else None
    if year is None or (fact and str(year) not in chunk.text and article_date):
        return f"{who}, {article_date}" if article_date else f"{who} (undated)"
    upto = chunk.text.find(fact.sentence) + len(fact.sentence) if fact else len(chunk.text)
    months = re.findall(rf"\b({_MONTH}),?\s+{year}\b", chunk.text[:upto])
    return f"{who}, {months[-1]} {year}" if months else f"{who}, {year}"


_LIST_ITEM = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s*")
DENIAL_OPENER = "None of the articles reports"
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

    A list of credentials is one answer ("CPC; CCA; CCS"), not six fragments
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
    found = named(lex, question, question=True)
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


def _candidates(hits: Sequence[Chunk], lex: Lexicon) -> list[Candidate]:
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
            if not mentioned or _ANAPHORA.match(clean):  # "They…", "Tuition begins at…"
                mentioned = list(dict.fromkeys(previous + mentioned))
            previous = mentioned or previous
            whose = _figure_subjects(clean, facts)
            if whose:  # a figure is about whom the guard reads it to be about
                mentioned, vague = whose, False
            if len(clean) < MIN_SENTENCE_CHARS or clean.endswith(":"):
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
                candidate.attribution = _attribution(chunk, clean, facts)
            candidate.before, last = last, candidate
            found.append(candidate)
    return found


def _score(question: str, candidates: list[Candidate], lex: Lexicon) -> None:
    """Rarity-weighted overlap with the question, plus what the question asks about."""
    q_tokens = set(tokenize(question))
    df: dict[str, int] = {}
    for c in candidates:
        for t in c.tokens:
            df[t] = df.get(t, 0) + 1
    total = len(candidates) or 1
    wanted = question_subjects(lex, question)
    subject_tokens = set(tokenize(" ".join(lex.words())))
    pay, duration = bool(PAY_QUESTION.search(question)), bool(TIME_QUESTION.search(question))
    listing = bool(LIST_QUESTION.search(question))
    comparing = len(wanted) >= 2 and bool(COMPARE_QUESTION.search(question))
    cost, more = bool(COST_QUESTION.search(question)), bool(MORE_QUESTION.search(question))
    where = bool(WHERE_QUESTION.search(question))
    defining = bool(DEFINITION_QUESTION.search(question))
    duties = bool(DUTIES_QUESTION.search(question))
    # rare words count more; words naming the subject already earn the entity bonus
    weights = {
        t: math.log(1 + total / df.get(t, 1))
        * (0.3 if t in subject_tokens or t in FRAMING_TOKENS else 1.0)
        for t in q_tokens
    }
    for c in candidates:
        overlap = sum(weights[t] for t in q_tokens & c.tokens)
        c.score = overlap / math.sqrt(len(c.tokens) + 4) + 0.6 / c.n
        c.score *= min(1.0, len(c.tokens) / 7)  # a bare list item says less than a sentence
        c.score += _intent_bonus(c, lex, weights, wanted, pay, duration, cost, more, where)
        if listing and c.is_list and c.tokens & q_tokens:
            c.score += 1.0
        elif comparing and c.is_list:  # a list names both sides without comparing them
            c.score *= 0.5
        if defining and DEFINITION.search(c.text) and not c.is_list:
            c.score += 0.8  # "What is PALS?" wants "PALS is a …", not the steps to get it
        if duties and not pay:  # "What does a PTA do?" wants the work, not the pay
            c.score *= 0.4 if c.has_figure else 1.0
            if DUTIES_HEADING.search(c.chunk.section):
                c.score += 0.8
        if wanted and not any(e in c.entities for e in wanted):
            c.score *= 0.5  # the question names its subject; this sentence does not


def _intent_bonus(
    c: Candidate, lex: Lexicon, weights: dict[str, float], wanted: list[str], *intents: bool
) -> float:
    """What the question asks about: its FAQ heading, its subject, pay, time, cost, place."""
    pay, duration, cost, more, where = intents
    heading = weights.keys() & set(tokenize(c.chunk.section))
    share = sum(weights[t] for t in heading) / max(sum(weights.values()), 1e-9)
    bonus = 1.2 * share
    if share >= 0.5 and c.chunk.section.endswith("?") and c.position == 0:
        bonus += 0.5  # the first sentence under a matching FAQ question is its answer
    naming = [e for e in wanted if e in c.entities]
    if naming:  # a certification named is a strong signal; "coding" in a coding FAQ is not
        bonus += 0.8 if any(lex.subjects[e].kind == "credential" for e in naming) else 0.3
    if pay and (c.has_figure or c.tokens & PAY_WORDS):
        bonus += 1.0 + (0.5 if c.has_figure else 0.0)
    if duration and any(f.kind == "duration" for f in extract_figures(c.text)):
        bonus += 1.0
    if cost and c.money:
        bonus += 1.5
    if more and COMPARATIVE.search(c.text):
        bonus += 0.8
    if where and PLACES.search(c.text):
        bonus += 1.0
    return bonus


def _select(candidates: list[Candidate], limit: int, floor: float) -> list[Candidate]:
    """Greedy top-score selection, skipping sentences that repeat one already chosen, and
    sentences that point at one before them ("By contrast, …") unless that one is chosen;
    a promise ("Below is a step-by-step guide") is never chosen on its own."""
    chosen: list[Candidate] = []
    ranked = sorted(candidates, key=lambda c: (-c.score, c.n, c.position))
    if ranked:  # relative to the third best, so one dominant lead does not crowd out the rest
        floor = max(floor, 0.4 * ranked[min(2, len(ranked) - 1)].score)
    for c in ranked:
        if c.score < floor or len(chosen) == limit:
            break
        if any(_repeats(c, other) for other in chosen):
            continue
        if _PROMISE.search(c.text) and not c.is_list:
            continue
        chosen.append(c)
    # "These programs typically last 1-2 years" comes with the sentence it points at
    for c in list(chosen):
        before = c.before
        if _DANGLING.match(c.text) and before is not None and before not in chosen:
            chosen.insert(chosen.index(c), before)
    kept = {(c.n, c.position) for c in chosen}
    return [c for c in chosen if not _DANGLING.match(c.text) or (c.n, c.position - 1) in kept]


def _repeats(a: Candidate, b: Candidate) -> bool:
    """Figure sentences repeat only when they add no new amount; others when words overlap."""
    if a.money or b.money:
        return a.money <= b.money
    if not (a.tokens or b.tokens):
        return True
    return word_overlap(a.tokens, b.tokens) >= 0.5


def _cite(c: Candidate) -> str:
    """The sentence with its marker before the closing punctuation: "… higher salary [1]."."""
    text = c.text.rstrip()
    if text[-1:] in ".!?":
        return f"{text[:-1]} [{c.n}]{text[-1]}"
    return f"{text} [{c.n}]"


def _in_reading_order(items: list[Candidate]) -> list[Candidate]:
    return sorted(items, key=lambda c: (c.n, c.position))


def _pay_answer(
    question: str, candidates: list[Candidate], max_figures: int, lex: Lexicon
) -> list[str]:
    """A sourced comparison, then every sourced amount with who reported it and when.

    When the question names a certification, only amounts stated for it are
    listed: a coder's average is not a CCS salary.
    """
    wanted = question_subjects(lex, question)
    specific = [e for e in wanted if lex.subjects[e].kind == "credential"]
    with_money = [c for c in candidates if c.money]
    if specific:  # named in the sentence itself: a neighbour's "PALS" does not make it PALS pay
        with_money = [c for c in with_money if any(e in named(lex, c.text) for e in specific)]
    figures = _select(with_money, max_figures, floor=1.0)
    about_pay = [c for c in candidates if not c.has_figure and c.tokens & PAY_WORDS]
    comparative = MORE_QUESTION.search(question) or COMPARE_QUESTION.search(question)
    general = _select(about_pay, 1, floor=1.5)
    # a comparison gets the sourced comparison first; a figure question, only the figures,
    # unless a sentence answers it better than any figure ("the top-paying industry is…")
    if general and figures and not comparative and general[0].score <= figures[0].score:
        general = []
    lines = [_cite(general[0])] if general else []
    if specific and not figures and lines:
        lines.append(
            f"The articles give no salary figure for {' or '.join(specific)} specifically."
        )
    if figures and not lines:  # the answer first: the median, the newest, if there is one
        lead = max(figures, key=lambda c: (_is_median(c), _newest(c), c.score))
        lines = [_labelled(lead)[2:]]
        figures = [c for c in figures if c is not lead]
    if len(figures) > 1 or (figures and len({c.attribution for c in figures}) > 1):
        lines += ["", "What the sources report (different surveys and years, side by side):"]
    elif figures:
        lines.append("")
    lines += [_labelled(c) for c in _in_reading_order(figures)]
    return lines


def _is_median(c: Candidate) -> bool:
    """Is the sentence's first amount a median ("Beyond the median, the mean was …" is not)?"""
    money = next((f for f in extract_figures(c.text) if f.kind == "money"), None)
    if money is None:
        return False
    clause = clause_around(c.text, money.start, money.end)
    return "median" in statistic_of(clause, money.start - max(0, c.text.find(clause)))


def _newest(c: Candidate) -> int:
    years = [int(y) for y in re.findall(r"\b(?:19|20)\d{2}\b", c.attribution + " " + c.text)]
    return max(years, default=0)


def _labelled(c: Candidate) -> str:
    """A figure's line with who reported it and when, unless the sentence says so itself."""
    who, _, when = c.attribution.partition(", ")
    year = re.search(r"\d{4}", when)
    if who in c.text and (year is None or year.group() in c.text):
        return f"- {_cite(c)}"
    return f"- **{c.attribution}:** {_cite(c)}"


def _lead(chosen: list[Candidate], wanted: list[str]) -> Candidate:
    """The best sentence, preferring one that names what the question asks about; a
    sentence that points back ("These programs…") is led by the one it points at."""
    best = chosen[0]
    if _DANGLING.match(best.text) and best.before is not None and best.before in chosen:
        return best.before
    if not wanted or any(e in best.entities for e in wanted):
        return best
    naming = [c for c in chosen if any(e in c.entities for e in wanted)]
    return naming[0] if naming and naming[0].score >= 0.7 * best.score else best


def _with_continuation(lead: Candidate, chosen: list[Candidate]) -> tuple[str, list[Candidate]]:
    """Keep "They are also…" right after the sentence it continues."""
    text, rest, position = _cite(lead), [c for c in chosen if c is not lead], lead.position
    while True:
        follower = next(
            (
                c
                for c in rest
                if c.n == lead.n and c.position == position + 1 and _ANAPHORA.match(c.text)
            ),
            None,
        )
        if follower is None:
            return text, rest
        text, position = f"{text} {_cite(follower)}", follower.position
        rest.remove(follower)


def _comparison_answer(wanted: list[str], chosen: list[Candidate]) -> list[str]:
    """ "X vs Y": the comparison first, then what the sources say of X, of Y, of both."""
    lead_text, rest = _with_continuation(_lead(chosen, wanted), chosen)
    lines = [lead_text]
    groups = {name: [c for c in rest if [e for e in wanted if e in c.entities] == [name]]
              for name in wanted}  # fmt: skip
    groups["Both"] = [c for c in rest if sum(e in c.entities for e in wanted) >= 2]
    grouped = [c for group in groups.values() for c in group]
    groups["Also worth knowing"] = [c for c in rest if c not in grouped]
    for name, group in groups.items():
        if group:
            lines += ["", f"**{name}**"] + [f"- {_cite(c)}" for c in _in_reading_order(group)]
    return lines


def on_subject(candidates: list[Candidate], wanted: list[str]) -> list[Candidate]:
    """Sentences about what the question asks: another occupation appears only in a
    comparison that names both, and a sentence naming nobody in an article about
    several jobs is not taken as being about the one asked."""
    if not wanted:
        return candidates
    return [c for c in candidates if any(e in c.entities for e in wanted) and not c.vague]


def _denial(question: str, candidates: list[Candidate], wanted: list[str], lex: Lexicon) -> str:
    """ "I heard coders make $95,000, right?": say plainly when no article states it.

    The guard lets the student's figure through only inside this exact sentence."""
    asserted = [f for f in extract_figures(question) if f.kind in ("money", "percent", "duration")]
    stated = [extract_figures(c.text) for c in candidates]
    missing = [a for a in asserted if not any(a.matches(f) for fs in stated for f in fs)]
    if not missing:
        return ""
    jobs = [plural(k) for k in wanted if lex.subjects[k].kind == "occupation"]
    who = f" for {join_names(jobs)}" if jobs else ""
    figures = join_names([a.text for a in missing])
    return f"{DENIAL_OPENER} {figures}{who}; here is what they report."


def compose(
    question: str,
    passages: Sequence[Chunk],
    max_points: int,
    max_figures: int,
    lexicon: Lexicon | None = None,
) -> str:
    """The answer, or "" when no sentence in the passages speaks to the question."""
    lex = lexicon or Lexicon()
    wanted = question_subjects(lex, question)
    candidates = on_subject(_candidates(passages, lex), wanted)
    _score(question, candidates, lex)
    denial = _denial(question, candidates, wanted, lex)
    if PAY_QUESTION.search(question) or denial:
        lines = _pay_answer(question, candidates, max_figures, lex)
        if lines:
            return "\n".join([denial, "", *lines] if denial else lines).strip()
    chosen = _select(candidates, max_points, floor=1.0)
    if not chosen:
        return ""
    if len(wanted) >= 2 and COMPARE_QUESTION.search(question):
        for name in wanted:  # "X vs Y" gets X, Y and the comparison
            if not any(name in c.entities and len(c.entities) == 1 for c in chosen):
                side = [c for c in candidates if name in c.entities and c not in chosen
                        and c.score >= 1.0 and not any(_repeats(c, o) for o in chosen)]  # fmt: skip
                chosen += sorted(side, key=lambda c: -c.score)[:1]
        return "\n".join(_comparison_answer(wanted, chosen)).strip()
    lead_text, rest = _with_continuation(_lead(chosen, wanted), chosen)
    bullets = [f"- {_cite(c)}" for c in _in_reading_order(rest)]
    return "\n".join([lead_text, "", *bullets]).strip()
