"""`advisor eval`: run a library's datasets, score them, compare with its baseline, gate.

A library (advisor.libraries) is a folder of articles, its eval datasets and its
baseline; each is answered from its own index.

Answers come from this advisor (any backend, guard on or off) or from a
JSON-lines file produced elsewhere, and are graded the same way. A run fails
when a case states a bad figure, when a metric crosses its threshold (for that
dataset), or when it falls below the library's baseline for the same
configuration (advisor.gate); `--update-baseline` rewrites the baseline on
purpose. A metric with nothing to measure in the chosen cases is "n/a" (None)
and is not gated.
"""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from advisor.answer import Advisor
from advisor.chunking import Chunk, chunk_corpus
from advisor.claims import FigureGuard
from advisor.corpus import load_corpus
from advisor.evalset import DatasetError, EvalCase
from advisor.gate import (
    BASELINE_PATH,
    HIGHER_IS_BETTER,
    LOWER_IS_BETTER,
    MetricRow,
    load_baseline,
    metric_rows,
    normalize_baseline,
    recorded_run,
    thresholds_for,
)
from advisor.labels import load_retrieval_set, retrieval_scores, retrieval_sets
from advisor.libraries import Library
from advisor.metrics import (
    GATED_FIGURE_KINDS,
    FigureChecker,
    Graded,
    Previous,
    grade,
    p95,
    summarize,
)
from advisor.settings import Settings
from advisor.text import QuestionError


class AnswerLine(BaseModel):
    """One line of an --answers file, as `advisor ask --json` prints citations."""

    id: str
    answer: str
    citations: list[dict[str, Any]] = []


@dataclass
class EvalRun:
    config: str
    cases: list[EvalCase]
    graded: list[Graded]
    metrics: dict[str, float | None]
    stage_latency: dict[str, dict[str, float]] = field(default_factory=dict)
    guard_would_remove: int | None = None
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    library: str = "default"
    k: int = 5
    rows: list[MetricRow] = field(default_factory=list)
    by_dataset: dict[str, dict[str, float | None]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def dataset(self) -> str:
        return self.config.rsplit(":", 1)[-1]

    @property
    def failed_cases(self) -> list[Graded]:
        return [g for g in self.graded if not g.passed]


def corpus_chunks(settings: Settings) -> list[Chunk]:
    """The checker reads the articles themselves, not the index it is checking."""
    return chunk_corpus(load_corpus(settings.corpus_dir).articles, settings.chunking)


def corpus_checker(settings: Settings) -> FigureChecker:
    """The independent figure checker for a library: its articles and their lexicon,
    derived afresh from the folder (with its library.yaml), not read from the index."""
    from advisor.knowledge.library import library_lexicon

    articles = load_corpus(settings.corpus_dir).articles
    lexicon = library_lexicon(articles, settings.corpus_dir)
    return FigureChecker(chunk_corpus(articles, settings.chunking), lexicon)


def with_backend(settings: Settings, backend: str | None) -> Settings:
    """Settings with another generator backend, validated like ADVISOR_GENERATOR__BACKEND."""
    if not backend:
        return settings
    chosen = {**settings.generator.model_dump(), "backend": backend}
    generator = type(settings.generator).model_validate(chosen)
    return settings.model_copy(update={"generator": generator})


# An --answers file may leave citation fields out; they are read as empty.
CITATION_DEFAULTS = dict.fromkeys(
    ("chunk_id", "doc_id", "title", "publisher", "section", "text"), ""
)


def run_with_advisor(
    advisor: Advisor, cases: Sequence[EvalCase], checker: FigureChecker, progress: bool = False
) -> tuple[list[Graded], int]:
    """Answer and grade every case; also count what the guard would remove when it is off."""
    from tqdm import tqdm

    graded, would_remove = [], 0
    for case in tqdm(cases, desc="eval", unit="case", disable=not progress):
        try:
            reply = advisor.ask(case.question, case.history)
        except QuestionError as error:
            graded.append(grade(case, str(error), [], [], checker))
            continue
        if not advisor.guard:
            check = FigureGuard({c.n: c for c in reply.citations})
            would_remove += sum(1 for r in check.check(reply.answer).removed if r.figure)
        numbers = [c.n for c in reply.citations]
        graded.append(
            grade(case, reply.answer, reply.citations, numbers, checker, reply.retrieved,
                  reply.timings_ms, relevance(advisor, reply), previous_answer(advisor, case))
        )  # fmt: skip
    return graded, would_remove


def previous_answer(advisor: Advisor | None, case: EvalCase) -> Previous | None:
    """For a topic switch: the previous question's answer, asked again with the turns before
    it (when an advisor is at hand), and the answer the history itself gives."""
    if not case.switch or case.previous is None:
        return None
    question, before = case.previous
    given = [t.content for t in case.history[len(before) + 1 :] if t.role == "assistant"]
    if advisor is None:
        return Previous(tuple(given))
    try:
        reply = advisor.ask(question, before)
    except QuestionError:
        return Previous(tuple(given))
    return Previous((reply.answer, *given), tuple(c.doc_id for c in reply.citations))


def relevance(advisor: Advisor, reply: Any) -> float | None:
    """The score the refusal threshold is compared with, for the report: the reply's own
    when it carries one, else recomputed from the same search (a few ms), else None."""
    if getattr(reply, "relevance", None) is not None:
        return reply.relevance
    query = getattr(reply, "standalone_question", "")
    try:
        return advisor.retriever.relevance(query, advisor.retriever.search(query).hits)
    except (AttributeError, TypeError, ValueError):  # another retriever's API: not shown
        return None


def labelled_retrieval(advisor: Advisor, library: Library) -> dict[str, float | None]:
    """The library's labelled sets: hit@3 and MRR of the advisor's retriever on its
    retrieval sets, and the refusal decision's precision and recall on its scope set."""
    return _retrieval_scores(advisor, library) | scope_scores(advisor, library.scope)


def scope_scores(advisor: Advisor, path: Path | None) -> dict[str, float | None]:
    """Precision and recall of the refusal decision (the whole `ask`, one turn each) on a
    scope set: `in_scope` questions must be answered, `out_of_scope` ones declined."""
    if path is None:
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        inside, outside = list(data["in_scope"]), list(data["out_of_scope"])
    except (OSError, yaml.YAMLError, KeyError, TypeError) as err:
        raise DatasetError(f"{path}: cannot read this scope set ({err})") from err

    def refused(question: str) -> bool:
        try:
            return advisor.ask(question).refused
        except QuestionError:
            return True

    wrongly = sum(refused(q) for q in inside)
    rightly = sum(refused(q) for q in outside)
    return {
        "scope_precision": rightly / (rightly + wrongly) if rightly + wrongly else None,
        "scope_recall": rightly / len(outside) if outside else None,
    }


def _retrieval_scores(advisor: Advisor, library: Library) -> dict[str, float | None]:
    k = max(3, advisor.settings.retrieval.k)

    def search(question: str) -> list[tuple[str, str]]:
        return [(h.chunk.doc_id, h.chunk.text) for h in advisor.retriever.search(question, k).hits]

    scores: dict[str, float | None] = {}
    for prefix, path in retrieval_sets(library.retrieval).items():
        try:
            cases = load_retrieval_set(path)
        except (OSError, KeyError, TypeError, ValueError) as err:
            raise DatasetError(f"{path}: cannot read this retrieval set ({err})") from err
        scores |= retrieval_scores(cases, search, k=3, prefix=prefix)
    return scores


def read_answers(path: Path) -> dict[str, AnswerLine]:
    answers: dict[str, AnswerLine] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise DatasetError(f"cannot read the answers file {path}: {err}") from err
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entry = AnswerLine.model_validate_json(line)
        except ValidationError as err:
            raise DatasetError(f"{path.name}, line {number}: {err.errors()[0]['msg']}") from err
        answers[entry.id] = entry
    return answers


def run_with_answers(
    answers: dict[str, AnswerLine], cases: Sequence[EvalCase], checker: FigureChecker
) -> tuple[list[Graded], list[str]]:
    graded, warnings = [], []
    by_id = {c.id: c for c in cases}
    unknown = sorted(set(answers) - set(by_id))
    if unknown and len(unknown) == len(answers):
        warnings.append(
            f"no answer matches a case of the chosen dataset ({len(unknown)} unknown ids, "
            f"e.g. {unknown[0]!r}): is --dataset the one these answers were written for?"
        )
    else:
        warnings += [f"answer for unknown case {u!r} ignored" for u in unknown]
    for case in cases:
        entry = answers.get(case.id)
        if entry is None:
            result = grade(case, "", [], [], checker)
            result.reasons.insert(0, "no answer given")
            graded.append(result)
            continue
        chunks = [Chunk.from_fields({**CITATION_DEFAULTS, "start": 0, "end": 0, **c})
                  for c in entry.citations]  # fmt: skip
        numbers = [int(c.get("n", i)) for i, c in enumerate(entry.citations, start=1)]
        previous = previous_answer(None, case)
        graded.append(grade(case, entry.answer, chunks, numbers, checker, previous=previous))
    return graded, warnings


def stage_latency(graded: Sequence[Graded]) -> dict[str, dict[str, float]]:
    stages: dict[str, list[float]] = {}
    for g in graded:
        for stage, ms in g.timings_ms.items():
            stages.setdefault(stage, []).append(ms)
    return {
        stage: {
            "p50": statistics.median(v),
            "p95": p95(v),
        }
        for stage, v in stages.items()
    }


def case_failures(graded: Sequence[Graded]) -> list[str]:
    """Cases that state a bad figure, named with the figure: these always fail the run."""
    return [
        f"{g.case_id}: {issue.kind} figure {issue.figure} ({issue.detail})"
        for g in graded
        for issue in g.issues
        if issue.kind in GATED_FIGURE_KINDS
    ]


def per_dataset(
    cases: Sequence[EvalCase], graded: Sequence[Graded], k: int
) -> dict[str, dict[str, float | None]]:
    names = list(dict.fromkeys(c.dataset for c in cases))
    if len(names) < 2:
        return {}
    by_id = {c.id: c for c in cases}
    return {
        name: summarize(
            [c for c in cases if c.dataset == name],
            [g for g in graded if by_id[g.case_id].dataset == name],
            k,
        )
        for name in names
    }


def evaluate(
    cases: Sequence[EvalCase],
    graded: list[Graded],
    config: str,
    baseline: dict[str, Any],
    k: int,
    extra: dict[str, float | None] | None = None,
) -> EvalRun:
    """Score the run and gate it: bad figures, this dataset's thresholds, the baseline.
    `extra` metrics (the labelled retrieval set's) are reported and gated with the rest."""
    baseline = normalize_baseline(baseline)
    metrics = summarize(cases, graded, k) | (extra or {})
    previous, warning = recorded_run(baseline, config, k)
    rows = metric_rows(metrics, thresholds_for(baseline, config.rpartition(":")[2]), previous)
    failures = case_failures(graded) + [p for row in rows for p in row.problems]
    by_dataset = per_dataset(cases, graded, k)
    for name, values in by_dataset.items():  # a dataset's own thresholds, inside a whole run
        own = baseline.get("thresholds", {}).get(name, {})
        failures += [f"{name}: {p}" for row in metric_rows(values, own, None) for p in row.problems]
    run = EvalRun(config, list(cases), graded, metrics, stage_latency(graded), failures=failures,
                  k=k, rows=rows, by_dataset=by_dataset)  # fmt: skip
    if warning:
        run.warnings.append(f"{warning}k={k}: compared with thresholds only")
    return run


def update_baseline(run: EvalRun, path: Path | None = BASELINE_PATH) -> None:
    """Record this run (and, for a whole run, each dataset's part) as the baseline."""
    if path is None:
        raise DatasetError("this library has no baseline file; name one with --baseline")
    baseline = load_baseline(path)
    keep = HIGHER_IS_BETTER + LOWER_IS_BETTER

    def kept(metrics: dict[str, float | None]) -> dict[str, float]:
        return {k: round(v, 4) for k, v in metrics.items() if k in keep and v is not None}

    record: dict[str, Any] = {"k": run.k, "metrics": kept(run.metrics)}
    if run.by_dataset:
        record["datasets"] = {name: kept(m) for name, m in run.by_dataset.items()}
    baseline["runs"][run.config] = record
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(baseline, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def effective_settings(settings: Settings) -> dict[str, Any]:
    """The settings a run used, as JSON, with secrets and URL passwords masked."""
    data = json.loads(settings.model_dump_json())
    url = data.get("generator", {}).get("base_url")
    if url:
        data["generator"]["base_url"] = re.sub(r"//[^/@]*@", "//***@", url)
    return data
