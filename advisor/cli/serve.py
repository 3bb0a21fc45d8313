"""`advisor config` and `advisor serve`: the settings in effect, and the page run with them.

`serve` checks the address before building the page, so a busy port or a bad host is
one sentence, not a traceback from deep inside the web server.
"""

from __future__ import annotations

from typing import Annotated

import typer

from advisor.cli.common import app, fail
from advisor.settings import get_settings
from advisor.terminal import err


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
