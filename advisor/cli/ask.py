"""`advisor search`, `advisor ask` and `advisor chat`: the commands that answer.

All three load the model and the index before the first answer, and `ask` and `chat`
choose the generator the same way (`--backend`), so they live together.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from advisor.cli.common import BACKEND_HELP, app, starting
from advisor.settings import get_settings
from advisor.terminal import err, out, print_reply


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
    with starting():
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

    with starting():
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
