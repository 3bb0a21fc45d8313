"""A student's spelling of a job read as the library's, on both libraries' real lexicons."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.knowledge.spelling import respell
from advisor.text import tokenize

from .test_leads import CAREERS, CORPUS, library


def articles_know(folder):
    """The articles' own vocabulary, as the keyword index holds it (stemmed tokens)."""
    chunks, _ = library(folder)
    vocabulary = {t for c in chunks for t in tokenize(f"{c.title} {c.section} {c.text}")}
    return lambda tokens: set(tokens) & vocabulary


@pytest.mark.parametrize(
    ("folder", "typed", "read"),
    [
        (CORPUS, "How much do medcal codrs make?", "How much do medical coders make?"),
        (CORPUS, "What does a medical biler do?", "What does a medical biller do?"),
        (CAREERS, "How much do HVAC techs make?", "How much do HVAC technicians make?"),
        (CAREERS, "how much do electricans make", "how much do electricians make"),
        (CAREERS, "What does a dental hygenist do?", "What does a dental hygienist do?"),
        # a job the library lacks, and words the articles use, stay as typed
        (CORPUS, "How do I become a pilot?", "How do I become a pilot?"),
        (CAREERS, "How much do plumbers make?", "How much do plumbers make?"),
        (CORPUS, "What is a CPT code?", "What is a CPT code?"),
        (CAREERS, "Is welding dangerous?", "Is welding dangerous?"),
        # ordinary English near some name, and words the articles use, are not jobs
        (CAREERS, "Are welding certifications worth it?", "Are welding certifications worth it?"),
        (CAREERS, "Is a doctorate worth it?", "Is a doctorate worth it?"),
        (CAREERS, "Do software developers get bored?", "Do software developers get bored?"),
        (CORPUS, "Are electrical jobs dangerous?", "Are electrical jobs dangerous?"),
        (CORPUS, "What are medical codes?", "What are medical codes?"),
        (CORPUS, "How many medical bills are denied?", "How many medical bills are denied?"),
    ],
)
def test_respelled_as_the_library_spells_its_jobs(folder, typed: str, read: str) -> None:
    _, lexicon = library(folder)
    assert respell(typed, lexicon, articles_know(folder)) == read


def test_respelling_does_not_depend_on_the_hash_seed() -> None:
    """The same question reads the same way in every process (sets were iterated)."""
    import subprocess
    import sys

    script = (
        "from tests.test_spelling import *; _, lex = library(CORPUS); "
        "print(respell('medical bils and medcal codrs', lex, articles_know(CORPUS)))"
    )
    seen = {
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       env={**__import__("os").environ, "PYTHONHASHSEED": str(seed)},
                       cwd=Path(__file__).parent.parent, check=True).stdout
        for seed in range(4)
    }  # fmt: skip
    assert len(seen) == 1, seen
