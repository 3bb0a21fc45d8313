from __future__ import annotations

import re

import pytest

from advisor.labels import RetrievalCase, load_retrieval_set
from advisor.retrieve import Retriever, relative_score_fusion
from advisor.settings import Settings
from advisor.text import QuestionError

from .conftest import REPO

pytestmark = pytest.mark.slow
LABELLED = load_retrieval_set()


@pytest.fixture
def retriever(real_index: Settings, real_embedder) -> Retriever:
    return Retriever(real_index, real_embedder)


def _hit_rank(retriever: Retriever, case: RetrievalCase, k: int = 3) -> int | None:
    hits = retriever.search(case.question, k=k).hits
    return case.rank_in([(h.chunk.doc_id, h.chunk.text) for h in hits])


def test_labelled_set_hit_at_3_is_at_least_0_9(retriever: Retriever) -> None:
    misses = [c.question for c in LABELLED if _hit_rank(retriever, c) is None]
    hit_rate = 1 - len(misses) / len(LABELLED)
    assert len(LABELLED) >= 20
    assert hit_rate >= 0.9, f"hit@3 = {hit_rate:.2f}; missed: {misses}"


def test_ccs_vs_cpc_passage_is_first_or_second(retriever: Retriever) -> None:
    hits = retriever.search("is CCS better than CPC", k=5).hits
    top_two = [h.chunk.text for h in hits[:2]]
    assert any("CCS professionals typically work with complex code" in t for t in top_two)


def test_pals_training_passage_is_in_top_3(retriever: Retriever) -> None:
    hits = retriever.search("how long is PALS training", k=3).hits
    assert any("PALS" in h.chunk.text for h in hits)
    assert any(h.chunk.section.endswith("PALS") or "PALS training" in h.chunk.text for h in hits)


def test_hits_carry_metadata_and_scores(retriever: Retriever) -> None:
    result = retriever.search("medical coder salary", k=4)
    assert len(result.hits) == 4
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)
    payload = result.hits[0].as_json()
    for key in (
        "chunk_id",
        "doc_id",
        "title",
        "publisher",
        "section",
        "text",
        "score",
        "start",
        "end",
    ):
        assert key in payload
    assert set(result.timings_ms) == {"dense", "bm25", "fuse"}


def test_keyword_search_finds_exact_acronyms(retriever: Retriever) -> None:
    top = retriever.keyword("CPB", 3)
    assert top and "CPB" in retriever.passages([top[0][0]])[top[0][0]].text


def test_near_duplicate_passages_are_collapsed(settings: Settings, real_embedder) -> None:
    from advisor.index.build import build_index

    source = settings.corpus_dir / "medical-billing-vs-medical-coding.md"
    copy = source.read_text().replace(
        "Medical Billing vs. Medical Coding", "Billing or Coding (mirror)"
    )
    (settings.corpus_dir / "mirror.md").write_text(copy)
    build_index(settings, real_embedder)
    hits = (
        Retriever(settings, real_embedder).search("Is CCS or CPC certification better?", k=5).hits
    )
    texts = [h.chunk.text for h in hits]
    assert sum("CCS professionals typically" in t for t in texts) == 1


@pytest.mark.parametrize("query", ["", "   ", "\x00\x01", "x" * 100_000])
def test_unusable_queries_raise_a_question_error(retriever: Retriever, query: str) -> None:
    with pytest.raises(QuestionError):
        retriever.search(query)


def test_fusion_rewards_agreement_and_keeps_a_wide_lead() -> None:
    dense = {"a": 0.9, "b": 0.5, "c": 0.4}
    keyword = {"b": 12.0, "a": 10.0, "d": 2.0}
    fused = relative_score_fusion(dense, keyword, dense_weight=0.5)
    assert fused["a"] > fused["b"] > fused["c"] == fused["d"] == 0.0
    # far ahead in one list, last in the other: still above a passage middling in both
    lead = relative_score_fusion({"x": 0.9, "y": 0.5, "z": 0.45}, {"y": 5, "z": 4.5, "x": 4},
                                 dense_weight=0.5)  # fmt: skip
    assert lead["x"] > lead["z"]
    assert relative_score_fusion({}, {"only": 3.0}, 0.5) == {"only": 0.5}


def test_stemming_from_many_threads_at_once_gives_each_thread_its_own_words() -> None:
    """Concurrent page answers tokenize at the same time; the snowball stemmer keeps the
    word it works on in its own fields, so unguarded it returned another thread's word."""
    import sys
    import threading

    from snowballstemmer.english_stemmer import EnglishStemmer

    from advisor.text import stem

    bases = ["certifications", "specialists", "professionally", "hospitalization",
             "organizational", "conditional", "generously", "runnings"]  # fmt: skip
    words = [[f"{chr(97 + t)}{n}{b}" for n in range(150) for b in bases] for t in range(6)]
    reference = EnglishStemmer()  # pure Python, private, used by one thread
    expected = [[reference.stemWord(w) for w in group] for group in words]
    got: list[list[str] | BaseException] = [[] for _ in words]

    def work(i: int) -> None:
        try:
            got[i] = [stem(w) for w in words[i]]
        except BaseException as err:  # an IndexError from a stemmer another thread moved
            got[i] = err

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [threading.Thread(target=work, args=(i,)) for i in range(len(words))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert got == expected


def test_stems_are_snowballs_own_on_both_libraries() -> None:
    """`stem` may run PyStemmer's C code; every word of both libraries and their eval
    sets stems as snowballstemmer's pure-Python English stemmer stems it."""
    from snowballstemmer.english_stemmer import EnglishStemmer

    from advisor.text import stem

    words: set[str] = set()
    for folder in (REPO / "corpus", REPO / "evals"):
        for path in folder.rglob("*"):
            if path.suffix in {".md", ".yaml", ".json"}:
                words |= set(re.findall(r"[a-z0-9]+", path.read_text(errors="ignore").lower()))
    reference = EnglishStemmer()
    assert len(words) > 2000
    assert {w: stem(w) for w in words} == {w: reference.stemWord(w) for w in words}
