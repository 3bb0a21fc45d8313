"""What a question asks about: pay, time, cost, place, a definition, a comparison.

Shared by the extractive generator (to pick sentences) and the follow-up
condenser (to carry named certifications into the next query). Plain
patterns over the question text: cheap, deterministic and easy to extend
when an article on a new career adds its own vocabulary.
"""

from __future__ import annotations

import re

from advisor.text import tokenize

PAY_WORDS = frozenset(tokenize("pay paid salary salaries earn earning earnings wage income money"))
PAY_QUESTION = re.compile(
    r"\b(pay|paid|salar|earn|wage|income|money|average)|\$\d"
    r"|\bhow much\b[^?]*\bmake\b|\bmakes? (?:a|per|in a|an) (?:year|hour)\b",
    re.I,
)
TIME_QUESTION = re.compile(r"\bhow long\b|\bhow much time\b|\bduration\b|\btake to\b|\bquick", re.I)
COST_QUESTION = re.compile(r"\b(cost|costs|price|tuition|fees?|expensive|afford)", re.I)
MORE_QUESTION = re.compile(r"\b(more|higher|less|lower|better|most)\b", re.I)
COMPARATIVE = re.compile(r"\bmore than\b|\bhigher\b|\bless than\b|\blower\b", re.I)
WHERE_QUESTION = re.compile(r"\bwhere\b", re.I)
PLACES = re.compile(
    r"\b(hospitals?|clinics?|offices?|settings?|facilities|companies|home|remote(?:ly)?|"
    r"emergency departments|ambulances)\b",
    re.I,
)
LIST_QUESTION = re.compile(
    r"\b(?:are there|types|kinds|options|list|steps|which certifications|what certifications)\b",
    re.I,
)
COMPARE_QUESTION = re.compile(r"\b(vs\.?|versus|better|or|compared?|difference|differ)\b", re.I)
ACRONYMS = ("CCS", "CPC", "CCA", "CPB", "COC", "CIC", "CMC", "PALS")
ACRONYM = re.compile(r"\b(?:" + "|".join(ACRONYMS) + r")\b")
ENTITIES = {
    **{name: rf"\b{name}s?\b" for name in ACRONYMS},
    "Medical coding": r"\bcod(?:er|ers|ing)\b",
    "Medical billing": r"\bbill(?:er|ers|ing)\b",
}
ENTITY_TOKENS = frozenset(
    tokenize("coder coders coding biller billers billing " + " ".join(ACRONYMS))
)
# Words that frame a question rather than say what it is about ("which job is better…").
FRAMING_TOKENS = frozenset(tokenize("better best good job jobs career careers option options"))
DEFINITION_QUESTION = re.compile(r"^\s*what (?:is|are)\b", re.I)
DEFINITION = re.compile(r"^[^.]{0,80}\b(?:is|are) (?:a|an|the)\b", re.I)


def entities_in(text: str) -> list[str]:
    return [name for name, pattern in ENTITIES.items() if re.search(pattern, text, re.I)]


def question_entities(question: str) -> list[str]:
    found = entities_in(question)
    acronyms = [e for e in found if e.isupper()]
    return acronyms or found  # "CCS vs CPC" is about certifications, not "coding"
