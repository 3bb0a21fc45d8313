"""Follow-up questions to offer after an answer: generic topics, named after the answer.

The templates know career topics (pay, training, where people work, …), not
any occupation: the subject is taken from the top citation's section heading
(the part after "›"), or the answer offers the generic form ("How much do
they earn?"). Topics the student just asked about, or asked earlier, are
skipped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from advisor.answer import Reply

# topic -> (words that show a question is about it, generic form, form naming a subject)
TOPICS: dict[str, tuple[str, str, str]] = {
    "pay": (
        r"pay|paid|earn|salar|wage|make|money|income",
        "How much do they earn?",
        "How much does {subject} pay?",
    ),
    "training": (
        r"train|course|school|study|learn|educat|degree|long does|how long",
        "How long is the training?",
        "How long is the training for {subject}?",
    ),
    "work": (
        r"where|work setting|employ|hospital|remote|office|environment",
        "Where do they work?",
        "Where do people in {subject} work?",
    ),
    "certification": (
        r"certif|exam|credential|licen",
        "Which certification should I get?",
        "Which certification is best for {subject}?",
    ),
    "outlook": (
        r"outlook|demand|growth|future|job market|jobs",
        "Is there demand for these jobs?",
        "What is the job outlook for {subject}?",
    ),
    "duties": (
        r"what do|duties|day to day|responsib|role|what does",
        "What do they do day to day?",
        "What does {subject} involve day to day?",
    ),
}
_GENERIC_HEADINGS = re.compile(
    r"^(introduction|key points|final thoughts|skills|salary|job duties|job requirements|"
    r"work environment|frequently asked questions|starting a career)$",
    re.I,
)


def topics_of(text: str) -> set[str]:
    """Topics a question is about, by keyword."""
    lowered = text.lower()
    return {name for name, (words, _, _) in TOPICS.items() if re.search(words, lowered)}


def subject_of(reply: Reply) -> str:
    """A short subject from the top citation's section ("PALS", "medical coding"), or ""."""
    if not reply.citations:
        return ""
    top = min(reply.citations, key=lambda c: c.n)
    heading = top.section.split("›")[-1].strip()
    words = heading.split()
    if not heading or heading.endswith("?") or len(words) > 4 or _GENERIC_HEADINGS.match(heading):
        return ""
    if topics_of(heading) or re.search(r"\b(vs\.?|versus|difference|what|how)\b", heading, re.I):
        return ""
    return " ".join(w if w.isupper() else w.lower() for w in words)


def follow_ups(question: str, reply: Reply, asked: Sequence[str] = (), limit: int = 3) -> list[str]:
    """2-3 follow-up questions on topics not just asked, naming the answer's subject."""
    if reply.refused or not reply.citations:
        return []
    just_asked = topics_of(question)
    earlier = set().union(*(topics_of(q) for q in asked)) if asked else set()
    subject = subject_of(reply)
    fresh = [t for t in TOPICS if t not in just_asked and t not in earlier]
    rest = [t for t in TOPICS if t not in just_asked and t in earlier]
    chosen = (fresh + rest)[:limit]
    return [TOPICS[t][2].format(subject=subject) if subject else TOPICS[t][1] for t in chosen]
