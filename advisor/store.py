"""A chroma server client that cannot hang.

chromadb's HttpClient talks through an httpx session created with
`timeout=None`, so a server that accepts a connection and never replies
blocks a search forever. Here the server is first asked for its heartbeat
with a timeout, and the client's session then gets the same timeout for
every later call; a slow or silent server becomes an IndexUnavailableError
that names the server and the setting to change.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import chromadb
    from chromadb.api import ClientAPI

    from advisor.settings import IndexSettings


def _unavailable(settings: IndexSettings, what: str):
    from advisor.index import IndexUnavailableError

    return IndexUnavailableError(
        f"the chroma server {settings.server_host}:{settings.server_port} {what}; "
        "check that it is running (`chroma run`) and ADVISOR_INDEX__SERVER_HOST / "
        "__SERVER_PORT, or raise ADVISOR_INDEX__SERVER_TIMEOUT_S"
    )


def open_http_client(settings: IndexSettings, chroma_settings: chromadb.Settings) -> ClientAPI:
    import chromadb
    import httpx

    timeout = httpx.Timeout(settings.server_timeout_s)
    url = f"http://{settings.server_host}:{settings.server_port}/api/v2/heartbeat"
    try:
        httpx.get(url, timeout=timeout).raise_for_status()
    except httpx.TimeoutException as err:
        raise _unavailable(
            settings, f"did not answer within {settings.server_timeout_s:g} s"
        ) from err
    except (httpx.HTTPError, OSError, ValueError) as err:
        raise _unavailable(settings, f"cannot be reached ({type(err).__name__}: {err})") from err
    # chromadb's constructor already talks to the server (tenant and database checks)
    # before its session can be given a timeout: build it in a thread, wait a bounded time.
    built: dict[str, object] = {}

    def construct() -> None:
        try:
            built["client"] = chromadb.HttpClient(
                host=settings.server_host, port=settings.server_port, settings=chroma_settings
            )
        except Exception as err:  # chromadb raises many types for an unusable server
            built["error"] = err

    worker = threading.Thread(target=construct, name="chroma-connect", daemon=True)
    worker.start()
    worker.join(settings.server_timeout_s * 3)
    if worker.is_alive():
        raise _unavailable(settings, f"did not answer within {settings.server_timeout_s:g} s")
    if "error" in built:
        err = built["error"]
        raise _unavailable(settings, f"cannot be used ({type(err).__name__}: {err})") from err
    client = built["client"]
    session = getattr(getattr(client, "_server", None), "_session", None)
    if session is not None:  # every later request: the same limit, never wait forever
        session.timeout = timeout
    return client
