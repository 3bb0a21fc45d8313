"""The eval report a maintainer reads after a regression: built from hand-made graded runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

from advisor.evalset import EvalCase
from advisor.evaluate import evaluate, update_baseline
from advisor.gate import ALL
from advisor.metrics import Graded
from advisor.report import write_report
from advisor.settings import Settings


def cases() -> list[EvalCase]:
    return [
        EvalCase.model_validate({"id": f"case-{i}", "turns": [{"user": f"Question {i}?"}],
                                 "dataset": "pay", "expect_docs": ["doc-a"],
                                 "must_contain": [f"fact {i}"]})
        for i in range(4)
    ]  # fmt: skip


def answered(i: int, ok: bool = True) -> Graded:
    answer = f"The answer has fact {i} [1]." if ok else "The answer misses it [1]."
    retrieved = ["doc-b", "doc-a", "doc-a"]
    graded = Graded(f"case-{i}", answer, False, ["doc-a"], retrieved, facts_total=1,
                    facts_found=int(ok), relevance=0.91)  # fmt: skip
    graded.reasons = [] if ok else [f"missing facts: ['fact {i}']"]
    return graded


BASELINE = {"thresholds": {ALL: {"fact_coverage": {"min": 0.8}}}, "runs": {}}


def test_a_forced_regression_names_the_failing_cases_first(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(BASELINE))
    good = evaluate(cases(), [answered(i) for i in range(4)], "extractive:all", BASELINE, 5)
    assert good.failures == []
    write_report(good, reports)
    update_baseline(good, baseline)

    graded = [answered(0), answered(1), answered(2, ok=False), answered(3, ok=False)]
    bad = evaluate(cases(), graded, "extractive:all", json.loads(baseline.read_text()), 5)
    bad.settings = Settings().model_dump(mode="json") | {"eval": {"library": "default"}}
    folder = write_report(bad, reports)

    md = (folder / "report.md").read_text()
    assert md.startswith("# Eval report — default extractive:all — FAILED")
    assert "| metric | value | baseline | threshold | change | pass |" in md
    assert "| fact_coverage | 0.500 | 1.000 | ≥ 0.8 | -0.500 | FAIL |" in md
    assert "| pass_rate | 0.500 | 1.000 |  | -0.500 | FAIL |" in md
    # failing cases come before the metrics, each with its question, docs and reason
    assert md.index("## Failing cases") < md.index("## Metrics")
    failing = md[md.index("## Failing cases") : md.index("## Metrics")]
    assert re.findall(r"### (case-\d)", failing) == ["case-2", "case-3"]
    expected = (
        "- question: Question 2?",
        "- retrieved docs: doc-b, doc-a ×2",
        "- cited docs: doc-a",
        "- relevance: 0.910",
        "missing facts: ['fact 2']",
    )
    for text in expected:
        assert text in failing, text
    # the full case table lists failures first too
    table = md[md.index("## Cases") :]
    assert table.index("case-2") < table.index("case-0")
    assert '"library": "default"' in md  # the settings used

    html = (folder / "report.html").read_text()
    assert html.count("<svg") == len([r for r in bad.rows if r.gated])
    assert "fact_coverage over runs" in html and "pass_rate over runs" in html
    assert "stroke-dasharray" in html  # the threshold line
    data = json.loads((folder / "report.json").read_text())
    assert [c["id"] for c in data["cases"][:2]] == ["case-2", "case-3"]
    row = next(r for r in data["table"] if r["name"] == "fact_coverage")
    assert row == {"name": "fact_coverage", "value": 0.5, "baseline": 1.0,
                   "threshold": {"min": 0.8}, "change": -0.5, "status": "FAIL",
                   "problems": ["fact_coverage = 0.500 is below the threshold 0.8",
                                "fact_coverage fell from 1.000 to 0.500"]}  # fmt: skip


def test_a_metric_with_nothing_to_measure_shows_n_a(tmp_path: Path) -> None:
    baseline = {"thresholds": {ALL: {"refusal_recall": {"min": 0.9}}}, "runs": {}}
    run = evaluate(cases(), [answered(i) for i in range(4)], "extractive:pay", baseline, 5)
    md = (write_report(run, tmp_path) / "report.md").read_text()
    assert "| refusal_recall | n/a |  | ≥ 0.9 |  | n/a |" in md
    assert "PASSED" in md


def test_secrets_are_masked_in_the_recorded_settings() -> None:
    from advisor.evaluate import effective_settings
    from advisor.settings import GeneratorSettings

    generator = GeneratorSettings(api_key="sk-secret", base_url="http://user:pw@host:8000/v1")
    data = effective_settings(Settings(generator=generator))
    text = json.dumps(data)
    assert "sk-secret" not in text and "pw@" not in text
    assert data["generator"]["base_url"] == "http://***@host:8000/v1"


def test_charts_plot_earlier_runs_of_the_same_library_config_and_k(tmp_path: Path) -> None:
    from advisor.report import history

    graded = [answered(i) for i in range(4)]
    for library, k in (("default", 5), ("default", 5), ("default", 3), ("careers", 5)):
        run = evaluate(cases(), graded, "extractive:all", BASELINE, k)
        run.library = library
        write_report(run, tmp_path)
    assert len(history(tmp_path, "extractive:all", "default", 5)) == 2
    assert len(history(tmp_path, "extractive:all", "default", 3)) == 1
    assert len(history(tmp_path, "extractive:all", "careers", 5)) == 1
    assert history(tmp_path, "extractive:pay", "default", 5) == []
