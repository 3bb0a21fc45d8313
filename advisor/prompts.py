"""Prompt templates, loaded from prompts/*.txt and rendered strictly.

Prompts live in files so a maintainer can read and change them without
touching code; rendering refuses a missing or an unknown variable, so a typo
in a template or a caller fails loudly instead of sending a half-filled prompt.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from advisor.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from langchain_core.prompts import PromptTemplate

PROMPT_DIR = PROJECT_ROOT / "prompts"
PROMPT_NAMES = ("system", "answer", "condense")

# The one refusal phrase: the system prompt, the code and the tests all use this.
REFUSAL_PHRASE = "I can't answer that from the articles I have."


class PromptError(ValueError):
    """A template and the values given for it do not match."""


@lru_cache(maxsize=32)
def load_prompt(name: str, directory: Path = PROMPT_DIR) -> PromptTemplate:
    from langchain_core.prompts import PromptTemplate  # only LLM backends render prompts

    path = directory / f"{name}.txt"
    if not path.is_file():
        raise PromptError(f"no prompt file {path}")
    return PromptTemplate.from_template(path.read_text(encoding="utf-8"))


def render(name: str, directory: Path = PROMPT_DIR, **values: object) -> str:
    """Fill a template; every variable must be given and nothing else."""
    template = load_prompt(name, directory)
    expected = set(template.input_variables)
    missing, unknown = expected - values.keys(), values.keys() - expected
    if missing or unknown:
        raise PromptError(
            f"prompt {name!r}: missing {sorted(missing) or 'nothing'}, "
            f"unknown {sorted(unknown) or 'nothing'}"
        )
    return template.format(**values)
