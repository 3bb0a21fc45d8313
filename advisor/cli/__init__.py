"""The `advisor` command line: index, search, config, serve.

Commands only call the package's public API. Every error a user can cause
(an empty question, a missing index, a broken corpus file) ends in one clear
line on stderr and a non-zero exit, never a traceback.

The commands live one group a module: `library` (index, corpus), `ask` (search, ask,
chat), `evaluation` (eval), `serve` (config, serve); `common` holds the app they share.
"""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from advisor.cli.common import EXIT_USER_ERROR, app, fail
from advisor.terminal import err

# The command modules register on `app` as they are imported: `--help` lists them in this order.
# isort: off
from advisor.cli import library, ask, evaluation, serve  # noqa: F401
# isort: on


KNOWN_ERRORS = (
    ("pydantic", "ValidationError"),
    ("pydantic_settings", "SettingsError"),
    ("advisor.corpus", "CorpusError"),
    ("advisor.embeddings", "ModelUnavailableError"),
    ("advisor.evalset", "DatasetError"),
    ("advisor.feedback", "FeedbackError"),
    ("advisor.generators", "GeneratorUnavailableError"),
    ("advisor.index", "IndexUnavailableError"),
    ("advisor.text", "QuestionError"),
)


def _known_errors() -> tuple[type[BaseException], ...]:
    """The error types whose message is for the user; a module that cannot be imported
    (a package missing) is skipped, so this handler itself never raises."""
    import importlib

    found: list[type[BaseException]] = []
    for module, name in KNOWN_ERRORS:
        try:
            found.append(getattr(importlib.import_module(module), name))
        except Exception:  # a missing package: reported by the caller, never raised here
            continue
    return tuple(found)


def _explain(error: Exception) -> str | None:
    """One sentence with the fix for errors the environment causes, or None."""
    if isinstance(error, ImportError):
        missing = getattr(error, "name", None) or str(error)
        return (
            f"A required package is missing or broken ({missing}: {error}); "
            "reinstall with `make install`."
        )
    if type(error).__name__ == "SettingsError":
        return f"{error}; fix or unset that ADVISOR_* environment variable (see `advisor config`)."
    if isinstance(error, UnicodeError):
        return "The input is not valid UTF-8 text; please type it again or save it as UTF-8."
    if isinstance(error, RecursionError):
        return "The input is nested too deeply to read; please simplify it."
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app and turn any error into a message and an exit code."""
    try:
        code = app(args=argv, standalone_mode=False)  # click returns the exit code here
    except typer.Exit as done:
        return done.exit_code
    except (typer.Abort, KeyboardInterrupt):
        err.print("aborted")
        return 130
    except Exception as error:  # the last line of defence against tracebacks
        if isinstance(error, typer.TyperException) and hasattr(error, "show"):
            error.show()  # usage errors: typer's own message and exit code (2)
            return int(getattr(error, "exit_code", EXIT_USER_ERROR))
        explained = _explain(error)
        if explained is not None:
            fail(explained)
            return EXIT_USER_ERROR
        if isinstance(error, _known_errors()):
            fail(str(error))
            return EXIT_USER_ERROR
        err.print(
            f"[bold red]unexpected error:[/] {escape(type(error).__name__)}: {escape(str(error))}"
        )
        return 1
    return code if isinstance(code, int) else 0


# Commands that write nothing: after them the process may end without the
# interpreter's teardown of torch and transformers, which costs ~1.5 s of a
# cold `advisor ask` here (measured; see README, "Tests and measurements").
READ_ONLY_COMMANDS = frozenset({"ask", "search", "chat", "config", "corpus"})


def run() -> None:
    """Console-script entry: main(), then a fast exit after read-only commands."""
    argv = sys.argv[1:]
    code = main(argv)
    if argv and argv[0] in READ_ONLY_COMMANDS:
        import logging
        import os

        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(code)
    sys.exit(code)
