"""A one-time ONNX copy of the sentence-transformers model, so a question never imports torch.

Importing torch and sentence-transformers costs seconds on every cold `advisor ask`;
onnxruntime and tokenizers cost a fraction of that. The export wraps the model's own
modules (transformer, pooling, normalisation), so the graph computes what
sentence-transformers computes, and it is checked against sentence-transformers on a
padded batch before it is used: if any vector differs (cosine below MIN_COSINE) the
export is recorded as refused and the torch backend stays in use.

Each export lives in `cache_dir/<fingerprint>/`; the fingerprint names the model
folder's files (path, size, modification time) and the torch version, so a changed
model gets a new export and an old one is never used for it. Exports are written to a
temporary folder and renamed into place: two processes exporting at once cannot
leave a half-written model behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

FORMAT = 2  # bump when the exported files or spec.json change shape (2: weights apart)
GRAPH, WEIGHTS, TOKENIZER = "model.onnx", "model.onnx.data", "tokenizer.json"
MIN_COSINE = 0.9999
SPEC = "spec.json"
# Sentences of different lengths (one longer than any model's window), embedded in one
# padded batch: the check covers padding, masking and truncation, not just one input.
PROBES = [
    "x",
    "What does the work involve on a normal day?",
    "Pay depends on experience, the employer and the region; the median is the middle value.",
    " ".join(["Training takes one to four years after school, with supervised practice."] * 60),
]


@dataclass(frozen=True)
class OnnxSpec:
    """What the runtime needs besides the graph: its input names and the token window."""

    inputs: tuple[str, ...]
    max_seq_length: int
    dimensions: int
    pad_id: int
    pad_token: str


def fingerprint(model_path: str) -> str:
    """Names the model's files and the exporter; cheap (file stats, no hashing of weights)."""
    import importlib.metadata

    digest = hashlib.sha256(f"format={FORMAT}".encode())
    digest.update(os.path.realpath(model_path).encode())
    for package in ("torch", "onnx"):  # a refusal for want of onnx ends when it is installed
        try:
            digest.update(f"{package}={importlib.metadata.version(package)}".encode())
        except importlib.metadata.PackageNotFoundError:
            digest.update(f"no {package}".encode())
    for root, dirs, files in os.walk(model_path):
        dirs.sort()
        for name in sorted(files):
            stat = os.stat(os.path.join(root, name))
            relative = os.path.relpath(os.path.join(root, name), model_path)
            digest.update(f"{relative}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:20]


def export_folder(cache_dir: Path, model_path: str) -> Path:
    return Path(cache_dir) / fingerprint(model_path)


def read_spec(folder: Path) -> OnnxSpec | str | None:
    """The export's spec, the reason it was refused, or None if there is no export yet."""
    try:
        data = json.loads((folder / SPEC).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if data.get("refused"):
        return str(data["refused"])
    if not all((folder / name).is_file() for name in (GRAPH, WEIGHTS, TOKENIZER)):
        return None
    try:
        return OnnxSpec(**{**data, "inputs": tuple(data["inputs"])})
    except TypeError:  # a spec of another shape: export again
        return None


def export(model, folder: Path) -> OnnxSpec | str:
    """Export a loaded SentenceTransformer into `folder` and check it; the spec, or why not.

    A refusal is written too, so the next process does not try again for this model.
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=folder.parent))
    try:
        try:
            result: OnnxSpec | str = _export_and_check(model, work)
        except Exception as err:  # the exporter raises many types for a graph it cannot trace
            result = f"the ONNX export failed ({type(err).__name__}: {str(err)[:200]})"
        if isinstance(result, str):
            for name in (GRAPH, WEIGHTS, TOKENIZER):
                (work / name).unlink(missing_ok=True)
            spec = {"refused": result}
        else:
            spec = asdict(result)
        (work / SPEC).write_text(json.dumps(spec, indent=1), encoding="utf-8")
        work.chmod(0o755)  # mkdtemp's 0700 would hide the export from other users
        with contextlib.suppress(OSError):  # another process finished first: as good
            work.rename(folder)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _export_and_check(model, work: Path) -> OnnxSpec | str:
    import numpy as np
    import torch

    features = (
        getattr(model, "preprocess", None) or model.tokenize
    )  # renamed in sentence-transformers 6
    features = features(PROBES)
    inputs = tuple(n for n in ("input_ids", "attention_mask", "token_type_ids") if n in features)

    class SentenceGraph(torch.nn.Module):
        """The model's forward from token tensors to the normalised sentence vector."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors):
            return self.model(dict(zip(inputs, tensors, strict=True)))["sentence_embedding"]

    model.eval()
    axes = {name: {0: "batch", 1: "tokens"} for name in inputs}
    # the tracer warns about Python branches it fixes; the check below is what counts
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = model.encode(PROBES, normalize_embeddings=True, convert_to_numpy=True)
        torch.onnx.export(
            SentenceGraph(),
            tuple(features[n] for n in inputs),
            str(work / GRAPH),
            input_names=list(inputs),
            output_names=["sentence_embedding"],
            dynamic_axes={**axes, "sentence_embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    _weights_apart(work / GRAPH)
    tokenizer = model.tokenizer.backend_tokenizer  # the fast tokenizer sentence-transformers uses
    (work / TOKENIZER).write_text(tokenizer.to_str(), encoding="utf-8")
    spec = OnnxSpec(
        inputs=inputs,
        max_seq_length=int(model.max_seq_length),
        dimensions=int(expected.shape[1]),
        pad_id=int(model.tokenizer.pad_token_id or 0),
        pad_token=str(model.tokenizer.pad_token or "[PAD]"),
    )
    from advisor.embeddings import OnnxEncoder

    got = OnnxEncoder(work, spec).encode(PROBES, batch_size=len(PROBES))
    cosine = float(np.min(np.sum(got * expected, axis=1)))
    if cosine < MIN_COSINE:
        return f"the ONNX export differs from sentence-transformers (cosine {cosine:.6f})"
    return spec


def _weights_apart(graph: Path) -> None:
    """Move the weights out of the graph file into one raw file beside it (ONNX external data).

    onnxruntime then reads the weights as they lie instead of parsing 90 MB of protobuf
    first: creating the session costs about 0.1 s less CPU on every cold question, and
    the vectors are bit-for-bit the same (the check below runs on these files)."""
    import onnx

    model = onnx.load(str(graph))
    onnx.save_model(
        model,
        str(graph),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=WEIGHTS,
        size_threshold=1024,
    )
    (graph.parent / WEIGHTS).chmod(0o644)  # onnx writes it private; the folder is shared
