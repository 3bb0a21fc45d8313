"""Which library `advisor eval` grades: its articles, datasets, labelled sets and baseline.

The first library is corpus/ with evals/datasets/ and evals/baseline.json, answered
from the index `advisor index` built; another lives in evals/corpora/<name>/ and is
answered from a temporary index built for the run, so index/ is never touched.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from advisor.answer import Advisor
from advisor.evalset import DATASET_DIR, DatasetError
from advisor.gate import BASELINE_PATH
from advisor.labels import RETRIEVAL_SET
from advisor.settings import PROJECT_ROOT, IndexSettings, Settings

CORPORA_DIR = PROJECT_ROOT / "evals" / "corpora"
SCOPE_SET = PROJECT_ROOT / "evals" / "scope.yaml"


@dataclass(frozen=True)
class Library:
    """What one eval grades: articles, datasets, and the baseline they are gated by."""

    name: str
    corpus: Path | None  # None: the settings' corpus_dir, through the index `advisor index` built
    datasets: Path  # the folder dataset names are looked up in
    baseline: Path | None  # None: no file; DEFAULT_THRESHOLDS gate, nothing can be recorded
    retrieval: Path | None = None  # its labelled retrieval set, if it has one
    scope: Path | None = None  # its scope calibration set (in_scope / out_of_scope), if any

    @classmethod
    def from_dir(cls, folder: Path) -> Library:
        """evals/corpora/<name>/: corpus/, datasets/, baseline.json, retrieval.yaml."""
        if not (folder / "corpus").is_dir():
            raise DatasetError(f"{folder} is not a library: it has no corpus/ folder")
        labelled, scope = folder / "retrieval.yaml", folder / "scope.yaml"
        return cls(folder.name, folder / "corpus", folder / "datasets", folder / "baseline.json",
                   labelled if labelled.is_file() else None,
                   scope if scope.is_file() else None)  # fmt: skip


def choose_library(
    library: Path | None = None, corpus: Path | None = None, baseline: Path | None = None
) -> Library:
    """The library `advisor eval` grades, from --library, --corpus and --baseline.

    With --corpus alone, a folder named corpus/ beside a datasets/ folder is read
    as that library (its datasets and baseline.json); any other folder is graded
    with the first library's datasets unless --dataset says otherwise, and has no
    baseline unless --baseline names one.
    """
    if library is not None:
        chosen = Library.from_dir(library)
    elif corpus is not None:
        root = corpus.parent
        if corpus.name == "corpus" and (root / "datasets").is_dir():
            chosen = Library.from_dir(root)
        else:
            chosen = Library(corpus.name, corpus, DATASET_DIR, None)
    else:
        chosen = Library("default", None, DATASET_DIR, BASELINE_PATH, RETRIEVAL_SET, SCOPE_SET)
    if chosen.corpus is not None and not chosen.corpus.is_dir():
        raise DatasetError(f"no corpus folder at {chosen.corpus}")
    if baseline is not None:
        chosen = replace(chosen, baseline=baseline)
    return chosen


def library_dirs(root: Path = CORPORA_DIR) -> list[Path]:
    """The extra libraries in evals/corpora/ (folders with a corpus/)."""
    return sorted(p for p in root.glob("*") if (p / "corpus").is_dir())


@contextmanager
def library_advisor(settings: Settings, library: Library) -> Iterator[Advisor]:
    """An advisor over the library: the built index for the first, else a temporary one."""
    if library.corpus is None:
        yield Advisor(settings)
        return
    from advisor.embeddings import SentenceEmbedder
    from advisor.index.build import build_index
    from advisor.retrieve import Retriever

    with tempfile.TemporaryDirectory(prefix="advisor-eval-") as folder:
        index = IndexSettings(path=Path(folder) / "index")
        temporary = settings.model_copy(update={"corpus_dir": library.corpus, "index": index})
        embedder = SentenceEmbedder(temporary.embedding)
        build_index(temporary, embedder)
        yield Advisor(temporary, Retriever(temporary, embedder))


def library_settings(settings: Settings, library: Library) -> Settings:
    """The settings a run of this library uses (its corpus, for the checker and the report)."""
    if library.corpus is None:
        return settings
    return settings.model_copy(update={"corpus_dir": library.corpus})
