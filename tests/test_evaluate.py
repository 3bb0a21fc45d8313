"""The eval runner, the gate, the reports and the guard-off ablation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from advisor.answer import Advisor
from advisor.cli import main
from advisor.evalset import DatasetError, load_cases, load_dataset
from advisor.evaluate import (
    corpus_chunks,
    evaluate,
    gate,
    run_with_advisor,
    update_baseline,
)
from advisor.generators import ChatModelGenerator
from advisor.metrics import FigureChecker
from advisor.report import write_report
from advisor.retrieve import Retriever
from advisor.settings import Settings, get_settings

THRESHOLDS = {"thresholds": {"fabricated_figure_rate": {"max": 0.0}}, "runs": {}}


def test_datasets_cover_what_the_issue_asks_for() -> None:
    cases = load_cases()
    assert len(cases) >= 60
    assert {c.dataset for c in cases} == {"pay", "topics", "conversation", "safety"}
    text = json.dumps([c.model_dump() for c in cases])
    for term in ("CPC", "CCS", "CCA", "CPB", "COC", "CIC", "CMC", "PALS", "introvert", "remote"):
        assert term.lower() in text.lower(), term
    assert sum(c.refuse is True for c in cases) >= 5
    assert sum(len(c.turns) > 1 for c in cases) >= 4


def test_every_corpus_money_figure_is_asked_about(settings: Settings) -> None:
    from advisor.figures import extract_figures

    corpus_money = {f.value for ch in corpus_chunks(settings) for f in extract_figures(ch.text)
                    if f.kind == "money"}  # fmt: skip
    asked = json.dumps([c.model_dump() for c in load_cases()])
    missing = [v for v in corpus_money if f"{v:,.0f}" not in asked]
    assert missing == []


def test_malformed_dataset_is_reported_by_file_and_case(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- id: a\n  turns: [{assistant: hi}]\n")
    with pytest.raises(DatasetError, match=r"bad\.yaml, case 1"):
        load_dataset(bad)
    with pytest.raises(DatasetError, match="no dataset named"):
        load_cases("nope", tmp_path)


def write_answers(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_answers_file_with_bad_figures_fails_naming_cases_and_figures(
    corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    citation = {"n": 1, "chunk_id": "x", "doc_id": "medical-billing-vs-medical-coding",
                "title": "t", "publisher": "p", "section": "Salaries",
                "text": "Medical coders earn an average annual salary of about $43,260.",
                "start": 0, "end": 10}  # fmt: skip
    answers = write_answers(tmp_path / "answers.jsonl", [
        {"id": "pay-payscale-coder", "answer": "Medical coders earn $95,000 [1].",
         "citations": [citation]},
        {"id": "pay-payscale-biller", "answer": "Billers earn $43,260 [1].",
         "citations": [citation]},
    ])  # fmt: skip
    get_settings.cache_clear()
    code = main(["eval", "--dataset", "pay", "--answers", str(answers),
                 "--reports-dir", str(tmp_path / "reports")])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 1
    assert "pay-payscale-coder: fabricated figure $95,000" in err
    assert "pay-payscale-biller: off_occupation figure $43,260" in err
    assert "FAILED" in out
    report = next((tmp_path / "reports").glob("*/report.json"))
    data = json.loads(report.read_text())
    assert data["passed"] is False and data["metrics"]["fabricated_figures"] == 1
    assert "no answer given" in json.dumps(data["cases"])


def test_malformed_answers_file_is_a_clear_error(tmp_path: Path, capsys) -> None:
    answers = tmp_path / "answers.jsonl"
    answers.write_text('{"id": "x"}\n')
    code = main(["eval", "--answers", str(answers), "--reports-dir", str(tmp_path)])
    assert code == 2 and "line 1" in capsys.readouterr().err


def test_gate_compares_with_thresholds_and_baseline() -> None:
    baseline = {
        "thresholds": {"fact_coverage": {"min": 0.8}, "fabricated_figure_rate": {"max": 0.0}},
        "runs": {"extractive:all": {"fact_coverage": 0.95, "fabricated_figures": 0}},
    }
    good = {"fact_coverage": 0.95, "fabricated_figure_rate": 0.0, "fabricated_figures": 0}
    assert gate(good, "extractive:all", baseline) == []
    worse = {**good, "fact_coverage": 0.9}
    assert gate(worse, "extractive:all", baseline) == ["fact_coverage fell from 0.950 to 0.900"]
    assert gate(worse, "other:all", baseline) == []  # no baseline for that configuration
    bad = {**good, "fabricated_figure_rate": 0.1, "fabricated_figures": 2}
    failures = gate(bad, "extractive:all", baseline)
    assert any("above the threshold" in f for f in failures)
    assert any("fabricated_figures rose" in f for f in failures)


@pytest.mark.slow
def test_guard_off_ablation_catches_what_the_guard_stops(
    real_index: Settings, real_embedder, tmp_path: Path
) -> None:
    cases = [c for c in load_cases("pay") if c.id in {"pay-payscale-coder", "pay-biller-hourly"}]
    fabricating = "Medical coders earn $95,000 a year [1]. Billers earn $43,260 [2]."
    checker = FigureChecker(corpus_chunks(real_index))

    def advisor(guard: bool) -> Advisor:
        model = FakeListChatModel(responses=[fabricating])
        generator = ChatModelGenerator(model, real_index.answer, "fabricator")
        retriever = Retriever(real_index, real_embedder)
        return Advisor(real_index, retriever, generator, guard=guard)

    off, would_remove = run_with_advisor(advisor(False), cases, checker)
    run_off = evaluate(cases, off, "fabricator-noguard:pay", THRESHOLDS, 5)
    assert run_off.metrics["fabricated_figures"] >= 2
    assert any("off_occupation figure $43,260" in f for f in run_off.failures)
    assert would_remove >= 4
    assert run_off.failures and "fabricated figure $95,000" in run_off.failures[0]

    on, _ = run_with_advisor(advisor(True), cases, checker)
    run_on = evaluate(cases, on, "fabricator:pay", THRESHOLDS, 5)
    assert run_on.metrics["fabricated_figures"] == 0
    assert run_on.metrics["misattributed_figures"] == 0


@pytest.mark.slow
def test_default_backend_eval_passes_and_writes_reports(
    real_index: Settings, real_embedder, tmp_path: Path
) -> None:
    cases = load_cases()
    checker = FigureChecker(corpus_chunks(real_index))
    graded, _ = run_with_advisor(Advisor(real_index, Retriever(real_index, real_embedder)),
                                 cases, checker)  # fmt: skip
    run = evaluate(cases, graded, "extractive:all", THRESHOLDS, real_index.retrieval.k)
    assert run.metrics["fabricated_figure_rate"] == 0.0
    assert run.metrics["misattributed_figure_rate"] == 0.0
    assert run.metrics["refusal_recall"] == 1.0
    assert run.metrics["fact_coverage"] >= 0.9
    assert run.failures == []
    reports = tmp_path / "reports"
    first = write_report(run, reports)
    second = write_report(run, reports)
    assert {p.name for p in second.iterdir()} == {"report.json", "report.md", "report.html"}
    html = (second / "report.html").read_text()
    assert "<svg" in html and html.count("<circle") >= 2 * 5  # two runs, five metrics
    assert "pay-payscale-coder" in (first / "report.md").read_text()
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(THRESHOLDS))
    update_baseline(run, baseline)
    saved = json.loads(baseline.read_text())
    assert saved["runs"]["extractive:all"]["fabricated_figure_rate"] == 0.0
    assert saved["thresholds"] == THRESHOLDS["thresholds"]
