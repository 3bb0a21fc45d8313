"""The library's knowledge is derived incrementally: only changed articles are read again,
and the result is exactly what a derivation from scratch gives."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from advisor.corpus import load_corpus
from advisor.index.build import build_index
from advisor.index.manifest import read_manifest
from advisor.knowledge.cache import CACHE_NAME
from advisor.knowledge.lexicon import LexiconData
from advisor.knowledge.library import derive_library, library_lexicon
from advisor.settings import Settings

from .conftest import HashEmbedder
from .test_outliers import PLANTED  # one planted outlier article for both files

CAREERS = Path(__file__).resolve().parent.parent / "evals" / "corpora" / "careers" / "corpus"
CHANGED = "medical-coder-vs-medical-biller"


@pytest.fixture
def both_libraries(settings: Settings) -> Settings:
    """The committed corpus plus the second library's articles: many occupations, reporters."""
    for path in CAREERS.glob("*.md"):
        shutil.copy(path, settings.corpus_dir / path.name)
    return settings


def _from_scratch(settings: Settings) -> LexiconData:
    articles = load_corpus(settings.corpus_dir).articles
    return derive_library(articles, settings, None).data


def _stored(settings: Settings) -> LexiconData:
    manifest = read_manifest(settings.index)
    assert manifest is not None and manifest.library is not None
    return manifest.library


def _articles(settings: Settings) -> int:
    return len(load_corpus(settings.corpus_dir).articles)


def test_changing_one_article_rederives_only_it_and_equals_a_scratch_derivation(
    both_libraries: Settings, hash_embedder: HashEmbedder
) -> None:
    settings = both_libraries
    first = build_index(settings, hash_embedder)
    assert first.derived_articles == _articles(settings) > 10
    assert (settings.index.path / CACHE_NAME).is_file()
    path = settings.corpus_dir / f"{CHANGED}.md"
    path.write_text(
        path.read_text() + "\n## Transcriptionists\n\nMedical transcriptionists earn "
        "$41,000 a year, according to the Bureau of Labor Statistics (BLS). Medical "
        "transcriptionists work beside physicians. Many medical transcriptionists become coders.\n"
    )
    again = build_index(settings, hash_embedder)
    assert again.updated == [CHANGED]
    assert again.derived_articles == 1
    stored = _stored(settings)
    assert stored == _from_scratch(settings)
    assert "medical transcriptionist" in {s.key for s in stored.subjects}  # the change is in it
    # the index's derivation is the library's lexicon from scratch, with its outliers
    scratch = library_lexicon(load_corpus(settings.corpus_dir).articles, settings.corpus_dir)
    assert stored.model_copy(update={"outliers": []}) == scratch.to_data()


def test_removing_an_article_and_an_unchanged_build_derive_nothing_new(
    both_libraries: Settings, hash_embedder: HashEmbedder
) -> None:
    settings = both_libraries
    build_index(settings, hash_embedder)
    assert build_index(settings, hash_embedder).derived_articles == 0
    (settings.corpus_dir / "welder-career.md").unlink()
    report = build_index(settings, hash_embedder)
    assert report.removed == ["welder-career"] and report.derived_articles == 0
    assert _stored(settings) == _from_scratch(settings)
    cached = json.loads((settings.index.path / CACHE_NAME).read_text())["articles"]
    assert "welder-career" not in cached and len(cached) == _articles(settings)


def test_full_rebuild_rederives_every_article(
    settings: Settings, hash_embedder: HashEmbedder
) -> None:
    build_index(settings, hash_embedder)
    report = build_index(settings, hash_embedder, full=True)
    assert report.derived_articles == _articles(settings)
    assert _stored(settings) == _from_scratch(settings)


@pytest.mark.parametrize(
    "damage",
    [
        b"{ not json",
        b"\xff\xfe\x00garbage",
        b"[]",
        b'{"version": 1, "articles": []}',
        b"",
    ],
    ids=["truncated", "binary", "a list", "wrong shape", "empty"],
)
def test_a_damaged_cache_is_rederived_and_never_breaks_indexing(
    both_libraries: Settings, hash_embedder: HashEmbedder, damage: bytes
) -> None:
    settings = both_libraries
    build_index(settings, hash_embedder)
    expected = _stored(settings)
    (settings.index.path / CACHE_NAME).write_bytes(damage)
    report = build_index(settings, hash_embedder)
    assert report.derived_articles == _articles(settings)
    assert _stored(settings) == expected
    assert build_index(settings, hash_embedder).derived_articles == 0  # written afresh


def test_damaged_entries_and_another_derivers_cache_are_rederived(
    both_libraries: Settings, hash_embedder: HashEmbedder
) -> None:
    settings = both_libraries
    build_index(settings, hash_embedder)
    expected = _stored(settings)
    path = settings.index.path / CACHE_NAME
    data = json.loads(path.read_text())
    broken = sorted(data["articles"])[:4]
    data["articles"][broken[3]]["pay"]["facts"] = [["not", "a fact"], 7]
    data["articles"][broken[0]]["findings"] = {"subjects": "not a list"}
    data["articles"][broken[1]]["findings"]["doc_id"] = "someone-else"
    data["articles"][broken[2]] = ["not", "an", "entry"]
    path.write_text(json.dumps(data))
    assert build_index(settings, hash_embedder, full=False).derived_articles == 3
    assert _stored(settings) == expected
    data = json.loads(path.read_text())
    data["version"] = "an older deriver"
    path.write_text(json.dumps(data))
    assert build_index(settings, hash_embedder).derived_articles == _articles(settings)
    assert _stored(settings) == expected


def test_pay_figures_are_read_again_only_for_changed_articles_while_the_names_stay(
    settings: Settings, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    (settings.corpus_dir / "career-news.md").write_text(PLANTED)
    articles = load_corpus(settings.corpus_dir).articles
    first = derive_library(articles, settings, cache)
    assert first.derived == first.read == len(articles)
    assert [o.doc_id for o in first.outliers] == ["career-news"]
    path = settings.corpus_dir / f"{CHANGED}.md"
    path.write_text(path.read_text() + "\nThis article was revised in the spring.\n")
    articles = load_corpus(settings.corpus_dir).articles
    second = derive_library(articles, settings, cache)
    assert second.derived == second.read == 1  # the same names: the others' figures kept
    assert second.data == derive_library(articles, settings, None).data
    assert second.data.outliers == first.data.outliers == ["career-news|500000"]
    path.write_text(
        path.read_text() + "\n## Auditors\n\nClinical auditors earn $60,000 a year. "
        "Clinical auditors review charts. Many clinical auditors were coders.\n"
    )
    articles = load_corpus(settings.corpus_dir).articles
    third = derive_library(articles, settings, cache)
    assert "clinical auditor" in {s.key for s in third.data.subjects}
    assert third.derived == 1 and third.read == len(articles)  # a new name: all read again
    assert third.data == derive_library(articles, settings, None).data
