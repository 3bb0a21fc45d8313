"""The answer's layout: a lead sentence, then support; pay as labelled figures side by
side; a comparison as one block per side."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from advisor.budget import within, words
from advisor.chunking import Chunk
from advisor.extractive.candidates import (
    ANAPHORA,
    DANGLING,
    Candidate,
    candidates_from,
    named,
    on_subject,
    question_subjects,
)
from advisor.extractive.scoring import repeats, score, select
from advisor.extractive.verdict import comparisons, pay_verdict, side_name, trade_off
from advisor.figures import clause_around, extract_figures
from advisor.intent import (
    COMPARE_QUESTION,
    LIST_QUESTION,
    MORE_QUESTION,
    PAY_QUESTION,
    PAY_WORDS,
)
from advisor.knowledge.facts import MEASURES, statistic_of
from advisor.knowledge.lexicon import Lexicon
from advisor.knowledge.scope import join_names, plural

DENIAL_OPENER = "None of the articles reports"
# A comparison gets a point about each side, even one weaker than the answer's own points
SIDE_FLOOR = 0.6


def cite(c: Candidate) -> str:
    """The sentence with its marker before the closing punctuation: "… higher salary [1]."."""
    text = c.text.rstrip()
    if text[-1:] in ".!?":
        return f"{text[:-1]} [{c.n}]{text[-1]}"
    return f"{text} [{c.n}]"


def in_reading_order(items: list[Candidate]) -> list[Candidate]:
    return sorted(items, key=lambda c: (c.n, c.position))


def _pay_answer(
    question: str, candidates: list[Candidate], max_figures: int, lex: Lexicon
) -> list[str]:
    """A sourced comparison, then every sourced amount with who reported it and when.

    When the question names a certification, only amounts stated for it are
    listed: a job's average is not the salary of one certification's holders.
    """
    wanted = question_subjects(lex, question)
    specific = [e for e in wanted if lex.subjects[e].kind == "credential"]
    with_money = [c for c in candidates if c.money]
    if specific:  # named in the sentence itself: a neighbour's naming it does not make it its pay
        with_money = [c for c in with_money if any(e in named(lex, c.text) for e in specific)]
    comparative = MORE_QUESTION.search(question) or COMPARE_QUESTION.search(question)
    if comparative and len(wanted) >= 2:
        found = comparisons(wanted, with_money)
        verdict = pay_verdict(lex, wanted, found)
        if verdict:  # "<Jobs>, in every source that reports both [1][2]."
            evidence = list({id(s): s for c in found for s in c.sentences}.values())
            return [verdict, "", *(_labelled(c) for c in in_reading_order(evidence))]
    figures = select(with_money, max_figures, floor=1.0)
    about_pay = [c for c in candidates if not c.has_figure and c.tokens & PAY_WORDS]
    general = select(about_pay, 1, floor=1.5)
    # a comparison gets the sourced comparison first; a figure question, only the figures,
    # unless a sentence answers it better than any figure ("the top-paying industry is…")
    if general and figures and not comparative and general[0].score <= figures[0].score:
        general = []
    lines = [cite(general[0])] if general else []
    if specific and not figures and lines:
        lines.append(
            f"The articles give no salary figure for {' or '.join(specific)} specifically."
        )
    if figures and not lines:  # the answer first: the median, the newest, if there is one
        lead = max(figures, key=lambda c: (_is_median(c), _typical(c), _newest(c), c.score))
        lines = [_labelled(lead)[2:]]
        figures = [c for c in figures if c is not lead]
    if len(figures) > 1 or (figures and len({c.attribution for c in figures}) > 1):
        lines += ["", "What the sources report (different surveys and years, side by side):"]
    elif figures:
        lines.append("")
    lines += [_labelled(c) for c in in_reading_order(figures)]
    return lines


def _is_median(c: Candidate) -> bool:
    """Is the sentence's first amount a median ("Beyond the median, the mean was …" is not)?"""
    money = next((f for f in extract_figures(c.text) if f.kind == "money"), None)
    if money is None:
        return False
    clause = clause_around(c.text, money.start, money.end)
    return "median" in statistic_of(clause, money.start - max(0, c.text.find(clause)))


def _typical(c: Candidate) -> bool:
    """Is the sentence's first amount everyone's pay, not the top, bottom, starting or
    late-career earners' (those are no answer to "how much do they make?")?"""
    return bool(c.pay) and not (c.pay[0].stats - MEASURES)


def _newest(c: Candidate) -> int:
    years = [int(y) for y in re.findall(r"\b(?:19|20)\d{2}\b", c.attribution + " " + c.text)]
    return max(years, default=0)


def _labelled(c: Candidate) -> str:
    """A figure's line with who reported it and when, unless the sentence says so itself."""
    who, _, when = c.attribution.partition(", ")
    year = re.search(r"\d{4}", when)
    if who in c.text and (year is None or year.group() in c.text):
        return f"- {cite(c)}"
    return f"- **{c.attribution}:** {cite(c)}"


def _lead(chosen: list[Candidate], wanted: list[str]) -> Candidate:
    """The best sentence, preferring one that names what the question asks about; a
    sentence that points back ("These programs…") is led by the one it points at."""
    best = chosen[0]
    if DANGLING.match(best.text):
        if best.before is not None and best.before in chosen:
            return best.before
        best = next((c for c in chosen if not DANGLING.match(c.text)), best)
    if not wanted or any(e in best.entities for e in wanted):
        return best
    naming = [c for c in chosen if any(e in c.entities for e in wanted)]
    return naming[0] if naming and naming[0].score >= 0.7 * best.score else best


# "…, while …", "…, whereas …", "…; …": two clauses that may be about two subjects
_CONTRAST = re.compile(r",?\s+(?:while|whereas)\s+|;\s+")


def _own_clause(c: Candidate, wanted: list[str], lex: Lexicon) -> Candidate:
    """ "X programs take months to two years, while Y training is typically a one-day
    course": asked about Y, the lead is Y's own clause, word for word, not a sentence
    that opens with another subject."""
    if len(wanted) != 1 or c.is_list:
        return c
    spans, start = [], 0
    for match in _CONTRAST.finditer(c.text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(c.text)))
    if len(spans) != 2:
        return c
    about = [wanted[0] in lex.subjects_in(c.text[a:b]) for a, b in spans]
    if about.count(True) != 1 or about[0]:
        return c  # the sentence already opens with the subject asked about
    a, b = spans[1]
    clause = c.text[a:b].strip()
    if len(clause.split()) < 5 or not clause[:1].isupper():
        return c  # "x earns more" alone would read as a new sentence only capitalised
    return replace(c, text=clause.rstrip(".") + ".")


def _with_continuation(lead: Candidate, chosen: list[Candidate]) -> tuple[str, list[Candidate]]:
    """Keep "They are also…" right after the sentence it continues."""
    text, rest, position = cite(lead), [c for c in chosen if c is not lead], lead.position
    while True:
        follower = next(
            (
                c
                for c in rest
                if c.n == lead.n and c.position == position + 1 and ANAPHORA.match(c.text)
            ),
            None,
        )
        if follower is None:
            return text, rest
        text, position = f"{text} {cite(follower)}", follower.position
        rest.remove(follower)


def _comparison_answer(
    question: str, wanted: list[str], chosen: list[Candidate], ranked: list[Candidate], lex: Lexicon
) -> list[str]:
    """ "X vs Y": the verdict (or the best comparing sentence) first, then one block per
    side when both have one, else plain points: never a heading for one side only."""
    verdict, picked = trade_off(question, wanted, ranked, lex)
    if verdict:
        lines = [verdict]
        rest = [c for c in chosen if c not in picked and not any(repeats(c, p) for p in picked)]
        rest = [c for c in rest if not DANGLING.match(c.text)]  # what it points at is not shown
    else:
        lead_text, rest = _with_continuation(_lead(chosen, wanted), chosen)
        lines = [lead_text]
    rest = [c for c in rest if not DANGLING.match(c.text)]  # blocks reorder: nothing before
    sides = {k: [c for c in rest if [e for e in wanted if e in c.entities] == [k]] for k in wanted}
    if not all(sides.values()):
        return [*lines, "", *(f"- {cite(c)}" for c in in_reading_order(rest))]
    shared = [c for c in rest if not any(c in group for group in sides.values())]
    if shared:  # about both sides: before the blocks, under no heading of one side
        lines += ["", *(f"- {cite(c)}" for c in in_reading_order(shared))]
    for key, group in sides.items():
        heading = f"**{side_name(lex, key, capital=True)}**"
        lines += ["", heading, *(f"- {cite(c)}" for c in in_reading_order(group))]
    return lines


def _said_of_another(
    question: str, passages: Sequence[Chunk], wanted: list[str], lex: Lexicon
) -> list[str]:
    """ "Is <job A's activity> stressful?" when only job B's stress is written about: say the
    articles don't say it of job A, and what they say of job B, never as if of job A."""
    jobs = [k for k in wanted if lex.subjects[k].kind == "occupation"]
    if not jobs:
        return []
    others = [c for c in candidates_from(passages, lex) if c.entities and not c.vague]
    others = [c for c in others if not set(c.entities) & set(wanted)]
    score(question, others, lex)  # halved for not naming the asked job: half the bar
    best = select(others, 1, floor=0.5)
    if not best or DANGLING.match(best[0].text):
        return []
    about = [k for k in best[0].entities if k in lex.subjects][:1]
    if not about:
        return []
    asked = join_names([plural(k) for k in jobs])
    return [
        f"The articles don't say this about {asked}. What they say about "
        f"{side_name(lex, about[0])}:",
        "",
        f"- {cite(best[0])}",
    ]


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


def fit(ranked: list[Candidate], max_words: int) -> list[Candidate]:
    """The best sentences that fit in about `max_words`, best first: the budget drops the
    weakest points, not the last ones shown."""
    kept: list[Candidate] = []
    used = 0
    for c in ranked:
        size = words(c.text)
        if len(kept) >= 2 and used + size > max_words:
            continue
        kept.append(c)
        used += size
    return kept


def compose(
    question: str,
    passages: Sequence[Chunk],
    max_points: int,
    max_figures: int,
    lexicon: Lexicon | None = None,
    max_words: int = 120,
) -> str:
    """The answer, or "" when no sentence in the passages speaks to the question."""
    if LIST_QUESTION.search(question):  # "list the…": the list is the answer
        max_words *= 2
    lines = _lines(question, passages, max_points, max_figures, lexicon, max_words)
    return "\n".join(within(lines, max_words)).strip()


def _lines(
    question: str,
    passages: Sequence[Chunk],
    max_points: int,
    max_figures: int,
    lexicon: Lexicon | None,
    max_words: int,
) -> list[str]:
    lex = lexicon or Lexicon()
    wanted = question_subjects(lex, question)
    candidates = on_subject(candidates_from(passages, lex), wanted)
    score(question, candidates, lex)
    denial = _denial(question, candidates, wanted, lex)
    if PAY_QUESTION.search(question) or denial:
        lines = _pay_answer(question, candidates, max_figures, lex)
        if lines:
            return [denial, "", *lines] if denial else lines
    chosen = fit(select(candidates, max_points, floor=1.0), max_words)
    if not chosen:
        return _said_of_another(question, passages, wanted, lex)
    if len(wanted) >= 2 and COMPARE_QUESTION.search(question):
        for name in wanted:  # "X vs Y" gets X, Y and the comparison
            if not any(name in c.entities and len(c.entities) == 1 for c in chosen):
                side = [
                    c for c in candidates
                    if name in c.entities and c not in chosen and c.score >= SIDE_FLOOR
                    and not any(repeats(c, o) for o in chosen) and not DANGLING.match(c.text)
                ]  # fmt: skip
                chosen += sorted(side, key=lambda c: -c.score)[:1]
        ranked = sorted(candidates, key=lambda c: -c.score)
        return _comparison_answer(question, wanted, chosen, ranked, lex)
    lead = _lead(chosen, wanted)
    lead_text, rest = _with_continuation(_own_clause(lead, wanted, lex), chosen)
    rest = [c for c in rest if c is not lead]
    bullets = [f"- {cite(c)}" for c in in_reading_order(rest)]
    return [lead_text, "", *bullets]
