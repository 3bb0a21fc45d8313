"""Benchmark at scale: `make bench-scale`. Reports numbers; nothing here is a pass/fail test.

Builds synthetic libraries of about 1k, 10k and 100k passages from the team's own
articles (corpus/ and evals/corpora/careers/corpus): every copy gets its own
occupations (a specialty put before each job noun), its own title, and its own
figures (every number scaled). Then, per size, side by side:
- build time and passages/s (`advisor index`'s build_index, lexicon included), and
  the time to re-index after one article changed;
- cold start: opening the retriever in a fresh process, and its first search;
- dense, keyword and fused retrieval p50/p95, and `ask` p50 (extractive), warm;
- the LangChain tutorial retriever (Chroma similarity_search, k=4) on the same
  collection, as a ratio to ours;
- peak memory (RSS) of that process.

Vectors: the smallest library is embedded with the real model. The larger ones get
synthetic 384-dimension vectors (hashed words, so dense search still finds
something) and their embedding time is estimated from the real model's
passages/s, measured here on real passages. Queries are always embedded with
the real model. The build includes deriving the library's lexicon from every
article (advisor.knowledge); its per-article findings are cached with the index,
so the second build, after one article changed, re-derives that article only
(the "re-index" row: everything an `advisor index` does after a one-article edit).
Size 0 is the five articles of corpus/ as they are, with real vectors: the cold start
the others are compared with. "questions whose words pick keyword hits" says how often
keyword search found candidates of its own: a word in too many passages does not pick
any (advisor.keyword.MATCH_BUDGET), and then BM25 only re-scores dense search's.
Sizes: `--sizes 0,1000,10000,100000` (the default).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
SOURCES = [REPO / "corpus", REPO / "evals" / "corpora" / "careers" / "corpus"]
# Specialties put before the job nouns of each copy; together with the copy number,
# every synthetic article is about occupations no other article names.
SPECIALTIES = (
    "aviation marine rural urban pediatric veterinary forensic industrial municipal coastal "
    "arctic desert mining railway offshore orbital agricultural museum theatre stadium "
    "casino airport harbour prison campus festival brewery vineyard orchard hatchery "
    "observatory lighthouse cathedral circus zoo aquarium glacier canyon volcano island"
).split()
JOB_NOUNS = re.compile(
    r"\b(coders?|billers?|welders?|electricians?|paralegals?|technicians?|assistants?|"
    r"hygienists?|nurses?|developers?|scientists?|providers?)\b",
    re.IGNORECASE,
)
NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d{3,})(?![\w,])")
console = Console()


class HashedVectors(Embeddings):
    """Synthetic 384-d vectors from hashed words: fast, and near for texts sharing words."""

    dims = 384

    def _vector(self, text: str) -> list[float]:
        from advisor.text import tokenize

        vec = np.zeros(self.dims, dtype=np.float32)
        for token in tokenize(text) or ["empty"]:
            digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
            vec[int.from_bytes(digest[:4], "little") % self.dims] += 1.0
        return (vec / np.linalg.norm(vec)).tolist()

    def embed_documents(self, texts: list[str], progress: bool = False) -> list[list[float]]:
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


def _variant(text: str, copy: int) -> str:
    specialty = f"{SPECIALTIES[copy % len(SPECIALTIES)]}-{copy // len(SPECIALTIES)}"
    factor = 1 + (copy % 41) / 100

    def scale(match: re.Match[str]) -> str:
        value = int(match.group(1).replace(",", ""))
        new = round(value * factor)
        return f"{new:,}" if "," in match.group(1) else str(new)

    text = NUMBER.sub(scale, text)
    return JOB_NOUNS.sub(lambda m: f"{specialty} {m.group(1)}", text)


def make_library(folder: Path, passages: int) -> int:
    """Copies of the source articles until the library holds about `passages` passages;
    0 means the five articles of corpus/ as they are (the baseline cold start)."""
    if passages == 0:
        shutil.copytree(REPO / "corpus", folder)
        return len(list(folder.glob("*.md")))
    from advisor.chunking import chunk_article
    from advisor.corpus import load_corpus
    from advisor.settings import ChunkSettings

    sources = [a for s in SOURCES for a in load_corpus(s).articles]
    per_round = sum(len(chunk_article(a, ChunkSettings())) for a in sources)
    folder.mkdir(parents=True)
    copies = max(1, round(passages / per_round))
    for copy in range(copies):
        for article in sources:
            title = _variant(article.title, copy)
            body = _variant(article.text, copy)
            name = f"{article.doc_id}-{copy}.md"
            (folder / name).write_text(
                f"---\ntitle: {json.dumps(title)}\npublisher: {json.dumps(article.publisher)}\n"
                f"---\n\n{body}\n",
                encoding="utf-8",
            )
    return copies * len(sources)


def real_embedding_rate(sample: int = 256) -> float:
    """The real model's passages/s on real passages of the team's articles (both cores)."""
    from advisor.chunking import chunk_article
    from advisor.corpus import load_corpus
    from advisor.embeddings import SentenceEmbedder
    from advisor.settings import ChunkSettings, EmbeddingSettings

    texts = [
        c.embed_text
        for s in SOURCES
        for a in load_corpus(s).articles
        for c in chunk_article(a, ChunkSettings())
    ]
    texts = (texts * (sample // len(texts) + 1))[:sample]
    embedder = SentenceEmbedder(EmbeddingSettings())
    embedder.embed_documents(texts[:8])  # load the model first
    started = time.perf_counter()
    embedder.embed_documents(texts)
    return sample / (time.perf_counter() - started)


PROBE = r"""
import json, resource, statistics, sys, time
started = time.perf_counter()
from advisor.retrieve import Retriever
from advisor.settings import IndexSettings, Settings
from advisor.embeddings import SentenceEmbedder
imported = time.perf_counter() - started
settings = Settings(corpus_dir=sys.argv[1], index=IndexSettings(path=sys.argv[2]))
embedder = SentenceEmbedder(settings.embedding)
embedder.embed_query("load the model")  # the model is the same at every size: not timed
started = time.perf_counter()
retriever = Retriever(settings, embedder)
opened = time.perf_counter() - started
started = time.perf_counter()
retriever.search("How much do coders make?")
first = time.perf_counter() - started
questions = json.loads(sys.argv[3])
def timed(fn, *args):
    t = time.perf_counter(); fn(*args); return (time.perf_counter() - t) * 1000
def p95(xs):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(0.95 * len(xs)))]
out = {"import_s": imported, "open_ms": opened * 1000, "first_ms": first * 1000}
for name, fn in [("dense", lambda q: retriever.dense(q, 20)),
                 ("keyword", lambda q: retriever.keyword(q, 20)),
                 ("fused", lambda q: retriever.search(q, 5))]:
    samples = [timed(fn, q) for _ in range(3) for q in questions]
    out[name] = (statistics.median(samples), p95(samples))
out["keyword_picked"] = sum(bool(retriever.keyword(q, 20)) for q in questions) / len(questions)
from advisor.answer import Advisor
advisor = Advisor(settings, retriever)
advisor.ask("warm up")
out["ask_p50"] = statistics.median(timed(advisor.ask, q) for _ in range(2) for q in questions)
from langchain_chroma import Chroma
from advisor.index.chroma import open_client
store = Chroma(client=open_client(settings.index), collection_name=retriever.collection.name,
               embedding_function=embedder)
samples = [timed(store.similarity_search, q, 4) for _ in range(3) for q in questions]
out["tutorial"] = (statistics.median(samples), p95(samples))
out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


# A cold start against a chroma server that already holds the collection (the scale-out
# deployment, docs/deploy.md): the process opens no vector index of its own.
SERVER_PROBE = r"""
import json, sys, time
from advisor.retrieve import Retriever
from advisor.settings import IndexSettings, Settings
from advisor.embeddings import SentenceEmbedder
index = IndexSettings(path=sys.argv[2], mode="server", server_port=int(sys.argv[3]))
settings = Settings(corpus_dir=sys.argv[1], index=index)
embedder = SentenceEmbedder(settings.embedding)
embedder.embed_query("load the model")
started = time.perf_counter()
retriever = Retriever(settings, embedder)
opened = time.perf_counter() - started
started = time.perf_counter()
retriever.search("How much do coders make?")
first = time.perf_counter() - started
print(json.dumps({"server_open_ms": opened * 1000, "server_first_ms": first * 1000}))
"""


def server_probe(corpus: Path, index: Path) -> dict:
    """Cold start through `chroma run` serving this index's chroma folder (warmed first)."""
    import socket

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    chroma = Path(sys.executable).parent / "chroma"
    server = subprocess.Popen(
        [str(chroma), "run", "--path", str(index / "chroma"), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).is_success:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        run_probe(SERVER_PROBE, corpus, index, str(port))  # the server loads its index
        return run_probe(SERVER_PROBE, corpus, index, str(port))
    finally:
        server.terminate()
        server.wait(timeout=30)


def probe(corpus: Path, index: Path, questions: list[str]) -> dict:
    """Retrieval numbers from a fresh process: a true cold start and its own memory."""
    return run_probe(PROBE, corpus, index, json.dumps(questions))


def run_probe(script: str, corpus: Path, index: Path, argument: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    env["ADVISOR_EMBEDDING__QUERY_CACHE"] = "0"  # repeated questions time the model, not a cache
    done = subprocess.run(
        [sys.executable, "-c", script, str(corpus), str(index), argument],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def questions() -> list[str]:
    import yaml

    from advisor.labels import load_retrieval_set

    scope = yaml.safe_load((REPO / "evals" / "scope.yaml").read_text())["in_scope"]
    return [c.question for c in load_retrieval_set()][:20] + scope[:10]


def bench_size(target: int, tmp: Path, rate: float, real: bool, asked: list[str]) -> dict:
    from advisor.embeddings import SentenceEmbedder
    from advisor.index.build import build_index
    from advisor.settings import IndexSettings, Settings

    corpus, index = tmp / f"corpus-{target}", tmp / f"index-{target}"
    articles = make_library(corpus, target)
    settings = Settings(corpus_dir=corpus, index=IndexSettings(path=index))
    embedder = SentenceEmbedder(settings.embedding) if real else HashedVectors()
    if real:
        embedder.embed_query("load the model before timing")
    console.print(f"[bold]{target:,}[/] passages: building {articles:,} articles…")
    report = build_index(settings, embedder, progress=sys.stderr.isatty())
    passages = report.embedded_chunks
    console.print(f"  built in {report.seconds:.1f} s; re-indexing after one article changed…")
    edited = sorted(corpus.glob("*.md"))[0]
    edited.write_text(
        edited.read_text(encoding="utf-8") + "\n## Update\n\nThis article was revised.\n",
        encoding="utf-8",
    )
    again = build_index(settings, embedder)
    row = {
        "target": target,
        "articles": articles,
        "passages": passages,
        "vectors": "real" if real else "synthetic",
        "build_s": report.seconds,
        "build_rate": passages / report.seconds,
        "derived": report.derived_articles,
        "real_embed_est_s": passages / rate,
        "reindex_s": again.seconds,
        "reindex_derived": again.derived_articles,
    }
    console.print(f"  re-indexed in {again.seconds:.1f} s; probing a fresh process…")
    row.update(probe(corpus, index, asked))
    row.update(server_probe(corpus, index))
    shutil.rmtree(corpus, ignore_errors=True)
    shutil.rmtree(index, ignore_errors=True)
    return row


def cold_ms(row: dict) -> float:
    """Opening the retriever (chromadb imported) and its first search, in a fresh process."""
    return row["open_ms"] + row["first_ms"]


def show(rows: list[dict], rate: float) -> None:
    table = Table(title="Scale (ms unless stated; p50/p95)")
    table.add_column("")
    for row in rows:
        table.add_column(f"{row['passages']:,} passages", justify="right")

    def line(name: str, fn) -> None:
        table.add_row(name, *(fn(r) for r in rows))

    line("articles", lambda r: f"{r['articles']:,}")
    line("vectors", lambda r: r["vectors"])
    line("build s (passages/s)", lambda r: f"{r['build_s']:.1f} ({r['build_rate']:.0f}/s)")
    line("real embedding, est. s", lambda r: f"{r['real_embed_est_s']:.0f}")
    line("articles derived in build", lambda r: f"{r['derived']:,}")
    line(
        "re-index, 1 article changed, s",
        lambda r: f"{r['reindex_s']:.1f} ({r['reindex_derived']} derived)",
    )
    line("cold: open retriever", lambda r: f"{r['open_ms']:.0f}")
    line("cold: first search", lambda r: f"{r['first_ms']:.0f}")
    base = next((r for r in rows if r["target"] == 0), None)
    if base is not None:
        cold = cold_ms(base)
        line("cold start / five articles'", lambda r: f"{cold_ms(r) / cold:.2f}")
    line(
        "cold via a chroma server: open + first",
        lambda r: f"{r['server_open_ms']:.0f} + {r['server_first_ms']:.0f}",
    )
    if base is not None:
        line(
            "  / five articles' (local)",
            lambda r: f"{(r['server_open_ms'] + r['server_first_ms']) / cold:.2f}",
        )
    for name in ("dense", "keyword", "fused"):
        line(name, lambda r, n=name: f"{r[n][0]:.1f} / {r[n][1]:.1f}")
    line("questions whose words pick keyword hits", lambda r: f"{r['keyword_picked']:.0%}")
    line("ask p50", lambda r: f"{r['ask_p50']:.1f}")
    line("tutorial (Chroma k=4)", lambda r: f"{r['tutorial'][0]:.1f} / {r['tutorial'][1]:.1f}")
    line("fused / tutorial p50", lambda r: f"{r['fused'][0] / r['tutorial'][0]:.2f}")
    line("peak RSS MB", lambda r: f"{r['rss_mb']:.0f}")
    console.print(table)
    console.print(f"real model, real passages: {rate:.0f} passages/s embedded on this machine")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="0,1000,10000,100000", help="Passages; 0 is the five articles."
    )
    parser.add_argument("--real-up-to", type=int, default=2000, help="Real vectors up to here.")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    os.environ["HF_HUB_OFFLINE"] = "1"
    started = time.perf_counter()
    rate = real_embedding_rate()
    asked = questions()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as name:
        for size in sizes:
            row = bench_size(size, Path(name), rate, size <= args.real_up_to, asked)
            rows.append(row)
            console.print_json(json.dumps(row))  # each size as it is done
    show(rows, rate)
    console.print(f"bench-scale took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
