"""Greetings, thanks, goodbyes and "what can you do?": a short, friendly reply.

Not a refusal and not a search: what the advisor can do is said from the index
(the occupations it covers) and one example question, in at most three lines.
General English patterns over the whole message, so "thanks, and what do RNs
earn?" is a question, not small talk.
"""

from __future__ import annotations

import re

_GREETING = re.compile(
    r"^(?:(?:hi|hello|hey|hiya|howdy|yo|good (?:morning|afternoon|evening)|greetings)"
    r"(?: there)?[\s!.,]*)+(?:how are you(?: doing)?|how'?s it going|what'?s up)?[\s!?.,]*$",
    re.I,
)
_THANKS = re.compile(
    r"^(?:(?:thanks?|thank you|thx|ty|cheers|great|awesome|perfect|ok(?:ay)?|cool)"
    r"(?: (?:so much|a lot|very much|again))?[\s!.,]*)+$",
    re.I,
)
_BYE = re.compile(
    r"^(?:(?:ok(?:ay)?|alright|well|great|cool|thanks?|thank you|that'?s all)[\s!.,]+)*"
    r"(?:bye|goodbye|bye bye|see you(?: later)?|see ya|that'?s all|i'?m done|good ?night)"
    r"(?: (?:for now|then|now))?(?:[\s!.,]+(?:thanks?|thank you)(?: so much)?)?[\s!.,]*$",
    re.I,
)
_META = re.compile(
    r"^(?:(?:hi|hello|hey|yo|what'?s up|whats up|sup)[\s!,.]+)?"
    r"(?:what can you (?:help|do)(?: with)?|what do you (?:do|know|cover)|who are you"
    r"|what are you|how does this work|help|what can i ask(?: you)?)[\s?!.]*$",
    re.I,
)


def small_talk_kind(message: str) -> str | None:
    """ "greeting", "thanks", "bye" or "meta" for small talk, else None (a real question)."""
    text = message.strip()
    if len(text) > 60:
        return None
    for kind, pattern in (("greeting", _GREETING), ("thanks", _THANKS), ("bye", _BYE),
                          ("meta", _META)):  # fmt: skip
        if pattern.match(text):
            return kind
    return None


def small_talk_reply(kind: str, covered: str, example: str) -> str:
    """At most three lines; what the advisor covers comes from the index."""
    can = (
        f"I answer career questions from the articles I have about {covered}: pay, "
        f"training, certifications, outlook and which might suit you."
    )
    if kind == "thanks":
        return f"You're welcome! Ask me anything else about {covered}."
    if kind == "bye":
        return "Good luck with your career plans! Come back any time."
    opener = "Hi! " if kind == "greeting" else ""
    return f"{opener}{can}\nTry “{example}”"
