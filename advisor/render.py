"""What the page shows for a reply: HTML built here from escaped text, never live Markdown.

Kept out of the page module so it is plain functions with tests. The chat
renders messages as HTML (Markdown rendering is off), so nothing a user or a
source wrote is ever interpreted: `<script>`, `![img](http://…)` and
`[link](http://…)` are shown as typed. Only the advisor's own formatting is
rendered, by a small formatter that knows paragraphs, `- ` bullets,
`**bold**` labels, `` `code` `` and the `[n]` citation markers, which become
focusable chips that preview their passage and open its card.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from advisor.answer import Citation, Reply
from advisor.figures import extract_figures
from advisor.paychart import table_html
from advisor.payfigures import worth_charting
from advisor.text import split_sentences

_NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}
_UNKNOWN = {"", "unknown", "none", "n/a", "not stated"}
_MARKER = re.compile(r"\[(\d+)\]")
_BULLET = re.compile(r"^\s*[-*•]\s+(.*)$")
_HEADING = re.compile(r"^\s*#{1,6}\s+(.*)$")


def escape_text(text: str) -> str:
    """Literal text for an HTML message: tags and Markdown shown exactly as typed."""
    return html.escape(text, quote=True)


def _known(value: str | None) -> str:
    """The value, or "" when the source did not state it ("unknown" is never shown)."""
    value = (value or "").strip()
    return "" if value.lower() in _UNKNOWN else value


def guard_note(reply: Reply) -> str:
    """One sentence saying what the guard removed, or "" when it removed nothing."""
    figures = [r for r in reply.removed if r.figure]
    citations = [r for r in reply.removed if not r.figure]
    parts = []
    if figures:
        count = len(figures)
        noun = "figure was" if count == 1 else "figures were"
        parts.append(
            f"{_NUMBER_WORDS.get(count, count)} {noun} removed because no cited source states it"
        )
    if citations:
        parts.append("a citation to a source that doesn't exist was dropped")
    return f"Note: {'; '.join(parts)}." if parts else ""


# --- the advisor's own formatting -------------------------------------------------------


def _inline(text: str, chip) -> str:
    """Escape one line, then render **bold**, `code` and [n] markers (via `chip`)."""
    out = escape_text(text)
    out = re.sub(r"\*\*(\S(?:.*?\S)?)\*\*", r"<strong>\1</strong>", out)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return _MARKER.sub(lambda m: chip(int(m.group(1))), out)


def _plain_marker(n: int) -> str:
    return f'<span class="cite-pending">[{n}]</span>'


def format_text(text: str, chip=_plain_marker) -> str:
    """Paragraphs and bullet lists as HTML; every character of `text` is escaped first."""
    blocks: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if items:
            blocks.append("<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
            items.clear()

    for line in text.splitlines():
        if not line.strip():
            flush()
            continue
        bullet, heading = _BULLET.match(line), _HEADING.match(line)
        if bullet:
            items.append(_inline(bullet.group(1), chip))
            continue
        flush()
        if heading:  # a label, not a document heading: the page's heading order stays intact
            blocks.append(f'<p class="answer-label"><strong>{_inline(heading.group(1), chip)}'
                          "</strong></p>")  # fmt: skip
        else:
            blocks.append(f"<p>{_inline(line, chip)}</p>")
    flush()
    return "".join(blocks)


def user_html(question: str) -> str:
    """A student's question, shown exactly as typed."""
    return f'<div class="user-text">{escape_text(question)}</div>'


def status_html(text: str) -> str:
    """The live status shown in the answer's place while it is being prepared."""
    return (
        '<p class="answer-status" role="status"><span class="spinner" aria-hidden="true">'
        f"</span>{escape_text(text)}</p>"
    )


def streaming_html(partial: str) -> str:
    """An answer still being written: formatted, its markers not yet chips."""
    return f'<div class="answer"><div class="answer-text">{format_text(partial)}</div></div>'


def message_html(text: str) -> str:
    """A message from the advisor that is not an answer (an error, a refusal)."""
    return f'<div class="answer"><div class="answer-text">{format_text(text)}</div></div>'


# --- sources ----------------------------------------------------------------------------


@dataclass
class Card:
    """One source article of an answer, with every passage of it the answer cites."""

    key: str
    citations: list[Citation]
    source_url: str = ""

    @property
    def first(self) -> Citation:
        return self.citations[0]


def cards_for(reply: Reply, corpus_dir: Path | None = None) -> list[Card]:
    """Citations grouped into one card per article, in order of first citation."""
    cards: dict[str, Card] = {}
    for c in sorted(reply.citations, key=lambda c: c.n):
        if c.doc_id not in cards:
            url = source_url(corpus_dir, c.doc_id) if corpus_dir else ""
            cards[c.doc_id] = Card(f"s{len(cards) + 1}", [], url)
        cards[c.doc_id].citations.append(c)
    return list(cards.values())


def source_url(corpus_dir: Path, doc_id: str) -> str:
    """The original article's address from its front matter (`source_url`), or ""."""
    path = corpus_dir / f"{doc_id}.md"
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return ""
    return _front_matter_url(path, mtime)


@lru_cache(maxsize=256)
def _front_matter_url(path: Path, mtime: float) -> str:
    import frontmatter

    try:
        url = str(frontmatter.loads(path.read_text(encoding="utf-8")).get("source_url") or "")
    except Exception:  # an unreadable file just has no link
        return ""
    return url if re.match(r"https?://[^\s\"'<>]+$", url) else ""


def cited_sentences(citation: Citation, answer: str) -> list[tuple[int, int]]:
    """Spans of the passage sentences the answer quotes or whose figures it states."""
    marker = f"[{citation.n}]"
    claims = [s for s in re.split(r"(?<=[.!?])\s+|\n+", answer) if marker in s]
    claim_text = " ".join(re.sub(r"\[\d+\]", "", s) for s in claims).lower()
    claim_text = re.sub(r"\*\*[^*]*\*\*|^[-*]\s+", " ", claim_text)
    claim_values = _values(claim_text)
    spans = []
    for start, end in split_sentences(citation.text):
        sentence = citation.text[start:end]
        core = re.sub(r"^[-*\d.)\s]+", "", sentence).rstrip(".!?").lower()
        values = _values(sentence)
        if (len(core) > 20 and core in claim_text) or (values and values & claim_values):
            spans.append((start, end))
    return spans


def _values(text: str) -> set[tuple[str, float]]:
    """Figures that identify a claim; a bare year ("in 2020") is shared by too many."""
    return {(f.kind, f.value) for f in extract_figures(text) if f.kind != "year"}


def highlighted_passage(citation: Citation, answer: str) -> str:
    """The passage as escaped HTML with the cited sentences inside <mark>."""
    out, last = [], 0
    for start, end in cited_sentences(citation, answer):
        out.append(escape_text(citation.text[last:start]))
        out.append(f"<mark>{escape_text(citation.text[start:end])}</mark>")
        last = end
    out.append(escape_text(citation.text[last:]))
    return "".join(out).replace("\n", "<br>")


def _meta(citation: Citation) -> str:
    parts = [p for p in (_known(citation.publisher), _known(citation.published)) if p]
    return " · ".join(escape_text(p) for p in parts)


def card_html(card: Card, answer: str, prefix: str) -> str:
    """A collapsible card: numbers, title, who and when (only if known), passages, link."""
    first = card.first
    numbers = " ".join(f'<span class="source-n">{c.n}</span>' for c in card.citations)
    meta = _meta(first)
    meta_html = f' <span class="source-meta">{meta}</span>' if meta else ""
    passages = []
    for c in card.citations:
        section = _known(c.section)
        label = f'<p class="source-section">[{c.n}] {escape_text(section)}</p>' if section else ""
        passages.append(
            f'{label}<blockquote class="source-passage" id="{prefix}-{card.key}-p{c.n}">'
            f"{highlighted_passage(c, answer)}</blockquote>"
        )
    link = (
        f'<p class="source-link"><a href="{escape_text(card.source_url)}" target="_blank" '
        'rel="noopener noreferrer nofollow">Read the original article</a></p>'
        if card.source_url
        else ""
    )
    return (
        f'<details class="source-card" id="{prefix}-{card.key}">'
        f'<summary><span class="source-ns">{numbers}</span> '
        f'<span class="source-title">{escape_text(first.title)}</span>{meta_html}</summary>'
        f'<div class="source-body">{"".join(passages)}{link}</div></details>'
    )


def _tip(citation: Citation, answer: str) -> str:
    marks = [citation.text[s:e] for s, e in cited_sentences(citation, answer)]
    preview = " … ".join(f"<mark>{escape_text(m)}</mark>" for m in marks)
    if not preview:
        text = citation.text
        preview = escape_text(text[:280] + ("…" if len(text) > 280 else ""))
    return f'<span class="tip-title">{escape_text(citation.title)}</span> {preview}'


def answer_html(reply: Reply, prefix: str, corpus_dir: Path | None = None) -> str:
    """A finished answer: text with citation chips, the guard's note, its own source cards.

    `prefix` makes every id unique on the page (one per chat message), so an
    earlier answer's chips keep pointing at that answer's cards.
    """
    head, tail = answer_parts(reply, prefix, corpus_dir)
    return head[: -len("</div>")] + tail[len('<div class="answer-more">') :]


def answer_parts(reply: Reply, prefix: str, corpus_dir: Path | None = None) -> tuple[str, str]:
    """The answer in two parts, for a chart to go between them: the text and the guard's
    note; then the pay figures as a table (when there are enough to chart) and the
    sources."""
    cards = cards_for(reply, corpus_dir)
    by_n = {c.n: (card, c) for card in cards for c in card.citations}

    def chip(n: int) -> str:
        if n not in by_n:
            return f"[{n}]"
        card, citation = by_n[n]
        # The chat's sanitizer drops data-* and aria-* attributes; `value` and `title` stay.
        return (
            f'<span class="cite-wrap"><button type="button" class="cite" '
            f'value="{prefix}-{card.key}:{n}" title="{escape_text(citation.title)}">'
            f'<span class="sr-only">Source </span>{n}</button>'
            f'<span class="cite-tip" role="tooltip">{_tip(citation, reply.answer)}</span></span>'
        )

    note = guard_note(reply)
    head = [f'<div class="answer-text">{format_text(reply.answer, chip)}</div>']
    if note:
        head.append(f'<p class="guard-note">{escape_text(note)}</p>')
    tail = []
    if worth_charting(reply.figures):
        tail.append(table_html(reply.figures, chip))
    if cards:
        count = f"{len(cards)} article{'s' if len(cards) != 1 else ''}"
        tail.append(
            f'<div class="answer-sources"><p class="sources-label">Sources · {count}</p>'
            + "".join(card_html(card, reply.answer, prefix) for card in cards)
            + "</div>"
        )
    return (
        f'<div class="answer" id="{prefix}">' + "".join(head) + "</div>",
        '<div class="answer-more">' + "".join(tail) + "</div>",
    )


def card_targets(reply: Reply, prefix: str) -> dict[int, str]:
    """Citation number -> the id of the source card it opens ("m3-s1"), as chips use."""
    return {c.n: f"{prefix}-{card.key}" for card in cards_for(reply) for c in card.citations}


def covers_html(titles: list[str]) -> str:
    """The "About these answers" text: what the advisor covers and where figures come from."""
    if not titles:
        return "<p>No articles are indexed yet: run <code>advisor index</code> (or " \
            "<code>make run</code>).</p>"  # fmt: skip
    listed = "".join(f"<li>{escape_text(t)}</li>" for t in titles)
    return (
        f"<p>Answers come from these {len(titles)} articles, and cite them:</p>"
        f'<ul class="covers-list">{listed}</ul>'
        "<p>Every figure comes from a cited source, with who reported it and when; "
        "sources that disagree are shown side by side.</p>"
    )
