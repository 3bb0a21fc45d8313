"""The ONNX embedder: the same vectors as sentence-transformers, and no torch for a question."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from advisor import onnx_export
from advisor.chunking import chunk_corpus
from advisor.corpus import load_corpus
from advisor.embeddings import OnnxEncoder, SentenceEmbedder, TorchEncoder, load_encoder
from advisor.settings import EmbeddingSettings, Settings, bundled_model_path

from .conftest import CORPUS, REPO

pytestmark = pytest.mark.slow  # loads the real model both ways


def passages(corpus: Path) -> list[str]:
    settings = Settings(corpus_dir=corpus)
    articles = load_corpus(corpus, settings.max_file_bytes).articles
    return [c.embed_text for c in chunk_corpus(articles, settings.chunking)]


def test_onnx_vectors_match_sentence_transformers_on_both_libraries() -> None:
    texts = passages(CORPUS) + passages(REPO / "evals" / "corpora" / "careers" / "corpus")
    texts += ["How much do they earn?", "x", "a " * 2000]  # a word; past the 256-token window
    onnx = load_encoder(EmbeddingSettings())
    torch = load_encoder(EmbeddingSettings(backend="torch"))
    assert isinstance(onnx, OnnxEncoder) and isinstance(torch, TorchEncoder)
    got, expected = onnx.encode(texts, 32), torch.encode(texts, 32)
    cosine = np.sum(got * expected, axis=1)  # both normalised
    assert len(texts) > 150
    assert cosine.min() >= 0.999, texts[int(cosine.argmin())][:80]
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_a_question_imports_neither_torch_nor_langchain_nor_gradio(real_index: Settings) -> None:
    """`advisor ask` end to end in a fresh interpreter, on a real index."""
    env = {**os.environ, "ADVISOR_INDEX__PATH": str(real_index.index.path),
           "ADVISOR_CORPUS_DIR": str(real_index.corpus_dir), "PYTHONPATH": str(REPO)}  # fmt: skip
    script = (
        "import sys, json\n"
        "from advisor.cli import main\n"
        "code = main(['ask', 'How much do medical coders earn?', '--json'])\n"
        "heavy = ['torch', 'sentence_transformers', 'transformers', 'langchain_core', 'gradio']\n"
        "print(json.dumps({'code': code, 'loaded': [m for m in heavy if m in sys.modules]}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    lines = done.stdout.strip().splitlines()
    answer, result = json.loads(lines[0]), json.loads(lines[-1])
    assert result == {"code": 0, "loaded": []}, done.stderr
    assert answer["citations"] and not answer["refused"]


def test_a_refused_export_falls_back_to_sentence_transformers(tmp_path: Path) -> None:
    folder = onnx_export.export_folder(tmp_path, bundled_model_path())
    folder.mkdir(parents=True)
    (folder / onnx_export.SPEC).write_text(json.dumps({"refused": "a test said no"}))
    encoder = load_encoder(EmbeddingSettings(cache_dir=tmp_path))
    assert isinstance(encoder, TorchEncoder)
    vector = SentenceEmbedder(EmbeddingSettings(cache_dir=tmp_path)).embed_query("pay")
    assert len(vector) == 384


def test_an_export_is_made_once_and_names_the_model_files(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    for item in Path(bundled_model_path()).iterdir():  # links: a copy without 90 MB of writes
        (model / item.name).symlink_to(item)
    settings = EmbeddingSettings(model_path=str(model), cache_dir=tmp_path / "cache")
    first = load_encoder(settings)
    assert isinstance(first, OnnxEncoder)
    exports = list((tmp_path / "cache").iterdir())
    assert len(exports) == 1 and (exports[0] / "model.onnx").is_file()
    assert (exports[0] / "model.onnx.data").is_file()  # the weights apart: a faster load
    load_encoder(settings)
    assert list((tmp_path / "cache").iterdir()) == exports  # reused, not made again
    (model / "extra.txt").write_text("a changed model folder")
    assert onnx_export.export_folder(tmp_path / "cache", str(model)) != exports[0]


def test_the_preload_thread_imports_nothing_and_is_the_encoder_questions_use() -> None:
    """`advisor ask` loads the model in a thread while the main thread imports chromadb.

    Two threads importing numpy at once can fail ("partially initialized module"), so
    every import must happen before the thread starts; a finder on sys.meta_path sees
    every import and which thread asked for it, in a fresh interpreter."""
    script = (
        "import json, sys, threading\n"
        "seen = []\n"
        "class Spy:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        seen.append((threading.current_thread().name, name))\n"
        "sys.meta_path.insert(0, Spy())\n"
        "from advisor.embeddings import load_encoder, preload\n"
        "from advisor.settings import EmbeddingSettings\n"
        "settings = EmbeddingSettings()\n"
        "thread = preload(settings)\n"
        "import chromadb\n"
        "thread.join()\n"
        "from advisor.embeddings import _loaded_onnx\n"
        "load_encoder(settings)\n"
        "imports = [n for t, n in seen if t == thread.name]\n"
        "loads = _loaded_onnx.cache_info().misses  # 1: the question used the thread's encoder\n"
        "print(json.dumps({'thread': thread.name, 'imports': imports, 'loads': loads}))\n"
    )
    load_encoder(EmbeddingSettings())  # the export exists before the fresh interpreter looks
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"thread": "embedder-preload", "imports": [], "loads": 1}


def test_a_question_asked_again_reuses_its_vector_and_the_cache_is_bounded() -> None:
    settings = EmbeddingSettings(query_cache=2)
    embedder = SentenceEmbedder(settings)
    first = embedder.embed_query("Is CCS better than CPC?")
    assert embedder.embed_query("Is CCS better than CPC?") == first  # the same vector
    assert (embedder.query_hits, embedder.query_misses) == (1, 1)
    again = SentenceEmbedder(EmbeddingSettings(query_cache=0))  # none: the model every time
    assert again.embed_query("Is CCS better than CPC?") == pytest.approx(first, abs=1e-6)
    assert again.query_hits == 0
    for question in ("Where do coders work?", "How long is PALS training?"):
        embedder.embed_query(question)
    embedder.embed_query("Is CCS better than CPC?")  # pushed out by the two since: run again
    assert (embedder.query_hits, embedder.query_misses) == (1, 4)
