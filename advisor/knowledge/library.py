"""The lexicon of a corpus folder: derived from its articles, corrected by its data files."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from advisor.chunking import Chunk
from advisor.corpus import Article, read_library_file
from advisor.knowledge.derive import Declared, SourceArticle, build_lexicon
from advisor.knowledge.lexicon import Lexicon


def source_article(article: Article) -> SourceArticle:
    return SourceArticle(
        article.doc_id,
        article.title,
        article.text,
        Declared(list(article.occupations), {k: list(v) for k, v in article.aliases}),
        article.publisher,
    )


def library_lexicon(articles: Iterable[Article], corpus_dir: Path) -> Lexicon:
    """Everything the articles are about, with the maintainer's `library.yaml` applied."""
    library = read_library_file(corpus_dir)
    declared = Declared(library.occupations, library.aliases, library.not_occupations)
    return build_lexicon((source_article(a) for a in articles), declared)


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
