"""`advisor eval`: run a library's datasets, score them, compare with its baseline, gate.

A library is a folder of articles, its eval datasets and its baseline. The first
library is corpus/ with evals/datasets/ and evals/baseline.json, graded against
the index `advisor index` built; another lives in evals/corpora/<name>/ (corpus/,
datasets/, retrieval.yaml, baseline.json) and is graded against a temporary index
built for the run, so index/ is never touched.

Answers come from this advisor (any backend, guard on or off) or from a
JSON-lines file produced elsewhere, and are graded the same way. The gate
fails when a case states a bad figure, when a metric crosses its threshold (for
that dataset), or when it falls below the library's baseline for the same
configuration; `--update-baseline` rewrites the baseline on purpose. A metric
with nothing to measure in the chosen cases is "n/a" (None) and is not gated.
"""

from __future__ import annotations

import json
import re
import statistics
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from advisor.answer import Advisor
from advisor.chunking import Chunk, chunk_corpus
from advisor.claims import FigureGuard
from advisor.corpus import load_corpus
from advisor.evalset import DATASET_DIR, DatasetError, EvalCase
from advisor.labels import RETRIEVAL_SET, load_retrieval_set, retrieval_scores, retrieval_sets
from advisor.metrics import GATED_FIGURE_KINDS, FigureChecker, Graded, grade, p95, summarize
from advisor.settings import PROJECT_ROOT, IndexSettings, Settings
from advisor.text import QuestionError

BASELINE_PATH = PROJECT_ROOT / "evals" / "baseline.json"
CORPORA_DIR = PROJECT_ROOT / "evals" / "corpora"
HIGHER_IS_BETTER = (
    "pass_rate",
    "hit_at_k",
    "mrr",
    "citation_validity",
    "cited_from_expected",
    "fact_coverage",
    "refusal_precision",
    "refusal_recall",
    "labelled_hit_at_3",
    "labelled_mrr",
    "paraphrase_hit_at_3",
    "paraphrase_mrr",
)
LOWER_IS_BETTER = (
    *(f"{kind}_figure_rate" for kind in GATED_FIGURE_KINDS),
    *(f"{kind}_figures" for kind in GATED_FIGURE_KINDS),
    "false_refusals",
)
TOLERANCE = 0.005
ALL = "*"  # the thresholds section that applies to every dataset and to whole runs
# A library whose baseline.json does not exist yet is gated by these.
DEFAULT_THRESHOLDS: dict[str, dict[str, float]] = {
    "citation_validity": {"min": 1.0},
    "cited_from_expected": {"min": 0.6},
    "fact_coverage": {"min": 0.8},
    "hit_at_k": {"min": 0.85},
    "refusal_precision": {"min": 0.9},
    "refusal_recall": {"min": 0.9},
    **{f"{kind}_figures": {"max": 0} for kind in GATED_FIGURE_KINDS},
    "false_refusals": {"max": 0},
}


class AnswerLine(BaseModel):
    """One line of an --answers file, as `advisor ask --json` prints citations."""

    id: str
    answer: str
    citations: list[dict[str, Any]] = []


@dataclass(frozen=True)
class Library:
    """What one eval grades: articles, datasets, and the baseline they are gated by."""

    name: str
    corpus: Path | None  # None: the settings' corpus_dir, through the index `advisor index` built
    datasets: Path  # the folder dataset names are looked up in
    baseline: Path | None  # None: no file; DEFAULT_THRESHOLDS gate, nothing can be recorded
    retrieval: Path | None = None  # its labelled retrieval set, if it has one

    @classmethod
    def from_dir(cls, folder: Path) -> Library:
        """evals/corpora/<name>/: corpus/, datasets/, baseline.json, retrieval.yaml."""
        if not (folder / "corpus").is_dir():
            raise DatasetError(f"{folder} is not a library: it has no corpus/ folder")
        labelled = folder / "retrieval.yaml"
        return cls(folder.name, folder / "corpus", folder / "datasets", folder / "baseline.json",
                   labelled if labelled.is_file() else None)  # fmt: skip


def choose_library(
    library: Path | None = None, corpus: Path | None = None, baseline: Path | None = None
) -> Library:
    """The library `advisor eval` grades, from --library, --corpus and --baseline.

    With --corpus alone, a folder named corpus/ beside a datasets/ folder is read
    as that library (its datasets and baseline.json); any other folder is graded
    with the first library's datasets unless --dataset says otherwise, and has no
    baseline unless --baseline names one.
    """
    if library is not None:
        chosen = Library.from_dir(library)
    elif corpus is not None:
        root = corpus.parent
        if corpus.name == "corpus" and (root / "datasets").is_dir():
            chosen = Library.from_dir(root)
        else:
            chosen = Library(corpus.name, corpus, DATASET_DIR, None)
    else:
        chosen = Library("default", None, DATASET_DIR, BASELINE_PATH, RETRIEVAL_SET)
    if chosen.corpus is not None and not chosen.corpus.is_dir():
        raise DatasetError(f"no corpus folder at {chosen.corpus}")
    if baseline is not None:
        chosen = replace(chosen, baseline=baseline)
    return chosen


def library_dirs(root: Path = CORPORA_DIR) -> list[Path]:
    """The extra libraries in evals/corpora/ (folders with a corpus/)."""
    return sorted(p for p in root.glob("*") if (p / "corpus").is_dir())


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


def with_backend(settings: Settings, backend: str | None) -> Settings:
    """Settings with another generator backend, validated like ADVISOR_GENERATOR__BACKEND."""
    if not backend:
        return settings
    chosen = {**settings.generator.model_dump(), "backend": backend}
    generator = type(settings.generator).model_validate(chosen)
    return settings.model_copy(update={"generator": generator})


@contextmanager
def library_advisor(settings: Settings, library: Library) -> Iterator[Advisor]:
    """An advisor over the library: the built index for the first, else a temporary one."""
    if library.corpus is None:
        yield Advisor(settings)
        return
    from advisor.embeddings import SentenceEmbedder
    from advisor.index import build_index
    from advisor.retrieve import Retriever

    with tempfile.TemporaryDirectory(prefix="advisor-eval-") as folder:
        index = IndexSettings(path=Path(folder) / "index")
        temporary = settings.model_copy(update={"corpus_dir": library.corpus, "index": index})
        embedder = SentenceEmbedder(temporary.embedding)
        build_index(temporary, embedder)
        yield Advisor(temporary, Retriever(temporary, embedder))


def library_settings(settings: Settings, library: Library) -> Settings:
    """The settings a run of this library uses (its corpus, for the checker and the report)."""
    if library.corpus is None:
        return settings
    return settings.model_copy(update={"corpus_dir": library.corpus})


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
                  reply.timings_ms, relevance(advisor, reply))
        )  # fmt: skip
    return graded, would_remove


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
    """hit@3 and MRR of the advisor's retriever on the library's labelled retrieval sets."""
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


# ---- the baseline file -------------------------------------------------------------------


def load_baseline(path: Path | None = BASELINE_PATH) -> dict[str, Any]:
    """The baseline in its current format (see README, "Evals"); a missing file is the
    default thresholds and no recorded run."""
    if path is None or not path.exists():
        return {"format": 2, "thresholds": {ALL: dict(DEFAULT_THRESHOLDS)}, "runs": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise DatasetError(f"the baseline {path} is unreadable: {err}") from err
    return normalize_baseline(data)


def normalize_baseline(data: dict[str, Any]) -> dict[str, Any]:
    """Read the first format too: flat thresholds, flat runs, `hit_at_5`."""
    thresholds = data.get("thresholds", {})
    if any(isinstance(v, dict) and ({"min", "max"} & set(v)) for v in thresholds.values()):
        thresholds = {ALL: thresholds}
    thresholds = {ds: {_renamed(m): lim for m, lim in t.items()} for ds, t in thresholds.items()}
    runs = {}
    for config, run in data.get("runs", {}).items():
        if "metrics" not in run:
            k = 5 if "hit_at_5" in run else None
            run = {"k": k, "metrics": run}
        run = {**run, "metrics": {_renamed(m): v for m, v in run["metrics"].items()}}
        runs[config] = run
    return {**data, "format": 2, "thresholds": thresholds, "runs": runs}


def _renamed(metric: str) -> str:
    return "hit_at_k" if re.fullmatch(r"hit_at_\d+", metric) else metric


def thresholds_for(baseline: dict[str, Any], dataset: str) -> dict[str, dict[str, float]]:
    """The thresholds for one dataset (or "all"): the common ones, then its own."""
    sections = baseline.get("thresholds", {})
    own = sections.get(dataset, {}) if dataset not in (ALL, "all") else {}
    return {**sections.get(ALL, {}), **own}


def recorded_run(
    baseline: dict[str, Any], config: str, k: int | None
) -> tuple[dict[str, float] | None, str | None]:
    """The baseline metrics this configuration is compared with, and a warning if none fit.

    A one-dataset run without its own record is compared with that dataset's part of
    the whole run's record. A record made with another retrieval k is not compared.
    """
    runs = baseline.get("runs", {})
    head, _, dataset = config.rpartition(":")
    run = runs.get(config)
    metrics = run.get("metrics") if run else None
    if run is None and f"{head}:all" in runs:
        run = runs[f"{head}:all"]
        metrics = run.get("datasets", {}).get(dataset)
    if run is None or metrics is None:
        return None, None
    if k is not None and run.get("k") is not None and run["k"] != k:
        return None, f"the baseline for {config} was recorded with k={run['k']}, this run has "
    return metrics, None


# ---- the gate ----------------------------------------------------------------------------


@dataclass
class MetricRow:
    """One line of the metrics table: the value, what it is held to, and the verdict."""

    name: str
    value: float | None
    baseline: float | None = None
    threshold: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def change(self) -> float | None:
        if self.value is None or self.baseline is None:
            return None
        return self.value - self.baseline

    @property
    def gated(self) -> bool:
        return bool(self.threshold) or self.baseline is not None

    @property
    def status(self) -> str:
        """pass, FAIL, n/a (gated but nothing to measure), or "" (reported only)."""
        if not self.gated:
            return ""
        if self.value is None:
            return "n/a"
        return "FAIL" if self.problems else "pass"

    @property
    def threshold_text(self) -> str:
        return threshold_text(self.threshold)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "baseline": self.baseline,
                "threshold": self.threshold, "change": self.change, "status": self.status,
                "problems": self.problems}  # fmt: skip


def threshold_text(limit: dict[str, float]) -> str:
    """`≥ 0.9`, `≤ 0`, or both."""
    parts = [f"≥ {limit['min']}" if "min" in limit else "",
             f"≤ {limit['max']}" if "max" in limit else ""]  # fmt: skip
    return ", ".join(p for p in parts if p)


def number_text(value: float | None) -> str:
    """A share or rate with three decimals, a count as an integer, None as n/a."""
    if value is None:
        return "n/a"
    return str(value) if isinstance(value, int) else f"{value:.3f}"


def change_text(change: float | None) -> str:
    """`+0.012`, `-0.500`, `0` (within rounding), or "" when there is nothing to compare."""
    if change is None:
        return ""
    return "0" if abs(change) < 0.0005 else f"{change:+.3f}"


def metric_rows(
    metrics: dict[str, float | None],
    thresholds: dict[str, dict[str, float]],
    previous: dict[str, float] | None,
) -> list[MetricRow]:
    """Every metric with its baseline and threshold; a metric that is None is never gated."""
    rows = []
    for name, value in metrics.items():
        row = MetricRow(name, value, threshold=dict(thresholds.get(name, {})))
        if previous and name in previous and name in HIGHER_IS_BETTER + LOWER_IS_BETTER:
            row.baseline = previous[name]
        rows.append(row)
        if value is None:
            continue
        limit, shown = row.threshold, number_text(value)
        if "min" in limit and value < limit["min"]:
            row.problems.append(f"{name} = {shown} is below the threshold {limit['min']}")
        if "max" in limit and value > limit["max"]:
            row.problems.append(f"{name} = {shown} is above the threshold {limit['max']}")
        if row.baseline is None:
            continue
        was = number_text(row.baseline)
        if name in HIGHER_IS_BETTER and value < row.baseline - TOLERANCE:
            row.problems.append(f"{name} fell from {was} to {shown}")
        if name in LOWER_IS_BETTER and value > row.baseline + TOLERANCE:
            row.problems.append(f"{name} rose from {was} to {shown}")
    return rows


def gate(
    metrics: dict[str, float | None], config: str, baseline: dict[str, Any], k: int | None = None
) -> list[str]:
    """Every reason these metrics fail: the dataset's thresholds, then regressions."""
    baseline = normalize_baseline(baseline)
    dataset = config.rpartition(":")[2]
    previous, _ = recorded_run(baseline, config, k)
    rows = metric_rows(metrics, thresholds_for(baseline, dataset), previous)
    return [p for row in rows for p in row.problems]


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
