"""Which source sentences answer the question: scoring and greedy selection.

Rarity-weighted word overlap with the question, plus what the question asks
about (pay, duration, cost, place, duties, a definition, a list), then a
greedy pick that skips near-repeats and sentences pointing at one not chosen.
"""

from __future__ import annotations

import math
import re

from advisor.extractive.candidates import DANGLING, PROMISE, Candidate, question_subjects
from advisor.figures import extract_figures
from advisor.intent import (
    COMPARATIVE,
    COMPARE_QUESTION,
    COST_QUESTION,
    CREDENTIAL_QUESTION,
    DEFINITION,
    DEFINITION_QUESTION,
    DUTIES_HEADING,
    DUTIES_QUESTION,
    FRAMING_TOKENS,
    LIST_QUESTION,
    MORE_QUESTION,
    NEED_QUESTION,
    OUTLOOK,
    OUTLOOK_QUESTION,
    PAY_QUESTION,
    PAY_WORDS,
    PLACES,
    REQUIREMENT,
    TIME_QUESTION,
    WHERE_QUESTION,
)
from advisor.knowledge.lexicon import Lexicon
from advisor.text import tokenize, word_overlap


def score(question: str, candidates: list[Candidate], lex: Lexicon) -> None:
    """Rarity-weighted overlap with the question, plus what the question asks about."""
    q_tokens = set(tokenize(question))
    df: dict[str, int] = {}
    for c in candidates:
        for t in c.tokens:
            df[t] = df.get(t, 0) + 1
    total = len(candidates) or 1
    wanted = question_subjects(lex, question)
    subject_tokens = set(tokenize(" ".join(lex.words())))
    pay = bool(PAY_QUESTION.search(question))
    # "…a <job> in 9 months, yeah?" asks how long as surely as "how long…?" does
    duration = bool(TIME_QUESTION.search(question)) or any(
        f.kind == "duration" for f in extract_figures(question)
    )
    listing = bool(LIST_QUESTION.search(question))
    comparing = len(wanted) >= 2 and bool(COMPARE_QUESTION.search(question))
    cost, more = bool(COST_QUESTION.search(question)), bool(MORE_QUESTION.search(question))
    where = bool(WHERE_QUESTION.search(question))
    defining = bool(DEFINITION_QUESTION.search(question))
    duties = bool(DUTIES_QUESTION.search(question))
    # "which certification…?" wants one named; "do I need a certificate?" wants whether
    credential = bool(CREDENTIAL_QUESTION.search(question)) and not NEED_QUESTION.search(question)
    outlook = bool(OUTLOOK_QUESTION.search(question))
    # what must be required: the question's own words, less its subject and "need"
    needed = (
        set(tokenize(NEED_QUESTION.sub("", question))) if NEED_QUESTION.search(question) else set()
    )
    needed -= set(tokenize(" ".join(["need needs require required", *wanted])))
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
            c.score += 0.8  # "What is <X>?" wants "<X> is a …", not the steps to get it
        if credential:  # "Which certification should I get?" wants one named, here
            names = any(lex.subjects[k].kind == "credential" for k in lex.subjects_in(c.text))
            c.score = c.score + 1.2 if names else c.score * 0.8
        if needed and REQUIREMENT.search(c.text) and c.tokens & needed:
            c.score += 0.8  # "No state requires certification…" answers "Do I need…?"
        if outlook and OUTLOOK.search(c.text):
            c.score += 1.0 if c.has_figure else 0.5  # "projected to grow 7 percent"
        if duties and not pay:  # "What does a PTA do?" wants the work, not the pay
            c.score *= 0.4 if c.has_figure else 1.0
            if DUTIES_HEADING.search(c.chunk.section):
                c.score += 0.8
        if wanted and not any(e in c.entities for e in wanted):
            c.score *= 0.5  # the question names its subject; this sentence does not


# "renewed every two years" says how often, not how long: no answer to "how long…?"
_RECURS = re.compile(r"\b(?:every|each|once|per)\s+(?:other\s+)?$", re.I)


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
    if duration and any(
        f.kind == "duration" and not _RECURS.search(c.text[: f.start])
        for f in extract_figures(c.text)
    ):
        bonus += 1.0
    if cost and c.money:
        bonus += 1.5
    if more and COMPARATIVE.search(c.text):
        bonus += 0.8
    if where and PLACES.search(c.text):
        bonus += 1.0
    return bonus


def select(candidates: list[Candidate], limit: int, floor: float) -> list[Candidate]:
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
        if any(repeats(c, other) for other in chosen):
            continue
        if PROMISE.search(c.text) and not c.is_list:
            continue
        chosen.append(c)
    # "These programs typically last 1-2 years" comes with the sentence it points at
    for c in list(chosen):
        before = c.before
        if DANGLING.match(c.text) and before is not None and before not in chosen:
            chosen.insert(chosen.index(c), before)
    kept = {(c.n, c.position) for c in chosen}
    return [c for c in chosen if not DANGLING.match(c.text) or (c.n, c.position - 1) in kept]


def repeats(a: Candidate, b: Candidate) -> bool:
    """Figure sentences repeat only when they add no new amount; others when words overlap."""
    if a.money or b.money:
        return a.money <= b.money
    if not (a.tokens or b.tokens):
        return True
    return word_overlap(a.tokens, b.tokens) >= 0.5
