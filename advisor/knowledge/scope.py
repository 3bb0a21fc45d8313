"""What the library covers, said from the index: the refusal's list and the
occupations a question names that no article is about."""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from itertools import pairwise

from advisor.knowledge.derive import job_nouns
from advisor.knowledge.lexicon import Lexicon, Mention, is_acronym, normalize, singular
from advisor.text import STOPWORDS


def plural(name: str) -> str:
    """General English plural of a job name: nurse -> nurses, journeyman -> journeymen."""
    if is_acronym(name):
        return name + "s"
    head = name.split()[-1]
    if head.endswith("man"):
        return name[:-3] + "men"
    if re.search(r"[^aeiou]y$", head):
        return name[:-1] + "ies"
    if re.search(r"(?:s|sh|ch|x)$", head):
        return name + "es"
    return name + "s"


def join_names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def main_subjects(lexicon: Lexicon, limit: int = 16) -> list[str]:
    """The occupations the articles' titles name, most common first (the library's headline)."""
    counts: dict[str, int] = {}
    for keys in lexicon.doc_subjects.values():
        for key in keys:
            counts[key] = counts.get(key, 0) + 1
    kinds = {k: lexicon.subjects[k].kind for k in counts if k in lexicon.subjects}
    ranked = sorted(kinds, key=lambda k: (kinds[k] != "occupation", -counts[k], k))
    if any(kinds[k] == "occupation" for k in ranked):  # a credential only as a job's name
        jobs = [k for k in ranked if kinds[k] == "occupation"]

        def its_jobs(k: str) -> set[str]:
            return {
                o for o in lexicon.subjects if lexicon.subjects[o].kind == "occupation"
                and lexicon.related(frozenset({k}), frozenset({o}), by_key=True)
            }  # fmt: skip

        # a credential whose holders' job is not listed names that job; one next to its own job
        # (a "Certified <Job>" beside "<jobs>") repeats it
        ranked = jobs + [
            k
            for k in ranked
            if kinds[k] != "occupation" and its_jobs(k) and not its_jobs(k) & set(jobs)
        ]
    if not ranked:
        ranked = [s.key for s in lexicon.occupations()]
    return ranked[:limit]


def covered_phrase(lexicon: Lexicon, limit: int = 16) -> str:
    """ "medical billers, medical coders and PALS": what to tell a student we cover."""
    names = []
    for key in main_subjects(lexicon, limit):
        subject = lexicon.subjects.get(key)
        if subject is None:
            continue
        names.append(plural(key) if subject.kind == "occupation" else key)
    return join_names(names) if names else "the careers in these articles"


# "Which job suits me?", "what career should I pick": a choice among jobs, whose candidates
# are the library's occupations even when the question names none of them.
_CHOICE = re.compile(
    r"\b(?:which|what)(?:\s+\w+){0,2}?\s+(?:jobs?|careers?|trades?|paths?|professions?"
    r"|occupations?|fields?|roles?|one)\b",
    re.I,
)


def names_the_library(lexicon: Lexicon, question: str) -> bool:
    """Does the question name something the articles cover (an occupation, credential or
    activity), or ask which job suits? Such a question is in scope on weaker wording
    evidence than one that names nothing ("What's the best college major?")."""
    if _CHOICE.search(question):
        return True
    for mention in lexicon.mentions(question, question=True):
        if any(_covered(lexicon, key) for key in mention.keys):
            return True
    words = re.findall(r"[A-Za-z]+", question)
    return any(lexicon.covers_activity(w.lower()) for w in words)


def uncovered_occupation(lexicon: Lexicon, question: str) -> str | None:
    """A reason to decline when the question asks about a job no article covers.

    A job named in the question that the lexicon does not know is not covered;
    when it shares a word with one that is (data analyst ~ data scientist), the
    reason names the neighbour, so its figures are never passed off as the
    asked job's. A question that also names a covered job is answered.
    """
    listed, nouns = _asked(lexicon, question)
    asked = {k for m in listed for k in m.keys if lexicon.subjects[k].kind == "occupation"}
    if any(_covered(lexicon, k) for k in asked):
        return None
    if asked:  # named in the articles only in passing ("technicians ask the pharmacist")
        names = [plural(k) for k in sorted(asked)]
        return f"The articles mention {join_names(names)} only in passing, with no details."
    return _unlisted(lexicon, question, listed, nouns)


def partly_uncovered(lexicon: Lexicon, question: str) -> str | None:
    """ "Electrician or plumber, which pays better?" in a library without plumbers is
    answered for electricians, and says first that plumbers are not covered."""
    listed, nouns = _asked(lexicon, question)
    asked = {k for m in listed for k in m.keys if lexicon.subjects[k].kind == "occupation"}
    if not any(_covered(lexicon, k) for k in asked):
        return None
    return _unlisted(lexicon, question, listed, nouns)


def asked_mentions(lexicon: Lexicon, question: str) -> list[Mention]:
    """The listed subjects a question asks about: "nurse" in "nurse practitioners" is the
    modifier of another job, not a mention of nurses."""
    return _asked(lexicon, question)[0]


def _asked(lexicon: Lexicon, question: str) -> tuple[list[Mention], list[tuple[int, int, str]]]:
    """The listed subjects a question names, and the job nouns in it."""
    listed = lexicon.mentions(question, question=True)
    nouns = _outermost(job_nouns(question)) + _compared_with(question, listed)
    # "nurse practitioner": a listed word as the modifier of another job is not that job
    listed = [
        m for m in listed
        if not any(a <= m.start and m.end < b and _modifies(question[m.end : b])
                   for a, b, _ in nouns)
    ]  # fmt: skip
    # ... nor is a listed job's bare head under a modifier that makes it another job
    kept: list[Mention] = []
    missed: list[tuple[int, int, str]] = []
    for m in listed:
        found = near_miss(lexicon, question, m, nouns)
        if found:
            missed.append(found)
        else:
            kept.append(m)
    if missed:  # the near miss is the noun a decline names: "family practitioners"
        nouns = sorted(
            [n for n in nouns if not any(a < n[1] and n[0] < b for a, b, _ in missed)] + missed
        )
    return kept, nouns


def _outermost(nouns: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """ "underwater welder" is one job noun, not also "underwater"."""
    return [
        n for n in nouns
        if not any(a <= n[0] and n[1] <= b and (a, b) != n[:2] for a, b, _ in nouns)
    ]  # fmt: skip


# Words that say which worker, not which job: the kind of contract, place, rank or stage
# ("remote coders", "senior developers"). General English; a modifier of another shape
# ("nurse practitioner", "software coder", "occupational therapist") names another job.
_SAME_JOB = frozenset(
    """remote freelance independent contract temporary permanent travel new young old older
    good great best top average typical senior junior lead beginner novice veteran
    apprentice trainee student future aspiring prospective professional successful
    local female male year month week hour time level career day night""".split()
)
# Shapes of such words: participles (certified, experienced, self-employed), -ing forms
# (travelling, aspiring), -ful, -ous, -able/-ible and superlatives. Not -al, -ic, -ive,
# -ory or -ly: "occupational", "pediatric", "automotive", "respiratory", "family" name a
# field.
_SAME_JOB_SHAPE = re.compile(r"(?:[a-z]{2}ed|[a-z]{2}ing|ful|ous|[ai]ble|[a-z]{2}est)$")


def near_miss(
    lexicon: Lexicon, question: str, mention: Mention, nouns: list[tuple[int, int, str]]
) -> tuple[int, int, str] | None:
    """The job noun that makes `mention` another job: "nurse practitioner" when the library
    knows "practitioner" only as short for "healthcare practitioner".

    Only a bare head standing for a longer name is read this way: the library covers
    "<field> <head>", and a student's "<other field> <head>" is a neighbour, declined with
    its name. A modifier that says which worker ("remote", "certified", "entry-level"), an
    acronym, or a word the library's own names put before that head ("Certified Inpatient
    Coder") keeps the mention.
    """
    if len(mention.keys) != 1:
        return None
    (key,) = mention.keys
    words = key.split()
    said = normalize(question[mention.start : mention.end])
    if lexicon.subjects[key].kind != "occupation" or len(words) < 2 or said != words[-1]:
        return None
    for start, end, phrase in [*nouns, *_before_ly(question, mention)]:
        if not (start < mention.start and mention.end <= end):
            continue
        mods = question[start : mention.start].split()
        opening = not question[:start].strip() or question[:start].rstrip()[-1] in ".?!:;"
        if opening and len(mods) == 1 and not _topic_after(question[mention.end :]):
            return None  # "Compare billers and coders": a verb, not a modifier
        if not opening and not _leads_a_noun(lexicon, key, question[:start]):
            return None  # "I heard coders make…", "hospitals hire coders": a verb
        if all(_says_which_worker(lexicon, key, w) or _works_there(lexicon, w) for w in mods):
            return None
        return start, end, phrase
    return None


def _before_ly(question: str, mention: Mention) -> list[tuple[int, int, str]]:
    """ "family practitioner": job nouns stop at an -ly word (an adverb, in running text),
    but one right before a job noun modifies it."""
    match = re.search(r"(?<![\w-])([A-Za-z]{3,}ly)[ \t]+$", question[: mention.start])
    if not match or match.group(1).lower() in STOPWORDS:
        return []
    said = question[match.start(1) : mention.end]
    return [(match.start(1), mention.end, normalize(said))]


_SUBJECT_PRONOUNS = frozenset("i you we they he she it".split())


def _leads_a_noun(lexicon: Lexicon, key: str, before: str) -> bool:
    """Does the word before a modifier start a noun phrase ("do", "a", "than", "for",
    "average"), so the modifier is not a verb after its subject ("I heard", "hospitals
    hire")?"""
    words = re.findall(r"[A-Za-z][A-Za-z'’-]*", before)
    if not words:
        return True
    low = words[-1].lower()
    if low in _SUBJECT_PRONOUNS:
        return False
    if low in _FUNCTION_WORDS or low in ("much", "many"):
        return True
    return _says_which_worker(lexicon, key, words[-1])


# What follows a job named as the topic: "Nurse practitioners earn…", "… salary?", "…'s pay"
_TOPIC_AFTER = re.compile(
    r"^(?:'s|’s|s'|\s*[:?,]|\s+(?:earn|earns|make|makes|salary|salaries|pay|wages?|income|do|are"
    r"|need|work|jobs?|careers?)\b)",
    re.I,
)


def _topic_after(rest: str) -> bool:
    return bool(_TOPIC_AFTER.match(rest))


def _works_there(lexicon: Lexicon, word: str) -> bool:
    """A place the articles say their workers work: "hospital coders", "clinic coders"."""
    parts = [p for p in re.split(r"[-/]", word.lower()) if p]
    return bool(parts) and all(singular(p) in lexicon.workplaces for p in parts)


def _says_which_worker(lexicon: Lexicon, key: str, word: str) -> bool:
    """Does `word` before the head of `key` say which worker rather than which job?"""
    low = word.lower().strip("-'’")
    parts = [p for p in re.split(r"[-/]", low) if p]
    if is_acronym(word.strip("-'’")) or not parts:
        return True  # an organisation, place or credential: "<Acronym> coders"
    if low in _SAME_JOB or any(p in _SAME_JOB or p.isdigit() for p in parts):
        return True  # "entry-level", "10-year", "full-time"
    if _SAME_JOB_SHAPE.search(parts[-1]) and not lexicon.covers_activity(parts[-1]):
        return True
    return low in _modifiers_of(lexicon, key)


def _modifiers_of(lexicon: Lexicon, key: str) -> set[str]:
    """Words the library puts before `key`'s head or another of its one-word names, in its
    text ("insurance billing") or its names ("Certified Inpatient Coder")."""
    subject = lexicon.subjects[key]
    heads = {normalize(n) for n in subject.names if " " not in n.strip()} | {key.split()[-1]}
    found = {w for head in heads for w in lexicon.modifiers.get(head, ())}
    for other in lexicon.subjects.values():
        for name in other.names:
            words = [w.lower() for w in name.split()]
            for before, word in pairwise(words):
                if normalize(word) in heads:
                    found.add(before)
    return found


# "electrician or plumber", "RNs earn more than nurse practitioners": whatever is compared
# with a job is a job too, whether or not the library lists it.
_COMPARED = re.compile(
    r"(?:\s+[a-z]+\b){0,2}?\s*,?\s*\b(?:(?:more|less|better|worse|higher|lower)\s+than|or|and|vs\.?"
    r"|versus|compared (?:with|to))\s+(?:an?\s+|the\s+)?"
    r"(?P<job>[a-z][a-z-]+(?:\s+[a-z][a-z-]+){0,2}?)"
    r"(?=\s*(?:[?,.;!:]|$|\b(?:which|who|in|at|for|earn|earns|make|makes|pay|pays|paid|do|does"
    r"|have|get|need|work|is|are|can|should|better|best|more|less|worse|higher|lower)\b))",
    re.I,
)


def _compared_with(question: str, listed: list[Mention]) -> list[tuple[int, int, str]]:
    """Phrases compared with a listed subject that no listed name covers whole."""
    found = []
    for m in listed:
        match = _COMPARED.match(question, m.end)
        if not match or match.group("job").lower().split()[0] in STOPWORDS:
            continue
        start, end = match.span("job")
        if any(o.start <= start and end <= o.end for o in listed):
            continue  # "LPNs or RNs": both listed
        singular = re.sub(r"(?<=[^s])s$", "", match.group("job").lower())
        found.append((start, end, singular))
    return found


def _unlisted(
    lexicon: Lexicon, question: str, listed: list[Mention], nouns: list[tuple[int, int, str]]
) -> str | None:
    """Why a job noun the library does not list is not answered, naming a neighbour."""
    taken = [(m.start, m.end) for m in listed]
    for start, end, phrase in nouns:
        if any(a < end and start < b for a, b in taken):
            continue
        if any(not question[b:start].strip(" -") for _, b in taken if b <= start):
            continue  # "PALS providers" when PALS is listed: a covered subject's job
        if lexicon.covers_activity(phrase):
            continue  # "nursing career" when nurses are covered
        if _misspelt_covered(lexicon, phrase):
            continue  # "dental hygenist": a typo of a covered job is that job
        neighbours = _neighbours(lexicon, phrase)
        if neighbours:
            return (
                f"The articles cover {join_names([plural(n) for n in neighbours])}, "
                f"not {_plural_job(phrase)}."
            )
        return f"The articles don't cover {_plural_job(phrase)}."
    return None


_FUNCTION_WORDS = STOPWORDS | {"without", "within", "versus", "vs", "like", "near", "via"}


def _modifies(rest: str) -> bool:
    """Is a listed name a modifier of the job noun that follows ("nurse practitioner")?
    Not when a function word comes between ("coder without college")."""
    words = rest.lower().split()
    return bool(words) and not any(w.strip("-") in _FUNCTION_WORDS for w in words)


def _misspelt_covered(lexicon: Lexicon, phrase: str) -> bool:
    """A job phrase one or two letters off a covered occupation's name."""
    said = phrase.lower()
    for subject in lexicon.occupations():
        for name in subject.names:
            name = name.lower()
            near = len(name) >= 6 and abs(len(name) - len(said)) <= 2 and name != said
            if near and SequenceMatcher(None, said, name).ratio() >= 0.9:
                return lexicon.is_covered(subject.key)
    return False


def _plural_job(phrase: str) -> str:
    return phrase if phrase.endswith("ing") else plural(phrase)


def _covered(lexicon: Lexicon, key: str) -> bool:
    """Covered, or the job of a covered credential ("PALS providers" when PALS is)."""
    if lexicon.is_covered(key):
        return True
    return any(
        lexicon.is_covered(other) and lexicon.related(frozenset({key}), frozenset({other}))
        for other in lexicon.subjects
    )


def _neighbours(lexicon: Lexicon, phrase: str) -> list[str]:
    words = {w for w in phrase.lower().split() if w not in STOPWORDS}
    found = [
        s.key for s in lexicon.occupations()
        if words & {w.lower() for w in s.key.split()}
    ]  # fmt: skip
    return found[:3]


def example_questions(lexicon: Lexicon, limit: int = 4) -> list[str]:
    """Starter questions for the page when the library's data file names none."""
    jobs = [k for k in main_subjects(lexicon) if lexicon.subjects.get(k, None) is not None
            and lexicon.subjects[k].kind == "occupation"]  # fmt: skip
    if not jobs:
        return ["What careers do these articles cover?"]
    found = [f"How much do {plural(jobs[0])} earn?"]
    if len(jobs) > 1:
        found.append(f"{plural(jobs[0]).capitalize()} or {plural(jobs[1])}: which suits me?")
    found.append(f"How long does it take to become {_article(jobs[-1])} {jobs[-1]}?")
    found.append(f"Where do {plural(jobs[min(2, len(jobs) - 1)])} work?")
    return found[:limit]


def _article(name: str) -> str:
    return "an" if name[:1].lower() in "aeiou" else "a"
