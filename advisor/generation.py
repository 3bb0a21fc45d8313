"""Filling one new index generation: batched embedding, a resumable build, the keyword file.

A large library takes hours to embed, so a build writes its passages in
batches as they are embedded and names its unfinished collection in a small
journal (`building.json`). A build that is killed leaves both behind; the
next build with the same model and chunker continues into that collection and
keeps every passage already in it (chunk ids are content-derived, so a stored
id always has the right vector). The keyword file is written last, from the
previous generation's file where it can be (no re-stemming) and else from the
passages the collection holds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from advisor.chunking import Chunk
from advisor.keyword import KeywordWriter, keyword_path

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

    from advisor.embeddings import SentenceEmbedder

JOURNAL_NAME = "building.json"
# Passages embedded, then written, per step: what a kill can lose at most.
EMBED_BATCH = 256


def batches(items: list, size: int) -> list[slice]:
    return [slice(i, i + size) for i in range(0, len(items), max(1, size))]


# ----- the journal of an unfinished build ----------------------------------------------
def write_journal(folder: Path, collection: str, key: dict[str, Any]) -> None:
    path = folder / JOURNAL_NAME
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    tmp.write_text(json.dumps({"collection": collection, **key}), encoding="utf-8")
    os.replace(tmp, path)


def clear_journal(folder: Path) -> None:
    (folder / JOURNAL_NAME).unlink(missing_ok=True)


def unfinished(client: ClientAPI, folder: Path, key: dict[str, Any]) -> Collection | None:
    """The collection a killed build was filling, if it was built the same way and opens."""
    try:
        journal = json.loads((folder / JOURNAL_NAME).read_text(encoding="utf-8"))
        name = journal.pop("collection")
    except (OSError, ValueError, KeyError, AttributeError, TypeError):
        return None
    if journal != key:
        return None
    try:
        collection = client.get_collection(str(name), embedding_function=None)
        collection.count()
    except Exception:  # dropped, or the store was reset: start afresh
        return None
    return collection


def stored_ids(collection: Collection, page: int) -> Iterator[str]:
    """Every id in a collection, read a page at a time."""
    offset = 0
    while True:
        got = collection.get(include=[], limit=page, offset=offset)
        yield from got["ids"]
        if len(got["ids"]) < page:
            return
        offset += page


# ----- writing passages ----------------------------------------------------------------
def copy_chunks(source: Collection, target: Collection, ids: list[str], batch: int) -> int:
    """Move stored vectors across collections: no re-embedding for unchanged articles.

    Reads and writes go in slices of the store's maximum batch size (5,461 for
    local chromadb): one call with a whole large library is rejected.
    """
    copied = 0
    for part in batches(ids, batch):
        got = source.get(ids=ids[part], include=["embeddings", "documents", "metadatas"])
        if not got["ids"]:
            continue
        target.add(
            ids=got["ids"],
            embeddings=got["embeddings"],
            documents=got["documents"],
            metadatas=got["metadatas"],
        )
        copied += len(got["ids"])
    return copied


class _Progress:
    """A progress bar with passages/s and an ETA on a terminal; nothing otherwise."""

    def __init__(self, total: int, shown: bool) -> None:
        self.bar = None
        if shown and total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="passage", desc="embedding", smoothing=0.1)

    def update(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def embed_chunks(
    target: Collection,
    chunks: list[Chunk],
    embedder: SentenceEmbedder,
    progress: bool,
    batch: int,
) -> int:
    """Embed and write in steps of EMBED_BATCH passages, so a kill loses one step at most."""
    bar = _Progress(len(chunks), progress)
    try:
        for step in batches(chunks, EMBED_BATCH):
            part = chunks[step]
            vectors = embedder.embed_documents([c.embed_text for c in part])
            for write in batches(part, batch):
                target.add(
                    ids=[c.chunk_id for c in part[write]],
                    embeddings=vectors[write],
                    documents=[c.text for c in part[write]],
                    metadatas=[c.metadata() for c in part[write]],
                )
            bar.update(len(part))
    finally:
        bar.close()
    return len(chunks)


def build_keyword_file(
    index_folder: Path,
    target: Collection,
    ids: list[str],
    chunks: dict[str, Chunk],
    previous: str | None,
    batch: int,
) -> Path:
    """The new generation's keyword file: copied rows, then known chunks, then the rest read
    back from the collection (a damaged or missing earlier file costs no re-embedding)."""
    path = keyword_path(index_folder, target.name)
    writer = KeywordWriter(path)
    try:
        done = set()
        if previous is not None:
            done = writer.copy_from(keyword_path(index_folder, previous), ids)
        rest = [cid for cid in ids if cid not in done]
        writer.add(chunks[cid] for cid in rest if cid in chunks)
        unknown = [cid for cid in rest if cid not in chunks]
        for part in batches(unknown, batch):
            got = target.get(ids=unknown[part], include=["documents", "metadatas"])
            writer.add(
                Chunk.from_fields({**meta, "chunk_id": cid, "text": doc})
                for cid, doc, meta in zip(
                    got["ids"], got["documents"], got["metadatas"], strict=True
                )
            )
        writer.finish()
    except BaseException:
        writer.abort()
        raise
    return path
