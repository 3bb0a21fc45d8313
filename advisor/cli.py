"""The `advisor` command line: index, search, config, serve.

Commands only call the package's public API. Every error a user can cause
(an empty question, a missing index, a broken corpus file) ends in one clear
line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from advisor.settings import get_settings
from advisor.terminal import err, out, print_eval, print_reply

app = typer.Typer(
    help="Career Advisor: cited answers from career articles.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
EXIT_USER_ERROR = 2


def fail(message: str, code: int = EXIT_USER_ERROR) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code)


@app.command()
def index(
    full: Annotated[bool, typer.Option("--full", help="Re-embed everything.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Build or update the index from corpus/ (only changed articles are re-embedded).

    A build that was interrupted (killed, Ctrl-C) continues where it stopped next time."""
    from advisor.embeddings import prepare
    from advisor.index import build_index

    settings = get_settings()
    prepare(settings.embedding)  # the ONNX export, once: no question waits for it later
    report = build_index(settings, full=full, progress=not quiet and sys.stderr.isatty())
    for name, problem in report.problems.items():
        err.print(f"[yellow]skipped[/] {escape(name)}: {escape(problem)}")
    for doc_id in report.kept_despite_errors:
        err.print(f"[yellow]kept[/] the previous version of {doc_id} (its file is unreadable)")
    for file, why in report.outliers:
        err.print(f"[yellow]caution[/] {escape(file)}: {escape(why)}")
    for held in report.quarantined:
        err.print(
            f"[yellow]quarantined[/] {escape(held.file)}: {escape(held.why)}, not indexed: "
            f"“{escape(held.sentence)}”"
        )
    if report.cleaned:
        err.print(f"removed {len(report.cleaned)} collections left by interrupted builds")
    if not report.changed:
        out.print(
            f"Index is up to date: {len(report.unchanged)} articles unchanged, "
            f"nothing embedded ({report.seconds:.2f} s)."
        )
        if report.knowledge_updated:
            out.print("What the articles are about was re-derived; `advisor corpus` shows it.")
        return
    if report.full_rebuild_reason:
        out.print(f"Full rebuild: {report.full_rebuild_reason}.")
    if report.keyword_repair:
        out.print(f"Rebuilt the keyword index from the stored passages: {report.keyword_repair}.")
    if report.resumed_chunks:
        out.print(f"Resumed an interrupted build: {report.resumed_chunks} chunks kept.")
    out.print(
        f"Indexed in {report.seconds:.1f} s: {len(report.added)} added, "
        f"{len(report.updated)} updated, {len(report.removed)} removed, "
        f"{len(report.unchanged)} unchanged; {report.embedded_chunks} chunks embedded, "
        f"{report.reused_chunks} reused."
    )


@app.command()
def corpus(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show what each article is about, as indexing derives it: occupations, credentials,
    reporters. Correct it with front matter (occupations:, aliases:) or library.yaml."""
    from advisor.corpus import load_corpus
    from advisor.knowledge.library import library_lexicon

    settings = get_settings()
    loaded = load_corpus(settings.corpus_dir, settings.max_file_bytes)
    for name, problem in loaded.problems.items():
        err.print(f"[yellow]skipped[/] {escape(name)}: {escape(problem)}")
    lexicon = library_lexicon(loaded.articles, settings.corpus_dir)
    rows = []
    for article in loaded.articles:
        found = [s for s in lexicon.subjects.values() if article.doc_id in s.docs]
        rows.append(
            {
                "article": article.path.name,
                "title": article.title,
                "about": lexicon.doc_subjects.get(article.doc_id, []),
                "occupations": {s.key: s.aliases for s in found if s.kind == "occupation"},
                "credentials": {s.key: s.aliases for s in found if s.kind == "credential"},
                "mentioned_only": sorted(s.key for s in found if not lexicon.is_covered(s.key)),
            }
        )
    library = {"articles": rows, "reporters": lexicon.reporters,
               "families": {h: sorted(k) for h, k in lexicon.families.items()}}  # fmt: skip
    if as_json:
        print(json.dumps(library, indent=2, ensure_ascii=False))
        return
    for row in rows:
        out.print(f"\n[bold]{escape(row['article'])}[/] — {escape(row['title'])}")
        out.print(f"  about: {escape(', '.join(row['about']) or '(nothing named in the title)')}")
        for kind in ("occupations", "credentials"):
            for key, aliases in row[kind].items():
                also = f" (also: {', '.join(aliases)})" if aliases else ""
                passing = " [dim]mentioned only[/]" if key in row["mentioned_only"] else ""
                out.print(f"  {kind[:-1]}: {escape(key)}{escape(also)}{passing}")
    reporters = ", ".join(f"{k} ({', '.join(v)})" if v else k for k, v in lexicon.reporters.items())
    out.print(f"\n[bold]Reporters:[/] {escape(reporters or '(none found)')}")
    for head, keys in library["families"].items():
        out.print(f"[bold]'{escape(head)}'[/] alone names any of: {escape(', '.join(keys))}")


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int | None, typer.Option("--k", min=1, max=50, help="How many passages.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the passages hybrid retrieval ranks highest for QUERY."""
    from advisor.embeddings import preload
    from advisor.text import clean_question

    settings = get_settings()
    clean_question(query, settings.retrieval.max_query_chars)  # fail before loading models
    with _starting():
        preload(settings.embedding)  # the model loads while chromadb is imported and opened
        from advisor.retrieve import Retriever

        retriever = Retriever(settings)
    result = retriever.search(query, k)
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


@contextmanager
def _starting() -> Iterator[None]:
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


def _load_history(path: Path | None) -> list:
    from advisor.answer import parse_history
    from advisor.text import QuestionError, has_surrogates

    if path is None:
        return []
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM from a Windows editor is fine
    except (OSError, UnicodeDecodeError) as error:
        raise QuestionError(f"Cannot read the history file {path}: {error}") from error
    limit = get_settings().answer.max_history_chars
    if len(text) > 4 * limit + 10_000:
        raise QuestionError(f"The history file {path} is longer than the history limit.")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise QuestionError(f"The history file {path} is not valid JSON: {error}") from error
    except (RecursionError, ValueError) as error:  # nested 1,000 deep; a 5,000-digit number
        raise QuestionError(
            f"The history file {path} is not a usable conversation (it is nested too deeply "
            'or holds a number too long to read); it must be a JSON list of {"role", "content"} '
            "messages."
        ) from error
    turns = parse_history(raw, limit)
    if any(has_surrogates(t.content) for t in turns):
        raise QuestionError(
            f"The history file {path} holds text that is not valid UTF-8 (a lone surrogate); "
            "save it again as UTF-8."
        )
    return turns


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

    settings = get_settings()
    clean_question(question, settings.retrieval.max_query_chars)  # before loading models
    if history is None and backend is None and settings.ask_via_page:
        from advisor.remote import ask_page, reply_view

        found = ask_page(settings, question)  # a running `advisor serve`: nothing to load
        if found is not None and as_json:
            print(json.dumps(found, ensure_ascii=False))
        if found is not None:
            if not as_json:
                print_reply(reply_view(found))
            return
    from advisor.embeddings import preload

    with _starting():
        preload(settings.embedding)  # the model loads while chromadb is imported and opened
        turns = _load_history(history)
        advisor = _advisor(backend)
    reply = advisor.ask(question, turns)
    if as_json:
        print(json.dumps(reply.as_json(), ensure_ascii=False))
    else:
        print_reply(reply)


@app.command()
def chat(backend: Annotated[str | None, typer.Option(help=BACKEND_HELP)] = None) -> None:
    """An interactive conversation in the terminal (empty line or Ctrl-D to quit)."""
    from advisor.answer import Turn
    from advisor.text import QuestionError

    with err.status("Loading the model and the index…"):  # a spinner, on stderr
        advisor = _advisor(backend)
        advisor.warm()
    turns: list[Turn] = []
    if hasattr(sys.stdin, "reconfigure"):  # undecodable bytes reach clean_question, which says so
        sys.stdin.reconfigure(errors="surrogateescape")
    out.print(f"{escape(advisor.intro())} Empty line to quit.")
    while True:
        try:
            question = input("\nyou> ")
        except EOFError:
            return
        except UnicodeDecodeError:  # a stream that cannot be reconfigured
            err.print("[yellow]That line is not valid UTF-8 text; please type it again.[/]")
            continue
        if not question.strip():
            return
        try:
            reply = advisor.ask(question, turns)
        except QuestionError as error:
            err.print(f"[yellow]{escape(str(error))}[/]")
            continue
        print_reply(reply)
        turns += [Turn(role="user", content=question), Turn(role="assistant", content=reply.answer)]


class _CleanHelpCommand(typer.core.TyperCommand):
    """`--help` shown as a plain flag, like the command's other flags (no `<bool>`)."""

    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option


def _eval_help() -> str:
    from advisor.settings import PROJECT_ROOT

    def names(folder: Path) -> str:
        return ", ".join(p.stem for p in sorted(folder.glob("*.yaml"))) or "none"

    evals = PROJECT_ROOT / "evals"
    libraries = [
        f"{p.parent.name} ({names(p.parent / 'datasets')})"
        for p in sorted((evals / "corpora").glob("*/corpus"))
    ]
    more = f" Other libraries (evals/corpora/): {'; '.join(libraries)}." if libraries else ""
    return (
        "Run a library's eval datasets, write a report, and fail on a regression.\n\n"
        f"Datasets of the first library (evals/datasets/): {names(evals / 'datasets')}.{more} "
        "`--library evals/corpora/NAME` grades another library against a temporary index "
        "and its own baseline.json."
    )


FLAG = ""  # metavar of a flag: shown as `--flag` only


@app.command("eval", help=_eval_help(), cls=_CleanHelpCommand)
def eval_command(
    dataset: Annotated[
        str | None,
        typer.Option(
            metavar="NAME|PATH",
            envvar="ADVISOR_EVAL__DATASET",
            help="A dataset name in the library's datasets folder, or a folder or YAML file "
            "of cases. Default: every dataset of the library.",
        ),
    ] = None,
    library: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            envvar="ADVISOR_EVAL__LIBRARY",
            help="A library folder: DIR/corpus, DIR/datasets, DIR/baseline.json.",
        ),
    ] = None,
    corpus: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            envvar="ADVISOR_EVAL__CORPUS",
            help="Grade this folder of articles (a temporary index; index/ is not touched).",
        ),
    ] = None,
    baseline: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            envvar="ADVISOR_EVAL__BASELINE",
            help="Baseline and thresholds file. Default: the library's.",
        ),
    ] = None,
    backend: Annotated[str | None, typer.Option(metavar="NAME", help=BACKEND_HELP)] = None,
    answers: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Grade answers from this JSON-lines file instead, by the chosen cases' ids.",
        ),
    ] = None,
    no_guard: Annotated[
        bool, typer.Option("--no-guard", metavar=FLAG, help="Ablation: guard off.")
    ] = False,
    update_baseline: Annotated[
        bool,
        typer.Option("--update-baseline", metavar=FLAG, help="Record this run as the baseline."),
    ] = False,
    reports_dir: Annotated[
        Path | None, typer.Option(metavar="DIR", help="Where reports go. Default: evals/reports.")
    ] = None,
) -> None:
    from advisor import evaluate as ev
    from advisor import libraries
    from advisor.evalset import dataset_paths, load_cases
    from advisor.gate import load_baseline
    from advisor.report import write_report
    from advisor.settings import PROJECT_ROOT

    chosen = libraries.choose_library(library, corpus, baseline)
    _, label = dataset_paths(dataset, chosen.datasets)
    cases = load_cases(dataset, chosen.datasets)
    settings = ev.with_backend(libraries.library_settings(get_settings(), chosen), backend)
    checker = ev.corpus_checker(settings)
    warnings: list[str] = []
    would_remove, retrieval = None, {}
    if answers is not None:
        graded, warnings = ev.run_with_answers(ev.read_answers(answers), cases, checker)
        config = f"answers:{label}"
    else:
        with libraries.library_advisor(settings, chosen) as advisor:
            advisor.guard = not no_guard
            graded, would_remove = ev.run_with_advisor(advisor, cases, checker, sys.stderr.isatty())
            retrieval = ev.labelled_retrieval(advisor, chosen) if label == "all" else {}
            config = f"{advisor.generator.name}{'-noguard' if no_guard else ''}:{label}"
    baseline_data = load_baseline(chosen.baseline)
    run = ev.evaluate(cases, graded, config, baseline_data, settings.retrieval.k, retrieval)
    run.library = chosen.name
    run.warnings = warnings + run.warnings
    run.guard_would_remove = would_remove if no_guard else None
    run.settings = ev.effective_settings(settings)
    run.settings["eval"] = {
        "library": chosen.name,
        "corpus": str(chosen.corpus or settings.corpus_dir),
        "index": "temporary" if chosen.corpus is not None and answers is None else "index.path",
        "datasets": str(dataset or chosen.datasets),
        "baseline": str(chosen.baseline) if chosen.baseline else None,
        "retrieval_set": str(chosen.retrieval) if chosen.retrieval else None,
        "answers": str(answers) if answers else None,
        "guard": not no_guard,
    }
    folder = write_report(run, reports_dir or PROJECT_ROOT / "evals" / "reports")
    print_eval(run, folder)
    if update_baseline:
        ev.update_baseline(run, chosen.baseline)
        out.print(
            f"Baseline for {chosen.name} {config} updated in {chosen.baseline}.", soft_wrap=True
        )
        run.failures = [f for f in run.failures if "fell from" not in f and "rose from" not in f]
    if run.failures:
        raise typer.Exit(1)


@app.command()
def config() -> None:
    """Print the effective settings (defaults plus ADVISOR_* variables) as JSON."""
    print(get_settings().model_dump_json(indent=2))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address; default from settings.")] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port (1-65535); default from settings.")
    ] = None,
) -> None:
    """Start the Gradio page."""
    settings = get_settings()
    host = settings.host if host is None else host
    port = settings.port if port is None else port
    _check_can_listen(host, port)
    from advisor.page import build_app, launch

    settings = settings.model_copy(update={"host": host, "port": port})
    demo = build_app(settings)
    # The model and index load before the server says it is ready: no slow first answer.
    with err.status("Loading the model and the index…"):
        demo.service.warm()
    try:
        launch(settings, demo, warm=False)
    except OSError as error:
        raise fail(f"The page could not start on {host}:{port}: {error}.") from error


def _check_can_listen(host: str, port: int) -> None:
    """A bad host or a busy port is one clear sentence, before the page is built."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise fail(
            f"Cannot listen on host {host!r}: it is not an address of this machine "
            f"({error}); use --host 127.0.0.1 (or 0.0.0.0 for every interface)."
        ) from error
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        try:
            probe.bind(address)
        except OSError as error:
            raise fail(
                f"Cannot listen on {host}:{port} ({error.strerror or error}): the port is "
                "busy or not allowed; choose another with --port, or stop what is using it."
            ) from error


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
