"""Keeping the store usable across builds: one build at a time, damage found and set
aside, earlier generations dropped.

Apart from the build itself because each is a rule about what may be removed, and
why that never costs a question in flight.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from advisor import keyword
from advisor.index import IndexUnavailableError
from advisor.index.chroma import open_client, store_path
from advisor.index.manifest import Manifest, stored_ids
from advisor.settings import IndexSettings

if TYPE_CHECKING:
    from chromadb.api import ClientAPI


def verify_store(client: ClientAPI, manifest: Manifest) -> str | None:
    """None when the store holds the manifest's collection and passages, else what is wrong."""
    expected = len(stored_ids(manifest))
    try:
        collection = client.get_collection(manifest.collection, embedding_function=None)
        count = collection.count()
        collection.get(limit=1, include=["embeddings", "documents", "metadatas"])
    except Exception as err:  # NotFoundError, a malformed database, a server error
        return f"the store does not hold the manifest's collection ({type(err).__name__})"
    if count != expected:
        return f"the store holds {count} passages where the manifest lists {expected}"
    return None


_CORRUPT = ("malformed", "not a database", "no such table", "no such column", "corrupt")


def open_or_reset(settings: IndexSettings, full: bool) -> tuple[ClientAPI, str | None]:
    """Open the store; a local store that cannot even open is set aside and started afresh.

    Only a store that is already unusable is removed, so nothing that answers
    questions is lost: without --full, only when the database says it is
    corrupt (a store that is merely busy or locked is an error, not rubbish).
    A chroma server that cannot be reached is an error.
    """
    try:
        return open_client(settings), None
    except IndexUnavailableError as err:
        cause = err.__cause__
        corrupt = any(word in str(cause).lower() for word in _CORRUPT)
        if settings.mode == "server" or not (full or corrupt):
            raise
        why = f"the store did not open ({type(cause).__name__}: {str(cause)[:120]})"
    reset_store(settings)
    return open_client(settings), why


def reset_store(settings: IndexSettings) -> None:
    """Remove a local chroma folder, forgetting any client this process holds on it."""
    from chromadb.api.shared_system_client import SharedSystemClient

    folder = store_path(settings)
    system = SharedSystemClient._identifier_to_system.pop(str(folder), None)
    SharedSystemClient._identifier_to_refcount.pop(str(folder), None)
    if system is not None:
        with contextlib.suppress(Exception):
            system.stop()
    if folder.exists():
        aside = folder.with_name(f"chroma.broken-{time.time_ns()}")
        os.replace(folder, aside)
        shutil.rmtree(aside, ignore_errors=True)


@contextlib.contextmanager
def build_lock(settings: IndexSettings) -> Iterator[None]:
    """One build at a time per index folder; a second one waits for the first."""
    settings.path.mkdir(parents=True, exist_ok=True)
    with (settings.path / ".build.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def drop_stale_collections(client: ClientAPI, settings: IndexSettings, keep: str) -> list[str]:
    """Remove earlier generations, including ones left by a build that was killed.

    A reader still holding a dropped generation re-opens the current one
    (see `Retriever`), so dropping never fails a request in flight.
    """
    prefix = f"{settings.collection_prefix}-"
    dropped = []
    for collection in client.list_collections():
        if collection.name.startswith(prefix) and collection.name != keep:
            with contextlib.suppress(Exception):  # another process dropped it first
                client.delete_collection(collection.name)
                dropped.append(collection.name)
    keyword.drop_stale(settings.path, keep)
    return dropped
