"""The gate: a library's baseline file, its thresholds, and the verdict on each metric.

A baseline file (evals/baseline.json, or evals/corpora/<name>/baseline.json) holds
thresholds, common ("*") and per dataset, and the runs `advisor eval
--update-baseline` recorded, per configuration, with the retrieval k and each
dataset's part (format 2; see README, "Evals"). A metric that is None ("n/a":
nothing to measure in the chosen cases) is never gated.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor.evalset import DatasetError
from advisor.metrics import GATED_FIGURE_KINDS
from advisor.settings import PROJECT_ROOT

BASELINE_PATH = PROJECT_ROOT / "evals" / "baseline.json"
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
    "scope_precision",
    "scope_recall",
)
LOWER_IS_BETTER = (
    *(f"{kind}_figure_rate" for kind in GATED_FIGURE_KINDS),
    *(f"{kind}_figures" for kind in GATED_FIGURE_KINDS),
    "false_refusals",
    "carry_over_errors",
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
