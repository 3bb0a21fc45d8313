"""The persistent keyword index (SQLite FTS5), start-up that reads no passage, and a build
that survives a kill (issue 12, parts 1, 2 and 6)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from advisor.cli import main
from advisor.index import IndexUnavailableError
from advisor.index.build import build_index
from advisor.index.manifest import read_manifest
from advisor.keyword import FOLDER, KeywordIndex, keyword_path
from advisor.retrieve import Retriever
from advisor.settings import Settings, get_settings
from advisor.text import tokenize

from .conftest import REPO, HashEmbedder

DOC = "medical-coder-vs-medical-biller"


def _keyword_file(settings: Settings) -> Path:
    return keyword_path(settings.index.path, read_manifest(settings.index).collection)


def _passages(settings: Settings) -> int:
    return sum(len(d.chunk_ids) for d in read_manifest(settings.index).documents.values())


def _fresh_process_view() -> None:
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


def test_build_writes_one_keyword_file_per_generation_and_swaps_it(
    settings: Settings, hash_embedder: HashEmbedder
) -> None:
    build_index(settings, hash_embedder)
    first = _keyword_file(settings)
    assert first.is_file()
    assert KeywordIndex(first).size == _passages(settings)
    build_index(settings, HashEmbedder(), full=True)
    second = _keyword_file(settings)
    assert second != first and second.is_file() and not first.exists()
    assert sorted(p.name for p in (settings.index.path / FOLDER).iterdir()) == [second.name]


def test_keyword_file_is_updated_incrementally(
    settings: Settings, hash_embedder: HashEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_index(settings, hash_embedder)
    path = settings.corpus_dir / f"{DOC}.md"
    path.write_text(path.read_text() + "\n## Outlook\n\nZymurgists will stay in demand.\n")
    tokenised: list[int] = []
    from advisor import keyword

    original = keyword.KeywordWriter.add

    def counting(self, chunks):
        return tokenised.append(original(self, chunks)) or tokenised[-1]

    monkeypatch.setattr(keyword.KeywordWriter, "add", counting)
    report = build_index(settings, HashEmbedder())
    assert report.updated == [DOC]
    assert sum(tokenised) == report.embedded_chunks == 1  # the rest copied, not re-stemmed
    retriever = Retriever(settings, hash_embedder)
    assert retriever.keyword("zymurgists", 3)
    assert KeywordIndex(_keyword_file(settings)).size == _passages(settings)


def test_keyword_search_matches_stemmed_words_and_figures(
    settings: Settings, hash_embedder: HashEmbedder
) -> None:
    build_index(settings, hash_embedder)
    retriever = Retriever(settings, hash_embedder)
    top = retriever.keyword("certifications", 5)  # stemmed: matches "certification"
    assert top and all(score > 0 for _, score in top)
    texts = retriever.passages([cid for cid, _ in top])
    assert any("certif" in texts[cid].text.lower() for cid, _ in top)
    figure = retriever.keyword("54,972", 3)  # a figure stays one token
    assert figure and "54,972" in retriever.passages([figure[0][0]])[figure[0][0]].text
    assert retriever.coverage("zzqx certification") == 0.5


DAMAGE = {
    "deleted": lambda p: p.unlink(),
    "garbage": lambda p: p.write_bytes(b"garbage" * 5000),
    "truncated": lambda p: p.write_bytes(p.read_bytes()[:2048]),
    "empty": lambda p: p.write_bytes(b""),
}


@pytest.mark.parametrize("damage", list(DAMAGE), ids=list(DAMAGE))
def test_damaged_keyword_file_is_a_clear_error_then_repaired_without_embedding(
    damage: str, settings: Settings, hash_embedder: HashEmbedder
) -> None:
    build_index(settings, hash_embedder)
    DAMAGE[damage](_keyword_file(settings))
    with pytest.raises(IndexUnavailableError, match=r"keyword index .* rebuild it with `advisor"):
        Retriever(settings, hash_embedder).search("how much do medical coders earn")
    again = HashEmbedder()
    report = build_index(settings, again)  # a plain `advisor index` repairs it
    assert report.changed and report.keyword_repair and not report.full_rebuild_reason
    assert again.embedded == 0 and report.reused_chunks == _passages(settings)
    hits = Retriever(settings, hash_embedder).search("how much do medical coders earn").hits
    assert hits and all(h.chunk.text for h in hits)


@pytest.mark.parametrize("damage", ["deleted", "garbage"])
def test_cli_reports_damage_in_one_sentence_and_full_rebuild_repairs(
    damage: str,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("advisor.embeddings.SentenceEmbedder", lambda _settings: HashEmbedder())
    build_index(settings, HashEmbedder())
    DAMAGE[damage](_keyword_file(settings))
    get_settings.cache_clear()
    assert main(["search", "medical coder salary"]) == 2
    out = capsys.readouterr()
    assert "Traceback" not in out.err + out.out
    assert "keyword index" in out.err and "advisor index" in out.err
    _fresh_process_view()
    assert main(["index", "--full", "--quiet"]) == 0
    assert main(["search", "medical coder salary"]) == 0


def _library(folder: Path, articles: int) -> None:
    for path in folder.iterdir():
        path.unlink()
    for a in range(articles):
        body = "\n\n".join(
            f"## Duty {p}\n\nRole {a} handles task {p} and earns ${40 + a},{p:03d} a year."
            for p in range(6)
        )
        (folder / f"role-{a}.md").write_text(f"---\ntitle: Role {a} guide\n---\n\n{body}\n")


def test_start_up_reads_no_passage_whatever_the_library_size(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening 5 or 300 articles reads no passage; a search reads only its candidates."""
    from chromadb.api.models.Collection import Collection

    calls: list[tuple[str, int]] = []
    get, query = Collection.get, Collection.query

    def counting_get(self, ids=None, **kwargs):
        calls.append(("get", len(ids) if ids is not None else -1))
        return get(self, ids=ids, **kwargs)

    def counting_query(self, *args, **kwargs):
        calls.append(("query", kwargs.get("n_results", 0)))
        return query(self, *args, **kwargs)

    for articles in (5, 300):
        _library(settings.corpus_dir, articles)
        build_index(settings, HashEmbedder(dims=16))
        with monkeypatch.context() as patch:
            patch.setattr(Collection, "get", counting_get)
            patch.setattr(Collection, "query", counting_query)
            calls.clear()
            retriever = Retriever(settings, HashEmbedder(dims=16))
            assert calls == [], f"start-up read passages at {articles} articles: {calls}"
            assert retriever.search("what does role 3 earn for task 2", k=3).hits
            candidates = settings.retrieval.candidates
            # one query (vectors only), one get of both lists' candidates
            assert [kind for kind, _ in calls] == ["query", "get"], calls
            assert 0 < calls[1][1] <= 2 * candidates, calls
            calls.clear()
            assert retriever.search("what does role 3 earn for task 2", k=3).hits
            assert calls == [("query", candidates)], "passages read once are not read again"


KILLED_BUILD = """
import sys, time
from pathlib import Path
from advisor import generation
from advisor.index.build import build_index
from advisor.settings import IndexSettings, Settings
from tests.conftest import HashEmbedder

generation.EMBED_BATCH = 10

class Slow(HashEmbedder):
    def embed_documents(self, texts, progress=False):
        if self.embedded >= 30:  # three steps written: now wait to be killed
            print("killable", flush=True)
            time.sleep(60)
        return super().embed_documents(texts, progress)

settings = Settings(corpus_dir=Path(sys.argv[1]), index=IndexSettings(path=Path(sys.argv[2])))
build_index(settings, Slow())
"""


@pytest.mark.slow
def test_a_killed_build_resumes_and_keeps_what_it_embedded(settings: Settings) -> None:
    _library(settings.corpus_dir, 12)  # 72 passages: 8 steps of 10
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_BUILD, str(settings.corpus_dir), str(settings.index.path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline().strip() == "killable"
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    assert read_manifest(settings.index) is None  # nothing was published
    _fresh_process_view()
    again = HashEmbedder()
    report = build_index(settings, again)
    assert report.resumed_chunks == 30
    assert again.embedded == report.embedded_chunks == 72 - 30
    assert _passages(settings) == 72
    assert KeywordIndex(_keyword_file(settings)).size == 72
    assert not (settings.index.path / "building.json").exists()
    hits = Retriever(settings, again).search("what does role 3 earn for task 2").hits
    assert hits


def test_keyword_scores_are_okapi_bm25_as_before(
    settings: Settings, hash_embedder: HashEmbedder
) -> None:
    """The scores rank-bm25 gave (k1 1.5, b 0.75, negative idf -> 0.25 x mean idf),
    computed here from the passages themselves, for every passage that matches."""
    import math

    from advisor.text import tokenize

    build_index(settings, hash_embedder)
    retriever = Retriever(settings, hash_embedder)
    ids = [
        cid for entry in read_manifest(settings.index).documents.values() for cid in entry.chunk_ids
    ]
    docs = {cid: tokenize(c.embed_text) for cid, c in retriever.passages(ids).items()}
    n, avgdl = len(docs), sum(map(len, docs.values())) / len(docs)
    df: dict[str, int] = {}
    for words in docs.values():
        for word in set(words):
            df[word] = df.get(word, 0) + 1
    idf = {w: math.log(n - d + 0.5) - math.log(d + 0.5) for w, d in df.items()}
    floor = 0.25 * sum(idf.values()) / len(idf)
    idf = {w: floor if v < 0 else v for w, v in idf.items()}
    query = "how much do medical coders earn per year"
    tokens = tokenize(" ".join([query, *retriever.lexicon.acronyms_for(query)]))

    def okapi(words: list[str]) -> float:
        norm = 1.5 * (1 - 0.75 + 0.75 * len(words) / avgdl)
        return sum(idf.get(t, 0) * words.count(t) * 2.5 / (words.count(t) + norm) for t in tokens)

    expected = sorted(((cid, okapi(w)) for cid, w in docs.items()), key=lambda p: -p[1])
    expected = [(cid, s) for cid, s in expected if s > 0]
    got = retriever.keyword(query, len(expected))
    assert len(got) == len(expected) > 10
    assert [round(s, 9) for _, s in got] == [round(s, 9) for _, s in expected]
    assert dict(got) == pytest.approx(dict(expected))


def test_a_word_in_too_many_passages_does_not_pick_candidates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FTS5 ranks every passage a query word is in; "medical" in a medical library of
    100,000 passages made keyword search take 150 ms. The rarest words pick candidates
    while together they are in at most MATCH_BUDGET passages; the others only re-score
    what those found, exactly as before. A question whose rarest word is past the budget
    finds none here, and `score` weighs the passages dense search found instead."""
    from advisor import keyword
    from advisor.chunking import Chunk
    from advisor.keyword import KeywordWriter

    def chunk(i: int, text: str) -> Chunk:
        return Chunk(chunk_id=f"c{i}", doc_id=f"d{i}", title="t", publisher="p", section="s",
                     text=text, start=0, end=len(text))  # fmt: skip

    chunks = [chunk(i, f"medical work number {i}") for i in range(40)]
    chunks += [chunk(40, "medical coders earn a zymurgy wage"), chunk(41, "zymurgy alone")]
    path = tmp_path / "k.sqlite"
    writer = KeywordWriter(path)
    writer.add(chunks)
    writer.finish()
    index = KeywordIndex(path)
    everything = index.search(["medic", "zymurgi"], 50)
    assert len(everything) == 42  # within the budget: "medical" finds its passages too
    monkeypatch.setattr(keyword, "MATCH_BUDGET", 10)
    selective = index.search(["medic", "zymurgi"], 50)
    assert sorted(cid for cid, _ in selective) == ["c40", "c41"]  # those with the rare word
    assert dict(selective)["c40"] == dict(everything)["c40"]  # scored exactly as before
    assert index.search(["medic"], 5) == []  # only a word past the budget: no candidates
    given = {c.chunk_id: tokenize(c.embed_text) for c in chunks[38:]}
    scored = index.score(["medic", "zymurgi"], given)
    assert scored == pytest.approx({c: s for c, s in everything if c in given})


def test_past_the_budget_fused_search_still_weighs_words(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every word of a question past the budget, the fused ranking still has BM25
    scores: those of the dense candidates, as a search within the budget gives them."""
    from advisor import keyword

    build_index(settings, HashEmbedder(dims=16))
    retriever = Retriever(settings, HashEmbedder(dims=16))
    question = "How much do medical coders earn?"
    within = {h.chunk.chunk_id: h.bm25 for h in retriever.search(question, k=5).hits}
    matching = len(retriever.keyword(question, 500))
    monkeypatch.setattr(keyword, "MATCH_BUDGET", 0)
    assert retriever.keyword(question, 20) == []
    past = {h.chunk.chunk_id: h.bm25 for h in retriever.search(question, k=5).hits}
    assert any(score for score in past.values())
    shared = [c for c in past if past[c] is not None and within.get(c) is not None]
    assert shared and all(past[c] == pytest.approx(within[c]) for c in shared)
    # only the rarest word within the budget: the others still weigh dense's candidates
    index = retriever._loaded.keyword
    frequency = index._frequency(tokenize(question))
    monkeypatch.setattr(keyword, "MATCH_BUDGET", min(frequency.values()))
    picked, cut = index.candidates(tokenize(question), 500)
    assert cut and len(picked) < matching
    part = {h.chunk.chunk_id: h.bm25 for h in retriever.search(question, k=5).hits}
    shared = [c for c in part if within.get(c) is not None]  # scored within the budget
    assert shared and all(part[c] == pytest.approx(within[c]) for c in shared), (part, within)


def test_a_keyword_file_of_an_older_schema_is_rebuilt_by_advisor_index(
    settings: Settings, hash_embedder: HashEmbedder
) -> None:
    """Schema 1 had no table of passage counts; `advisor index` rebuilds such a file
    (without re-embedding) and the retriever reads the new one."""
    import sqlite3

    build_index(settings, hash_embedder)
    path = keyword_path(settings.index.path, read_manifest(settings.index).collection)
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE terms")
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    with pytest.raises(IndexUnavailableError, match="another schema version"):
        Retriever(settings, hash_embedder)
    report = build_index(settings, hash_embedder)
    assert report.keyword_repair and report.embedded_chunks == 0
    assert Retriever(settings, hash_embedder).search("How much do medical coders earn?").hits
