"""The typer app every command module registers on, and what the commands share.

Kept apart from `__init__` so that the command modules import it without a cycle:
`advisor.cli` imports them (in the order `--help` lists them), never the reverse.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.markup import escape

from advisor.terminal import err

app = typer.Typer(
    help="Career Advisor: cited answers from career articles.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
EXIT_USER_ERROR = 2


def fail(message: str, code: int = EXIT_USER_ERROR) -> typer.Exit:
    """Print the one sentence; returned, not raised, so callers `raise fail(...) from error`."""
    err.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code)


@contextmanager
def starting() -> Iterator[None]:
    """No garbage collection while the Advisor's modules load (chromadb's above all).

    Start-up makes some 160,000 objects that all live on; the collector, run every
    700 allocations, would walk them again and again and free nothing: about 0.15 s
    of CPU of a cold question here. They are frozen afterwards (kept out of later
    collections), as the gc module's documentation suggests for start-up objects."""
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


BACKEND_HELP = "extractive (default), openai or ollama."
