"""Split articles into heading-aware chunks with character spans.

These articles are sections and FAQ-style questions, each followed by its
answer. A passage read without its heading ("The average pay is around $16
hourly") loses who it is about, so every chunk records its section and is
embedded with the article title and section prepended. Spans index into
`Article.text` so the page can highlight the exact passage later.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from advisor.corpus import Article
from advisor.settings import ChunkSettings

if TYPE_CHECKING:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

# Bumped when the rules change what a passage is: the index rebuilds itself.
CHUNKER_VERSION = 2
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*$")
_LIST_ITEM = re.compile(r"^(?:[-*+]|\d+[.)])\s")
_FIGURE = re.compile(r"\d")
# Sentence ends followed by whitespace; the splitter keeps the punctuation.
SENTENCE_SEPARATORS = ["\n\n", "\n", r"(?<=[.!?])\s+", r"(?<=[;:])\s+", " "]


@dataclass(frozen=True)
class Chunk:
    """A retrievable passage; `start`/`end` locate `text` inside the article text."""

    chunk_id: str
    doc_id: str
    title: str
    publisher: str
    section: str
    text: str
    start: int
    end: int
    published: str = ""

    @property
    def embed_text(self) -> str:
        """What gets embedded and keyword-indexed: the passage in its context."""
        return f"{self.title}\n{self.section}\n{self.text}"

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> Chunk:
        """A chunk from stored or serialised fields (chroma metadata, a citation's JSON)."""
        return cls(
            chunk_id=str(fields["chunk_id"]),
            doc_id=str(fields["doc_id"]),
            title=str(fields["title"]),
            publisher=str(fields["publisher"]),
            section=str(fields["section"]),
            text=str(fields["text"]),
            start=int(fields["start"]),
            end=int(fields["end"]),
            published=str(fields.get("published") or ""),
        )

    def metadata(self) -> dict[str, str | int]:
        """Flat metadata, as chromadb stores it."""
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "publisher": self.publisher,
            "published": self.published,
            "section": self.section,
            "start": self.start,
            "end": self.end,
        }


@dataclass(frozen=True)
class Section:
    heading: str
    start: int
    end: int


def heading_of(line: str, markdown: bool = False) -> tuple[int, str] | None:
    """Return (level, heading) for a heading line, or None for body text.

    Markdown headings are explicit, and in a Markdown article they are the only
    ones. Plain-text pages lost their markup, so there a short line without
    closing punctuation, or a question line, counts as a level-2 heading, unless
    it holds a figure ("Median pay: $57,440 per year" is a fact, not a title)
    or is a table row.
    """
    stripped = line.strip()
    match = _MD_HEADING.match(stripped)
    if match:
        return len(match.group(1)), match.group(2).strip()
    if markdown or not stripped or _LIST_ITEM.match(stripped) or len(stripped) > 110:
        return None
    if stripped.startswith("|") or _FIGURE.search(stripped):
        return None
    words = stripped.split()
    if stripped.endswith("?") and len(words) <= 18:
        return 2, stripped
    if stripped.endswith(":") and len(words) <= 6:
        return 2, stripped.rstrip(":")
    if stripped[-1] in ".,;:!\"'”)" or len(words) > 12:
        return None
    return 2, stripped


def split_sections(text: str, markdown: bool = False) -> list[Section]:
    """Cut the article at heading lines; text before the first heading is the intro.

    A sub-heading is labelled with its parent ("Salary Differences › Medical
    Billing") because sub-headings such as "Medical Billing" repeat under
    several parents and mean little alone.
    """
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    heading, body_start, pos = "Introduction", 0, 0
    for line in text.splitlines(keepends=True):
        found = heading_of(line, markdown)
        if found is not None:
            if text[body_start:pos].strip():
                sections.append(Section(heading, body_start, pos))
            stack = [entry for entry in stack if entry[0] < found[0]] + [found]
            heading = " › ".join(entry[1] for entry in stack[-2:])
            body_start = pos + len(line)
        pos += len(line)
    if text[body_start:].strip():
        sections.append(Section(heading, body_start, len(text)))
    return sections


def make_splitter(settings: ChunkSettings) -> RecursiveCharacterTextSplitter:
    """The size splitter used inside one section: paragraphs, then sentences."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter  # only when indexing

    return RecursiveCharacterTextSplitter(
        chunk_size=settings.size,
        chunk_overlap=settings.overlap,
        separators=SENTENCE_SEPARATORS,
        is_separator_regex=True,
        keep_separator=False,
        add_start_index=True,
        strip_whitespace=True,
    )


def chunk_id(doc_id: str, title: str, section: str, text: str) -> str:
    """Content-derived id over everything embedded: same passage, same id, same vector."""
    key = "\x1f".join((doc_id, title, section, text))
    return hashlib.sha1(key.encode()).hexdigest()[:20]


def chunk_article(article: Article, settings: ChunkSettings) -> list[Chunk]:
    """Chunk one article section by section, never across a heading."""
    splitter = make_splitter(settings)
    chunks: list[Chunk] = []
    markdown = article.path.suffix.lower() == ".md"
    for section in split_sections(article.text, markdown):
        body = article.text[section.start : section.end]
        for doc in splitter.create_documents([body]):
            start = section.start + int(doc.metadata["start_index"])
            piece = doc.page_content
            if article.text[start : start + len(piece)] != piece:  # splitter rewrote text
                start = article.text.find(piece, section.start)
            chunks.append(
                Chunk(
                    chunk_id=chunk_id(article.doc_id, article.title, section.heading, piece),
                    doc_id=article.doc_id,
                    title=article.title,
                    publisher=article.publisher,
                    published=article.published or "",
                    section=section.heading,
                    text=piece,
                    start=start,
                    end=start + len(piece),
                )
            )
    return _drop_repeats(chunks)


def _drop_repeats(chunks: list[Chunk]) -> list[Chunk]:
    """An article that repeats a passage verbatim yields one chunk, not two ids."""
    seen: set[str] = set()
    unique = []
    for chunk in chunks:
        if chunk.chunk_id not in seen:
            seen.add(chunk.chunk_id)
            unique.append(chunk)
    return unique


def chunk_corpus(articles: list[Article], settings: ChunkSettings) -> list[Chunk]:
    return [chunk for article in articles for chunk in chunk_article(article, settings)]
