"""The lexicon of a corpus folder: derived from its articles, corrected by its data files."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from advisor.chunking import Chunk, chunk_article
from advisor.corpus import Article, read_library_file
from advisor.knowledge.derive import Declared
from advisor.knowledge.lexicon import Lexicon, LexiconData
from advisor.knowledge.merge import SourceArticle, article_findings, build_lexicon, merge_findings
from advisor.knowledge.outliers import Outlier
from advisor.settings import Settings


def source_article(article: Article) -> SourceArticle:
    return SourceArticle(
        article.doc_id,
        article.title,
        article.text,
        Declared(list(article.occupations), {k: list(v) for k, v in article.aliases}),
        article.publisher,
    )


def _declared(corpus_dir: Path) -> Declared:
    library = read_library_file(corpus_dir)
    return Declared(library.occupations, library.aliases, library.not_occupations)


def library_lexicon(articles: Iterable[Article], corpus_dir: Path) -> Lexicon:
    """Everything the articles are about, with the maintainer's `library.yaml` applied."""
    return build_lexicon((source_article(a) for a in articles), _declared(corpus_dir))


@dataclass
class LibraryKnowledge:
    """What an index build stores about its library, and what it did to get it."""

    data: LexiconData
    outliers: list[Outlier] = field(default_factory=list)
    derived: int = 0  # articles derived anew (the rest came from the cache)
    cache_damaged: bool = False

    def described_outliers(self, articles: list[Article]) -> list[tuple[str, str]]:
        """(file, what is odd) for `advisor index` to print."""
        names = {a.doc_id: a.path.name for a in articles}
        return [(names.get(o.doc_id, o.doc_id), o.describe()) for o in self.outliers]


def derive_library(
    articles: list[Article], settings: Settings, cache_folder: Path | None, full: bool = False
) -> LibraryKnowledge:
    """The library's lexicon, stored with the passages so both change together, with the
    figures far out of line with the other articles flagged.

    Articles whose findings are in `cache_folder`'s cache (same id, same content, same
    deriver) are not derived again; `full` derives every article. The result equals
    `library_lexicon` from scratch.
    """
    from advisor.knowledge.cache import FindingsCache
    from advisor.knowledge.outliers import find_outliers

    cached = None if cache_folder is None else FindingsCache.load(cache_folder)
    found, derived = [], 0
    for article in articles:
        hit = None if cached is None or full else cached.get(article.doc_id, article.content_hash)
        if hit is None:
            hit = article_findings(source_article(article))
            derived += 1
            if cached is not None:
                cached.put(article.content_hash, hit)
        found.append(hit)
    if cached is not None:
        cached.save()
    lexicon = merge_findings(found, _declared(settings.corpus_dir))
    chunks = [c for a in articles for c in chunk_article(a, settings.chunking)]
    outliers = find_outliers(chunks, lexicon)
    lexicon.outliers = {o.key for o in outliers}
    return LibraryKnowledge(
        lexicon.to_data(), outliers, derived, bool(cached is not None and cached.damaged)
    )


def lexicon_from_chunks(chunks: Iterable[Chunk]) -> Lexicon:
    """For an index built before lexicons were stored: read it back from the passages."""
    docs: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        docs.setdefault(chunk.doc_id, []).append(chunk)
    articles = []
    for doc_id, parts in docs.items():
        parts.sort(key=lambda c: c.start)
        text = "\n".join(f"## {c.section}\n{c.text}" for c in parts)
        articles.append(SourceArticle(doc_id, parts[0].title, text, publisher=parts[0].publisher))
    return build_lexicon(articles)
