"""Thumbs up/down on answers, appended as JSON lines for maintainers.

Each line carries the question, the answer and its citations, so a bad answer
can be turned into an eval case as it is. Appends are serialised with a lock
because the page answers several sessions at once.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from advisor.answer import Reply

_LOCK = threading.Lock()


def record_feedback(path: Path, question: str, reply: Reply, liked: bool) -> dict[str, object]:
    """Append one rating and return what was written."""
    entry: dict[str, object] = {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "rating": "up" if liked else "down",
        "question": question,
        "answer": reply.answer,
        "refused": reply.refused,
        "citations": [asdict(c) for c in reply.citations],
        "guard": {"removed": [r.as_json() for r in reply.removed]},
    }
    line = json.dumps(entry, ensure_ascii=False)
    with _LOCK:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    return entry
