"""``lumos-studio web``: the studio in a browser."""

from __future__ import annotations

import errno
from pathlib import Path

import click

from lumos_studio.cli_forward import with_group_targets
from lumos_studio.cli_serve import host_failure
from lumos_studio.cli_support import OTLP_PORT, fail, open_store, or_given_to_group
from lumos_studio.store import StoreTarget

WEB_TOKEN_ENV = "LUMOS_WEB_TOKEN"
WEB_READ_TOKEN_ENV = "LUMOS_WEB_READ_TOKEN"


@click.command()
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to serve on; other than loopback, a token is required.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535),
              help="Port of the web page.")
@click.option("--otlp-port", type=OTLP_PORT, default=4318, show_default=True,
              help="Port for each tab's OTLP/HTTP receiver (the next free one if taken).")
@click.option("--public-url", default=None,
              help="The URL browsers reach this server by, when it is not http://HOST:PORT "
                   "(a proxy, or --host 0.0.0.0).")
@click.option("--token", envvar=WEB_TOKEN_ENV, show_envvar=True, default=None,
              help="Require this token: open the page once with ?token=TOKEN.")
@click.option("--read-token", envvar=WEB_READ_TOKEN_ENV, show_envvar=True, default=None,
              help="Visitors with this token instead get the read-only studio "
                   "(lumos-studio --read-only): traces to open and search, nothing to run.")
@click.pass_obj
def web(db: StoreTarget, path: Path | None, host: str, port: int, otlp_port: int,
        public_url: str | None, token: str | None, read_token: str | None) -> None:
    """Serve the studio to a browser: the demo agents, or those PATH defines (as dev does).

    Each tab runs its own studio on the same --db. Loopback only unless --host says otherwise,
    and then only with --token (or --read-token alone: every visitor reads only).
    """
    from lumos_studio.ingest.otlp_connections import is_loopback
    from lumos_studio.web import (
        StudioWebServer,
        read_only_command,
        store_in_environment,
        studio_command,
    )

    if not is_loopback(host) and not (token or read_token):
        fail(f"serving on {host} lets other machines drive the studio and run your agents, so "
             "it needs a token",
             f"pass --token SECRET (or set {WEB_TOKEN_ENV}) and open the printed URL", code=2)
    if read_token is not None and read_token == token:
        fail("--read-token is the same as --token, so its visitors could write",
             "choose two different secrets", code=2)
    # Each tab's studio opens the store: one it cannot use (not a store, a PostgreSQL server
    # down, a read-only directory) is refused here, as the studio would, not in a blank tab.
    # Read-only tabs cannot create or migrate it either: it is made here, once.
    open_store(db).close()
    if isinstance(db, Path):
        store: Path | None = db.resolve()  # a tab's studio opens the same
    else:
        store = None  # the URL (its password) reaches the tabs by their environment
        store_in_environment(db.url)
    command = studio_command(store, or_given_to_group(otlp_port, "otlp_port"),
                             path.resolve() if path else None, with_group_targets(()))
    server = StudioWebServer(command, host=host, port=port, token=token,
                             read_token=read_token, read_command=read_only_command(store),
                             public_url=public_url.rstrip("/") if public_url else None)
    try:
        server.bind()  # before anything says where the studio is served
    except OSError as exc:
        host_failure(exc, host)
        if exc.errno == errno.EADDRINUSE:
            fail(f"port {port} is in use (a second lumos-studio web, or another program)",
                 "pass --port N with a free port")
        fail(f"cannot serve on {host}:{port}: {exc.strerror or exc}", "try another --port")
    server.serve()
