"""What a question asks about: pay, time, cost, place, a definition, a comparison.

General English patterns over the question text: cheap and deterministic.
Who or what it asks about (occupations, credentials) is the library's
knowledge, in advisor.knowledge, never here.
"""

from __future__ import annotations

import re

from advisor.text import tokenize

PAY_WORDS = frozenset(tokenize("pay paid salary salaries earn earning earnings wage income money"))
PAY_QUESTION = re.compile(
    r"\b(pay|paid|salar|earn|wage|income|money|average)|\$\d"
    r"|\bhow much\b[^?]*\bmake\b|\bmakes? (?:a|per|in a|an) (?:year|hour)\b"
    r"|\bmakes? (?:more|less)\b",
    re.I,
)
TIME_QUESTION = re.compile(r"\bhow long\b|\bhow much time\b|\bduration\b|\btake to\b|\bquick", re.I)
COST_QUESTION = re.compile(r"\b(cost|costs|price|tuition|fees?|expensive|afford)", re.I)
# What a pay passage says that a pay question may not ("Which pays more…?"): searched too.
PAY_QUERY_WORDS = "salary"
MORE_QUESTION = re.compile(r"\b(more|higher|less|lower|better|most)\b", re.I)
COMPARATIVE = re.compile(r"\bmore than\b|\bhigher\b|\bless than\b|\blower\b", re.I)
WHERE_QUESTION = re.compile(r"\bwhere\b", re.I)
# Where people work, in general English: "work in/at/from", settings, remote.
PLACES = re.compile(
    r"\bwork(?:s|ed|ing)? (?:in|at|for|from|on)\b|\bemploy(?:ed|s)\b|\bsettings?\b"
    r"|\bremote(?:ly)?\b|\bfrom home\b|\bfacilit(?:y|ies)\b",
    re.I,
)
LIST_QUESTION = re.compile(
    r"\b(?:are there|types|kinds|options|list|steps|which certifications|what certifications)\b",
    re.I,
)
COMPARE_QUESTION = re.compile(r"\b(vs\.?|versus|better|or|compared?|difference|differ)\b", re.I)
# Words that frame a question rather than say what it is about ("which job is better…").
FRAMING_TOKENS = frozenset(
    tokenize("better best good job jobs career careers option options take takes get need")
)
# "Which certification…?", "What exam do … take?": a credential by name is the answer.
CREDENTIAL_QUESTION = re.compile(
    r"\b(?:certif\w*|credentials?|exams?|examinations?|licen[cs]\w*|boards?)\b", re.I
)
# "Do <jobs> need a certificate?": whether something is required, answered by a sentence
# that says so ("No state requires certification…"), not by one about what it involves.
NEED_QUESTION = re.compile(
    r"^\W*(?:do|does|did|is|are|can|must|will|should)\b.*\b(?:need|needs|require|required"
    r"|have to|has to|mandatory|necessary)\b",
    re.I,
)
REQUIREMENT = re.compile(
    r"\b(?:requires?|required|requirements?|mandatory|optional|voluntary|necessary|not needed)\b",
    re.I,
)
# "Is coding a good career for the future?": the outlook, answered by growth and openings
OUTLOOK_QUESTION = re.compile(
    r"\b(?:future|outlook|in demand|demand|growth|growing|job security|prospects|openings)\b", re.I
)
OUTLOOK = re.compile(r"\b(?:grow|grows|growth|growing|projected|projects|openings|demand)\b", re.I)
DEFINITION_QUESTION = re.compile(r"^\s*what (?:is|are)\b", re.I)
DEFINITION = re.compile(r"^[^.]{0,80}\b(?:is|are) (?:a|an|the)\b", re.I)
# "What does a PTA do?", "day to day", "duties": the work itself.
DUTIES_QUESTION = re.compile(
    r"\bwhat (?:does|do|would) (?:an? |the )?[\w\s-]{2,40}? do\b|\bduties\b|\bday[- ]to[- ]day\b"
    r"|\bresponsibilit|\ball day\b|\bjob involve",
    re.I,
)
DUTIES_HEADING = re.compile(r"\bdo\b\??$|\bduties\b|\bwhat is an? |\brole\b|\binvolve", re.I)
