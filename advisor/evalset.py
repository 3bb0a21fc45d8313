"""Eval datasets: YAML cases in a library's datasets folder, validated on load.

The first library's datasets are evals/datasets/*.yaml; another library keeps
its own in evals/corpora/<name>/datasets/. A dataset is chosen by name, by
folder or by file (`dataset_paths`).

A case is a conversation (earlier turns, then the question), the articles
that should be cited, the facts an answer must contain (a list inside the
list means "any of these"), regexes it must not match, whether the
advisor must decline, and whether the question switches topic (its answer
is then checked for carry-over from the previous turn's). A malformed file
is reported by name and line of the case, never half-loaded.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from advisor.answer import Turn
from advisor.settings import PROJECT_ROOT

DATASET_DIR = PROJECT_ROOT / "evals" / "datasets"


class DatasetError(ValueError):
    """A dataset that cannot be used; the message names the file and the case."""


class Step(BaseModel):
    """One turn as written in YAML: `{user: …}` or `{assistant: …}`."""

    user: str | None = None
    assistant: str | None = None

    @model_validator(mode="after")
    def exactly_one(self) -> Step:
        if (self.user is None) == (self.assistant is None):
            raise ValueError("a turn has exactly one of `user` or `assistant`")
        return self

    def as_turn(self) -> Turn:
        role: Literal["user", "assistant"] = "user" if self.user is not None else "assistant"
        return Turn(role=role, content=self.user if self.user is not None else self.assistant or "")


class EvalCase(BaseModel):
    id: str
    turns: list[Step] = Field(min_length=1)
    expect_docs: list[str] = Field(default_factory=list)
    must_contain: list[str | list[str]] = Field(default_factory=list)
    must_not_contain: list[str] = Field(default_factory=list)
    refuse: bool | None = False  # None: declining and correcting are both acceptable
    switch: bool = False  # the question changes topic: nothing of the previous one may carry
    dataset: str = ""

    @field_validator("turns")
    @classmethod
    def ends_with_a_question(cls, turns: list[Step]) -> list[Step]:
        if turns[-1].user is None:
            raise ValueError("the last turn must be the user's question")
        return turns

    @field_validator("must_not_contain")
    @classmethod
    def patterns_compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            re.compile(pattern)
        return patterns

    @property
    def question(self) -> str:
        return self.turns[-1].user or ""

    @property
    def history(self) -> list[Turn]:
        return [step.as_turn() for step in self.turns[:-1]]

    @property
    def previous(self) -> tuple[str, list[Turn]] | None:
        """The previous question and the turns before it, or None for a first question."""
        history = self.history
        last = max((i for i, t in enumerate(history) if t.role == "user"), default=None)
        return None if last is None else (history[last].content, history[:last])


def load_dataset(path: Path) -> list[EvalCase]:
    try:
        rows = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except (OSError, yaml.YAMLError) as err:
        raise DatasetError(f"{path.name}: cannot read it ({err})") from err
    if not isinstance(rows, list):
        raise DatasetError(f"{path.name}: expected a list of cases")
    cases = []
    for index, row in enumerate(rows):
        try:
            cases.append(EvalCase.model_validate({**row, "dataset": path.stem}))
        except (ValidationError, TypeError) as err:
            raise DatasetError(f"{path.name}, case {index + 1}: {err}") from err
    return cases


def dataset_names(directory: Path = DATASET_DIR) -> list[str]:
    """The datasets in a folder, by name (file stem), for `--help` and error messages."""
    return [p.stem for p in sorted(directory.glob("*.yaml"))]


def dataset_paths(spec: str | Path | None, directory: Path = DATASET_DIR) -> tuple[list[Path], str]:
    """The files a `--dataset` value selects, and the label runs are recorded under.

    `spec` is a dataset name in `directory` (label: the name), a folder of
    `*.yaml` datasets (label: "all"), one YAML file (label: its stem), or None
    for every dataset in `directory` (label: "all").
    """
    if spec is None or str(spec) == "":
        return _folder(directory), "all"
    named = directory / f"{spec}.yaml"
    if "/" not in str(spec) and named.is_file():
        return [named], str(spec)
    path = Path(spec)
    if path.is_dir():
        return _folder(path), "all"
    if path.is_file():
        return [path], path.stem
    known = ", ".join(dataset_names(directory)) or "none"
    raise DatasetError(f"no dataset named {str(spec)!r} in {directory} (known: {known})")


def _folder(directory: Path) -> list[Path]:
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise DatasetError(f"no dataset (*.yaml) in {directory}")
    return paths


def load_cases(name: str | Path | None = None, directory: Path = DATASET_DIR) -> list[EvalCase]:
    """All datasets, or the one selected (see dataset_paths); ids must be unique."""
    paths, _ = dataset_paths(name, directory)
    cases = [case for path in paths for case in load_dataset(path)]
    seen: set[str] = set()
    for case in cases:
        if case.id in seen:
            raise DatasetError(f"case id {case.id!r} is used twice")
        seen.add(case.id)
    return cases
