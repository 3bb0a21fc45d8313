"""Load and clean the source articles in corpus/.

Articles are Markdown with YAML front matter (the committed form); plain `.txt`
and `.html` files dropped into the folder are accepted too, so a maintainer can
add a page without converting it first. Every format goes through the same
boilerplate rules, and a file that cannot be read is reported by name while the
rest load: one broken file must never take the whole index down.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import frontmatter
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from advisor.quarantine import Quarantined, quarantine_article

SUPPORTED_SUFFIXES = (".md", ".txt", ".html", ".htm")
DEFAULT_MAX_FILE_BYTES = 2_000_000

# Web-page chrome in general: share bars, teasers, bylines. Matched against a whole
# (stripped) body line, case-insensitively, so sentences that merely mention these
# words stay, and never against a `#` heading. A site's own chrome ("Talk to Skipper")
# belongs in the library's data file, `library.yaml` (`boilerplate:`), not here.
BOILERPLATE_LINES: tuple[str, ...] = (
    r"(more )?recommendations? for you",
    r"recommended for you",
    r"try it now",
    r"share this (post|article|page):?",
    r"you might also like",
    r"related (posts|articles):?",
    r"reviewed by:?",
    r"written by",
    r"feature image:.*",
)
LIBRARY_FILE = "library.yaml"


class LibraryFile(BaseModel):
    """`library.yaml` beside the articles: a maintainer's corrections for the whole library."""

    model_config = ConfigDict(extra="forbid")

    boilerplate: list[str] = Field(default_factory=list, description="Site-chrome line regexes.")
    examples: list[str] = Field(
        default_factory=list, description="Example questions the page offers first."
    )
    occupations: list[str | dict[str, Any]] = Field(default_factory=list)
    aliases: dict[str, list[str]] = Field(default_factory=dict)
    not_occupations: list[str] = Field(default_factory=list)


def read_library_file(corpus_dir: Path) -> LibraryFile:
    """The library's data file, or an empty one; a broken file is an error naming it."""
    path = corpus_dir / LIBRARY_FILE
    if not path.is_file():
        return LibraryFile()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        library = LibraryFile.model_validate(data)
        for pattern in library.boilerplate:
            re.compile(pattern)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValidationError, re.error) as err:
        raise CorpusError(f"{path} is not a valid library file: {err}") from err
    return library


def chrome_pattern(extra: Sequence[str] = ()) -> re.Pattern[str]:
    """General web chrome plus a library's own site rules, as one whole-line pattern."""
    return re.compile(r"^(?:" + "|".join([*BOILERPLATE_LINES, *extra]) + r")$", re.IGNORECASE)


_BOILERPLATE = chrome_pattern()


class CorpusError(Exception):
    """A corpus file that cannot be turned into an article (the message names it)."""


@dataclass(frozen=True)
class Article:
    """One cleaned source article; `text` is what chunk spans point into."""

    doc_id: str
    title: str
    publisher: str
    text: str
    path: Path
    published: str | None = None
    authors: tuple[str, ...] = ()
    reviewed_by: tuple[str, ...] = ()
    source_url: str | None = None
    occupations: tuple[Any, ...] = ()  # front matter: names, or {name, aliases}
    aliases: tuple[tuple[str, tuple[str, ...]], ...] = ()  # front matter: name -> aliases

    @property
    def content_hash(self) -> str:
        """Hash of everything indexed, so a metadata-only edit also re-indexes."""
        meta = (
            f"{self.title}|{self.publisher}|{self.published}|{self.authors}|{self.reviewed_by}"
            f"|{self.source_url}|{self.occupations}|{self.aliases}"
        )
        return hashlib.sha256(f"{meta}\n{self.text}".encode()).hexdigest()


@dataclass
class LoadReport:
    """Articles that loaded and, by file name, the ones that did not and why."""

    articles: list[Article] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)
    quarantined: list[Quarantined] = field(default_factory=list)


def slugify(name: str) -> str:
    """Turn a file stem into a stable, URL-safe document id."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "article"


def clean_text(text: str, title: str | None = None, chrome: re.Pattern[str] = _BOILERPLATE) -> str:
    """Drop site chrome and normalise whitespace, keeping the article's own lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    kept: list[str] = []
    for raw in text.split("\n"):
        line = re.sub(r"[ \t]+", " ", raw).strip()
        if line and not line.startswith("#") and chrome.match(line):
            continue
        if title and not any(kept) and line.lstrip("# ").strip() == title:
            continue  # the title lives in front matter, not repeated as line one
        line = re.sub(r"^[•·▪●]\s*", "- ", line)
        kept.append(line)
    cleaned = "\n".join(kept)
    cleaned = re.sub(r"\n{3,}", "\n\n", cleaned)
    return cleaned.strip() + "\n"


def _as_tuple(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    raise CorpusError(f"expected a name or a list of names, got {value!r}")


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def _read_text(path: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> str:
    size = path.stat().st_size
    if size > max_bytes:
        raise CorpusError(
            f"the file is {_size(size)}, over the {_size(max_bytes)} limit; "
            "split it into articles or raise ADVISOR_MAX_FILE_BYTES"
        )
    data = path.read_bytes()
    if not data.strip():
        raise CorpusError("the file is empty")
    if b"\x00" in data[:8192]:
        raise CorpusError("the file looks binary (it contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise CorpusError(f"the file is not valid UTF-8 text (byte {err.start})") from err


def _from_markdown(path: Path, raw: str, chrome: re.Pattern[str] = _BOILERPLATE) -> Article:
    try:
        post = frontmatter.loads(raw)
    except yaml.YAMLError as err:
        raise CorpusError(f"its YAML front matter does not parse: {err}") from err
    meta = post.metadata
    title = str(meta.get("title") or _first_line(post.content))
    published = meta.get("published")
    occupations = meta.get("occupations") or []
    aliases = meta.get("aliases") or {}
    if not isinstance(occupations, list) or not isinstance(aliases, dict):
        raise CorpusError(
            "front matter `occupations:` must be a list and `aliases:` a mapping of name to names"
        )
    return Article(
        doc_id=slugify(path.stem),
        title=title,
        publisher=str(meta.get("publisher") or "unknown"),
        published=str(published) if published else None,
        authors=_as_tuple(meta.get("authors")),
        reviewed_by=_as_tuple(meta.get("reviewed_by")),
        source_url=str(meta["source_url"]) if meta.get("source_url") else None,
        occupations=tuple(occupations),
        aliases=tuple((str(k), _as_tuple(v)) for k, v in aliases.items()),
        text=clean_text(post.content, title, chrome),
        path=path,
    )


def _from_plain(path: Path, raw: str, chrome: re.Pattern[str] = _BOILERPLATE) -> Article:
    text = clean_text(raw, chrome=chrome)
    title = _first_line(text)
    return Article(
        doc_id=slugify(path.stem),
        title=title,
        publisher="unknown",
        text=clean_text(text, title, chrome),
        path=path,
    )


def _from_html(path: Path, raw: str, chrome: re.Pattern[str] = _BOILERPLATE) -> Article:
    import trafilatura  # imported here: only needed when an HTML file is present

    extracted = trafilatura.bare_extraction(
        raw, include_comments=False, include_tables=True, with_metadata=True
    )
    if extracted is None or not (extracted.text or "").strip():
        raise CorpusError("no article text could be extracted from the HTML")
    title = extracted.title or _first_line(extracted.text)
    return Article(
        doc_id=slugify(path.stem),
        title=title,
        publisher=extracted.sitename or "unknown",
        published=extracted.date or None,
        authors=_as_tuple(extracted.author),
        text=clean_text(extracted.text, title, chrome),
        path=path,
    )


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip().lstrip("# ").strip()
    raise CorpusError("the file has no text")


def load_article(
    path: Path, chrome: re.Pattern[str] = _BOILERPLATE, max_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> Article:
    """Load one file, raising CorpusError with a reason a maintainer can act on."""
    raw = _read_text(path, max_bytes)
    suffix = path.suffix.lower()
    if suffix == ".md":
        article = _from_markdown(path, raw, chrome)
    elif suffix in (".html", ".htm"):
        article = _from_html(path, raw, chrome)
    else:
        article = _from_plain(path, raw, chrome)
    if not article.text.strip():
        raise CorpusError("nothing is left after removing site boilerplate")
    return article


def _not_a_file(path: Path) -> str | None:
    """Why a folder entry is not a regular file to read (symlink loop, FIFO, device…)."""
    try:
        mode = os.stat(path).st_mode  # follows symlinks, as reading would
    except OSError as err:
        if path.is_symlink():
            return f"a broken or looping symbolic link ({err.strerror})"
        return f"it cannot be read ({err.strerror})"
    if stat.S_ISDIR(mode):
        return ""  # sub-folders are not articles, and not worth a report
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO), not a file"
    if stat.S_ISSOCK(mode):
        return "a socket, not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device, not a file"
    if not stat.S_ISREG(mode):
        return "not a regular file"
    return None


def load_corpus(corpus_dir: Path, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> LoadReport:
    """Load every supported file, collecting problems instead of stopping at the first.

    Special files (FIFOs, devices, symlink loops) are reported and never opened,
    so a build cannot hang on them; instruction-like sentences are quarantined.
    """
    report = LoadReport()
    if not corpus_dir.is_dir():
        report.problems[str(corpus_dir)] = "the corpus folder does not exist"
        return report
    seen: dict[str, Path] = {}
    try:
        chrome = chrome_pattern(read_library_file(corpus_dir).boilerplate)
    except CorpusError as err:
        report.problems[LIBRARY_FILE] = str(err)
        chrome = _BOILERPLATE
    for path in sorted(corpus_dir.iterdir()):
        if path.name.startswith(".") or path.name == LIBRARY_FILE:
            continue
        special = _not_a_file(path)
        if special is not None:
            if special:
                report.problems[path.name] = f"skipped: {special}"
            continue
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            report.problems[path.name] = f"unsupported file type {path.suffix or '(none)'}"
            continue
        try:
            article = load_article(path, chrome, max_bytes)
        except (CorpusError, OSError) as err:
            report.problems[path.name] = str(err)
            continue
        if article.doc_id in seen:
            report.problems[path.name] = f"same document id as {seen[article.doc_id].name}"
            continue
        seen[article.doc_id] = path
        article, held = quarantine_article(article)
        report.quarantined.extend(held)
        report.articles.append(article)
    return report
