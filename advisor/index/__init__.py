"""Embed chunks and store them in chromadb, incrementally and atomically.

Every build writes a fresh collection and only then points `manifest.json`
at it (an atomic file replace), so a build that fails or is killed leaves the
previous index answering questions. Nothing already embedded is embedded again:
unchanged articles, and unchanged passages of a changed article (chunk ids are
content-derived), have their stored vectors copied into the new collection. A different embedding
model or chunker setting invalidates every vector, so it forces a full rebuild.

The stage is one module a part: `manifest` (what the current generation holds, read
and written atomically), `chroma` (opening the store and the current collection, a
read-only store through a private copy), `upkeep` (one build at a time, a damaged
store checked and set aside, old generations dropped), `plan` (what changed, what
must be embedded) and `build` (the next generation, switched to atomically). The
error they all raise lives here, so every part and every caller imports it from
`advisor.index`.
"""

from __future__ import annotations


class IndexUnavailableError(RuntimeError):
    """The index is missing, unreadable or unreachable; the message says how to fix it."""
