"""What the page shows for a reply: escaped answer text, source cards, the guard's note.

Kept out of the page module so it is plain functions with tests. Everything
that came from a user or a source is HTML-escaped here: a question or a
passage containing `<script>` is shown as text, never run.
"""

from __future__ import annotations

import html
import re

from advisor.answer import Citation, Reply
from advisor.figures import extract_figures
from advisor.text import split_sentences

_NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


def escape_text(text: str) -> str:
    """Literal text for a Markdown message: tags shown as typed, Markdown left intact."""
    return html.escape(text, quote=False)


def guard_note(reply: Reply) -> str:
    """One line saying what the guard removed, or "" when it removed nothing."""
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
    return f"*Note: {'; '.join(parts)}.*" if parts else ""


def answer_markdown(reply: Reply) -> str:
    """The chat message for a reply: the answer, then the guard's note if any."""
    note = guard_note(reply)
    body = escape_text(reply.answer)
    return f"{body}\n\n{note}" if note else body


def cited_sentences(citation: Citation, answer: str) -> list[tuple[int, int]]:
    """Spans of the passage sentences the answer quotes or whose figures it states."""
    marker = f"[{citation.n}]"
    claims = [s for s in re.split(r"(?<=[.!?])\s+|\n+", answer) if marker in s]
    claim_text = " ".join(re.sub(r"\[\d+\]", "", s) for s in claims).lower()
    claim_values = {f.value for f in extract_figures(claim_text)}
    spans = []
    for start, end in split_sentences(citation.text):
        sentence = citation.text[start:end]
        core = re.sub(r"^[-*\d.)\s]+", "", sentence).rstrip(".!?").lower()
        values = {f.value for f in extract_figures(sentence)}
        if (len(core) > 20 and core in claim_text) or (values and values & claim_values):
            spans.append((start, end))
    return spans


def highlighted_passage(citation: Citation, answer: str) -> str:
    """The passage as escaped HTML with the cited sentences inside <mark>."""
    out, last = [], 0
    for start, end in cited_sentences(citation, answer):
        out.append(html.escape(citation.text[last:start]))
        out.append(f"<mark>{html.escape(citation.text[start:end])}</mark>")
        last = end
    out.append(html.escape(citation.text[last:]))
    return "".join(out).replace("\n", "<br>")


def source_cards(reply: Reply | None) -> str:
    """HTML cards, one per citation, each opening to its passage."""
    if reply is None or not reply.citations:
        return '<p class="no-sources">Sources for the latest answer appear here.</p>'
    cards = []
    for c in reply.citations:
        dated = f", {html.escape(c.published)}" if c.published else ""
        publisher = "publisher not stated" if c.publisher == "unknown" else c.publisher
        cards.append(
            f'<details class="source-card" id="source-{c.n}">'
            f'<summary><span class="source-n">[{c.n}]</span> '
            f'<span class="source-title">{html.escape(c.title)}</span> '
            f'<span class="source-meta">— {html.escape(publisher)}{dated}</span></summary>'
            f'<div class="source-section">Section: {html.escape(c.section)}</div>'
            f'<p class="source-passage">{highlighted_passage(c, reply.answer)}</p>'
            f"</details>"
        )
    return '<div class="source-cards">' + "".join(cards) + "</div>"


def covers_markdown(titles: list[str]) -> str:
    """The note under the title: what the advisor covers and where figures come from."""
    if not titles:
        return "No articles are indexed yet: run `advisor index` (or `make run`)."
    listed = "\n".join(f"- {escape_text(t)}" for t in titles)
    return (
        "I answer questions about medical billing, medical coding and PALS from these "
        f"articles, and cite them:\n{listed}\n\nEvery figure comes from a cited source, "
        "with who reported it and when; sources that disagree are shown side by side."
    )
