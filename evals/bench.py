"""Benchmark: `make bench`. Reports medians and ratios; nothing here is a pass/fail test.

Measures, on the committed corpus, in a temporary index (the real one is untouched):
- full and no-change index build time;
- warm retrieval latency (p50/p95) for dense, BM25 and fused search;
- hit@3 on evals/retrieval.yaml for the fused retriever and for the plain LangChain
  tutorial pipeline (RecursiveCharacterTextSplitter 1000/200 + Chroma similarity_search,
  k=4), with latency, side by side;
- warm `advisor ask` latency (p50/p95, default generator) over evals/scope.yaml, per stage;
- cold start of `advisor search` and `advisor ask` in a fresh process (wall and CPU time);
- the page under load (evals/load.py): `advisor serve` on the index, 50 concurrent browser
  sessions x 3 turns over Gradio's queue, per-turn p50/p95/max and errors.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from load import run_load  # evals/load.py, beside this file
from rich.console import Console
from rich.table import Table

from advisor.corpus import load_corpus
from advisor.embeddings import SentenceEmbedder
from advisor.index.build import build_index
from advisor.labels import RetrievalCase, load_retrieval_set
from advisor.metrics import p95
from advisor.retrieve import Retriever
from advisor.settings import IndexSettings, Settings

REPEATS = 5
console = Console()


def timed(fn, *args) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn(*args)
    return (time.perf_counter() - started) * 1000, result


def latency_row(name: str, samples: list[float], hit3: float | None = None) -> list[str]:
    hit = "" if hit3 is None else f"{hit3:.2f}"
    return [name, f"{statistics.median(samples):.1f}", f"{p95(samples):.1f}", hit]


def bench_ours(settings: Settings, cases: list[RetrievalCase], embedder) -> dict:
    retriever = Retriever(settings, embedder)
    retriever.search("warm up")
    dense, bm25, fused, hits = [], [], [], 0
    for _ in range(REPEATS):
        for case in cases:
            dense.append(timed(retriever.dense, case.question, 20)[0])
            bm25.append(timed(retriever.keyword, case.question, 20)[0])
            fused.append(timed(retriever.search, case.question, 3)[0])
    for case in cases:
        found = retriever.search(case.question, 3).hits
        hits += case.rank_in([(h.chunk.doc_id, h.chunk.text) for h in found]) is not None
    return {"dense": dense, "bm25": bm25, "fused": fused, "hit3": hits / len(cases)}


def bench_tutorial(settings: Settings, cases: list[RetrievalCase], embedder, tmp: Path) -> dict:
    """The LangChain quick-start RAG retriever, on the same articles and embedder."""
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    articles = load_corpus(settings.corpus_dir).articles
    docs = [Document(a.text, metadata={"doc_id": a.doc_id}) for a in articles]
    splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(
        docs
    )
    started = time.perf_counter()
    store = Chroma.from_documents(
        splits, embedder, persist_directory=str(tmp / "tutorial"), collection_name="tutorial"
    )
    build_s = time.perf_counter() - started
    store.similarity_search("warm up", k=4)
    samples, hits = [], 0
    for _ in range(REPEATS):
        for case in cases:
            samples.append(timed(store.similarity_search, case.question, 4)[0])
    for case in cases:
        found = store.similarity_search(case.question, k=4)[:3]
        hits += case.rank_in([(d.metadata["doc_id"], d.page_content) for d in found]) is not None
    return {"search": samples, "hit3": hits / len(cases), "build_s": build_s, "chunks": len(splits)}


def bench_ask(settings: Settings, embedder) -> dict:
    """Warm end-to-end answers with the default generator, per stage."""
    import yaml

    from advisor.answer import Advisor

    questions = yaml.safe_load(Path("evals/scope.yaml").read_text())
    questions = questions["in_scope"] + questions["out_of_scope"]
    advisor = Advisor(settings, Retriever(settings, embedder))
    advisor.ask("warm up")
    totals: list[float] = []
    stages: dict[str, list[float]] = {}
    for _ in range(REPEATS):
        for question in questions:
            ms, reply = timed(advisor.ask, question)
            totals.append(ms)
            for stage, value in reply.timings_ms.items():
                stages.setdefault(stage, []).append(value)
    return {"total": totals, "stages": stages, "questions": len(questions)}


def cold_start(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one fresh `advisor` process.

    The CPU time is the steadier figure on a shared machine: other processes
    lengthen the wall time of a run but hardly its CPU time."""
    import resource

    def children_cpu() -> float:
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        return used.ru_utime + used.ru_stime

    cpu, started = children_cpu(), time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "advisor", *args], env=env, capture_output=True, check=True
    )
    return time.perf_counter() - started, children_cpu() - cpu


def main() -> None:
    import os

    cases = load_retrieval_set()
    # no question-vector cache: the repeats below time the model, not the cache
    embedder = SentenceEmbedder(Settings().embedding.model_copy(update={"query_cache": 0}))
    embedder.embed_query("load the model before timing")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        settings = Settings(index=IndexSettings(path=tmp / "index"))
        full = build_index(settings, embedder, full=True)
        again = build_index(settings, embedder)
        ours = bench_ours(settings, cases, embedder)
        tutorial = bench_tutorial(settings, cases, embedder, tmp)
        # in-process answers only: a running `advisor serve` must not answer the cold asks
        env = {**os.environ, "ADVISOR_INDEX__PATH": str(tmp / "index"), "ADVISOR_ASK_VIA_PAGE": "0"}
        asks = bench_ask(settings, embedder)
        colds = [cold_start(["search", "is CCS better than CPC", "--json"], env) for _ in range(5)]
        cold_asks = [  # 7 runs: the median of 3 moved by 0.3 s on a shared machine
            cold_start(["ask", "Is CCS better than CPC?", "--json"], env) for _ in range(7)
        ]

    table = Table(title=f"Retrieval on {len(cases)} labelled questions × {REPEATS} (warm, ms)")
    for column in ("pipeline", "p50 ms", "p95 ms", "hit@3"):
        table.add_column(column)
    table.add_row(*latency_row("dense (chroma)", ours["dense"]))
    table.add_row(*latency_row("BM25", ours["bm25"]))
    table.add_row(*latency_row("fused (ours, k=3)", ours["fused"], ours["hit3"]))
    table.add_row(*latency_row("LangChain tutorial (k=4)", tutorial["search"], tutorial["hit3"]))
    console.print(table)
    ask_table = Table(
        title=f"advisor ask (extractive), {asks['questions']} questions × {REPEATS}, warm ms"
    )
    for column in ("stage", "p50 ms", "p95 ms", ""):
        ask_table.add_column(column)
    for stage, samples in asks["stages"].items():
        ask_table.add_row(*latency_row(stage, samples))
    ask_table.add_row(*latency_row("end to end", asks["total"]))
    console.print(ask_table)
    ratio = statistics.median(ours["fused"]) / statistics.median(tutorial["search"])
    summary = {
        "index_full_build_s": round(full.seconds, 2),
        "index_full_chunks": full.embedded_chunks,
        "index_nochange_build_s": round(again.seconds, 3),
        "index_nochange_embedded": again.embedded_chunks,
        "tutorial_build_s": round(tutorial["build_s"], 2),
        "tutorial_chunks": tutorial["chunks"],
        "fused_p50_ms": round(statistics.median(ours["fused"]), 2),
        "fused_vs_tutorial_p50_ratio": round(ratio, 2),
        "hit3_fused": round(ours["hit3"], 3),
        "hit3_tutorial": round(tutorial["hit3"], 3),
        "ask_warm_p50_ms": round(statistics.median(asks["total"]), 2),
        "ask_warm_p95_ms": round(p95(asks["total"]), 2),
        "cold_search_s_median": round(statistics.median(w for w, _ in colds), 2),
        "cold_ask_s_median": round(statistics.median(w for w, _ in cold_asks), 2),
        "cold_ask_cpu_s_median": round(statistics.median(c for _, c in cold_asks), 2),
    }
    console.print_json(json.dumps(summary))
    console.rule("The page under load: evals/load.py --sessions 50 --turns 3")
    run_load(sessions=50, turns=3)


if __name__ == "__main__":
    main()
