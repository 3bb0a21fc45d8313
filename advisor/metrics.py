"""Eval metrics, computed without an LLM judge.

The figure checker here is independent of the guard: it reuses only the
figure extraction (advisor.figures) and reads the final answer text against
the whole corpus and against the passages the answer cites. It therefore
catches a bad figure whether or not the guard ran, and whatever produced
the answer (this advisor, another system through `--answers`).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from advisor.chunking import Chunk
from advisor.claims import Stated, citations_in, denies, is_quoted, mismatch, stated_about
from advisor.evalset import EvalCase
from advisor.figures import Figure, extract_figures
from advisor.knowledge.facts import FigureFact, PassageReader
from advisor.knowledge.lexicon import Lexicon
from advisor.prompts import REFUSAL_PHRASE
from advisor.text import split_sentences


@dataclass(frozen=True)
class FigureIssue:
    figure: str
    kind: str  # "fabricated" | "misattributed" | "uncited"
    detail: str


@dataclass
class Graded:
    """One answer, scored."""

    case_id: str
    answer: str
    refused: bool
    cited_docs: list[str]
    retrieved_docs: list[str]
    figures: int = 0
    issues: list[FigureIssue] = field(default_factory=list)
    invalid_citations: list[int] = field(default_factory=list)
    facts_found: int = 0
    facts_total: int = 0
    forbidden: list[str] = field(default_factory=list)
    refusal_ok: bool = True
    timings_ms: dict[str, float] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    relevance: float | None = None  # the advisor's in-scope score, when the reply gives it
    carry_over: list[str] = field(default_factory=list)  # a topic switch that kept the old one

    @property
    def passed(self) -> bool:
        return not self.reasons


class FigureChecker:
    """Is each figure of an answer stated somewhere, for that subject, and in what it cites?

    Reads sources the guard's way (advisor.knowledge.facts) but independently of
    the guard's run: against the whole corpus, so it also judges answers made
    with the guard off or by another system (`--answers`).
    """

    def __init__(self, corpus_chunks: Sequence[Chunk], lexicon: Lexicon | None = None) -> None:
        if lexicon is None:
            from advisor.knowledge.library import lexicon_from_chunks

            lexicon = lexicon_from_chunks(corpus_chunks)
        self.lexicon = lexicon
        self.reader = PassageReader(lexicon)
        self.corpus = [f for chunk in corpus_chunks for f in self.reader.facts(chunk)]

    def check(
        self, answer: str, cited: Sequence[Chunk], question: str = ""
    ) -> tuple[int, list[FigureIssue]]:
        cited_figures = [f for chunk in cited for f in self.reader.facts(chunk)]
        asked = self.lexicon.subjects_in(question, question=True)
        asserted = extract_figures(question)
        count, issues = 0, []
        for start, end in split_sentences(answer):
            sentence = answer[start:end]
            for figure in extract_figures(sentence):
                if denies(sentence, figure, asserted):
                    continue  # the question's figure, denied: not a claim
                count += 1
                quoted = is_quoted(sentence, cited)
                stated = stated_about(self.lexicon, sentence, figure, asked, quoted=quoted)
                issue = self._check_one(figure, stated, cited_figures)
                if issue:
                    issues.append(issue)
        return count, issues

    def _check_one(
        self, figure: Figure, stated: Stated, cited: list[FigureFact]
    ) -> FigureIssue | None:
        anywhere = [f for f in self.corpus if f.figure.matches(figure)]
        if not anywhere:
            return FigureIssue(figure.text, "fabricated", "no article states this value")
        if figure.kind != "year":
            problems = [mismatch(stated, f, self.lexicon) for f in anywhere]
            if all(problems):
                subjects_only = Stated(stated.subjects)
                if all(mismatch(subjects_only, f, self.lexicon) for f in anywhere):
                    return FigureIssue(figure.text, "off_occupation", str(problems[0]))
                return FigureIssue(figure.text, "misattributed", str(problems[0]))
        if not any(f.figure.matches(figure) for f in cited):
            return FigureIssue(
                figure.text, "uncited", "stated in the articles, not in what it cites"
            )
        return None


def is_refusal(answer: str) -> bool:
    return answer.strip().startswith(REFUSAL_PHRASE)


def fact_hits(answer: str, facts: Sequence[str | list[str]]) -> int:
    """How many required facts appear; a list of alternatives counts once."""
    lowered = answer.lower()
    return sum(
        any(alt.lower() in lowered for alt in ([fact] if isinstance(fact, str) else fact))
        for fact in facts
    )


def grade(
    case: EvalCase,
    answer: str,
    citations: Sequence[Chunk],
    numbers: Sequence[int],
    checker: FigureChecker,
    retrieved_docs: Sequence[str] = (),
    timings_ms: dict[str, float] | None = None,
    relevance: float | None = None,
    previous: Previous | None = None,
) -> Graded:
    """Score one answer; `numbers` are the citation numbers its passages carry.
    `previous` is the answer to the turn before, for a topic switch's carry-over check."""
    refused = is_refusal(answer)
    graded = Graded(
        case.id,
        answer,
        refused,
        [c.doc_id for c in citations],
        list(retrieved_docs),
        timings_ms=dict(timings_ms or {}),
        relevance=relevance,
    )
    graded.invalid_citations = [n for n in citations_in(answer) if n not in set(numbers)]
    graded.figures, graded.issues = checker.check(answer, citations, case.question)
    graded.facts_total = 0 if case.refuse else len(case.must_contain)
    graded.facts_found = 0 if case.refuse else fact_hits(answer, case.must_contain)
    graded.forbidden = [p for p in case.must_not_contain if re.search(p, answer, re.I)]
    graded.refusal_ok = case.refuse is None or refused == case.refuse
    if case.switch and previous is not None:
        graded.carry_over = carried_over(graded, case.expect_docs, previous)
    graded.reasons = _reasons(case, graded)
    return graded


@dataclass(frozen=True)
class Previous:
    """The previous turn's answer: its texts (as asked again, and as the history gives it)
    and the articles it cited."""

    answers: tuple[str, ...]
    cited_docs: tuple[str, ...] = ()


def lead_sentence(answer: str) -> str:
    """The first sentence, without citation markers, spacing or case: what a reader sees."""
    text = answer.strip()
    spans = split_sentences(text)
    first = text[spans[0][0] : spans[0][1]] if spans else text
    first = re.sub(r"\[\d+\]|[*_#>\-]", " ", first)
    return " ".join(first.lower().split())


def carried_over(graded: Graded, expect_docs: Sequence[str], previous: Previous) -> list[str]:
    """How an answer to a topic switch kept the previous topic: the same lead sentence as
    the previous answer, or a citation of an article the previous answer cited that this
    question does not expect. A refusal carries nothing over."""
    if graded.refused:
        return []
    found = []
    lead = lead_sentence(graded.answer)
    if lead and any(lead == lead_sentence(a) for a in previous.answers if not is_refusal(a)):
        found.append("repeats the previous answer's lead")
    stray = sorted({d for d in graded.cited_docs if d in previous.cited_docs}
                   - set(expect_docs)) if expect_docs else []  # fmt: skip
    if stray:
        found.append(f"cites the previous topic's {stray}")
    return found


def _reasons(case: EvalCase, g: Graded) -> list[str]:
    reasons = [f"{i.kind} figure {i.figure}: {i.detail}" for i in g.issues]
    if g.invalid_citations:
        reasons.append(f"citations to no passage: {g.invalid_citations}")
    if not g.refusal_ok:
        reasons.append("should have refused" if case.refuse else "refused but should answer")
    if g.facts_found < g.facts_total:
        missing = [f for f in case.must_contain if not fact_hits(g.answer, [f])]
        reasons.append(f"missing facts: {missing}")
    if g.forbidden:
        reasons.append(f"contains forbidden patterns: {g.forbidden}")
    if g.carry_over:
        reasons.append(f"carry-over from the previous topic: {'; '.join(g.carry_over)}")
    # Figures that always fail a case come first: they are the reason a maintainer reads.
    return sorted(reasons, key=lambda r: r.split(" figure ")[0] not in GATED_FIGURE_KINDS)


def _ratio(numerator: float, denominator: float) -> float | None:
    """A share, or None ("n/a") when there is nothing to measure: never a made-up 0 or 1."""
    return numerator / denominator if denominator else None


def summarize(
    cases: Sequence[EvalCase], graded: Sequence[Graded], k: int
) -> dict[str, float | None]:
    """The metric summary a report shows and the gate compares.

    A metric with no case to measure (refusal recall on a dataset with nothing to
    refuse) is None, shown as "n/a" and never gated. `hit_at_k` uses the run's
    retrieval k, which the report records beside it.
    """
    by_id = {c.id: c for c in cases}
    with_docs = [g for g in graded if by_id[g.case_id].expect_docs and not by_id[g.case_id].refuse]
    ranks = [
        _first_rank(g.retrieved_docs or g.cited_docs, by_id[g.case_id].expect_docs)
        for g in with_docs
    ]
    cited = [(g, d) for g in with_docs for d in g.cited_docs]
    figures = sum(g.figures for g in graded)
    count = {
        kind: sum(i.kind == kind for g in graded for i in g.issues)
        for kind in (*GATED_FIGURE_KINDS, "uncited")
    }
    judged = [g for g in graded if by_id[g.case_id].refuse is not None]
    should = [g for g in judged if by_id[g.case_id].refuse]
    did = [g for g in judged if g.refused]
    total_markers = sum(len(citations_in(g.answer)) for g in graded)
    invalid = _ratio(sum(len(g.invalid_citations) for g in graded), total_markers)
    latencies = [g.timings_ms["total"] for g in graded if g.timings_ms.get("total")]
    summary: dict[str, float | None] = {
        "cases": len(graded),
        "pass_rate": _ratio(sum(g.passed for g in graded), len(graded)),
        "hit_at_k": _ratio(sum(r is not None and r <= k for r in ranks), len(ranks)),
        "mrr": _ratio(sum(1 / r for r in ranks if r), len(ranks)),
        "citation_validity": None if invalid is None else 1 - invalid,
        "cited_from_expected": _ratio(
            sum(d in by_id[g.case_id].expect_docs for g, d in cited), len(cited)
        ),
        "fact_coverage": _ratio(
            sum(g.facts_found for g in graded), sum(g.facts_total for g in graded)
        ),
        "refusal_precision": _ratio(sum(bool(by_id[g.case_id].refuse) for g in did), len(did)),
        "refusal_recall": _ratio(sum(g.refused for g in should), len(should)),
        "false_refusals": sum(g.refused for g in judged if by_id[g.case_id].refuse is False),
        "figures_stated": figures,
        "carry_over_errors": (
            sum(bool(g.carry_over) for g in graded if by_id[g.case_id].switch)
            if any(by_id[g.case_id].switch for g in graded)
            else None
        ),
    }
    summary |= {f"{kind}_figures": n for kind, n in count.items()}
    summary |= {f"{kind}_figure_rate": _ratio(count[kind], figures) for kind in GATED_FIGURE_KINDS}
    summary["latency_p50_ms"] = statistics.median(latencies) if latencies else None
    summary["latency_p95_ms"] = p95(latencies) if latencies else None
    return summary


def _first_rank(docs: Sequence[str], expected: Sequence[str]) -> int | None:
    unique = list(dict.fromkeys(docs))
    return next((i for i, d in enumerate(unique, start=1) if d in expected), None)


def p95(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


# Figure issues that always fail a case and the run; the checker emits "uncited" too,
# which is reported but not gated. "off_occupation": the source sentence that states the
# value is about another occupation than the one the answer states it for.
GATED_FIGURE_KINDS = ("fabricated", "misattributed", "off_occupation")
