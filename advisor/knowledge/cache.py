"""Each article's findings kept with the index, so a build re-derives only what changed.

Deriving an article's knowledge is the slow part of building the lexicon and it
depends on that article alone, so `knowledge.json` in the index folder keeps
every article's findings under its id and content hash. Its pay figures, read
for the outlier check, depend on the article and on the names the lexicon
knows, so they are kept too, under a hash of those names. The cache is stamped
with a hash of the deriver's own source: a change to how articles are read
invalidates all of it. It is content-addressed, so it needs no part in the
generation swap; it is written beside and renamed (never half a file), and a
damaged or foreign file is simply ignored and written afresh.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from functools import cache
from pathlib import Path

from pydantic import ValidationError

from advisor.knowledge.merge import ArticleFindings
from advisor.knowledge.outliers import PayFact

CACHE_NAME = "knowledge.json"


@cache
def deriver_version() -> str:
    """A hash of the code that reads one article (its names, its pay figures): any change
    to it re-derives everything."""
    from advisor import figures, text
    from advisor.knowledge import derive, facts, lexicon, merge, outliers

    digest = hashlib.sha256()
    for module in (derive, lexicon, merge, text, facts, figures, outliers):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()[:16]


class FindingsCache:
    """Findings by (article id, content hash), read once and written once per build."""

    def __init__(self, path: Path, entries: dict[str, dict] | None = None) -> None:
        self.path = path
        self._entries = entries or {}
        self._kept: dict[str, dict] = {}
        self.damaged = False

    @classmethod
    def load(cls, folder: Path) -> FindingsCache:
        """The cache in `folder`; empty when there is none, it is damaged or out of date."""
        cached = cls(folder / CACHE_NAME)
        try:
            data = json.loads(cached.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cached
        except (OSError, ValueError):
            cached.damaged = True
            return cached
        if not isinstance(data, dict) or not isinstance(data.get("articles"), dict):
            cached.damaged = True
        elif data.get("version") == deriver_version():
            cached._entries = data["articles"]
        return cached

    def get(self, doc_id: str, content_hash: str) -> ArticleFindings | None:
        entry = self._entries.get(doc_id)
        if not isinstance(entry, dict) or entry.get("hash") != content_hash:
            return None
        try:
            found = ArticleFindings.model_validate(entry.get("findings"))
        except ValidationError:
            self.damaged = True
            return None
        if found.doc_id != doc_id:
            return None
        self._kept[doc_id] = entry
        return found

    def put(self, content_hash: str, findings: ArticleFindings) -> None:
        self._kept[findings.doc_id] = {
            "hash": content_hash,
            "findings": findings.model_dump(mode="json"),
        }

    def pay(self, doc_id: str, key: str) -> list[PayFact] | None:
        """An article's pay facts, if its findings are current and they were read against
        the same lexicon (`key`)."""
        entry = self._kept.get(doc_id)
        pay = entry.get("pay") if entry else None
        if not isinstance(pay, dict) or pay.get("key") != key:
            return None
        try:
            return [
                ([str(k) for k in subjects], str(measure), str(unit), float(value), str(text))
                for subjects, measure, unit, value, text in pay["facts"]
            ]
        except (KeyError, TypeError, ValueError):
            self.damaged = True
            return None

    def put_pay(self, doc_id: str, key: str, facts: list[PayFact]) -> None:
        entry = self._kept.get(doc_id)
        if entry is not None:
            entry["pay"] = {"key": key, "facts": facts}

    def save(self) -> None:
        """Write what this build used (articles since removed are dropped), beside then
        renamed; a cache that cannot be written costs the next build time, nothing else."""
        tmp = self.path.with_name(f"{self.path.name}.tmp-{os.getpid()}")
        body = json.dumps({"version": deriver_version(), "articles": self._kept})
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(body, encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()
