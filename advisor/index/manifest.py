"""`manifest.json`: which collection answers questions, and what it holds.

Readers trust only the manifest, and a build replaces it in one rename, so a reader
sees the previous generation or the next one, never a half-built one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from advisor.index import IndexUnavailableError
from advisor.knowledge.lexicon import LexiconData
from advisor.settings import IndexSettings

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1


class DocumentEntry(BaseModel):
    content_hash: str
    title: str
    publisher: str
    published: str | None = None
    path: str
    chunk_ids: list[str]


class Manifest(BaseModel):
    """What the current collection holds and how it was built."""

    version: int = MANIFEST_VERSION
    collection: str
    embedding_model: str
    chunking: dict[str, Any]
    built_at: str
    documents: dict[str, DocumentEntry]
    library: LexiconData | None = None  # what the articles are about (advisor.knowledge)

    @property
    def titles(self) -> list[str]:
        """Titles of the indexed articles: the page's "what I cover" and the refusal."""
        return [entry.title for entry in self.documents.values()]


def manifest_path(settings: IndexSettings) -> Path:
    return settings.path / MANIFEST_NAME


def read_manifest(settings: IndexSettings) -> Manifest | None:
    """The current manifest, None when no index was built, an error when it is unreadable."""
    path = manifest_path(settings)
    if settings.path.exists() and not settings.path.is_dir():
        raise IndexUnavailableError(f"index path {settings.path} is not a folder")
    if not path.exists():
        return None
    try:
        return Manifest.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValidationError, ValueError) as err:
        raise IndexUnavailableError(
            f"the index manifest {path} is unreadable ({type(err).__name__}); "
            "rebuild it with `advisor index --full`"
        ) from err


def write_manifest(settings: IndexSettings, manifest: Manifest) -> None:
    """Write beside, then rename: readers see the old or the new manifest, never half."""
    path = manifest_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    tmp.write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
    os.replace(tmp, path)


def stored_ids(manifest: Manifest) -> set[str]:
    """Every passage id the manifest lists: what the store must hold, what a build may reuse."""
    return {cid for entry in manifest.documents.values() for cid in entry.chunk_ids}
