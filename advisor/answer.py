"""The answer pipeline: question + history → cited, guarded reply.

The one public API the CLI, the page and the evals call. Stages: validate →
condense a follow-up into a standalone query → hybrid retrieval → scope check
(decline when nothing relevant was found or the question is about a role the
articles do not cover) → generator → figure guard → citations renumbered in
order of use. Each stage is timed. Streaming yields the guarded answer in
pieces: the guard must see a sentence before a user does, because text once
shown cannot be taken back.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from itertools import chain
from typing import Literal

from pydantic import BaseModel, TypeAdapter, ValidationError

from advisor.budget import within
from advisor.chunking import Chunk
from advisor.claims import FigureGuard, GuardedText, Removal, citations_in
from advisor.figures import extract_figures
from advisor.followup import conversation_subjects, is_follow_up, standalone
from advisor.generators import Generator, make_generator
from advisor.knowledge.derive import job_nouns
from advisor.knowledge.scope import (
    covered_phrase,
    example_questions,
    names_the_library,
    partly_uncovered,
    uncovered_occupation,
)
from advisor.knowledge.spelling import respell
from advisor.parts import split_parts
from advisor.payfigures import PayFigure, pay_figures
from advisor.prompts import REFUSAL_PHRASE
from advisor.retrieve import Hit, Retriever
from advisor.settings import Settings
from advisor.sides import with_each_side
from advisor.smalltalk import small_talk_kind, small_talk_reply
from advisor.text import QuestionError, clean_question


class Turn(BaseModel):
    """One message of the conversation so far."""

    role: Literal["user", "assistant"]
    content: str


HISTORY = TypeAdapter(list[Turn])


@dataclass(frozen=True)
class Citation(Chunk):
    """A passage the answer cites, with the number its [n] markers use."""

    n: int = 0

    @classmethod
    def from_chunk(cls, n: int, chunk: Chunk) -> Citation:
        return cls(**asdict(chunk), n=n)

    def as_json(self) -> dict[str, object]:
        fields = asdict(self)
        return {"n": fields.pop("n"), **fields}


@dataclass
class Reply:
    """What the advisor says, what it cites, and what the guard took out."""

    answer: str
    citations: list[Citation] = field(default_factory=list)
    refused: bool = False
    removed: list[Removal] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    standalone_question: str = ""
    backend: str = ""
    retrieved: list[str] = field(default_factory=list)  # doc ids of the passages, best first
    reason: str = ""  # why it was refused, when it was
    figures: list[PayFigure] = field(default_factory=list)  # the sourced pay figures it states

    def as_json(self) -> dict[str, object]:
        return {
            "answer": self.answer,
            "citations": [c.as_json() for c in self.citations],
            "refused": self.refused,
            "guard": {"removed": [r.as_json() for r in self.removed]},
            "figures": [f.as_json() for f in self.figures],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


def parse_history(raw: object, max_chars: int) -> list[Turn]:
    """Validate a history (a JSON list of {role, content}); raise QuestionError if unusable."""
    try:
        turns = HISTORY.validate_python(raw)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise QuestionError(
            f"The conversation history is not a list of {{role, content}} messages "
            f"({where}: {first['msg']})."
        ) from err
    if sum(len(t.content) for t in turns) > max_chars:
        raise QuestionError(f"The conversation history is longer than {max_chars:,} characters.")
    return turns


class Advisor:
    """Holds the loaded retriever and generator; one instance serves many questions."""

    def __init__(
        self,
        settings: Settings,
        retriever: Retriever | None = None,
        generator: Generator | None = None,
        *,
        guard: bool = True,
    ) -> None:
        self.settings = settings
        self.guard = guard  # False only for the eval's guard-off ablation
        self.retriever = retriever or Retriever(settings)
        self.generator = generator or make_generator(settings.generator, settings.answer)

    def warm(self) -> None:
        """Load the embedding model now, not on the first question (a spinner covers it)."""
        self.retriever.embedder.embed_query("warm up")

    def example(self) -> str:
        """One question to try: the library's own first example, else one made from it."""
        from advisor.corpus import CorpusError, read_library_file

        try:
            listed = read_library_file(self.settings.corpus_dir).examples
        except CorpusError:
            listed = []
        return (listed or example_questions(self.retriever.lexicon))[0]

    def intro(self) -> str:
        """One line on what to ask, from what the index covers."""
        return f"Ask about {covered_phrase(self.retriever.lexicon)}."

    @property
    def covers(self) -> list[str]:
        """Titles of the indexed articles, for the refusal and the page's intro."""
        return self.retriever.manifest.titles

    def refusal_text(self, reason: str = "") -> str:
        """The one refusal phrase, why, and what the indexed articles do cover."""
        because = f" {reason}" if reason else ""
        return (
            f"{REFUSAL_PHRASE}{because} I can help with "
            f"{covered_phrase(self.retriever.lexicon)}: duties, pay, training, certifications, "
            f"job outlook and which suits you."
        )

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """A follow-up ("which of those pays more?") made standalone using the conversation.

        The result is an internal query, kept within the question limit: context
        added from the conversation must not turn a valid follow-up into an error.
        """
        limit = self.settings.retrieval.max_query_chars
        question = respell(question, self.retriever.lexicon, self.retriever.known)
        return self._standalone(question, history)[:limit]

    def _standalone(self, question: str, history: Sequence[Turn]) -> str:
        turns = self.settings.answer.history_turns
        recent = list(history)[-turns:] if turns else []
        if not recent:
            return question
        transcript = "\n".join(f"{t.role}: {t.content}" for t in recent)
        llm_version = self.generator.condense(question, transcript)
        if llm_version:
            return llm_version
        lexicon = self.retriever.lexicon
        if not is_follow_up(question, lexicon):
            return self._unless_it_needs_context(question, recent)
        if not any(t.role == "assistant" for t in recent):
            # The history holds only questions: rebuild what was answered, to know "those".
            at = max((i for i, t in enumerate(recent) if t.role == "user"), default=None)
            last_user = recent[at].content if at is not None else ""
            try:
                answered = self.ask(last_user, recent[:at]).answer if last_user else ""
            except QuestionError:  # an unusable earlier question adds nothing
                answered = ""
            recent = [*recent, Turn(role="assistant", content=answered)]
        return standalone(question, recent, lexicon)

    def _unless_it_needs_context(self, question: str, recent: Sequence[Turn]) -> str:
        """A question that names nothing ("Which certification should I get?") after one
        about an occupation is about that occupation when that makes the search more
        confident. Credentials are not carried (a question comparing two certifications, then
        "How long does training take?", is a new topic), nor anything into an off-topic question or
        one naming a job the articles do not cover."""
        lexicon = self.retriever.lexicon
        context = [
            name
            for name in conversation_subjects(recent, lexicon)
            if any(lexicon.subjects[k].kind == "occupation" for k in lexicon.subjects_in(name))
        ]
        if not context or lexicon.mentions(question, question=True) or job_nouns(question):
            return question
        if self.retriever.coverage(question) < 0.5:  # not career words: off topic
            return question
        bare_hits = self.retriever.search(question).hits
        if self.out_of_scope(question, bare_hits):  # the scope check runs on the question
            return question  # itself: context must not carry "How do I write a resume?" in
        with_context = " ".join([question, *context])
        bare = self.retriever.relevance(question, bare_hits)
        carried = self.retriever.relevance(with_context, self.retriever.search(with_context).hits)
        return with_context if carried >= bare else question

    def out_of_scope(self, question: str, hits: list[Hit]) -> str | None:
        """Why the articles cannot answer this, or None when they may."""
        uncovered = uncovered_occupation(self.retriever.lexicon, question)
        if uncovered:
            return uncovered
        limits = self.settings.answer
        named = names_the_library(self.retriever.lexicon, question)
        bar = limits.min_relevance_named if named else limits.min_relevance
        if self.retriever.relevance(question, hits) < bar:
            return "The articles don't cover that topic."
        return None

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Reply:
        """The whole reply at once (the CLI and evals); same path as streaming."""
        for item in self.stream(question, history):
            if isinstance(item, Reply):
                return item
        raise AssertionError("stream() always ends with a Reply")

    def stream(self, question: str, history: Sequence[Turn] = ()) -> Iterator[str | Reply]:
        """Yield the answer as it is written, line by line once the guard passed each
        line, then the full Reply as the last item."""
        timings: dict[str, float] = {}
        clock = time.perf_counter()
        question = clean_question(question, self.settings.retrieval.max_query_chars)
        kind = small_talk_kind(question)
        if kind:  # "hi", "thanks", "what can you help with?": no search, no refusal
            answer = small_talk_reply(kind, covered_phrase(self.retriever.lexicon), self.example())
            timings["total"] = _since(clock)
            reply = Reply(answer, standalone_question=question, backend="small talk",
                          timings_ms=timings)  # fmt: skip
            yield reply.answer
            yield reply
            return
        parts = split_parts(question)
        if len(parts) > 1:  # "How much…? How long…? Do I need…?": each part on its own
            yield from self._stream_parts(parts, history)
            return
        standalone = self.condense(question, history)
        timings["condense"] = _since(clock)
        clock = time.perf_counter()
        hits = self.retriever.search(standalone).hits
        timings["retrieve"] = _since(clock)
        meta = {"standalone_question": standalone, "backend": self.generator.name,
                "retrieved": [h.chunk.doc_id for h in hits], "timings_ms": timings}  # fmt: skip
        reason = self.out_of_scope(standalone, hits)
        if reason:
            timings["total"] = sum(timings.values())
            reply = Reply(self.refusal_text(reason), refused=True, reason=reason, **meta)
            yield reply.answer
            yield reply
            return
        passages = [h.chunk for h in with_each_side(self.retriever, standalone, hits)]
        lexicon = self.retriever.lexicon
        guard = FigureGuard(dict(enumerate(passages, start=1)), lexicon, standalone)
        gated = GuardedText(guard if self.guard else None)
        numbers = Renumberer(passages)
        declined, guard_ms, clock = False, 0.0, time.perf_counter()
        # "Electrician or plumber…?" without plumbers: say so first, then answer the rest
        note = partly_uncovered(lexicon, standalone)
        answer = self.generator.generate(standalone, passages, lexicon)
        for piece in chain([f"{note}\n\n"] if note else [], answer, [None]):
            started = time.perf_counter()
            lines = gated.close() if piece is None else gated.feed(piece)
            guard_ms += _since(started)
            for line in lines:
                declined = declined or (not numbers.mapping and line.startswith(REFUSAL_PHRASE))
                if not declined:
                    yield ("\n" if numbers.lines else "") + numbers.apply(line)
        timings["generate"] = _since(clock) - guard_ms
        timings["guard"] = guard_ms
        timings["total"] = sum(timings.values())
        yield self._final(gated, numbers, declined, meta)

    def _stream_parts(self, parts: list[str], history: Sequence[Turn]) -> Iterator[str | Reply]:
        """One short, cited block per part, numbered across the whole reply; a part the
        articles do not cover says so, and when none is covered the reply is the refusal.
        Each part sees the ones before it as conversation, so in "What is <a credential>?
        How long is it?" the second part resolves "it"."""
        replies: list[Reply] = []
        turns = list(history)
        for part in parts:
            replies.append(self.ask(part, turns))
            turns += [
                Turn(role="user", content=part),
                Turn(role="assistant", content=replies[-1].answer),
            ]
        if all(r.refused for r in replies):
            reason = next((r.reason for r in replies if r.reason), "")
            reply = replace(replies[0], answer=self.refusal_text(reason), reason=reason)
            yield reply.answer
            yield reply
            return
        blocks: list[str] = []
        citations: dict[str, Citation] = {}
        figures: list[PayFigure] = []
        budget = self.settings.answer.max_words * 2 // 3
        for n, (part, reply) in enumerate(zip(parts, replies, strict=True), start=1):
            if reply.refused:
                body = f"{REFUSAL_PHRASE} {reply.reason}".strip()
            else:
                body = "\n".join(within(reply.answer.splitlines(), budget))
                body = _renumbered(body, reply.citations, citations)
                cited, lexicon = list(citations.values()), self.retriever.lexicon
                asked = reply.standalone_question
                figures += pay_figures(body, cited, [c.n for c in cited], lexicon, asked)
            heading = part if not extract_figures(part) else f"Question {n}"
            blocks.append(f"**{heading.replace('*', '')}**\n{body}")
            yield ("\n\n" if n > 1 else "") + blocks[-1]
        yield Reply(
            "\n\n".join(blocks),
            list(citations.values()),
            False,
            [x for r in replies for x in r.removed],
            {k: sum(r.timings_ms.get(k, 0.0) for r in replies) for k in replies[0].timings_ms},
            " | ".join(r.standalone_question for r in replies),
            replies[0].backend,
            [d for r in replies for d in r.retrieved],
            figures=figures,
        )

    def _final(self, gated: GuardedText, numbers: Renumberer, declined: bool, meta: dict) -> Reply:
        text = numbers.text
        unsourced = self.guard and not citations_in(text)
        if declined or unsourced:
            why = "No source states the figures involved." if gated.removed else ""
            return Reply(self.refusal_text(why), refused=True, removed=gated.removed, **meta)
        citations = numbers.citations()
        figures = pay_figures(text, citations, [c.n for c in citations], self.retriever.lexicon,
                              meta["standalone_question"])  # fmt: skip
        return Reply(text, citations, False, gated.removed, figures=figures, **meta)


def _renumbered(text: str, local: list[Citation], numbered: dict[str, Citation]) -> str:
    """A part's answer with its [n] markers renumbered into the whole reply's list; only
    the passages the (possibly shortened) text still cites are listed."""
    by_n = {c.n: c for c in local}

    def number(match: re.Match[str]) -> str:
        cited = by_n.get(int(match.group(1)))
        if cited is None:
            return match.group(0)
        if cited.chunk_id not in numbered:
            numbered[cited.chunk_id] = replace(cited, n=len(numbered) + 1)
        return f"[{numbered[cited.chunk_id].n}]"

    return re.sub(r"\[(\d+)\]", number, text)


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


class Renumberer:
    """Cited passages numbered 1, 2, 3 in order of first use, as lines are released.

    Uncited passages are not listed. A marker to no passage (possible only with
    the guard off) stays visible, so the eval can count it.
    """

    def __init__(self, passages: Sequence[Chunk]) -> None:
        self.passages = list(passages)
        self.mapping: dict[int, int] = {}
        self.lines: list[str] = []

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def apply(self, line: str) -> str:
        for n in citations_in(line):
            if 1 <= n <= len(self.passages) and n not in self.mapping:
                self.mapping[n] = len(self.mapping) + 1

        def replace(match: re.Match[str]) -> str:
            numbers = [self.mapping.get(int(n), int(n)) for n in match.group(1).split(",")]
            return "[" + "][".join(str(n) for n in dict.fromkeys(numbers)) + "]"

        renumbered = re.sub(r"\[(\d+(?:\s*,\s*\d+)*)\]", replace, line)
        self.lines.append(renumbered)
        return renumbered

    def citations(self) -> list[Citation]:
        return [
            Citation.from_chunk(new, self.passages[old - 1]) for old, new in self.mapping.items()
        ]
