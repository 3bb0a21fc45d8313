"""The `advisor` command line: index, search, config, serve.

Commands only call the package's public API. Every error a user can cause
(an empty question, a missing index, a broken corpus file) ends in one clear
line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from advisor.settings import get_settings

app = typer.Typer(
    help="Career Advisor: cited answers from career articles.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console(highlight=False)
# soft_wrap: an error names a path; rich must not break it (or the message) to the
# terminal's width, which is unknown, 40 columns, or 80 when COLUMNS is unset.
err = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_USER_ERROR = 2


def fail(message: str, code: int = EXIT_USER_ERROR) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code)


@app.command()
def index(
    full: Annotated[bool, typer.Option("--full", help="Re-embed everything.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Build or update the index from corpus/ (only changed articles are re-embedded)."""
    from advisor.index import build_index

    settings = get_settings()
    report = build_index(settings, full=full, progress=not quiet and sys.stderr.isatty())
    for name, problem in report.problems.items():
        err.print(f"[yellow]skipped[/] {escape(name)}: {escape(problem)}")
    for doc_id in report.kept_despite_errors:
        err.print(f"[yellow]kept[/] the previous version of {doc_id} (its file is unreadable)")
    if not report.changed:
        out.print(
            f"Index is up to date: {len(report.unchanged)} articles unchanged, "
            f"nothing embedded ({report.seconds:.2f} s)."
        )
        return
    if report.full_rebuild_reason:
        out.print(f"Full rebuild: {report.full_rebuild_reason}.")
    out.print(
        f"Indexed in {report.seconds:.1f} s: {len(report.added)} added, "
        f"{len(report.updated)} updated, {len(report.removed)} removed, "
        f"{len(report.unchanged)} unchanged; {report.embedded_chunks} chunks embedded, "
        f"{report.reused_chunks} reused."
    )


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int | None, typer.Option("--k", min=1, max=50, help="How many passages.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the passages hybrid retrieval ranks highest for QUERY."""
    from advisor.retrieve import Retriever
    from advisor.text import clean_question

    settings = get_settings()
    clean_question(query, settings.retrieval.max_query_chars)  # fail before loading models
    result = Retriever(settings).search(query, k)
    if as_json:
        print(json.dumps([hit.as_json() for hit in result.hits], indent=2, ensure_ascii=False))
        return
    if not result.hits:
        out.print("No passage matches.")
    for rank, hit in enumerate(result.hits, start=1):
        c = hit.chunk
        out.print(
            f"[bold]{rank}. {escape(c.title)}[/] — {escape(c.section)}  (score {hit.score:.4f})"
        )
        out.print(f"   {escape(c.text[:300])}{'…' if len(c.text) > 300 else ''}\n")


def _advisor(backend: str | None):
    from advisor.answer import Advisor

    settings = get_settings()
    if backend:  # validated like the environment variable would be, not copied blindly
        chosen = {**settings.generator.model_dump(), "backend": backend}
        generator = type(settings.generator).model_validate(chosen)
        settings = settings.model_copy(update={"generator": generator})
    return Advisor(settings)


def _print_reply(reply) -> None:
    from rich.markdown import Markdown

    out.print(Markdown(reply.answer))
    if reply.citations:
        out.print("\n[bold]Sources[/]")
    for c in reply.citations:
        dated = f", {c.published}" if c.published else ""
        out.print(
            f"  [{c.n}] {escape(c.title)} ({escape(c.publisher)}{dated}) — {escape(c.section)}"
        )
    for removal in reply.removed:
        out.print(f"[dim]guard removed: {escape(removal.reason)}[/]")


def _load_history(path: Path | None) -> list:
    from advisor.answer import parse_history
    from advisor.text import QuestionError

    if path is None:
        return []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise QuestionError(f"Cannot read the history file {path}: {error}") from error
    except json.JSONDecodeError as error:
        raise QuestionError(f"The history file {path} is not valid JSON: {error}") from error
    return parse_history(raw, get_settings().answer.max_history_chars)


BACKEND_HELP = "extractive (default), openai or ollama."


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="Your question.")],
    history: Annotated[
        Path | None, typer.Option(help='JSON list of {"role", "content"} messages so far.')
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    backend: Annotated[str | None, typer.Option(help=BACKEND_HELP)] = None,
) -> None:
    """Answer QUESTION from the articles, with numbered citations."""
    from advisor.text import clean_question

    clean_question(question, get_settings().retrieval.max_query_chars)  # before loading models
    turns = _load_history(history)
    reply = _advisor(backend).ask(question, turns)
    if as_json:
        print(json.dumps(reply.as_json(), ensure_ascii=False))
    else:
        _print_reply(reply)


@app.command()
def chat(backend: Annotated[str | None, typer.Option(help=BACKEND_HELP)] = None) -> None:
    """An interactive conversation in the terminal (empty line or Ctrl-D to quit)."""
    from advisor.answer import Turn
    from advisor.text import QuestionError

    with err.status("Loading the model and the index…"):  # a spinner, on stderr
        advisor = _advisor(backend)
        advisor.retriever.embedder.embed_query("warm up")  # the model loads on first use
    turns: list[Turn] = []
    out.print("Ask about medical billing, coding or PALS. Empty line to quit.")
    while True:
        try:
            question = input("\nyou> ")
        except EOFError:
            return
        if not question.strip():
            return
        try:
            reply = advisor.ask(question, turns)
        except QuestionError as error:
            err.print(f"[yellow]{escape(str(error))}[/]")
            continue
        _print_reply(reply)
        turns += [Turn(role="user", content=question), Turn(role="assistant", content=reply.answer)]


@app.command("eval")
def eval_command(
    dataset: Annotated[str | None, typer.Option(help="One dataset in evals/datasets/.")] = None,
    backend: Annotated[str | None, typer.Option(help=BACKEND_HELP)] = None,
    answers: Annotated[
        Path | None, typer.Option(help="Grade answers from this JSON-lines file instead.")
    ] = None,
    no_guard: Annotated[bool, typer.Option("--no-guard", help="Ablation: guard off.")] = False,
    update_baseline: Annotated[
        bool, typer.Option("--update-baseline", help="Record this run as the baseline.")
    ] = False,
    reports_dir: Annotated[Path | None, typer.Option(help="Where reports go.")] = None,
) -> None:
    """Run the eval datasets, write a report, and fail on a regression."""
    from advisor import evaluate as ev
    from advisor.evalset import load_cases
    from advisor.metrics import FigureChecker
    from advisor.report import write_report
    from advisor.settings import PROJECT_ROOT

    settings = get_settings()
    cases = load_cases(dataset)
    checker = FigureChecker(ev.corpus_chunks(settings))
    warnings: list[str] = []
    would_remove = None
    if answers is not None:
        graded, warnings = ev.run_with_answers(ev.read_answers(answers), cases, checker)
        config = f"answers:{dataset or 'all'}"
    else:
        advisor = _advisor(backend)
        advisor.guard = not no_guard
        graded, would_remove = ev.run_with_advisor(advisor, cases, checker, sys.stderr.isatty())
        config = f"{advisor.generator.name}{'-noguard' if no_guard else ''}:{dataset or 'all'}"
    run = ev.evaluate(cases, graded, config, ev.load_baseline(), settings.retrieval.k)
    run.warnings = warnings
    run.guard_would_remove = would_remove if no_guard else None
    folder = write_report(run, reports_dir or PROJECT_ROOT / "evals" / "reports")
    _print_eval(run, folder)
    if update_baseline:
        ev.update_baseline(run)
        out.print(f"Baseline for {config} updated in {ev.BASELINE_PATH}.")
        run.failures = [f for f in run.failures if "fell from" not in f and "rose from" not in f]
    if run.failures:
        raise typer.Exit(1)


def _print_eval(run, folder: Path) -> None:
    from rich.table import Table

    table = Table(title=f"eval {run.config}: {len(run.graded)} cases")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in run.metrics.items():
        table.add_row(name, f"{value:.3f}" if isinstance(value, float) else str(value))
    out.print(table)
    if run.guard_would_remove is not None:
        out.print(f"Guard off: the guard would have removed {run.guard_would_remove} figures.")
    for warning in run.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}")
    for failure in run.failures:
        err.print(f"[bold red]FAIL[/] {escape(failure)}")
    failed_cases = [g for g in run.graded if not g.passed]
    out.print(f"{len(failed_cases)} of {len(run.graded)} cases failed; report: {folder}")
    out.print("[bold green]PASSED[/]" if not run.failures else "[bold red]FAILED[/]")


@app.command()
def config() -> None:
    """Print the effective settings (defaults plus ADVISOR_* variables) as JSON."""
    print(get_settings().model_dump_json(indent=2))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address; default from settings.")] = None,
    port: Annotated[int | None, typer.Option(help="Port; default from settings.")] = None,
) -> None:
    """Start the Gradio page."""
    from advisor.page import build_app, launch

    settings = get_settings()
    settings = settings.model_copy(
        update={"host": host or settings.host, "port": port or settings.port}
    )
    demo = build_app(settings)
    # The model and index load before the server says it is ready: no slow first answer.
    with err.status("Loading the model and the index…"):
        demo.service.warm()
    launch(settings, demo, warm=False)


def _known_errors() -> tuple[type[BaseException], ...]:
    from pydantic import ValidationError

    from advisor.corpus import CorpusError
    from advisor.embeddings import ModelUnavailableError
    from advisor.evalset import DatasetError
    from advisor.generators import GeneratorUnavailableError
    from advisor.index import IndexUnavailableError
    from advisor.text import QuestionError

    return (
        CorpusError,
        DatasetError,
        GeneratorUnavailableError,
        IndexUnavailableError,
        ModelUnavailableError,
        QuestionError,
        ValidationError,
    )


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
READ_ONLY_COMMANDS = frozenset({"ask", "search", "chat", "config"})


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
