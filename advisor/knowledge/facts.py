"""Whose figure is it: occupation, statistic, period and reporter of every figure.

A source sentence knows what it is about from its own words, else from the
sentence before it ("They earn…"), else its section heading, else its
article's title; it never matches everything. The same reading is applied to
a reply, so the guard can compare the two: the RN median stated for LPNs, a
2018 median stated as 2015, or an average stated as the median, is caught.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from advisor.chunking import Chunk
from advisor.figures import YEAR, Figure, clause_around, extract_figures
from advisor.knowledge.derive import NEEDS_MODIFIER, job_nouns
from advisor.knowledge.lexicon import Lexicon, Mention
from advisor.text import split_sentences

# General English names of statistics. Hourly vs yearly is the figure's unit.
_SHARE = r"\b[^.;]{0,20}?(?:\d ?%|percent|paid|earn)"
STATISTICS: dict[str, re.Pattern[str]] = {
    "median": re.compile(r"\bmedian\b", re.I),
    "average": re.compile(r"\b(?:average|mean|on average)\b", re.I),
    "top": re.compile(
        r"\b(?:top|highest|upper|most)\b[^.;]{0,20}?(?:\d ?%|percent|paid|earn)", re.I
    ),
    "bottom": re.compile(
        r"\b(?:bottom|lowest|least)\b[^.;]{0,20}?(?:\d ?%|percent|paid|earn)", re.I
    ),
    "starting": re.compile(r"\b(?:starting|entry[- ]level|beginning|first[- ]year)\b", re.I),
    "late-career": re.compile(r"\b(?:late[- ]career|experienced|senior)\b", re.I),
    "range": re.compile(r"\b(?:range|ranges|ranging|between)\b", re.I),
}
_ANAPHORA = re.compile(
    r"^\W*(?:they|their|them|these|those|this|that|such|both|he|she|his|her|it)\b", re.I
)
# A short line with no closing punctuation and no figure: a label over the lines below it.
LABEL_LINE = re.compile(r"^[^.!?\d:;]{3,60}$")
# Two dimensions of a statistic: what is measured, and whose (top earners, starters…).
MEASURES = frozenset({"median", "average"})


@dataclass(frozen=True)
class FigureFact:
    """A figure with who it is for, what statistic, when, and who reported it."""

    figure: Figure
    subjects: tuple[frozenset[str], ...]  # one key set per mention; a family names several
    stats: frozenset[str]
    years: frozenset[int]
    reporter: str | None
    sentence: str
    passage: str = ""  # the whole passage, for what a reply may add ("<jobs> in <Place>")

    @property
    def subject_keys(self) -> frozenset[str]:
        return frozenset(k for group in self.subjects for k in group)


def statistics_in(text: str) -> frozenset[str]:
    return frozenset(name for name, pattern in STATISTICS.items() if pattern.search(text))


def years_in(text: str) -> frozenset[int]:
    return frozenset(int(y) for y in YEAR.findall(text))


def _groups(mentions: Sequence[Mention]) -> tuple[frozenset[str], ...]:
    return tuple(dict.fromkeys(m.keys for m in mentions))


def stated_subjects(
    lexicon: Lexicon, sentence: str, figure: Figure, quoted: bool = False
) -> tuple[frozenset[str], ...]:
    """Who a reply states a figure for: the subject named closest before it.

    "Coders make $21 an hour and billers $16" states $16 for billers only; a
    group such as "billers and coders" counts as one mention of both. Job nouns
    the library does not list count too ("Nurses earn…" in a coding library),
    unless the sentence is quoted word for word from its source, whose context
    then says whom it is about.
    """
    mentions = lexicon.mentions(sentence)
    if not quoted:
        mentions += unlisted_mentions(sentence, mentions, lexicon)
    mentions.sort(key=lambda m: m.start)
    before = [m for m in mentions if m.end <= figure.start]
    if not before:  # "$57,300 for HVAC technicians"; a job named far after is another's
        after = [
            m for m in mentions
            if m.start >= figure.end and len(sentence[figure.end : m.start].split()) <= 6
        ]  # fmt: skip
        return (after[0].keys,) if after else ()
    group = [before[-1]]
    for mention in reversed(before[:-1]):
        gap = sentence[mention.end : group[-1].start]
        if not re.fullmatch(r"[\s,]*(?:and|or|&|/)\s*(?:\w+\s+)?", gap, re.I):
            break
        group.append(mention)
    return tuple(dict.fromkeys(m.keys for m in reversed(group)))


def unlisted_mentions(
    text: str, listed: Sequence[Mention], lexicon: Lexicon | None = None
) -> list[Mention]:
    """Job nouns the library does not cover ("nurses" in a coding library), as mentions
    of a subject no source states anything for, so a figure restated for them fails."""
    taken = [(m.start, m.end) for m in listed]
    found = []
    for start, end, phrase in job_nouns(text):
        if any(a < end and start < b for a, b in taken) or phrase in NEEDS_MODIFIER:
            continue
        if lexicon is not None and lexicon.covers_activity(phrase):
            continue
        if any(not text[b:start].strip(" -") for _, b in taken if b <= start):
            continue  # "medical coding specialists": the listed name is the modifier
        found.append(Mention(start, end, frozenset({f"unlisted: {phrase}"})))
    return found


def _nearest(matches: list[tuple[int, str]], at: int) -> str | None:
    """The match closest before `at` (what a figure is said to be), else the first after."""
    before = [m for m in matches if m[0] <= at]
    if before:
        return before[-1][1]
    return matches[0][1] if matches else None


def statistic_of(clause: str, at: int, window: int | None = None) -> frozenset[str]:
    """The statistic a figure at offset `at` of `clause` is: "the mean was $60,790, close
    to the median" makes $60,790 a mean; "late-career coders make an average of $50,240"
    a late-career average. `window` limits how far before the figure a word counts."""
    found = sorted(
        (m.start(), name) for name, pattern in STATISTICS.items() for m in pattern.finditer(clause)
    )
    if window is not None:
        found = [f for f in found if at - window <= f[0] <= at + len(clause)]
    chosen = set()
    for group in (MEASURES, frozenset(STATISTICS) - MEASURES):
        pick = _nearest([f for f in found if f[1] in group], at)
        if pick:
            chosen.add(pick)
    return frozenset(chosen)


def year_of(clause: str, at: int, end: int) -> frozenset[int]:
    """The year a figure is for: the closest one in its clause ("$47,480 in 2019, so the
    2023 figure…" is a 2019 figure); a range "from 2019 to 2029" keeps both."""
    found = [(m.start(), int(m.group())) for m in YEAR.finditer(clause)]
    if not found:
        return frozenset()
    ranged = re.search(r"(?:19|20)\d{2}\s*(?:-|–|to|through)\s*(?:19|20)\d{2}", clause)
    if ranged:
        return years_in(ranged.group())
    nearest = min(found, key=lambda y: min(abs(y[0] - at), abs(y[0] - end)))
    return frozenset({nearest[1]})


def _table_header(text: str) -> list[str] | None:
    for line in text.splitlines():
        if line.lstrip().startswith("|"):
            return [cell.strip() for cell in line.strip().strip("|").split("|")]
    return None


class PassageReader:
    """Reads the figures of passages in context; one per lexicon (cheap to keep)."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon

    def context_subjects(self, chunk: Chunk) -> tuple[frozenset[str], ...]:
        """What a passage is about when a sentence does not say: its section, else its article."""
        section = _groups(self.lexicon.mentions(chunk.section))
        if section:
            return section
        title = self.lexicon.article_subjects(chunk.doc_id) or self.lexicon.subjects_in(chunk.title)
        return (frozenset(title),) if title else ()

    def _resolve(
        self, groups: tuple[frozenset[str], ...], chunk: Chunk
    ) -> tuple[frozenset[str], ...]:
        """ "Technicians" in a pharmacy article are pharmacy technicians: a family mention
        narrowed to the members its section or article is about."""
        known = {k for g in self.context_subjects(chunk) for k in g} | set(
            self.lexicon.article_subjects(chunk.doc_id)
        )
        return tuple((g & known) if len(g) > 1 and g & known else g for g in groups)

    def _named_for(
        self, clause: str, at: int, end: int, chunk: Chunk
    ) -> tuple[frozenset[str], ...]:
        """Who a source figure is for when its clause names someone: those named before it
        ("RNs earned $86,070"), else just after it ("$57,300 for HVAC technicians")."""
        mentions = self.lexicon.mentions(clause)
        before = [m for m in mentions if m.end <= at]
        after = [m for m in mentions if m.start >= end and len(clause[end : m.start].split()) <= 6]
        return self._resolve(_groups(before or after), chunk)

    def sentence_subjects(self, chunk: Chunk) -> list[tuple[str, tuple[frozenset[str], ...]]]:
        """Each sentence with the subjects it is about: its own, else (for "They…", "That…")
        the sentence before's, else its section's, else its article's."""
        return [(sentence, subjects) for sentence, subjects, _ in self._sentences(chunk)]

    def _sentences(
        self, chunk: Chunk
    ) -> list[tuple[str, tuple[frozenset[str], ...], tuple[frozenset[str], ...]]]:
        """(sentence, subjects, what it inherited: the subjects it does not name itself)."""
        context = self.context_subjects(chunk)
        previous: tuple[frozenset[str], ...] = context
        found = []
        for start, end in split_sentences(chunk.text):
            sentence = chunk.text[start:end]
            own = self._resolve(_groups(self.lexicon.mentions(sentence)), chunk)
            if own and LABEL_LINE.match(sentence):  # "LPN at a glance": heads the lines below
                context = own
            inherited = previous if _ANAPHORA.match(sentence) else context
            subjects = (
                tuple(dict.fromkeys(own + previous))
                if own and inherited is previous
                else (own or inherited)
            )
            found.append((sentence, subjects, inherited))
            previous = subjects
        return found

    def facts(self, chunk: Chunk) -> list[FigureFact]:
        """Every figure the passage states, each with its subjects, statistic, year, reporter."""
        key = (chunk.chunk_id, chunk.doc_id, chunk.section, chunk.published, chunk.publisher)
        cache = self.lexicon.facts_cache  # shared by the page's threads: one get, no re-read
        found = cache.get(key)
        if found is None:
            if len(cache) > 8192:
                cache.clear()
            found = cache[key] = self._read(chunk)
        return found

    def _read(self, chunk: Chunk) -> list[FigureFact]:
        article_years = years_in(chunk.published or "")
        publisher = chunk.publisher if chunk.publisher not in ("", "unknown") else None
        # the one reporter the article names states what its passage leaves unattributed
        article_reporter = self.lexicon.doc_reporters.get(chunk.doc_id) or publisher
        found = [
            FigureFact(f, (), frozenset(), article_years, publisher, chunk.published)
            for f in extract_figures(chunk.published or "")
        ]
        header = _table_header(chunk.text)
        years: frozenset[int] = frozenset()
        reporter: str | None = None
        last_stats: frozenset[str] = frozenset()
        for sentence, subjects, inherited in self._sentences(chunk):
            own_years, own_reporters = years_in(sentence), self.lexicon.reporters_in(sentence)
            years = own_years or years
            reporter = own_reporters[0] if own_reporters else reporter
            row = header is not None and sentence.lstrip().startswith("|")
            for figure in extract_figures(sentence):
                if row and header:  # a table cell: its column header says what it is
                    column = sentence[: figure.start].count("|") - 1
                    clause = header[column] if 0 <= column < len(header) else ""
                    at = end = len(clause)
                else:
                    clause = clause_around(sentence, figure.start, figure.end)
                    at = figure.start - max(0, sentence.find(clause))
                    end = at + len(figure.text)
                if row:  # the row's own first cells say whose figure it is
                    named = self._named_for(sentence, figure.start, figure.end, chunk)
                else:  # named in its clause, else earlier in its sentence ("… of coders made
                    # $29,130, while the top 10% of workers earned $105,690"), else what the
                    # sentence inherits: a job named far after the figure is another's
                    named = self._named_for(clause, at, end, chunk) or self._resolve(
                        stated_subjects(self.lexicon, sentence[: figure.end], figure, True), chunk
                    )
                    subjects = subjects if named or not inherited else inherited
                stats = statistic_of(clause, at) or statistic_of(sentence, figure.start)
                if not stats and _ANAPHORA.match(sentence):  # "That works out to $27.55…"
                    stats = last_stats
                last_stats = stats
                found.append(
                    FigureFact(
                        figure,
                        named or subjects,
                        stats,
                        year_of(clause, at, end) or years or article_years,
                        reporter or article_reporter,
                        sentence,
                        chunk.text,
                    )
                )
        return found
