"""What a build must do: which articles are new, changed, gone or broken, which
passages the changed ones yield, and whether every vector is invalid (a full rebuild).

Apart from the build because none of it touches the store: what counts as a change is
decided here from the corpus, the settings and the old manifest alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from advisor.chunking import CHUNKER_VERSION, Chunk, chunk_article
from advisor.corpus import Article, slugify
from advisor.index.manifest import DocumentEntry, Manifest
from advisor.quarantine import Quarantined
from advisor.settings import Settings


@dataclass
class BuildReport:
    """What a build did, for the CLI to print and the tests to check."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept_despite_errors: list[str] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)
    embedded_chunks: int = 0
    reused_chunks: int = 0
    full_rebuild_reason: str | None = None
    keyword_repair: str | None = None  # what was wrong with the keyword file, rebuilt
    resumed_chunks: int = 0  # kept from a build that was killed
    knowledge_updated: bool = False
    derived_articles: int = 0  # articles whose knowledge was derived anew (not cached)
    outliers: list[tuple[str, str]] = field(default_factory=list)  # (file, what is odd)
    quarantined: list[Quarantined] = field(default_factory=list)
    cleaned: list[str] = field(default_factory=list)  # leftover collections removed
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(
            self.added
            or self.updated
            or self.removed
            or self.full_rebuild_reason
            or self.keyword_repair
        )


def chunk_settings_key(settings: Settings) -> dict[str, Any]:
    """What decides the passages: the settings and the chunker's own rules (its version)."""
    return {**settings.chunking.model_dump(), "chunker": CHUNKER_VERSION}


def full_rebuild_reason(old: Manifest | None, settings: Settings) -> str | None:
    if old is None:
        return "no index yet"
    if old.embedding_model != settings.embedding.model_name:
        return f"embedding model changed ({old.embedding_model} -> {settings.embedding.model_name})"
    if old.chunking != chunk_settings_key(settings):
        return f"chunker settings changed ({old.chunking} -> {chunk_settings_key(settings)})"
    return None


def _entry(article: Article, chunks: list[Chunk]) -> DocumentEntry:
    return DocumentEntry(
        content_hash=article.content_hash,
        title=article.title,
        publisher=article.publisher,
        published=article.published,
        path=article.path.name,
        chunk_ids=[c.chunk_id for c in chunks],
    )


def plan_articles(
    articles: list[Article], problems: dict[str, str], old: Manifest | None, full: bool
) -> tuple[BuildReport, list[Article], dict[str, DocumentEntry]]:
    """Sort articles into embed-anew and carry-over; broken files keep their old version."""
    report = BuildReport(problems=dict(problems))
    old_docs = {} if (old is None or full) else old.documents
    to_embed: list[Article] = []
    carried: dict[str, DocumentEntry] = {}
    for article in articles:
        previous = old_docs.get(article.doc_id)
        if previous is not None and previous.content_hash == article.content_hash:
            report.unchanged.append(article.doc_id)
            carried[article.doc_id] = previous
        else:
            (report.updated if previous else report.added).append(article.doc_id)
            to_embed.append(article)
    loaded = {a.doc_id for a in articles}
    broken = {slugify(Path(name).stem) for name in problems}
    for doc_id, entry in old_docs.items():
        if doc_id in loaded:
            continue
        if doc_id in broken:  # a file that broke keeps its last good version
            report.kept_despite_errors.append(doc_id)
            carried[doc_id] = entry
        else:
            report.removed.append(doc_id)
    return report, to_embed, carried


def chunk_new(
    to_embed: list[Article],
    carried: dict[str, DocumentEntry],
    settings: Settings,
    report: BuildReport,
) -> tuple[dict[str, DocumentEntry], list[Chunk]]:
    """The new generation's documents, and the passages of the articles that changed."""
    documents = dict(carried)
    new_chunks: list[Chunk] = []
    for article in to_embed:
        chunks = chunk_article(article, settings.chunking)
        if not chunks:
            report.problems[article.path.name] = "it yields no passage to index"
            _unplan(report, article.doc_id)
            continue
        documents[article.doc_id] = _entry(article, chunks)
        new_chunks.extend(chunks)
    return documents, new_chunks


def _unplan(report: BuildReport, doc_id: str) -> None:
    """An article that yields nothing is a problem, not an addition or an update."""
    for bucket in (report.added, report.updated):
        if doc_id in bucket:
            bucket.remove(doc_id)
