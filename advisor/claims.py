"""The figure guard: no figure reaches a user unless a cited passage states it, for that role.

Runs on every reply of every generator. For each sentence of the answer it
finds the figures (advisor.figures), the passages that sentence cites (its own
[n] markers, else those of its line), and requires a sentence in one of those
passages that states the same value, stated for compatible roles. A sentence
that fails is removed, and the removal recorded with the reason; if nothing
sourced is left, the whole reply becomes a refusal. Citation markers that
point to no passage are dropped first, so they cannot vouch for anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from advisor.chunking import Chunk
from advisor.figures import Figure, extract_figures, figure_roles, roles_in, stated_roles
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


@dataclass(frozen=True)
class SourceFigure:
    figure: Figure
    roles: frozenset[str]
    sentence: str


def citations_in(text: str) -> list[int]:
    """The citation numbers in `text`, in order of appearance, without repeats."""
    numbers = [int(n) for group in _MARKER.findall(text) for n in group.split(",")]
    return list(dict.fromkeys(numbers))


def source_figures(chunk: Chunk) -> list[SourceFigure]:
    """Figures a passage states, each with the roles it is stated for.

    A sentence that names no role ("About 34,300 job openings are expected per
    year.") takes the roles of the sentence before it, else of its section.
    """
    found: list[SourceFigure] = [  # the article's own date may label its passages
        SourceFigure(f, frozenset(), chunk.published) for f in extract_figures(chunk.published)
    ]
    context = roles_in(chunk.section)
    for start, end in split_sentences(chunk.text):
        sentence = chunk.text[start:end]
        own = roles_in(sentence)
        for figure in extract_figures(sentence):
            found.append(SourceFigure(figure, figure_roles(sentence, figure) or context, sentence))
        context = own or context
    return found


def check_figure(
    figure: Figure, roles: frozenset[str], cited: list[SourceFigure]
) -> tuple[bool, str]:
    """(ok, reason): supported when a cited passage states the value for compatible roles."""
    same_value = [s for s in cited if s.figure.matches(figure)]
    if not same_value:
        per = f" per {figure.unit}" if figure.unit and figure.kind == "money" else ""
        return False, f"no cited passage states {figure.text}{per}"
    if figure.kind == "year" or not roles:  # a date says when, not about whom
        return True, ""
    if any(not s.roles or roles <= s.roles for s in same_value):
        return True, ""
    stated_for = ", ".join(sorted({r for s in same_value for r in s.roles}))
    return False, (f"{figure.text} is stated for {stated_for}, not for {', '.join(sorted(roles))}")


class FigureGuard:
    """Checks an answer against the passages it was given, numbered from 1."""

    def __init__(self, passages: Mapping[int, Chunk]) -> None:
        self.passages = dict(passages)
        self._figures = {n: source_figures(c) for n, c in self.passages.items()}

    def _drop_bad_markers(self, text: str, removed: list[Removal]) -> str:
        def keep_valid(match: re.Match[str]) -> str:
            numbers = [int(n) for n in match.group(1).split(",")]
            valid = [n for n in numbers if n in self.passages]
            for n in numbers:
                if n not in self.passages:
                    removed.append(Removal(f"[{n}]", f"citation [{n}] points to no passage"))
            return f"[{', '.join(map(str, valid))}]" if valid else ""

        return re.sub(r"[ \t]+([.,;:!?])", r"\1", _MARKER.sub(keep_valid, text))

    def _check_sentence(self, sentence: str, line_cites: list[int]) -> Removal | None:
        cites = citations_in(sentence) or line_cites
        cited = [s for n in cites for s in self._figures.get(n, [])]
        for figure in extract_figures(sentence):
            if not cites:
                return Removal(sentence, f"{figure.text} has no citation", figure.text)
            ok, reason = check_figure(figure, stated_roles(sentence, figure), cited)
            if not ok:
                return Removal(sentence, reason, figure.text)
        return None

    def _check_label(self, label: str, line_cites: list[int]) -> Removal | None:
        """A bold source label ("**PayScale, June 2021:**") names who and when, not a role."""
        cited = [s for n in line_cites for s in self._figures.get(n, [])]
        for figure in extract_figures(label):
            ok, reason = check_figure(figure, frozenset(), cited)
            if not ok:
                return Removal(label.strip(), reason, figure.text)
        return None

    def _check_line(self, line: str, removed: list[Removal]) -> str:
        line_cites = citations_in(line)
        label_match = _LEAD_LABEL.match(line)
        label = label_match.group(1) if label_match else ""
        if label and (problem := self._check_label(label, line_cites)):
            removed.append(problem)
            return ""
        body = line[len(label) :]
        return label + self._check_sentences(body, line_cites, removed) if body else line

    def _check_sentences(self, line: str, line_cites: list[int], removed: list[Removal]) -> str:
        kept, last = [], 0
        for start, end in split_sentences(line):
            problem = self._check_sentence(line[start:end], line_cites)
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
