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


class FeedbackError(RuntimeError):
    """A rating that could not be stored; the message is meant for the user and says why."""


def rating_of(liked: object) -> str:
    """ "up" / "down" for a thumb, the option's own name for another feedback option.

    Anything else is rejected rather than guessed: a truthy "yes" must not
    become a thumbs-down.
    """
    if liked is True:
        return "up"
    if liked is False:
        return "down"
    if isinstance(liked, str) and liked.strip():
        return liked.strip()[:100]
    raise FeedbackError(f"Not a rating: {liked!r} (expected a thumb up or down).")


def record_feedback(
    path: Path, question: str, reply: Reply, liked: bool | str
) -> dict[str, object]:
    """Append one rating and return what was written; FeedbackError when it cannot be."""
    entry: dict[str, object] = {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "rating": rating_of(liked),
        "question": question,
        "answer": reply.answer,
        "refused": reply.refused,
        "citations": [asdict(c) for c in reply.citations],
        "guard": {"removed": [r.as_json() for r in reply.removed]},
    }
    line = json.dumps(entry, ensure_ascii=False)
    try:
        with _LOCK:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
    except OSError as err:
        raise FeedbackError(
            f"Your feedback could not be saved ({err.strerror or type(err).__name__}: "
            f"{path}); the maintainer should check ADVISOR_FEEDBACK_FILE."
        ) from err
    return entry
