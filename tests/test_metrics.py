"""Each eval metric on hand-made answers with known scores."""

from __future__ import annotations

import pytest

from advisor.chunking import Chunk
from advisor.evalset import EvalCase
from advisor.metrics import FigureChecker, Graded, Previous, fact_hits, grade, summarize
from advisor.prompts import REFUSAL_PHRASE

PAYSCALE = Chunk(
    "c1", "payscale-doc", "Pay", "X", "Salaries",
    "Medical coders earn an average annual salary of about $43,260, according to PayScale data "
    "from June, 2021. By contrast, medical billers make about $40,340 in mean annual earnings.",
    0, 0,
)  # fmt: skip
PALS = Chunk(
    "c2", "pals-doc", "PALS", "Y", "Outlook › PALS",
    "The median annual wage for healthcare practitioners and technical occupations was $68,190 "
    "in May 2020.",
    0, 0,
)  # fmt: skip
CHECKER = FigureChecker([PAYSCALE, PALS])


def case(**fields) -> EvalCase:
    return EvalCase.model_validate({"id": "c", "turns": [{"user": "q?"}], **fields})


@pytest.mark.parametrize(
    ("answer", "cited", "kinds"),
    [
        ("Coders earn about $43,260 [1].", [PAYSCALE], []),
        ("Coders earn $95,000 [1].", [PAYSCALE], ["fabricated"]),
        ("Billers earn $43,260 [1].", [PAYSCALE], ["off_occupation"]),
        ("PALS providers earn $68,190 [1].", [PALS], ["off_occupation"]),
        ("Coders earn a median of $43,260 [1].", [PAYSCALE], ["misattributed"]),
        ("Coders earned $43,260 in 2019 [1].", [PAYSCALE], ["misattributed", "fabricated"]),
        ("Coders earn about $43,260 [1].", [PALS], ["uncited"]),
        ("Coders earn 43k [1].", [PAYSCALE], ["fabricated"]),
        ("Coders earn 43,260 dollars; billers $40,340 [1].", [PAYSCALE], []),
    ],
)
def test_figure_checker_kinds(answer: str, cited: list[Chunk], kinds: list[str]) -> None:
    _, issues = CHECKER.check(answer, cited)
    assert [i.kind for i in issues] == kinds


def test_figure_checker_counts_every_figure() -> None:
    count, issues = CHECKER.check(
        "Coders earn $43,260 and billers $40,340 in 2021 [1].", [PAYSCALE]
    )
    assert count == 3 and issues == []


def test_fact_hits_with_alternatives() -> None:
    facts = ["$43,260", ["PayScale", "BLS"], "outpatient"]
    assert fact_hits("Coders earn $43,260 per payscale.", facts) == 2


def test_grade_collects_every_reason() -> None:
    c = case(must_contain=["$40,340"], must_not_contain=[r"\$95"], expect_docs=["payscale-doc"])
    graded = grade(c, "Coders earn $95,000 [1] [3].", [PAYSCALE], [1], CHECKER)
    assert graded.invalid_citations == [3]
    assert not graded.passed
    text = " | ".join(graded.reasons)
    assert "fabricated figure $95,000" in text
    assert "citations to no passage: [3]" in text
    assert "missing facts: ['$40,340']" in text
    assert "forbidden" in text


def test_refusal_grading() -> None:
    refusal = f"{REFUSAL_PHRASE} I can help with billing."
    assert grade(case(refuse=True), refusal, [], [], CHECKER).passed
    assert grade(case(refuse=True), "Coders earn about $43,260 [1].", [PAYSCALE], [1],
                 CHECKER).reasons == ["should have refused"]  # fmt: skip
    assert grade(case(), refusal, [], [], CHECKER).reasons == ["refused but should answer"]
    assert grade(case(refuse=None), refusal, [], [], CHECKER).passed


def make(case_id: str, **fields) -> Graded:
    base = {"answer": "x", "refused": False, "cited_docs": [], "retrieved_docs": []}
    return Graded(case_id, **{**base, **fields})


def test_summary_metrics_have_known_values() -> None:
    cases = [
        EvalCase.model_validate(
            {
                "id": i,
                "turns": [{"user": "q?"}],
                "expect_docs": ["a"],
                "must_contain": ["f1", "f2"],
                "refuse": r,
            }
        )
        for i, r in (("1", False), ("2", False), ("3", True), ("4", False))
    ]
    graded = [
        make("1", retrieved_docs=["a", "b"], cited_docs=["a"], answer="f1 f2 [1]", figures=2,
             facts_found=2, facts_total=2, timings_ms={"total": 10.0}),
        make("2", retrieved_docs=["b", "a"], cited_docs=["b"], answer="f1 [1] [2]", figures=2,
             facts_found=1, facts_total=2, invalid_citations=[2], timings_ms={"total": 30.0}),
        make("3", refused=True),
        make("4", refused=True, retrieved_docs=["c"], facts_found=0, facts_total=2),
    ]  # fmt: skip
    m = summarize(cases, graded, k=1)
    assert m["hit_at_k"] == pytest.approx(1 / 3)
    assert m["mrr"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert m["citation_validity"] == pytest.approx(2 / 3)
    assert m["cited_from_expected"] == pytest.approx(1 / 2)
    assert m["fact_coverage"] == pytest.approx(3 / 6)
    assert m["refusal_precision"] == pytest.approx(1 / 2)
    assert m["refusal_recall"] == 1.0
    assert m["figures_stated"] == 4 and m["fabricated_figure_rate"] == 0.0
    assert m["latency_p50_ms"] == 20.0
    assert m["false_refusals"] == 1  # case 4 must be answered and was declined


def test_a_metric_with_nothing_to_measure_is_none_not_a_score() -> None:
    answerable = case(must_contain=[], expect_docs=[])
    graded = [make("c", answer="No figures here.")]
    m = summarize([answerable], graded, k=5)
    for name in (
        "refusal_recall",
        "refusal_precision",
        "hit_at_k",
        "mrr",
        "fact_coverage",
        "citation_validity",
        "cited_from_expected",
        "fabricated_figure_rate",
    ):
        assert m[name] is None, name  # fmt: skip
    assert m["pass_rate"] == 1.0 and m["fabricated_figures"] == 0


def test_off_occupation_figures_are_counted_and_fail_the_case() -> None:
    graded = grade(case(), "Billers earn $43,260 [1].", [PAYSCALE], [1], CHECKER)
    assert graded.reasons[0].startswith("off_occupation figure $43,260")
    m = summarize([case()], [graded], k=5)
    assert m["off_occupation_figures"] == 1 and m["off_occupation_figure_rate"] == 1.0
    assert m["pass_rate"] == 0.0


def test_labelled_retrieval_scores() -> None:
    from advisor.labels import RetrievalCase, retrieval_scores

    cases = [RetrievalCase("q1", ("a",), ("x",)), RetrievalCase("q2", ("b",), ("y",))]
    ranked = {"q1": [("b", "y"), ("a", "x")], "q2": [("a", "x"), ("a", "y"), ("c", "z")]}
    scores = retrieval_scores(cases, lambda q: ranked[q], k=3)
    assert scores == {"labelled_hit_at_3": 0.5, "labelled_mrr": 0.25}
    assert retrieval_scores([], lambda q: [], k=3)["labelled_mrr"] is None


def test_a_library_s_retrieval_sets_are_found_beside_each_other(tmp_path) -> None:
    from advisor.labels import retrieval_sets

    labelled = tmp_path / "retrieval.yaml"
    assert retrieval_sets(None) == {} and retrieval_sets(labelled) == {}
    labelled.write_text("[]")
    assert retrieval_sets(labelled) == {"labelled": labelled}
    (tmp_path / "paraphrases.yaml").write_text("[]")
    assert set(retrieval_sets(labelled)) == {"labelled", "paraphrase"}


def switch_case(**fields) -> EvalCase:
    turns = [{"user": "Is CCS better than CPC?"}, {"user": "What is PALS?"}]
    return EvalCase.model_validate({"id": "s", "turns": turns, "switch": True, **fields})


def test_carry_over_errors_catch_a_repeated_lead_or_the_old_topics_article() -> None:
    """Issue 9 §7: an answer to a topic switch that repeats the previous answer's lead, or
    cites an article the previous answer cited and this question does not expect."""
    before = Previous(("CCS pays more than CPC [1]. It suits hospitals [2].",), ("payscale-doc",))
    same_lead = grade(switch_case(), "CCS pays more than CPC [2]. More.", [PAYSCALE], [2],
                      CHECKER, previous=before)  # fmt: skip
    assert same_lead.carry_over == ["repeats the previous answer's lead"]
    assert "carry-over from the previous topic" in " ".join(same_lead.reasons)
    old_doc = grade(switch_case(expect_docs=["pals-doc"]), "PALS is a course [1].", [PAYSCALE],
                    [1], CHECKER, previous=before)  # fmt: skip
    assert old_doc.carry_over == ["cites the previous topic's ['payscale-doc']"]
    fine = grade(switch_case(expect_docs=["pals-doc"]), "PALS is a course [1].", [PALS], [1],
                 CHECKER, previous=before)  # fmt: skip
    refusal = grade(switch_case(refuse=True), f"{REFUSAL_PHRASE} No.", [], [], CHECKER,
                    previous=before)  # fmt: skip
    assert fine.passed and refusal.passed and not fine.carry_over and not refusal.carry_over
    not_a_switch = grade(case(), "CCS pays more than CPC [1].", [PAYSCALE], [1], CHECKER,
                         previous=before)  # fmt: skip
    assert not_a_switch.carry_over == []
    cases = [switch_case(id="a"), switch_case(id="b", expect_docs=["pals-doc"]), case(id="c")]
    graded = [same_lead, fine, not_a_switch]
    graded[0].case_id, graded[1].case_id, graded[2].case_id = "a", "b", "c"
    assert summarize(cases, graded, 5)["carry_over_errors"] == 1
    assert summarize([case(id="c")], [graded[2]], 5)["carry_over_errors"] is None
