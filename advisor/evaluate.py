"""`advisor eval`: run the datasets, score them, compare with the baseline, gate.

Answers come from this advisor (any backend, guard on or off) or from a
JSON-lines file produced elsewhere, and are graded the same way. The gate
fails when a metric crosses its threshold or falls below the committed
baseline for the same configuration; `--update-baseline` rewrites it on purpose.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from advisor.answer import Advisor
from advisor.chunking import Chunk, chunk_corpus
from advisor.claims import FigureGuard
from advisor.corpus import load_corpus
from advisor.evalset import DatasetError, EvalCase
from advisor.metrics import FigureChecker, Graded, grade, p95, summarize
from advisor.settings import PROJECT_ROOT, Settings
from advisor.text import QuestionError

BASELINE_PATH = PROJECT_ROOT / "evals" / "baseline.json"
HIGHER_IS_BETTER = (
    "pass_rate",
    "hit_at_5",
    "mrr",
    "citation_validity",
    "cited_from_expected",
    "fact_coverage",
    "refusal_precision",
    "refusal_recall",
)
LOWER_IS_BETTER = (
    "fabricated_figure_rate",
    "misattributed_figure_rate",
    "fabricated_figures",
    "misattributed_figures",
)
TOLERANCE = 0.005


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
    metrics: dict[str, float]
    stage_latency: dict[str, dict[str, float]] = field(default_factory=dict)
    guard_would_remove: int | None = None
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def corpus_chunks(settings: Settings) -> list[Chunk]:
    """The checker reads the articles themselves, not the index it is checking."""
    return chunk_corpus(load_corpus(settings.corpus_dir).articles, settings.chunking)


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
                  reply.timings_ms)
        )  # fmt: skip
    return graded, would_remove


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
    for unknown in sorted(set(answers) - set(by_id)):
        warnings.append(f"answer for unknown case {unknown!r} ignored")
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
        graded.append(grade(case, entry.answer, chunks, numbers, checker))
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


def load_baseline(path: Path = BASELINE_PATH) -> dict[str, Any]:
    if not path.exists():
        return {"thresholds": {}, "runs": {}}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise DatasetError(f"the baseline {path} is unreadable: {err}") from err


def gate(metrics: dict[str, float], config: str, baseline: dict[str, Any]) -> list[str]:
    """Every reason this run must fail: thresholds first, then regressions against the baseline."""
    failures = []
    for name, limit in baseline.get("thresholds", {}).items():
        value = metrics.get(name)
        if value is None:
            continue
        if "min" in limit and value < limit["min"]:
            failures.append(f"{name} = {value:.3f} is below the threshold {limit['min']}")
        if "max" in limit and value > limit["max"]:
            failures.append(f"{name} = {value:.3f} is above the threshold {limit['max']}")
    previous = baseline.get("runs", {}).get(config)
    for name in HIGHER_IS_BETTER if previous else ():
        if name in previous and metrics.get(name, 0) < previous[name] - TOLERANCE:
            failures.append(f"{name} fell from {previous[name]:.3f} to {metrics[name]:.3f}")
    for name in LOWER_IS_BETTER if previous else ():
        if name in previous and metrics.get(name, 0) > previous[name] + TOLERANCE:
            failures.append(f"{name} rose from {previous[name]:.3f} to {metrics[name]:.3f}")
    return failures


def case_failures(graded: Sequence[Graded]) -> list[str]:
    """Cases that state a bad figure, named with the figure: these always fail the run."""
    return [
        f"{g.case_id}: {issue.kind} figure {issue.figure} ({issue.detail})"
        for g in graded
        for issue in g.issues
        if issue.kind in ("fabricated", "misattributed", "off_occupation")
    ]


def update_baseline(run: EvalRun, path: Path = BASELINE_PATH) -> None:
    baseline = load_baseline(path)
    keep = HIGHER_IS_BETTER + LOWER_IS_BETTER
    baseline.setdefault("runs", {})[run.config] = {
        k: round(v, 4) for k, v in run.metrics.items() if k in keep
    }
    path.write_text(json.dumps(baseline, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def evaluate(
    cases: Sequence[EvalCase],
    graded: list[Graded],
    config: str,
    baseline: dict[str, Any],
    k: int,
) -> EvalRun:
    metrics = summarize(cases, graded, k)
    failures = case_failures(graded) + gate(metrics, config, baseline)
    return EvalRun(config, list(cases), graded, metrics, stage_latency(graded), failures=failures)
