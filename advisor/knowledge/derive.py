"""Derive a library's lexicon from its articles: general English, no field vocabulary.

Career articles name their occupations in recognisable ways: as the subject
of what people do ("Welders earn…", "Most medical coders work…"), after
"become a" / "work as a" / "What does a … do", in titles and headings
("LPN vs RN"), and in acronym expansions ("licensed practical nurse (LPN)",
"Certified Coding Specialist (CCS)"). Job nouns are found by their English
shape (agent suffixes -er/-or/-ist/-ian/-ant…) and by how the text uses them;
a name counts only when the article uses it more than in passing. Reporters
are the organisations figures are attributed to ("according to PayScale",
"the BLS reports"). Maintainers correct what is found with front matter
(`occupations:`, `aliases:`) or `library.yaml`; `advisor corpus` shows it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from advisor.knowledge.lexicon import (
    Subject,
    is_acronym,
    normalize,
    singular,
)
from advisor.text import STOPWORDS

# English agent-noun endings; a word with one is a job noun only if the text uses it as one.
_AGENT = re.compile(r"^[a-z][a-z-]*(?:er|or|ist|ian|ant|yst|ee|man|men|ic|al|ent|ive)s?$")
AGENT = _AGENT  # the shape merging reads modifiers of (advisor.knowledge.merge.words_before)
# Words of that shape that are not people, comparatives, and generic people words.
NOT_PEOPLE = frozenset(
    """other others career careers number numbers order orders paper papers computer computers
    under after better higher lower faster easier harder longer shorter larger smaller greater
    bigger newer older younger stronger wider fewer however together either whether rather
    over never ever per her water matter letter center centers error errors sector sectors
    factor factors major minor door floor color behavior labor prior senior junior interior
    exterior summer winter corner power powers chapter chapters quarter quarters register
    later earlier cover offer offers answer answers master's bachelor's manner deal total
    medical clinical national general several usual typical local technical physical
    professional professionals potential original critical individual individuals
    percent content treatment payment payments environment environments government recent
    different important current student students patient patients client clients resident
    residents parent parents event events agent present moment component components
    department departments equipment requirement requirements placement management
    development level arrival approval proposal rental removal interval journal
    people person persons worker workers employee employees employer employers applicant
    applicants candidate candidates member members staff user users customer customers
    someone anyone everyone reader readers writer editor editors author authors reviewer
    median medians mean master masters another degree degrees fee fees three free agree
    statistic statistics
    public topic topics music clinic clinics logic basic basics specific graphic traffic
    electric plastic academic economic scientific diagnostic diagnostics therapeutic
    alternative alternatives executive relative initiative perspective objective
    incentive incentives representative representatives collective excellent""".split()
)
# Generic on their own, fine with a modifier: "PALS providers", "dental assistants".
NEEDS_MODIFIER = frozenset(
    "provider specialist technician assistant professional worker aide clerk".split()
)
_QUANTIFIERS = frozenset(
    """most many all some several few these those both each every any new experienced
    entry-level late-career mid-career early-career top average typical successful skilled
    qualified certified licensed aspiring future prospective great good professional
    other such their our your its full-time part-time senior junior lead""".split()
)
_PERSON_VERB = re.compile(
    r"^(?:typically |usually |often |generally |also |may |can |must |will |who |to )?"
    r"(?:earn|earned|earns|make|made|makes|work|worked|works|perform|performs|handle|handles"
    r"|help|helps|assist|assists|prepare|prepares|install|installs|repair|repairs|review"
    r"|reviews|submit|submits|translate|translates|interact|speak|need|needs|spend|spends"
    r"|use|uses|complete|take|takes|receive|receives|are responsible|is responsible"
    r"|are paid|is paid|are trained|are licensed|are required|do|does|did|focus|focuses"
    r"|provide|provides|write|writes|build|builds|analy[sz]e|analy[sz]es)(?=[\s.,;:?!]|$)",
    re.I,
)
_BREAKERS = frozenset(
    """vs vs. versus like than per although though while whereas because since if when so
    thus therefore also even whether unlike""".split()
)
_OF = frozenset("of for by among".split())
_JOB_SLOT = re.compile(
    r"\b(?:become|becoming|work(?:ing)? as|jobs? as|careers? as)\s+(?:an?\s+)?"
    r"(?:[a-z-]+\s+){0,2}$",
    re.I,
)
# -ing nouns that are not a line of work ("training programs", "building codes" aside)
_NOT_WORK = frozenset(
    """training learning schooling funding housing meeting morning evening thing something
    anything nothing everything during including being having spring string starting
    earning earnings working living""".split()
)
_JOB_THINGS = re.compile(
    r"^(?:apprenticeships?|careers?|jobs?|training|programs?|licen[cs](?:e|ing)|school"
    r"|degrees?|salar(?:y|ies)|pay|wages?|income|earnings)\b",
    re.I,
)
_EARN = re.compile(r"^(?:typically |usually |often )?(?:earn|earned|earns|make|made|makes)\b")
# A pay statement: who it is about is an occupation even when named only once.
_PAY_STATEMENT = re.compile(r"\$\s?\d|\b\d[\d,.]*\s?(?:%|percent)|\bper (?:hour|year)\b", re.I)
# Endings shared with many adjectives ("excellent", "clinical"): a job noun only as a subject.
_WEAK_SUFFIX = re.compile(r"(?:ent|al|ic|ive)s?$")
_STRONG_BEFORE = frozenset("become becoming as".split())
_DETERMINERS = frozenset("a an the".split())
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")
_EXPANSION = re.compile(
    r"((?:[A-Za-z][\w’'&-]*\s+){0,7}[A-Za-z][\w’'-]*)\s*\(([A-Z][A-Za-z]{0,3}[A-Z][A-Za-z0-9-]{0,6})\)"
)
_MINOR = frozenset("of and the for in & to on a an".split())
_CREDENTIAL_CONTEXT = re.compile(
    r"\b(?:exam|examination|certification|certifications|certificate|credential|credentials"
    r"|test|license|licensure|course|courses|holders?|certified|designation)\b",
    re.I,
)
_CREDENTIAL_START = re.compile(r"^(?:Certified|Certificate|Registered|Accredited|Chartered)\b")
_REPORTER_CUES = (
    re.compile(
        r"\b(?:[Aa]ccording to|[Rr]eported by|[Dd]ata from|[Ff]igures from|[Ss]urvey by|from)"
        r"\s+(?:the\s+)?"
        r"((?:(?:(?:[A-Z]\.)+|[A-Z][\w&'’-]*)(?: (?:of|for|and|&) | )?){1,6})"
    ),
    re.compile(
        r"\b(?:the )?((?:[A-Z][\w&'’-]* (?:of |for |and )?){0,5}[A-Z][\w&'’-]*)"
        r"(?:'s|’s)?\s+(?:reports?|reported|data|estimates?|estimated|projects|projected|surveys?"
        r"|found|says|lists|notes)\b"
    ),
)
_TIME_WORDS = frozenset("hour day week month year annum".split())
_STRONG_CUE = re.compile(
    r"(?:according to|reported by|data from|figures from|survey by|per)\b", re.I
)
# "Per <Site>, …" in a reply; not read from articles, where "per Section 4 rules" names no
# reporter
_PER = re.compile(r"(?:^|[.;:]\s+)[Pp]er\s+(?:the\s+)?((?:[A-Z][\w&'’.-]*\s?){1,4}),")
_NOT_REPORTERS = frozenset(
    """The This That These Those It They A An In On For And But Job Jobs Salary Salaries
    January February March April May June July August September October November December
    Many Most Some Data""".split()
)


@dataclass
class ArticleKnowledge:
    """What one article is about, as found (before front-matter corrections merge in)."""

    doc_id: str
    subjects: list[Subject] = field(default_factory=list)
    reporters: dict[str, list[str]] = field(default_factory=dict)
    evidence: dict[str, int] = field(default_factory=dict)


def job_nouns(text: str) -> list[tuple[int, int, str]]:
    """(start, end, phrase) of the job nouns a question or reply uses, by the same reading."""
    return [(start, end, phrase) for phrase, _, _, start, end in _uses(text, 0, loose=True)]


def _job_place(text: str, word: str, end: int, after: str) -> bool:
    """Is `word` where a question puts a job: "pilots earn", "a nurse's pay", "become a chef",
    "a plumbing apprenticeship"?"""
    low = word.lower().replace("’", "'")
    if low.endswith("s") and _EARN.match(after):
        return True
    if low.endswith("'s") and _JOB_THINGS.match(after):
        return True
    if low.endswith("ing") and low not in _NOT_WORK and _JOB_THINGS.match(after):
        return True
    before = text[: end - len(word)]
    return bool(_JOB_SLOT.search(before)) and (not after or after[0] in "?.!,;:")


def _heads_and_phrases(text: str, weight: int) -> Iterable[tuple[str, int, bool]]:
    for phrase, evidence, strong, _, _ in _uses(text, weight):
        yield phrase, evidence, strong


def _uses(text: str, weight: int, loose: bool = False) -> Iterable[tuple[str, int, bool, int, int]]:
    """(phrase, evidence, strong) for each job-noun use in `text` (a sentence or heading).

    Weight: 2 for a title or heading, 0 for a sentence, -1 for a pay statement
    (whose "for healthcare practitioners" names an occupation, if only once).

    Strong evidence: the noun is the subject of what people do ("welders earn"),
    or follows "become a" / "as a", or stands in a title or heading.
    """
    pay, weight = weight < 0, max(weight, 0)
    words = [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]
    for i, (word, _, end) in enumerate(words):
        low = word.lower().replace("’", "'")
        if len(low) < 4 or low in STOPWORDS or is_acronym(word):
            continue
        starts = i == 0 or re.search(r"[.!?:*-]", text[words[i - 1][2] : words[i][1]])
        if loose and word[0].isupper() and not starts:
            continue  # "Career Advisor team": a name, not a job
        after = text[end : end + 40].lstrip(" ,")
        # in a question any noun in a job's place is a job noun, whatever its ending:
        # "nurses earn", "a nurse's pay", "become a pilot", "a plumbing apprenticeship"
        if not _AGENT.match(low) and not (loose and _job_place(text, word, end, after)):
            continue
        if low.rstrip("s") in NOT_PEOPLE or low in NOT_PEOPLE or low in _BREAKERS:
            continue
        if low.split("-")[-1].rstrip("s") in NOT_PEOPLE:  # "late-career"
            continue
        if low.endswith("'s"):
            low = low[:-2]
        mods: list[str] = []
        j = i - 1
        while j >= 0 and len(mods) < 3:
            prev, _, prev_end = words[j]
            gap = text[prev_end : words[j + 1][1]]
            p = prev.lower()
            if gap.strip() or p in STOPWORDS or p in _QUANTIFIERS or p in _BREAKERS:
                break
            if p.endswith("s") and not p.endswith("ss") and not is_acronym(prev):
                break  # "automates", "handles": a verb or a plural, not a modifier
            if p.endswith("ly") or (p.endswith("ing") and weight < 3):
                break
            if prev[0].isupper() and not is_acronym(prev) and weight < 2 and j > 0:
                break  # a proper name in running text is not a modifier
            mods.insert(0, prev if is_acronym(prev) else p)
            j -= 1
        before = words[j][0].lower() if j >= 0 else ""
        after = text[end : end + 40].lstrip(" ,")
        evidence = weight
        strong = bool(_PERSON_VERB.match(after)) or before in _STRONG_BEFORE
        strong = strong or (pay and (before in _OF or before in _DETERMINERS) and bool(mods))
        if strong:
            evidence += 3 if pay else 2
        elif before in _DETERMINERS or before in _QUANTIFIERS or before in _OF or j < 0:
            evidence += 1
        plural = low.endswith("s") and not low.endswith("ss")
        if evidence == 0 or (_WEAK_SUFFIX.search(low) and not (strong and (plural or weight))):
            continue
        head = singular(low)
        begin = words[j + 1][1] if mods else words[i][1]
        yield " ".join([*mods, head]), evidence, strong or weight > 0, begin, end
        # "medical billers and coders": the second noun shares the first one's modifiers
        if j >= 1 and before in ("and", "or") and not mods:
            k = j - 1
            first = words[k][0].lower()
            if _AGENT.match(first):
                shared = []
                m = k - 1
                while m >= 0 and len(shared) < 3:
                    p = words[m][0].lower()
                    gap = text[words[m][2] : words[m + 1][1]]
                    if p in STOPWORDS or p in _QUANTIFIERS or gap.strip():
                        break
                    shared.insert(0, p)
                    m -= 1
                if shared:
                    yield " ".join([*shared, head]), max(1, evidence - 1), False, begin, end


def _select_occupations(evidence: Counter[str], strong: Counter[str]) -> list[str]:
    """Names used as occupations, grouped by head noun.

    The bare head ("welder") is the subject when the article mostly says it
    bare; a modified form ("registered nurse", "apprentice electrician") is a
    subject of its own when the article uses it repeatedly and as a subject.
    """
    groups: dict[str, list[str]] = {}
    for phrase in evidence:
        groups.setdefault(phrase.split()[-1], []).append(phrase)
    chosen: list[str] = []
    for head, phrases in groups.items():
        bare = evidence.get(head, 0) if head not in NEEDS_MODIFIER else 0
        named = [
            p for p in phrases
            if p != head and strong[p] and (evidence[p] >= 3 or strong[p] >= 2)
        ]  # fmt: skip
        if bare >= 4 and strong[head] and bare >= max((evidence[p] for p in named), default=0):
            chosen.append(head)
            chosen += [p for p in named if evidence[p] >= 4]
        else:
            chosen += named
    return chosen


_ACRONYM_PAREN = re.compile(r"\(([A-Z][A-Za-z]{0,3}[A-Z][A-Za-z0-9-]{0,6})\)")
_RUN_CHAR = re.compile(r"[\w’'&\s-]")  # what the words before "(ACRONYM)" are made of


def _expansion_matches(text: str) -> Iterable[re.Match[str]]:
    """What `_EXPANSION.finditer(text)` finds, looked for only before each "(ACRONYM)".

    Trying the eight-word pattern at every position of an article was most of the
    cost of deriving it. A match is made of words and spaces up to its parenthesis,
    so it starts after the last other character before it: searching from there
    finds the same leftmost match.
    """
    done = 0
    for paren in _ACRONYM_PAREN.finditer(text):
        if paren.start() < done:
            continue
        start = paren.start()
        while start > done and _RUN_CHAR.match(text, start - 1):
            start -= 1
        match = _EXPANSION.search(text, start, paren.end())
        if match is not None:
            yield match
            done = match.end()


def _expansions(text: str) -> list[tuple[str, str]]:
    """(phrase, acronym) pairs: the phrase's content-word initials spell the acronym."""
    found = []
    for m in _expansion_matches(text):
        words, acronym = m.group(1).split(), m.group(2)
        letters = [c.lower() for c in acronym if c.isupper()]
        picked: list[str] = []
        remaining = list(letters)
        for w in reversed(words):
            if not remaining:
                break
            if w.lower() in _MINOR and picked:
                picked.insert(0, w)
                continue
            if w[0].lower() == remaining[-1]:
                picked.insert(0, w)
                remaining.pop()
            else:
                break
        if not remaining and picked and picked[0].lower() not in _MINOR:
            if acronym.endswith("s") and is_acronym(acronym[:-1]):
                acronym = acronym[:-1]
            found.append((" ".join(picked).strip(), acronym))
    return found


def _lines(title: str, text: str) -> Iterable[tuple[str, int]]:
    """(line, weight): the title and headings count more than running text."""
    yield title, 2
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            yield stripped.lstrip("#").strip(), 2
            continue
        for sentence in re.split(r"(?<=[.!?])\s+", stripped):
            yield sentence, -1 if _PAY_STATEMENT.search(sentence) else 0


def derive_article(doc_id: str, title: str, text: str) -> ArticleKnowledge:
    """Occupations, credentials and reporters one article names, with their aliases."""
    evidence: Counter[str] = Counter()
    strong: Counter[str] = Counter()
    for line, weight in _lines(title, text):
        for phrase, score, is_strong in _heads_and_phrases(line, weight):
            evidence[phrase] += score
            strong[phrase] += is_strong
    whole = f"{title}\n{text}"
    reporters = derive_reporters(whole)
    reporter_names = {n for key, names in reporters.items() for n in (key, *names)}
    expansions = [e for e in _expansions(whole) if not reporter_names & set(e)]
    subjects: dict[str, Subject] = {}

    def add(key: str, kind: str, aliases: Iterable[str] = ()) -> None:
        subject = subjects.setdefault(key, Subject(key=key, kind=kind, docs=[doc_id]))  # type: ignore[arg-type]
        subject.aliases = list(dict.fromkeys([*subject.aliases, *(a for a in aliases if a != key)]))

    for key in _select_occupations(evidence, strong):
        add(key, "occupation")
    for phrase, acronym in expansions:
        key = normalize(phrase)
        uses = [m for m in re.finditer(rf"(?<![\w-]){re.escape(acronym)}s?(?![\w-])", whole)]
        as_credential = sum(
            bool(_CREDENTIAL_CONTEXT.search(whole[max(0, m.start() - 25) : m.end() + 25]))
            for m in uses
        )
        as_person = sum(
            bool(_PERSON_VERB.match(whole[m.end() : m.end() + 30].lstrip(" ,")))
            or m.group().endswith("s")
            for m in uses
        )
        head = key.split()[-1]
        person_shaped = bool(_AGENT.match(head)) and head not in NOT_PEOPLE
        # a capitalised name ("International Brotherhood of …") is an organisation or a
        # credential unless the text uses its acronym for people ("LPNs earn")
        titled = all(w[0].isupper() for w in phrase.split() if w.lower() not in _MINOR)
        credential = bool(_CREDENTIAL_START.match(phrase)) or (titled and as_person < 2)
        credential = credential or as_credential > 2 * as_person + 2
        if (person_shaped or as_person >= 2) and not credential:
            add(key, "occupation", [acronym])
        elif key in subjects:
            subjects[key].aliases.append(acronym)
        else:
            add(acronym, "credential", [phrase])
    for subject in subjects.values():
        words = subject.key.split()
        if subject.kind == "occupation" and len(words) > 1 and words[-1] not in NEEDS_MODIFIER:
            subject.aliases = list(dict.fromkeys([*subject.aliases, words[-1]]))
    return ArticleKnowledge(doc_id, list(subjects.values()), reporters, dict(evidence))


def cued_names(text: str, lone_words: bool = False) -> list[str]:
    """Names a figure is attributed to ("according to the BLS", "PayScale reports").

    One plain capitalised word is usually a sentence start, so it counts only with
    `lone_words` and right after a cue ("according to <Site>"): the guard reads a
    reply's own attributions that way; deriving a library's reporters does not."""
    names: list[str] = []
    for pattern in (*_REPORTER_CUES, _PER) if lone_words else _REPORTER_CUES:
        for m in pattern.finditer(text):
            name = re.sub(r"\s+(?:of|for|and|&)?\s*$", "", m.group(1).strip()).strip(" .,'’")
            name = re.sub(r"^(?:The|the)\s+", "", name)
            if not name or name in _NOT_REPORTERS or name.split()[0] in _NOT_REPORTERS:
                continue
            if len(name.split()) > 6 or len(name) < 2:
                continue
            strong = bool(_STRONG_CUE.match(m.group(0).lstrip(" .,;:")))
            if lone_words and pattern is _REPORTER_CUES[0] and not strong:
                continue  # a reply's "moving from <Place>" names no reporter
            if name.lower() in _TIME_WORDS:
                continue  # "Per Year, …"
            lone = " " not in name and not re.search(r"[A-Z].*[A-Z]", name)
            if lone and not (lone_words and strong):
                continue
            names.append(name)
    return names


def derive_reporters(text: str) -> dict[str, list[str]]:
    """Organisations figures are attributed to, with their acronyms where the text gives them."""
    names = Counter(cued_names(text))
    expansions = dict(_expansions(text))
    groups: dict[str, list[str]] = {}
    for name in names:
        acronym = expansions.get(name)
        if is_acronym(name):
            full = next((p for p, a in expansions.items() if a == name and p in names), None)
            key, alias = name, full
        else:
            key, alias = (acronym, name) if acronym else (name, None)
        group = groups.setdefault(key, [])
        if alias and alias not in group:
            group.append(alias)
    return merge_initials(groups)


def merge_initials(groups: dict[str, list[str]]) -> dict[str, list[str]]:
    """A name whose initials spell a reporter's acronym is that reporter (BLS ~ Bureau of …)."""
    for key in list(groups):
        if is_acronym(key):
            continue
        words = [w for w in key.split() if w.lower() not in _MINOR and "." not in w]
        initials = "".join(w[0] for w in words).upper()
        if initials in groups and initials != key:
            groups[initials] = list(dict.fromkeys([*groups[initials], key, *groups.pop(key)]))
    return groups


def activity_aliases(subjects: dict[str, Subject], text: str) -> None:
    """ "Medical coding" names medical coders: add the -ing form where the text uses it."""
    lowered = text.lower()
    for subject in subjects.values():
        if subject.kind != "occupation" or is_acronym(subject.key):
            continue
        words = subject.key.split()
        stem = re.sub(r"(?:er|or|ist|ian|e)$", "", words[-1])
        if len(stem) < 3:
            continue
        bare = words[-1] in subject.aliases
        for form in (f"{stem}ing", f"{stem}{stem[-1]}ing" if words[-1].endswith("er") else ""):
            if not form:
                continue
            phrases = [" ".join([*words[:-1], form])] + ([form] if bare and len(words) > 1 else [])
            for phrase in phrases:
                if re.search(rf"\b{re.escape(phrase)}\b", lowered):
                    subject.aliases = list(dict.fromkeys([*subject.aliases, phrase]))


@dataclass
class Declared:
    """What a maintainer wrote in front matter or library.yaml."""

    occupations: list[str | Mapping[str, object]] = field(default_factory=list)
    aliases: Mapping[str, list[str]] = field(default_factory=dict)
    not_occupations: list[str] = field(default_factory=list)


def apply_declared(subjects: dict[str, Subject], declared: Declared, doc_id: str | None) -> None:
    """Front matter and library.yaml win over what was derived."""
    for item in declared.occupations:
        if isinstance(item, Mapping):
            name = str(item.get("name", "")).strip()
            aliases = [str(a) for a in item.get("aliases", []) or []]  # type: ignore[union-attr]
            kind = str(item.get("kind", "occupation"))
        else:
            name, aliases, kind = str(item).strip(), [], "occupation"
        if not name:
            continue
        key = name if is_acronym(name) else normalize(name)
        existing = _find(subjects, key)
        if existing is None:
            existing = subjects[key] = Subject(key=key, kind=kind)  # type: ignore[arg-type]
        existing.kind = kind  # type: ignore[assignment]
        existing.aliases = list(dict.fromkeys([*existing.aliases, *aliases]))
        if doc_id and doc_id not in existing.docs:
            existing.docs.append(doc_id)
    for name, aliases in declared.aliases.items():
        key = name if is_acronym(name) else normalize(name)
        target = _find(subjects, key)
        if target is None:
            target = subjects[key] = Subject(key=key, docs=[doc_id] if doc_id else [])
        target.aliases = list(dict.fromkeys([*target.aliases, *map(str, aliases)]))
    for name in declared.not_occupations:
        found = _find(subjects, name if is_acronym(name) else normalize(name))
        if found is not None:
            subjects.pop(found.key, None)


def _find(subjects: dict[str, Subject], key: str) -> Subject | None:
    """The subject a maintainer means, however the articles capitalise it ("HVAC technician"
    declared as "hvac technician"), by its name or one of its aliases."""
    if key in subjects:
        return subjects[key]
    wanted = key.lower()
    return next(
        (s for s in subjects.values() if wanted in {normalize(n).lower() for n in s.names}), None
    )
