"""Generators: who writes the answer from the numbered passages.

`extractive` (the default) composes source sentences offline. `openai` and
`ollama` put an LLM behind langchain's chat-model interface, so tests can
swap in langchain's fake chat models and any OpenAI-compatible server (vLLM,
llama.cpp, LM Studio, OpenAI) or Ollama works unchanged. Every generator's
output goes through the same figure guard afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

from advisor.chunking import Chunk
from advisor.extractive import compose
from advisor.knowledge.lexicon import Lexicon
from advisor.prompts import REFUSAL_PHRASE, render
from advisor.settings import AnswerSettings, GeneratorSettings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


class GeneratorUnavailableError(RuntimeError):
    """The configured LLM server could not be used; the message says what to check."""


class Generator(Protocol):
    name: str

    def generate(
        self, question: str, passages: Sequence[Chunk], lexicon: Lexicon | None = None
    ) -> Iterator[str]:
        """Yield the answer in pieces, with [n] markers numbering `passages` from 1."""
        ...

    def condense(self, question: str, history: str) -> str | None:
        """A standalone version of a follow-up, or None to use the rule-based one."""
        ...


class ExtractiveGenerator:
    name = "extractive"

    def __init__(self, settings: AnswerSettings) -> None:
        self.settings = settings

    def generate(
        self, question: str, passages: Sequence[Chunk], lexicon: Lexicon | None = None
    ) -> Iterator[str]:
        s = self.settings
        yield compose(question, passages, s.max_points, s.max_figures, lexicon, s.max_words)

    def condense(self, question: str, history: str) -> str | None:
        return None


def format_sources(passages: Sequence[Chunk]) -> str:
    """Numbered passages with who published them and when, as the prompt shows them."""
    blocks = []
    for n, chunk in enumerate(passages, start=1):
        when = f", {chunk.published}" if chunk.published else ""
        blocks.append(
            f"[{n}] {chunk.title} ({chunk.publisher}{when}) — {chunk.section}\n{chunk.text}"
        )
    return "\n\n".join(blocks)


class ChatModelGenerator:
    """Any langchain chat model; prompts come from prompts/ and are rendered strictly."""

    def __init__(self, model: BaseChatModel, settings: AnswerSettings, name: str) -> None:
        self.model = model
        self.settings = settings
        self.name = name

    def _messages(self, question: str, passages: Sequence[Chunk]) -> list:
        from langchain_core.messages import HumanMessage, SystemMessage

        return [
            SystemMessage(render("system", refusal=REFUSAL_PHRASE)),
            HumanMessage(
                render(
                    "answer",
                    sources=format_sources(passages),
                    question=question,
                    max_points=self.settings.max_points,
                )
            ),
        ]

    def generate(
        self, question: str, passages: Sequence[Chunk], lexicon: Lexicon | None = None
    ) -> Iterator[str]:
        try:
            for chunk in self.model.stream(self._messages(question, passages)):
                if isinstance(chunk.content, str):
                    yield chunk.content
        except Exception as err:  # connection refused, timeouts, HTTP errors: all one story
            raise GeneratorUnavailableError(_explain(self.name, err)) from err

    def condense(self, question: str, history: str) -> str | None:
        from langchain_core.messages import HumanMessage

        prompt = render("condense", history=history, question=question)
        try:
            reply = self.model.invoke([HumanMessage(prompt)])
        except Exception as err:
            raise GeneratorUnavailableError(_explain(self.name, err)) from err
        text = reply.content if isinstance(reply.content, str) else ""
        return text.strip().splitlines()[0].strip() if text.strip() else None


def _explain(name: str, err: Exception) -> str:
    return (
        f"the {name} generator failed ({type(err).__name__}: {str(err)[:200]}); "
        f"check that the server is running and ADVISOR_GENERATOR__BASE_URL / __MODEL are right, "
        f"or use the offline default with --backend extractive"
    )


def make_generator(settings: GeneratorSettings, answer: AnswerSettings) -> Generator:
    """The generator the settings name; LLM clients are created lazily and never at import."""
    if settings.backend == "extractive":
        return ExtractiveGenerator(answer)
    if not settings.model:
        raise GeneratorUnavailableError(
            f"the {settings.backend} backend needs a model: set ADVISOR_GENERATOR__MODEL"
        )
    if settings.backend == "openai":
        from langchain_openai import ChatOpenAI

        key = settings.api_key.get_secret_value() if settings.api_key else "not-needed"
        model: BaseChatModel = ChatOpenAI(
            model=settings.model,
            base_url=settings.base_url,
            api_key=key,
            temperature=settings.temperature,
            timeout=settings.timeout_s,
            max_retries=0,
            max_tokens=settings.max_tokens,
        )
    else:
        from langchain_ollama import ChatOllama

        model = ChatOllama(
            model=settings.model,
            base_url=settings.base_url,
            temperature=settings.temperature,
            num_predict=settings.max_tokens,
            client_kwargs={"timeout": settings.timeout_s},
        )
    return ChatModelGenerator(model, answer, settings.backend)
