"""What a library is about: its occupations, credentials and reporters, as data.

The lexicon is derived from the articles when indexing (advisor.knowledge.derive),
corrected by front matter and `library.yaml`, stored in the manifest and loaded
with the index. Everything that must know "who is this sentence about" — the
figure guard, the scope check, the extractive composer, query expansion — asks
the lexicon, so a career center's own library works exactly like the first one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, Field

Kind = Literal["occupation", "credential"]


class Subject(BaseModel):
    """One occupation or credential and every way the library names it."""

    key: str = Field(
        description="Canonical name as written: 'registered nurse', 'HVAC technician', 'CCS'."
    )
    kind: Kind = "occupation"
    aliases: list[str] = Field(
        default_factory=list, description="Other names: 'LPN', 'practical nurse'."
    )
    docs: list[str] = Field(default_factory=list, description="Articles that talk about it.")

    @property
    def names(self) -> list[str]:
        return [self.key, *self.aliases]


class LexiconData(BaseModel):
    """The serialisable form stored in the manifest."""

    subjects: list[Subject] = Field(default_factory=list)
    reporters: dict[str, list[str]] = Field(
        default_factory=dict, description="Canonical reporter -> aliases (BLS -> Bureau of …)."
    )
    doc_subjects: dict[str, list[str]] = Field(
        default_factory=dict, description="Article id -> keys of the subjects its title names."
    )
    outliers: list[str] = Field(
        default_factory=list,
        description="Figures far out of line with the other articles (doc|value): never used.",
    )
    covered: list[str] = Field(
        default_factory=list,
        description="Subjects a title or heading names: what the library is about, not "
        "what it mentions in passing.",
    )
    doc_reporters: dict[str, str] = Field(
        default_factory=dict,
        description="Article id -> the one reporter its text names ('Source: U.S. Bureau "
        "of Labor Statistics'): who stated the figures its passages leave unattributed. "
        "An article naming two or more has none.",
    )
    modifiers: dict[str, list[str]] = Field(
        default_factory=dict,
        description="One-word name of a longer occupation name -> the words the articles "
        "put right before it ('coder' -> 'inpatient', 'certified'): kinds of that worker "
        "the library itself names, not neighbouring jobs.",
    )
    workplaces: list[str] = Field(
        default_factory=list,
        description="Words of the places the articles say their workers work ('work in "
        "hospitals, physician offices'): a student's 'hospital coders' are coders.",
    )


@dataclass(frozen=True)
class Mention:
    """A span of text naming one subject, or a family ('nurses' = RN and LPN)."""

    start: int
    end: int
    keys: frozenset[str]


def is_acronym(name: str) -> bool:
    """'LPN', 'CPhT', 'NCLEX-RN': matched case-sensitively, unlike phrases."""
    return bool(re.fullmatch(r"[A-Z][A-Za-z0-9-]*[A-Z][A-Za-z0-9]*", name)) and sum(
        c.isupper() for c in name
    ) >= max(2, len(name) // 2)


def singular(word: str) -> str:
    """General English plural -> singular, enough for job nouns."""
    w = word.lower()
    if w.endswith("men") and len(w) > 4:
        return w[:-3] + "man"
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if re.search(r"(?:ss|sh|ch|x)es$", w):
        return w[:-2]
    if w.endswith("s") and not w.endswith("ss") and len(w) > 3:
        return w[:-1]
    return w


def normalize(name: str) -> str:
    """The lookup key of a surface form: acronyms as written, phrases lower-cased singular."""
    name = re.sub(r"[\s\u00a0-]+", " ", name.strip().strip(".,:;'’\"()")).strip()
    if is_acronym(name.rstrip("s")):
        return name[:-1] if name.endswith("s") and is_acronym(name[:-1]) else name
    words = name.lower().replace("’", "'").split()
    if not words:
        return ""
    if words[-1].endswith("'s"):
        words[-1] = words[-1][:-2]
    return " ".join([*words[:-1], singular(words[-1])])


def _pattern(name: str, any_case: bool = False) -> str:
    """A regex for a surface form, tolerant of plural, hyphen/space and possessive."""
    if is_acronym(name):
        body = re.escape(name) + r"(?:s|'s|’s)?"
        # "lpn" typed in a question is LPN; "it" or "pt" in lower case is an English word
        return f"(?i:{body})" if any_case and len(name) >= 3 else body
    words = name.split()
    last = words[-1]
    if last.endswith("man"):
        last_re = re.escape(last[:-3]) + "m[ae]n"
    elif last.endswith("y") and len(last) > 3:
        last_re = re.escape(last[:-1]) + "(?:y|ies)"
    else:
        last_re = re.escape(last) + "(?:e?s)?"
    body = r"[\s-]+".join([*(re.escape(w) for w in words[:-1]), last_re])
    return rf"(?i:{body})(?:'s|’s|s')?"


MENTIONS_KEPT = 20_000  # texts whose mentions a lexicon keeps (then it starts again)


@dataclass
class Lexicon:
    """Subjects and reporters, with one compiled pattern that finds their mentions."""

    subjects: dict[str, Subject] = field(default_factory=dict)
    reporters: dict[str, list[str]] = field(default_factory=dict)
    doc_subjects: dict[str, list[str]] = field(default_factory=dict)
    covered: set[str] | None = None  # None: everything found is covered
    outliers: set[str] = field(default_factory=set)
    modifiers: dict[str, frozenset[str]] = field(default_factory=dict)
    doc_reporters: dict[str, str] = field(default_factory=dict)
    workplaces: frozenset[str] = frozenset()
    # passages read once per index load, not once per answer and again by the guard
    facts_cache: dict[tuple[str, ...], list] = field(
        default_factory=dict, repr=False, compare=False
    )
    # the same sentences are searched for names by the composer, the guard and the pay
    # labels of one answer (about 60 calls an answer): their mentions are kept
    mentions_cache: dict[tuple[str, bool], tuple[Mention, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @classmethod
    def from_data(cls, data: LexiconData) -> Lexicon:
        return cls(
            {s.key: s for s in data.subjects},
            dict(data.reporters),
            dict(data.doc_subjects),
            set(data.covered) if data.covered else None,
            set(data.outliers),
            {head: frozenset(words) for head, words in data.modifiers.items()},
            dict(data.doc_reporters),
            frozenset(data.workplaces),
        )

    def to_data(self) -> LexiconData:
        return LexiconData(
            subjects=sorted(self.subjects.values(), key=lambda s: s.key),
            reporters=self.reporters,
            doc_subjects=self.doc_subjects,
            covered=sorted(self.covered or ()),
            outliers=sorted(self.outliers),
            modifiers={head: sorted(words) for head, words in sorted(self.modifiers.items())},
            doc_reporters=dict(sorted(self.doc_reporters.items())),
            workplaces=sorted(self.workplaces),
        )

    def is_covered(self, key: str) -> bool:
        """An article is about it (a title or heading names it), not just mentions it."""
        return self.covered is None or key in self.covered

    # ----- lookup tables, built once --------------------------------------------------
    @cached_property
    def _surfaces(self) -> dict[str, frozenset[str]]:
        """Normalised surface form -> subject keys (several keys: a family such as 'nurse')."""
        table: dict[str, set[str]] = {}
        for subject in self.subjects.values():
            for name in subject.names:
                table.setdefault(normalize(name), set()).add(subject.key)
        for head, keys in self.families.items():
            table.setdefault(head, set()).update(keys)
        return {k: frozenset(v) for k, v in table.items() if k}

    @cached_property
    def families(self) -> dict[str, frozenset[str]]:
        """A head noun shared by several occupations ('nurse') names all of them."""
        heads: dict[str, set[str]] = {}
        for s in self.subjects.values():
            words = s.key.split()
            if s.kind == "occupation" and len(words) > 1 and not is_acronym(s.key):
                heads.setdefault(words[-1], set()).add(s.key)
        return {
            h: frozenset(keys)
            for h, keys in heads.items()
            if len(keys) > 1 and h not in self.subjects  # "electricians" is its own subject
        }

    @cached_property
    def _regex(self) -> re.Pattern[str] | None:
        return self._compile(any_case=False)

    @cached_property
    def _question_regex(self) -> re.Pattern[str] | None:
        """Students type "lpn" and "pta": in questions acronyms match in any case."""
        return self._compile(any_case=True)

    def _compile(self, any_case: bool) -> re.Pattern[str] | None:
        surfaces = set()
        for subject in self.subjects.values():
            surfaces.update(subject.names)
        surfaces.update(self.families)
        if not surfaces:
            return None
        ordered = sorted(surfaces, key=lambda s: (-len(s), s))
        body = "|".join(_pattern(s, any_case) for s in ordered)
        return re.compile(rf"(?<![\w-])(?:{body})(?![\w-])")

    @cached_property
    def _reporter_regex(self) -> re.Pattern[str] | None:
        names = {n: key for key, aliases in self.reporters.items() for n in [key, *aliases]}
        if not names:
            return None
        ordered = sorted(names, key=lambda s: (-len(s), s))
        pattern = "|".join(
            re.escape(n) if is_acronym(n) else f"(?i:{re.escape(n)})" for n in ordered
        )
        return re.compile(rf"(?<![\w-])(?:{pattern})(?![\w-])")

    @cached_property
    def _reporter_lookup(self) -> dict[str, str]:
        return {n.lower(): key for key, aliases in self.reporters.items() for n in [key, *aliases]}

    # ----- queries -------------------------------------------------------------------
    def mentions(self, text: str, question: bool = False) -> list[Mention]:
        """Every subject named in `text`, left to right, longest name first."""
        regex = self._question_regex if question else self._regex
        if regex is None or not text:
            return []
        cached = self.mentions_cache.get((text, question))
        if cached is not None:
            return list(cached)
        found = []
        for m in regex.finditer(text):
            keys = self._surfaces.get(normalize(m.group())) or self._upper.get(m.group().upper())
            if keys:
                found.append(Mention(m.start(), m.end(), keys))
        if len(self.mentions_cache) >= MENTIONS_KEPT:
            self.mentions_cache.clear()
        self.mentions_cache[(text, question)] = tuple(found)
        return found

    @cached_property
    def _upper(self) -> dict[str, frozenset[str]]:
        """Acronyms by upper case, for "lpns" typed in a question."""
        table: dict[str, set[str]] = {}
        for s in self.subjects.values():
            for name in s.names:
                if is_acronym(name):
                    for form in (name.upper(), name.upper() + "S"):
                        table.setdefault(form, set()).add(s.key)
        return {k: frozenset(v) for k, v in table.items()}

    def subjects_in(self, text: str, question: bool = False) -> frozenset[str]:
        return frozenset(k for m in self.mentions(text, question) for k in m.keys)

    def reporters_in(self, text: str) -> list[str]:
        """Canonical reporters named in `text`, in order."""
        if self._reporter_regex is None:
            return []
        found = [
            self._reporter_lookup[m.group().lower()] for m in self._reporter_regex.finditer(text)
        ]
        return list(dict.fromkeys(found))

    def occupations(self) -> list[Subject]:
        """Covered occupations, the ones most articles talk about first."""
        found = [s for s in self.subjects.values() if s.kind == "occupation"]
        return sorted(found, key=lambda s: (-len(s.docs), s.key))

    def credentials(self) -> list[Subject]:
        return sorted(
            (s for s in self.subjects.values() if s.kind == "credential"), key=lambda s: s.key
        )

    def article_subjects(self, doc_id: str) -> frozenset[str]:
        return frozenset(self.doc_subjects.get(doc_id, ()))

    def acronyms_for(self, text: str) -> list[str]:
        """The acronyms of the subjects `text` names by their full names."""
        found = []
        for mention in self.mentions(text, question=True):
            said = text[mention.start : mention.end]
            if len(mention.keys) == 1 and not is_acronym(said.rstrip("s").upper()):
                (key,) = mention.keys
                found += [n for n in self.subjects[key].names if is_acronym(n)]
        return list(dict.fromkeys(found))

    def related(self, group: frozenset[str], keys: frozenset[str], by_key: bool = False) -> bool:
        """A credential and the occupation it names: "PALS" and "PALS provider", "CPhT"
        (Certified Pharmacy Technician) and "pharmacy technician". For durations, not pay."""
        for a in group:
            for b in keys:
                sa, sb = self.subjects.get(a), self.subjects.get(b)
                if (
                    sa is None
                    or sb is None
                    or (sa.kind == "credential") == (sb.kind == "credential")
                ):
                    continue
                for x in [sa.key] if by_key and sa.kind != "credential" else sa.names:
                    for y in [sb.key] if by_key and sb.kind != "credential" else sb.names:
                        lx, ly = x.lower(), y.lower()
                        if re.search(rf"(?<![\w-]){re.escape(lx)}(?![\w-])", ly) or re.search(
                            rf"(?<![\w-]){re.escape(ly)}(?![\w-])", lx
                        ):
                            return True
        return False

    def covers_activity(self, phrase: str) -> bool:
        """ "nursing" is what nurses do: covered when an occupation's name starts with its stem."""
        if not phrase.endswith("ing"):
            return False
        stem = phrase.split()[-1][:-3]
        return len(stem) >= 4 and any(
            w.lower().startswith(stem) for s in self.occupations() for w in s.key.split()
        )

    def words(self) -> set[str]:
        """Every word of every name: what counts as 'the library names it'."""
        return {w.lower() for s in self.subjects.values() for n in s.names for w in n.split()}


def merge_subjects(groups: Iterable[Iterable[Subject]]) -> dict[str, Subject]:
    """Subjects of several articles as one table: same key, names and articles united.

    Names and articles are gathered in ordered sets and written back once, so a
    subject that thousands of articles name costs linear time, not quadratic.
    """
    merged: dict[str, Subject] = {}
    united: dict[str, tuple[dict[str, None], dict[str, None]]] = {}
    for group in groups:
        for s in group:
            known = merged.get(s.key)
            if known is None:
                merged[s.key] = s.model_copy(deep=True)
                continue
            aliases, docs = united.setdefault(
                s.key, (dict.fromkeys(known.aliases), dict.fromkeys(known.docs))
            )
            aliases.update(dict.fromkeys(s.aliases))
            docs.update(dict.fromkeys(s.docs))
            if s.kind == "occupation":
                known.kind = "occupation"
    for key, (aliases, docs) in united.items():
        merged[key].aliases, merged[key].docs = list(aliases), list(docs)
    return merged
