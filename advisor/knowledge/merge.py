"""A library's lexicon from its articles' findings: what each article names, merged.

Deriving one article (advisor.knowledge.derive) is the slow part, and it depends
on that article alone, so its findings are kept per article (ArticleFindings,
cached between builds by advisor.knowledge.cache). Merging is library-wide and
done at every build; it is linear in the number of subjects and articles, so a
library of tens of thousands of articles merges in seconds.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise

from pydantic import BaseModel

from advisor.knowledge.derive import (
    AGENT,
    Declared,
    activity_aliases,
    apply_declared,
    derive_article,
    merge_initials,
)
from advisor.knowledge.lexicon import (
    Lexicon,
    Subject,
    is_acronym,
    merge_subjects,
    normalize,
    singular,
)
from advisor.text import STOPWORDS


@dataclass(frozen=True)
class SourceArticle:
    """The parts of an article derivation reads (kept apart from corpus.Article on purpose)."""

    doc_id: str
    title: str
    text: str
    declared: Declared = field(default_factory=Declared)
    publisher: str = ""


class ArticleFindings(BaseModel):
    """What one article contributes to the library's lexicon; it depends on that article only."""

    doc_id: str
    title: str
    publisher: str = ""
    subjects: list[Subject] = []  # derived, with the article's front matter applied
    reporters: dict[str, list[str]] = {}
    headings: list[str] = []  # its heading lines: what the library is about
    pay_prefixes: list[str] = []  # each "$" sentence up to its "$": whom a pay figure is for
    declared: list[str] = []  # occupations its front matter declares, normalised
    # the words right before the last word of each of its names ("inpatient" before "coders")
    modifiers: dict[str, list[str]] = {}
    workplaces: list[str] = []  # words of the places it says its workers work


def _declared_name(item: object) -> str:
    return normalize(str(item if isinstance(item, str) else item.get("name", "")))  # type: ignore[attr-defined]


def article_findings(article: SourceArticle) -> ArticleFindings:
    """Derive one article: its subjects and reporters, and the lines merging reads again."""
    knowledge = derive_article(article.doc_id, article.title, article.text)
    table = {s.key: s for s in knowledge.subjects}
    apply_declared(table, article.declared, article.doc_id)
    activity_aliases(table, f"{article.title}\n{article.text}")
    return ArticleFindings(
        doc_id=article.doc_id,
        title=article.title,
        publisher=article.publisher,
        subjects=list(table.values()),
        reporters=knowledge.reporters,
        headings=[line for line in article.text.splitlines() if line.lstrip().startswith("#")],
        pay_prefixes=[
            sentence[: sentence.index("$")]
            for sentence in re.split(r"(?<=[.!?])\s+|\n", article.text)
            if "$" in sentence
        ],
        declared=[_declared_name(o) for o in article.declared.occupations],
        modifiers=words_before(f"{article.title}\n{article.text}"),
        workplaces=workplaces(article.text),
    )


_WORD = re.compile(r"[A-Za-z][A-Za-z-]*[A-Za-z]")


def words_before(text: str) -> dict[str, list[str]]:
    """The words an article puts right before each job-shaped word: "Certified Inpatient
    Coder", "insurance billing", "electrical contractors". A student's "inpatient coders"
    is a kind of coder the library names; "nurse practitioners", in a library that never
    says it, is another job. Merging keeps only the one-word names of longer job names."""
    found: dict[str, set[str]] = {}
    words = list(_WORD.finditer(text))
    for prev, word in pairwise(words):
        if text[prev.end() : word.start()].strip(" \t"):
            continue  # punctuation or a line break between: not a modifier
        head = singular(word.group())
        low = prev.group().lower()
        if low in STOPWORDS or not (AGENT.match(head) or head.endswith("ing")):
            continue
        found.setdefault(head, set()).add(low)
    return {head: sorted(words) for head, words in found.items()}


# "work in hospitals, physician offices and clinics", "employed at schools", "jobs in retail"
_WORK_IN = re.compile(
    r"\b(?:work(?:s|ed|ing)?|employed|jobs?|positions?)\s+(?:in|at)\s+([^.;:!?()\n]{3,160})",
    re.I,
)


def workplaces(text: str) -> list[str]:
    """The words of the places an article says its workers work. A student's "hospital
    coders" are coders by where they work, not another job; "nurse practitioners" are."""
    found: set[str] = set()
    for match in _WORK_IN.finditer(text):
        for item in re.split(r",|\b(?:and|or|such as|including|like)\b", match.group(1)):
            words = [w.lower() for w in _WORD.findall(item) if w.lower() not in STOPWORDS]
            if len(words) > 3:
                break  # the list of places ended: "…, there are differences between…"
            found.update(singular(w) for w in words)
    return sorted(found)


def build_lexicon(articles: Iterable[SourceArticle], library: Declared | None = None) -> Lexicon:
    """The library's lexicon, derived from scratch: every article's findings merged."""
    articles = list(articles)
    lexicon = merge_findings([article_findings(a) for a in articles], library)
    set_doc_reporters(lexicon, ((a.doc_id, f"{a.title}\n{a.text}") for a in articles))
    return lexicon


# A credit line: "Source: U.S. Bureau of Labor Statistics (BLS).", "Source for pay: …",
# "Sources: …", "Data: …" — where an article says whose its figures are.
_CREDIT = re.compile(r"^[\W_]*(?:sources?|data|figures)\b[^:\n]{0,30}:(.+)$", re.I | re.M)


def set_doc_reporters(lexicon: Lexicon, texts: Iterable[tuple[str, str]]) -> None:
    """Each article's credited reporter: the one its credit line names ("Source: U.S. Bureau
    of Labor Statistics") when the article names no other. Its passages' unattributed
    figures are that reporter's, not the publisher's. An article that merely cites one
    reporter is not enough (its own "apprentices earn $15 to $20" is not the BLS's), and one
    naming two keeps its publisher. Run after merging: the names are the library's."""
    found = {}
    for doc_id, text in texts:
        credited = {r for line in _CREDIT.findall(text) for r in lexicon.reporters_in(line)}
        if len(credited) == 1 and set(lexicon.reporters_in(text)) == credited:
            found[doc_id] = credited.pop()
    lexicon.doc_reporters = found


def merge_findings(found: list[ArticleFindings], library: Declared | None = None) -> Lexicon:
    """Every article's findings merged, then the maintainer's declarations applied."""
    subjects = merge_subjects(f.subjects for f in found)
    _merge_bare_heads(subjects)
    if library is not None:
        apply_declared(subjects, library, None)
    _drop_shadowed_aliases(subjects)
    named = {n for f in found for key, al in f.reporters.items() for n in (key, *al)}
    for name in named & subjects.keys():  # "the BLS reports": a reporter, not a credential
        if subjects[name].kind == "credential":
            del subjects[name]
    reporters: dict[str, list[str]] = {}
    for f in found:
        for key, aliases in f.reporters.items():
            reporters[key] = list(dict.fromkeys([*reporters.get(key, []), *aliases]))
    reporters = merge_initials(reporters)
    for f in found:  # a publisher reports the figures its article states unsourced
        if f.publisher and f.publisher != "unknown":
            reporters.setdefault(f.publisher, [])
    lexicon = Lexicon(subjects, reporters)
    lexicon.modifiers = _modifiers(subjects, found)
    lexicon.workplaces = frozenset(w for f in found for w in f.workplaces)
    own = _occupations_by_doc(subjects)
    lexicon.doc_subjects = {
        f.doc_id: sorted(lexicon.subjects_in(f.title)) or _main_subjects(own.get(f.doc_id, []))
        for f in found
    }
    lexicon.covered = {k for keys in lexicon.doc_subjects.values() for k in keys}
    lexicon.covered |= lexicon.subjects_in("\n".join(line for f in found for line in f.headings))
    for f in found:  # whoever a pay figure is stated for is covered too
        for prefix in f.pay_prefixes:
            lexicon.covered |= lexicon.subjects_in(prefix)
    if library is not None:  # a maintainer's declared occupation is covered
        lexicon.covered |= {_declared_name(o) for o in library.occupations} & set(subjects)
    for f in found:
        lexicon.covered |= set(f.declared) & set(subjects)
    return lexicon


def _modifiers(
    subjects: dict[str, Subject], found: list[ArticleFindings]
) -> dict[str, frozenset[str]]:
    """Words any article puts before a one-word name of a longer occupation name."""
    short = {
        normalize(name)
        for s in subjects.values()
        if s.kind == "occupation" and " " in s.key and not is_acronym(s.key)
        for name in [*s.names, s.key.split()[-1]]
        if " " not in name.strip() and not is_acronym(name)
    }
    merged: dict[str, set[str]] = {}
    for f in found:
        for head, words in f.modifiers.items():
            if head in short:
                merged.setdefault(head, set()).update(words)
    return {head: frozenset(words) for head, words in merged.items()}


def _merge_bare_heads(subjects: dict[str, Subject]) -> None:
    """One article says "coders", the others "medical coders": the same occupation.

    Kept apart when the same article names both ("electrician" and "apprentice
    electrician" are different jobs there). Longer names are looked up by their
    last word, not by scanning every subject for every bare one.
    """
    by_head: dict[str, list[Subject]] = {}
    for s in subjects.values():
        if s.kind == "occupation" and " " in s.key and not is_acronym(s.key):
            by_head.setdefault(s.key.rsplit(" ", 1)[1], []).append(s)
    for key in [k for k, s in subjects.items() if s.kind == "occupation" and " " not in k]:
        longer = by_head.get(key, [])
        if len(longer) == 1 and not set(longer[0].docs) & set(subjects[key].docs):
            bare = subjects.pop(key)
            longer[0].aliases = list(dict.fromkeys([*longer[0].aliases, key, *bare.aliases]))
            longer[0].docs = list(dict.fromkeys([*longer[0].docs, *bare.docs]))


def _occupations_by_doc(subjects: dict[str, Subject]) -> dict[str, list[str]]:
    own: dict[str, list[str]] = {}
    for s in subjects.values():
        if s.kind == "occupation":
            for doc_id in dict.fromkeys(s.docs):
                own.setdefault(doc_id, []).append(s.key)
    return own


def _main_subjects(own: list[str]) -> list[str]:
    """An article whose title names no subject is about its own occupations, if one or two."""
    return sorted(own) if len(own) <= 2 else []


def _drop_shadowed_aliases(subjects: dict[str, Subject]) -> None:
    """An alias that is another subject's own name, or shared by two subjects, names neither."""
    counts = Counter(n for s in subjects.values() for n in {normalize(a) for a in s.aliases})
    keys = {normalize(k) for k in subjects}
    for s in subjects.values():
        s.aliases = [a for a in s.aliases if counts[normalize(a)] == 1 and normalize(a) not in keys]
