"""The figure guard: no figure reaches a user unless a cited passage states it, for that subject.

Runs on every reply of every generator. For each sentence of the answer it
finds the figures (advisor.figures), the passages that sentence cites (its own
[n] markers, else those of its line), and requires a figure in one of those
passages with the same value, stated for the same occupation (the one the
sentence names, else the one the question asks about), and for the statistic,
year and reporter the sentence gives, if it gives them (advisor.knowledge.facts). A sentence
that fails is removed, and the removal recorded with the reason; if nothing
sourced is left, the whole reply becomes a refusal. Citation markers that
point to no passage are dropped first, so they cannot vouch for anything.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from advisor.chunking import Chunk
from advisor.figures import Figure, clause_around, extract_figures
from advisor.knowledge.derive import cued_names
from advisor.knowledge.facts import (
    FigureFact,
    PassageReader,
    stated_subjects,
    statistic_of,
    year_of,
    years_in,
)
from advisor.knowledge.lexicon import Lexicon
from advisor.knowledge.outliers import outlier_key
from advisor.text import split_sentences

_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_LEAD_LABEL = re.compile(r"^(\s*(?:[-*+]\s+)?\*\*[^*\n]+\*\*\s*)")
_LABEL_ONLY = re.compile(r"^\s*(?:[-*+]\s*)?(?:\*\*[^*]+\*\*|#+\s.*|[^.!?]*:)\s*$")


@dataclass(frozen=True)
class Removal:
    """What the guard took out of a reply, and why (shown to maintainers and evals)."""

    text: str
    reason: str
    figure: str | None = None

    def as_json(self) -> dict[str, str | None]:
        return {"text": self.text, "figure": self.figure, "reason": self.reason}


@dataclass
class GuardResult:
    text: str
    removed: list[Removal] = field(default_factory=list)
    empty: bool = False  # nothing sourced survived: the caller turns this into a refusal


def citations_in(text: str) -> list[int]:
    """The citation numbers in `text`, in order of appearance, without repeats."""
    numbers = [int(n) for group in _MARKER.findall(text) for n in group.split(",")]
    return list(dict.fromkeys(numbers))


@dataclass(frozen=True)
class Stated:
    """What a reply says about one of its figures: for whom, which statistic, when, by whom."""

    subjects: tuple[frozenset[str], ...] = ()
    stats: frozenset[str] = frozenset()
    years: frozenset[int] = frozenset()
    reporters: tuple[str, ...] = ()
    unknown_reporters: tuple[str, ...] = ()  # "according to <a site>": no article names them
    where: tuple[str, ...] = ()  # "<jobs> in <Place>": a place the figure is put in


# "<jobs> in <Place>": where a reply puts a figure, in general English
_WHERE = re.compile(
    r"\s+(?:in|across|throughout)\s+(?:the\s+)?([A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3})"
)
_MONTHS = frozenset(calendar.month_name[1:])


def places_in(text: str, lexicon: Lexicon) -> tuple[str, ...]:
    """Capitalised names a job is put "in" ("<jobs> in <Place> earned…"): right after a
    job the library knows, not a month, a job, a reporter or a code with digits. A
    sentence that opens "In <Name>, …" is not read, as "In Addition," and "In the U.S.,"
    open sentences about national figures too."""
    ends = {m.end for m in lexicon.mentions(text)}
    return tuple(
        name.rstrip(".")
        for m in _WHERE.finditer(text)
        if m.start() in ends
        and (name := m.group(1)).split()[0] not in _MONTHS
        and not any(ch.isdigit() for ch in name)
        and not lexicon.subjects_in(name)
        and not lexicon.reporters_in(name)
    )


# Statistics a reply may name that a source must name too ("range" is only a shape).
CHECKED_STATS = frozenset({"median", "average", "top", "bottom", "starting", "late-career"})


def stated_about(
    lexicon: Lexicon,
    sentence: str,
    figure: Figure,
    question_subjects: frozenset[str] = frozenset(),
    label: str = "",
    quoted: bool = False,
) -> Stated:
    """Read a reply's figure the way sources are read; an unnamed subject is the question's."""
    clause = clause_around(sentence, figure.start, figure.end)
    at_clause = max(0, sentence.find(clause))
    at = figure.start - at_clause
    subjects = stated_subjects(lexicon, sentence, figure, quoted)
    if not subjects and question_subjects:
        subjects = (question_subjects,)
    unknown = () if quoted else tuple(
        name for name in cued_names(sentence[: at_clause + len(clause)], lone_words=True)
        if not lexicon.reporters_in(name) and not lexicon.subjects_in(name)
    )  # fmt: skip
    return Stated(
        subjects,
        statistic_of(clause, at, window=45) & CHECKED_STATS,
        year_of(clause, at, at + len(figure.text)) | years_in(label),
        tuple(lexicon.reporters_in(f"{label} {clause}")),
        unknown,
        () if quoted else places_in(sentence[: at_clause + len(clause)], lexicon),
    )


def mismatch(stated: Stated, fact: FigureFact, lexicon: Lexicon) -> str | None:
    """Why `fact` does not support what the reply states, or None when it does.

    A duration is not dated: "about 3 years" of training in a row that also gives
    "Median pay (May 2023)" is not a 2023 figure, and a label's publication year
    ("Career Advisor team, February 2024:") does not date it either."""
    keys = fact.subject_keys
    for group in stated.subjects:
        if (
            keys
            and not group & keys
            and not (fact.figure.kind != "money" and lexicon.related(group, keys))
        ):
            return f"stated for {_names(group)}, but the source states it for {_names(keys)}"
        if not keys:
            return f"stated for {_names(group)}, but the source does not say for whom"
    if stated.stats and not stated.stats <= fact.stats:
        said = " or ".join(sorted(fact.stats & CHECKED_STATS)) or "no particular statistic"
        return f"stated as {' / '.join(sorted(stated.stats))}, but the source gives {said}"
    if stated.years and fact.figure.kind != "duration" and not stated.years & fact.years:
        when = ", ".join(str(y) for y in sorted(fact.years)) or "no year"
        return (
            f"stated for {', '.join(map(str, sorted(stated.years)))}, but the source gives {when}"
        )
    source = (fact.passage or fact.sentence).lower()
    if missing := [w for w in stated.where if w.lower() not in source]:
        return f"stated for {', '.join(missing)}, which the source does not name"
    unknown = [n for n in stated.unknown_reporters if n.lower() not in source]
    if unknown:
        who = f"{fact.reporter} reported it" if fact.reporter else "the source names no one"
        return f"attributed to {', '.join(unknown)}, but {who}"
    if stated.reporters and fact.reporter and fact.reporter not in stated.reporters:
        return f"attributed to {', '.join(stated.reporters)}, but {fact.reporter} reported it"
    return None


def _names(keys: frozenset[str]) -> str:
    return " / ".join(sorted(keys))


_DENIAL = re.compile(r"^\W*None of the articles reports (?P<what>.+?)(?: for [^;]+)?;")


def denies(sentence: str, figure: Figure, asked: Sequence[Figure]) -> bool:
    """Is `figure` one the question asserted, inside "None of the articles reports …"?

    The only place a figure no source states may appear: denied, not claimed."""
    match = _DENIAL.match(sentence)
    return bool(
        match
        and match.start("what") <= figure.start < match.end("what")
        and any(figure.matches(a) for a in asked)
    )


def is_quoted(sentence: str, cited: Sequence[Chunk]) -> bool:
    """Is the sentence (without its markers) word for word in one of the passages it cites?"""
    core = _LEAD_LABEL.sub("", _MARKER.sub("", sentence)).strip().rstrip(".!?").strip()
    core = re.sub(r"\s+", " ", core)
    return len(core) > 20 and any(core in re.sub(r"\s+", " ", c.text) for c in cited)


def check_figure(
    figure: Figure, stated: Stated, cited: list[FigureFact], lexicon: Lexicon
) -> tuple[bool, str]:
    """(ok, reason): supported when one cited fact has the value and fits what is stated."""
    same_value = [s for s in cited if s.figure.matches(figure)]
    if not same_value:
        per = f" per {figure.unit}" if figure.unit and figure.kind == "money" else ""
        return False, f"no cited passage states {figure.text}{per}"
    if figure.kind == "year":  # a date says when, not about whom
        return True, ""
    reasons = [mismatch(stated, fact, lexicon) for fact in same_value]
    if any(r is None for r in reasons):
        return True, ""
    return False, f"{figure.text} is {reasons[0]}"


class FigureGuard:
    """Checks an answer against the passages it was given, numbered from 1.

    `lexicon` is the library's (from the index); `question` is what the reply
    answers, whose subjects an answer sentence naming none is checked against.
    """

    def __init__(
        self, passages: Mapping[int, Chunk], lexicon: Lexicon | None = None, question: str = ""
    ) -> None:
        self.passages = dict(passages)
        self.lexicon = lexicon or Lexicon()
        reader = PassageReader(self.lexicon)
        self._figures = {  # a figure far out of line with the other articles supports nothing
            n: [f for f in reader.facts(c) if not self._outlier(c, f)]
            for n, c in self.passages.items()
        }
        self.question_subjects = self.lexicon.subjects_in(question, question=True)
        self.question_figures = extract_figures(question)

    def _outlier(self, chunk: Chunk, fact: FigureFact) -> bool:
        return outlier_key(chunk.doc_id, fact.figure.value) in self.lexicon.outliers

    def _drop_bad_markers(self, text: str, removed: list[Removal]) -> str:
        def keep_valid(match: re.Match[str]) -> str:
            numbers = [int(n) for n in match.group(1).split(",")]
            valid = [n for n in numbers if n in self.passages]
            for n in numbers:
                if n not in self.passages:
                    removed.append(Removal(f"[{n}]", f"citation [{n}] points to no passage"))
            return f"[{', '.join(map(str, valid))}]" if valid else ""

        return re.sub(r"[ \t]+([.,;:!?])", r"\1", _MARKER.sub(keep_valid, text))

    def _check_sentence(
        self, sentence: str, line_cites: list[int], label: str = ""
    ) -> Removal | None:
        cites = citations_in(sentence) or line_cites
        cited = [s for n in cites for s in self._figures.get(n, [])]
        for figure in extract_figures(sentence):
            if denies(sentence, figure, self.question_figures):
                continue  # the student's own figure, said not to be in the articles
            if not cites:
                return Removal(sentence, f"{figure.text} has no citation", figure.text)
            quoted = is_quoted(sentence, [self.passages[n] for n in cites if n in self.passages])
            stated = stated_about(
                self.lexicon, sentence, figure, self.question_subjects, label, quoted
            )
            ok, reason = check_figure(figure, stated, cited, self.lexicon)
            if not ok:
                return Removal(sentence, reason, figure.text)
        return None

    def _check_label(self, label: str, line_cites: list[int]) -> Removal | None:
        """A bold source label ("**PayScale, June 2021:**") names who and when, not a role."""
        cited = [s for n in line_cites for s in self._figures.get(n, [])]
        for figure in extract_figures(label):
            ok, reason = check_figure(figure, Stated(), cited, self.lexicon)
            if not ok:
                return Removal(label.strip(), reason, figure.text)
        return None

    def _check_line(self, line: str, removed: list[Removal]) -> str:
        line_cites = citations_in(line)
        label = lead_label(line)
        if label and (problem := self._check_label(label, line_cites)):
            removed.append(problem)
            return ""
        body = line[len(label) :]
        if not body:
            return line
        kept = self._check_sentences(body, line_cites, removed, label)
        return label + kept if kept.strip() else ""  # a label whose sentence went goes too

    def _check_sentences(
        self, line: str, line_cites: list[int], removed: list[Removal], label: str = ""
    ) -> str:
        kept, last = [], 0
        for start, end in split_sentences(line):
            problem = self._check_sentence(line[start:end], line_cites, label)
            if problem is None:
                kept.append(line[last:end])
            else:
                removed.append(problem)
                kept.append(line[last:start])
            last = end
        kept.append(line[last:])
        return re.sub(r"[ \t]{2,}", " ", "".join(kept)).rstrip()

    def check_line(self, line: str, removed: list[Removal]) -> str:
        """One line, checked on its own: what streaming uses before a user sees the line."""
        return self._check_line(self._drop_bad_markers(line, removed), removed)

    def check(self, answer: str) -> GuardResult:
        """The answer with every unsupported or misattributed figure's sentence removed."""
        gated = GuardedText(self)
        gated.feed(answer)
        gated.close()
        has_sourced_content = bool(citations_in(gated.text))
        return GuardResult(
            gated.text if has_sourced_content else "", gated.removed, not has_sourced_content
        )


def lead_label(line: str) -> str:
    """A line's bold source label ("**PayScale, June 2021:** "), or "" when it has none."""
    match = _LEAD_LABEL.match(line)
    return match.group(1) if match else ""


def is_label(line: str) -> bool:
    """A heading or "Label:" line that says nothing until content follows it."""
    return bool(line.strip()) and bool(_LABEL_ONLY.match(line)) and not citations_in(line)


class GuardedText:
    """The guard applied line by line as text arrives: only checked lines are released.

    This is what lets a reply stream without showing a figure the guard would
    remove. Headings and "Label:" lines are held until content follows them,
    so a heading whose points were all removed never shows; blank lines are
    kept single. With `guard=None` lines pass unchecked (the eval's ablation).
    """

    def __init__(self, guard: FigureGuard | None) -> None:
        self.guard = guard
        self.removed: list[Removal] = []
        self.lines: list[str] = []
        self._held: list[str] = []
        self._buffer = ""

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def feed(self, piece: str) -> list[str]:
        """Add streamed text; return the lines it completed and released."""
        self._buffer += piece
        released: list[str] = []
        while "\n" in self._buffer:
            line, self._buffer = self._buffer.split("\n", 1)
            released += self._line(line)
        return released

    def close(self) -> list[str]:
        """Release the last line; drop headings nothing followed."""
        released = self._line(self._buffer) if self._buffer else []
        self._buffer, self._held = "", []
        return released

    def _line(self, raw: str) -> list[str]:
        line = self.guard.check_line(raw, self.removed) if self.guard else raw.rstrip()
        if line.strip() in {"", "-", "*", "+"}:
            if self._held[-1:] != [""]:
                self._held.append("")
            return []
        if is_label(line):  # a label followed by another label was left empty
            self._held = [h for h in self._held if not is_label(h)] + [line]
            return []
        held = self._held if self.lines else [h for h in self._held if h]
        released = [*held, line]
        self._held = []
        self.lines += released
        return released
