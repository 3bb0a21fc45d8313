"""The eval runner, the gate, the reports and the guard-off ablation."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from advisor.answer import Advisor
from advisor.cli import main
from advisor.evalset import DatasetError, EvalCase, load_cases, load_dataset
from advisor.evaluate import corpus_chunks, evaluate, run_with_advisor, update_baseline
from advisor.gate import (
    ALL,
    BASELINE_PATH,
    gate,
    load_baseline,
    normalize_baseline,
    thresholds_for,
)
from advisor.generators import ChatModelGenerator
from advisor.libraries import CORPORA_DIR, library_dirs
from advisor.metrics import GATED_FIGURE_KINDS, FigureChecker, FigureIssue, Graded
from advisor.report import write_report
from advisor.retrieve import Retriever
from advisor.settings import Settings, get_settings

THRESHOLDS = {"thresholds": {ALL: {"fabricated_figures": {"max": 0}}}, "runs": {}}


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
        "thresholds": {ALL: {"fact_coverage": {"min": 0.8}, "fabricated_figures": {"max": 0}}},
        "runs": {"extractive:all": {"k": 5, "metrics": {"fact_coverage": 0.95,
                                                       "fabricated_figures": 0}}},
    }  # fmt: skip
    good = {"fact_coverage": 0.95, "fabricated_figures": 0}
    assert gate(good, "extractive:all", baseline, 5) == []
    worse = {**good, "fact_coverage": 0.9}
    assert gate(worse, "extractive:all", baseline, 5) == ["fact_coverage fell from 0.950 to 0.900"]
    assert gate(worse, "other:all", baseline, 5) == []  # no baseline for that configuration
    assert gate(worse, "extractive:all", baseline, 3) == []  # recorded with another k
    bad = {**good, "fabricated_figures": 2}
    failures = gate(bad, "extractive:all", baseline, 5)
    assert any("above the threshold" in f for f in failures)
    assert any("fabricated_figures rose" in f for f in failures)


def test_the_first_baseline_format_is_still_read() -> None:
    old = {
        "thresholds": {"hit_at_5": {"min": 0.85}, "refusal_recall": {"min": 0.9}},
        "runs": {"extractive:all": {"hit_at_5": 1.0, "pass_rate": 0.9}},
    }
    new = normalize_baseline(old)
    assert new["thresholds"] == {ALL: {"hit_at_k": {"min": 0.85}, "refusal_recall": {"min": 0.9}}}
    assert new["runs"]["extractive:all"] == {"k": 5, "metrics": {"hit_at_k": 1.0, "pass_rate": 0.9}}
    assert gate({"hit_at_k": 0.5}, "extractive:all", old, 5)[0].startswith("hit_at_k = 0.500")


def test_the_committed_baselines_gate_every_figure_kind() -> None:
    for path in [BASELINE_PATH, *(d / "baseline.json" for d in library_dirs())]:
        if path.exists():
            limits = thresholds_for(load_baseline(path), "all")
            for kind in GATED_FIGURE_KINDS:
                assert limits[f"{kind}_figures"] == {"max": 0}, (path, kind)
    assert thresholds_for(load_baseline(None), "all")["off_occupation_figures"] == {"max": 0}


def pay_and_safety() -> tuple[list[EvalCase], list[Graded]]:
    cases = [
        EvalCase.model_validate({"id": "p", "turns": [{"user": "pay?"}], "dataset": "pay",
                                 "expect_docs": ["a"], "must_contain": ["$1"]}),
        EvalCase.model_validate({"id": "s", "turns": [{"user": "pizza?"}], "dataset": "safety",
                                 "refuse": True}),
    ]  # fmt: skip
    graded = [
        Graded("p", "It is $1 [1].", False, ["a"], ["a"], facts_found=1, facts_total=1),
        Graded("s", "It is tasty.", False, [], ["a"]),
    ]
    graded[1].reasons = ["should have refused"]
    return cases, graded


def test_thresholds_apply_per_dataset_and_nothing_to_measure_is_not_gated() -> None:
    cases, graded = pay_and_safety()
    baseline = {"thresholds": {ALL: {"refusal_recall": {"min": 0.9}, "fact_coverage": {"min": 0.8}},
                               "safety": {"refusal_recall": {"min": 1.0}}}, "runs": {}}  # fmt: skip
    pay = evaluate(cases[:1], graded[:1], "extractive:pay", baseline, 5)
    assert pay.metrics["refusal_recall"] is None
    assert pay.failures == []
    status = {row.name: row.status for row in pay.rows}
    assert status["refusal_recall"] == "n/a" and status["fact_coverage"] == "pass"
    whole = evaluate(cases, graded, "extractive:all", baseline, 5)
    assert "refusal_recall = 0.000 is below the threshold 0.9" in whole.failures
    assert "safety: refusal_recall = 0.000 is below the threshold 1.0" in whole.failures
    assert set(whole.by_dataset) == {"pay", "safety"}


def test_any_k_works_and_a_baseline_of_another_k_is_not_compared(tmp_path: Path) -> None:
    cases, graded = pay_and_safety()
    run = evaluate(cases, graded, "extractive:all", THRESHOLDS, 5)
    baseline = tmp_path / "baseline.json"
    update_baseline(run, baseline)
    saved = json.loads(baseline.read_text())["runs"]["extractive:all"]
    assert saved["k"] == 5 and saved["metrics"]["hit_at_k"] == 1.0
    assert saved["datasets"]["pay"]["fact_coverage"] == 1.0
    assert "refusal_recall" not in saved["datasets"]["pay"]  # n/a is not recorded
    worse = [graded[0], graded[1]]
    graded[0].retrieved_docs = ["b"]
    for k in (2, 3):
        other = evaluate(cases, worse, "extractive:all", load_baseline(baseline), k)
        assert other.metrics["hit_at_k"] == 0.0 and other.k == k
        assert not any("fell from" in f for f in other.failures)
        assert "recorded with k=5" in other.warnings[0]
    same_k = evaluate(cases, worse, "extractive:all", load_baseline(baseline), 5)
    assert "hit_at_k fell from 1.000 to 0.000" in same_k.failures
    one = evaluate(cases[:1], worse[:1], "extractive:pay", load_baseline(baseline), 5)
    assert "hit_at_k fell from 1.000 to 0.000" in one.failures  # the whole run's pay part


def test_off_occupation_figures_fail_the_run_naming_the_case() -> None:
    cases, graded = pay_and_safety()
    graded[0].issues = [FigureIssue("$1", "off_occupation", "the source is about billers")]
    run = evaluate(cases, graded, "extractive:all", {"runs": {}}, 5)
    assert run.failures[0] == "p: off_occupation figure $1 (the source is about billers)"
    assert run.metrics["off_occupation_figures"] == 1


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
    assert html.count("<svg") == len([r for r in run.rows if r.gated])  # one chart per gated
    assert html.count("<circle") >= 2 * html.count("<svg")  # ... each with both runs
    assert "pay-payscale-coder" in (first / "report.md").read_text()
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(THRESHOLDS))
    update_baseline(run, baseline)
    saved = json.loads(baseline.read_text())
    assert saved["runs"]["extractive:all"]["metrics"]["fabricated_figure_rate"] == 0.0
    assert saved["thresholds"] == THRESHOLDS["thresholds"]


TINY = Path(__file__).parent / "data" / "tiny-library"


def test_answers_are_graded_against_another_librarys_cases(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    citation = {"n": 1, "doc_id": "welder-career", "section": "Welder salary",
                "text": "Welders earn a median salary of $47,010 per year, according to a 2022 "
                        "survey."}  # fmt: skip
    answers = write_answers(tmp_path / "answers.jsonl", [
        {"id": "tiny-welder-pay", "answer": "Welders earn $47,010 a year [1].",
         "citations": [citation]},
        {"id": "tiny-paralegal-duties", "answer": "Paralegals support lawyers [1].",
         "citations": [{**citation, "doc_id": "paralegal-career"}]},
    ])  # fmt: skip
    reports = tmp_path / "reports"
    code = main(["eval", "--library", str(TINY), "--dataset", "basics", "--answers", str(answers),
                 "--reports-dir", str(reports)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    data = json.loads(next(reports.glob("*/report.json")).read_text())
    assert data["library"] == "tiny-library" and data["config"] == "answers:basics"
    assert data["metrics"]["pass_rate"] == 1.0 and data["metrics"]["refusal_recall"] is None
    assert data["settings"]["eval"]["corpus"] == str(TINY / "corpus")
    assert not (tmp_path / "index").exists()

    # the same cases chosen by file, and by folder, with --corpus instead of --library
    single = ["--dataset", str(TINY / "datasets" / "basics.yaml")]
    for dataset in (single, ["--dataset", str(TINY / "datasets")]):
        code = main(["eval", "--corpus", str(TINY / "corpus"), *dataset, "--answers", str(answers),
                     "--reports-dir", str(reports)])  # fmt: skip
        out = capsys.readouterr().out
        assert ("0 of 2 cases failed" in out) if dataset == single else ("1 of 3" in out), out
    assert "tiny-pizza: no answer given" in out  # the failing case is named with its reason


def test_answers_for_another_dataset_are_a_clear_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = write_answers(tmp_path / "a.jsonl", [{"id": "pay-payscale-coder", "answer": "x"}])
    code = main(["eval", "--library", str(TINY), "--answers", str(answers),
                 "--reports-dir", str(tmp_path / "r")])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 1
    assert "no answer matches a case of the chosen dataset" in captured.err


def test_unknown_dataset_or_library_is_a_clear_error(tmp_path: Path, capsys) -> None:
    assert main(["eval", "--library", str(TINY), "--dataset", "pay"]) == 2
    assert "no dataset named 'pay'" in capsys.readouterr().err
    assert main(["eval", "--library", str(tmp_path)]) == 2
    assert "has no corpus/ folder" in capsys.readouterr().err


def test_eval_help_lists_datasets_and_clean_flags(capsys: pytest.CaptureFixture[str]) -> None:
    main(["eval", "--help"])
    text = capsys.readouterr().out
    assert "<bool>" not in text
    for name in ("conversation", "pay", "safety", "topics", "--library", "--corpus"):
        assert name in text, name


@pytest.mark.slow
def test_another_library_is_graded_on_a_temporary_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    library = tmp_path / "lib"
    shutil.copytree(TINY, library)
    reports = tmp_path / "reports"
    args = ["eval", "--library", str(library), "--reports-dir", str(reports)]
    code = main([*args, "--update-baseline"])
    out = capsys.readouterr().out
    assert code in (0, 1), out
    assert not (tmp_path / "index").exists()  # ADVISOR_INDEX__PATH: never built or touched
    data = json.loads(next(reports.glob("*/report.json")).read_text())
    assert data["library"] == "lib" and data["settings"]["eval"]["index"] == "temporary"
    assert {c["id"] for c in data["cases"]} == {"tiny-welder-pay", "tiny-paralegal-duties",
                                                 "tiny-pizza"}  # fmt: skip
    assert all(c["retrieved_docs"] for c in data["cases"])
    assert data["metrics"]["labelled_hit_at_3"] == 1.0  # the library's own retrieval.yaml
    assert data["metrics"]["paraphrase_hit_at_3"] == 1.0  # ... and its paraphrases.yaml
    assert data["settings"]["eval"]["retrieval_set"] == str(library / "retrieval.yaml")
    saved = json.loads((library / "baseline.json").read_text())
    assert saved["runs"]["extractive:all"]["k"] == 5
    assert thresholds_for(saved, "all")["off_occupation_figures"] == {"max": 0}


def test_conversation_datasets_cover_what_issue_9_asks_for() -> None:
    """≥ 40 conversations: ≥ 15 topic switches, ≥ 8 follow-ups, ≥ 5 small-talk and ≥ 5
    out-of-scope turns mid-conversation, several 3-turn chains; ~10 in the second library."""
    cases = load_cases("conversation")
    assert len(cases) >= 40
    assert sum(c.switch for c in cases) >= 15
    assert sum(c.id.startswith("follow-") for c in cases) >= 8
    assert sum(c.id.startswith("talk-") for c in cases) >= 5
    assert sum(c.refuse is True and len(c.history) > 0 for c in cases) >= 5
    assert sum(len([t for t in c.turns if t.user]) >= 3 for c in cases) >= 3
    questions = {c.question for c in cases if c.switch and "CCS" in c.turns[0].user}
    assert {"How long does training take?", "What is PALS?", "Do coders work remotely?",
            "How do I become a pilot?"} <= questions  # fmt: skip
    careers = load_cases("conversation", CORPORA_DIR / "careers" / "datasets")
    assert len(careers) >= 10 and any(c.question == "What about welders?" for c in careers)
