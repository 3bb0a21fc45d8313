"""The lexicon of a corpus folder: derived from its articles, corrected by its data files."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from advisor.chunking import CHUNKER_VERSION, Chunk, chunk_article
from advisor.corpus import Article, read_library_file
from advisor.knowledge.derive import Declared
from advisor.knowledge.facts import PassageReader
from advisor.knowledge.lexicon import Lexicon, LexiconData, Subject
from advisor.knowledge.merge import (
    SourceArticle,
    article_findings,
    build_lexicon,
    merge_findings,
    set_doc_reporters,
)
from advisor.knowledge.outliers import Outlier, PayFact, outliers_among, pay_facts
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
    read: int = 0  # articles whose pay figures were read anew for the outlier check
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
    deriver) are not derived again, nor their pay figures read again while the names
    the lexicon knows stay the same; `full` derives every article. The result equals
    a derivation from scratch (`library_lexicon`, `find_outliers`).
    """
    from advisor.knowledge.cache import FindingsCache

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
    lexicon = merge_findings(found, _declared(settings.corpus_dir))
    set_doc_reporters(lexicon, ((a.doc_id, f"{a.title}\n{a.text}") for a in articles))
    reading, reader, read = _reading_key(lexicon, settings), PassageReader(lexicon), 0
    stated: dict[str, list[PayFact]] = {}
    for article in articles:
        own = json.dumps(
            [
                lexicon.doc_subjects.get(article.doc_id, []),
                lexicon.doc_reporters.get(article.doc_id),
            ]
        )
        key = hashlib.sha256(f"{reading}|{own}".encode()).hexdigest()[:16]
        facts = None if cached is None else cached.pay(article.doc_id, key)
        if facts is None:
            facts = pay_facts(chunk_article(article, settings.chunking), reader)
            read += 1
            if cached is not None:
                cached.put_pay(article.doc_id, key, facts)
        stated[article.doc_id] = facts
    if cached is not None:
        cached.save()
    outliers = outliers_among(stated)
    lexicon.outliers = {o.key for o in outliers}
    damaged = bool(cached is not None and cached.damaged)
    return LibraryKnowledge(lexicon.to_data(), outliers, derived, read, damaged)


def _reading_key(lexicon: Lexicon, settings: Settings) -> str:
    """What reading a passage's pay figures depends on besides the article: every name
    the lexicon knows (and its kind), the reporters, and how articles are cut."""
    names = [(s.key, s.kind, s.aliases) for s in sorted(lexicon.subjects.values(), key=_by_key)]
    chunking = {**settings.chunking.model_dump(), "chunker": CHUNKER_VERSION}
    body = json.dumps([names, lexicon.reporters, chunking], sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def _by_key(subject: Subject) -> str:
    return subject.key


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
