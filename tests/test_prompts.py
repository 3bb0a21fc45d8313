from __future__ import annotations

from pathlib import Path

import pytest

from advisor.prompts import PROMPT_DIR, PROMPT_NAMES, REFUSAL_PHRASE, PromptError, render

VALUES = {
    "system": {"refusal": REFUSAL_PHRASE},
    "answer": {"sources": "[1] A — B\ntext", "question": "Is CCS better?", "max_points": 4},
    "condense": {"history": "user: hi", "question": "and billers?"},
}


def test_every_prompt_file_is_known_and_renders() -> None:
    assert sorted(p.stem for p in PROMPT_DIR.glob("*.txt")) == sorted(PROMPT_NAMES)
    for name in PROMPT_NAMES:
        text = render(name, **VALUES[name])
        assert "{" not in text and text.strip()


def test_system_prompt_carries_the_one_refusal_phrase_and_the_rules() -> None:
    text = render("system", refusal=REFUSAL_PHRASE)
    assert REFUSAL_PHRASE in text
    for rule in ("only from the numbered sources", "square brackets", "same role", "side by side"):
        assert rule in text


def test_missing_variable_is_an_error() -> None:
    with pytest.raises(PromptError, match="missing \\['question'\\]"):
        render("condense", history="x")


def test_unknown_variable_is_an_error() -> None:
    with pytest.raises(PromptError, match="unknown \\['tone'\\]"):
        render("system", refusal=REFUSAL_PHRASE, tone="casual")


def test_missing_prompt_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match="no prompt file"):
        render("system", directory=tmp_path, refusal=REFUSAL_PHRASE)
