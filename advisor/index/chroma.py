"""Opening the chromadb store and the collection the manifest names.

Searching needs only this and the manifest, never the build; so a reader that cannot
write the index folder still answers questions (from a private copy).
"""

from __future__ import annotations

import atexit
import os
import shutil
import stat
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.index import IndexUnavailableError
from advisor.index.manifest import Manifest, read_manifest
from advisor.settings import IndexSettings

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection


def store_path(settings: IndexSettings) -> Path:
    """The chromadb folder inside the index folder (local mode)."""
    return settings.path / "chroma"


def open_client(settings: IndexSettings) -> ClientAPI:
    """A chromadb client for the configured mode, with telemetry off (we are offline)."""
    import chromadb

    chroma_settings = chromadb.Settings(anonymized_telemetry=False)
    if settings.mode == "server":
        from advisor.store import open_http_client

        return open_http_client(settings, chroma_settings)
    try:
        settings.path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(store_path(settings)), settings=chroma_settings)
    except Exception as err:  # chromadb raises many types for an unusable store
        raise IndexUnavailableError(
            f"cannot open the index folder {settings.path}: {err}; "
            "rebuild it with `advisor index --full`"
        ) from err


def open_collection(settings: IndexSettings) -> tuple[Manifest, Collection]:
    """The collection the manifest names, or a clear error saying to run `advisor index`.

    Searching needs no write access: an index folder this process may not write
    (a read-only mount, another user's files) is searched from a private copy.
    """
    manifest = read_manifest(settings)
    if manifest is None:
        raise IndexUnavailableError(
            f"no index at {settings.path}; build it with `advisor index` (or `make index`)"
        )
    try:
        client = open_client(settings)
        collection = client.get_collection(manifest.collection, embedding_function=None)
    except Exception as err:  # NotFoundError, or a server that went away
        cause = err.__cause__ if isinstance(err, IndexUnavailableError) else err
        if settings.mode == "local" and _is_read_only(settings, cause):
            return manifest, _read_only_copy(settings, manifest)
        if isinstance(err, IndexUnavailableError):
            raise
        raise IndexUnavailableError(
            f"the index collection {manifest.collection} cannot be opened ({err}); "
            "rebuild it with `advisor index --full`"
        ) from err
    return manifest, collection


def _is_read_only(settings: IndexSettings, err: BaseException | None) -> bool:
    folder = store_path(settings)
    return folder.is_dir() and (
        not os.access(folder, os.W_OK) or "readonly" in str(err).lower().replace("-", "")
    )


_READ_ONLY_COPIES: dict[tuple[str, str], Path] = {}
_COPY_LOCK = threading.Lock()


def _read_only_copy(settings: IndexSettings, manifest: Manifest) -> Collection:
    """Open a private snapshot of a store this process cannot write (removed at exit)."""
    import chromadb

    key = (str(store_path(settings)), manifest.collection)
    with _COPY_LOCK:
        copy = _READ_ONLY_COPIES.get(key)
        if copy is None:
            copy = Path(tempfile.mkdtemp(prefix="advisor-readonly-")) / "chroma"
            shutil.copytree(store_path(settings), copy)
            for path in (copy, *copy.rglob("*")):  # copies keep the read-only bits
                path.chmod(path.stat().st_mode | stat.S_IWUSR)
            atexit.register(shutil.rmtree, copy.parent, ignore_errors=True)
            _READ_ONLY_COPIES[key] = copy
    try:
        client = chromadb.PersistentClient(
            path=str(copy), settings=chromadb.Settings(anonymized_telemetry=False)
        )
        return client.get_collection(manifest.collection, embedding_function=None)
    except Exception as err:
        raise IndexUnavailableError(
            f"the read-only index at {settings.path} cannot be opened ({err}); "
            "rebuild it with `advisor index --full` as a user who may write it"
        ) from err
