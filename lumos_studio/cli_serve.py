"""``lumos-studio serve``: the OTLP/HTTP receiver alone, storing into the store until Ctrl-C
(headless: CI, other hosts), with a token when it listens beyond loopback.
"""

from __future__ import annotations

import errno
import socket
import sys

import click

from lumos_studio.cli_forward import forward_options, forwarding, with_group_targets
from lumos_studio.cli_support import (
    OTLP_PORT,
    OTLP_PORT_HELP,
    err,
    error,
    fail,
    info,
    open_store,
    or_given_to_group,
    out,
    warn,
)
from lumos_studio.display import VALUE_LIMIT, safe_str, safe_text
from lumos_studio.store import StoreTarget, local_path

TOKEN_ENV = "LUMOS_OTLP_TOKEN"
MIN_BODY = 1024  # a smaller --max-body would refuse every request: a bare span is ~300-700 bytes
SERVE_HELP = f"""\
Receive OTLP/HTTP traces and logs into the store until Ctrl-C (headless: CI, other hosts).

\b
Point exporters at the printed endpoint:
  OTEL_EXPORTER_OTLP_ENDPOINT=http://HOST:PORT
With a token (--token or {TOKEN_ENV}), every request must carry it:
  OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>
Listening on anything but loopback (--host 0.0.0.0) requires a token.

Idle connections close after 10 s, and at most --max-connections are served at once (beyond:
503 and Retry-After). A full disk is answered 507, a read-only store 503, both saying so.
"""


@click.command(help=SERVE_HELP)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; other than loopback, a token is required.")
@click.option("--otlp-port", "port", type=OTLP_PORT, default=4318, show_default=True,
              help=OTLP_PORT_HELP)
@click.option("--port", "port_alias", type=OTLP_PORT, default=None, hidden=True)  # older name
@click.option("--max-body", type=click.IntRange(min=MIN_BODY), default=32 << 20,
              show_default=True,
              help=f"Largest body, in bytes (at least {MIN_BODY}: an SDK's request with one "
                   "span takes several hundred).")
@click.option("--max-connections", default=64, show_default=True, type=click.IntRange(min=1),
              help="Connections served at once; more are answered 503 with Retry-After.")
@click.option("--token", envvar=TOKEN_ENV, show_envvar=True, default=None,
              help="Require Authorization: Bearer TOKEN on every request.")
@forward_options
@click.pass_obj
def serve(
    db: StoreTarget, host: str, port: int, port_alias: int | None, max_body: int,
    max_connections: int, token: str | None, forward: tuple[str, ...], forward_queue_mb: int,
) -> None:
    from lumos_studio.ingest.otlp_http import (
        OtlpReceiver,
        ReceiverStats,
        TokenRequired,
        is_loopback,
    )

    port = or_given_to_group(port, "port", "otlp_port") if port_alias is None else port_alias
    exposed = not is_loopback(host)
    if exposed and not token:  # before the store is opened or anything is bound
        fail(
            str(TokenRequired(host)),
            f"pass --token SECRET (or set {TOKEN_ENV}); exporters then send "
            "OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20SECRET",
            code=2,
        )
    live, shown = sys.stderr.isatty(), [""]
    problem_shown: list[object] = [None]

    def report(stats: ReceiverStats) -> None:
        problem = receiver.writer.storage_error
        if problem != problem_shown[0]:
            problem_shown[0] = problem
            if live:
                err.print()
            if problem is not None:
                error(problem.message)
            else:
                info("the store takes writes again")
        line = receiver.status_line()
        if forwarder is not None:
            line = f"{line} {safe_str(forwarder.status_line(), VALUE_LIMIT)}"
        if line != shown[0]:
            shown[0] = line
            click.echo("\r" + line if live else line, err=True, nl=not live)

    forward = with_group_targets(forward)
    with (forwarding(local_path(db), forward, forward_queue_mb) as forwarder,
          open_store(db) as store):
        store.writer.serve_without_ui()  # no UI here to leave the GIL to between steps
        try:
            receiver = OtlpReceiver(
                store.writer, host=host, port=port, max_body=max_body,
                max_connections=max_connections, token=token,
                forward=forwarder,
            )
        except OSError as exc:
            host_failure(exc, host)
            fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                 "try --otlp-port 0 (any free port)")
        out.print(safe_text(f"receiving OTLP/HTTP on {receiver.endpoint} into {db}", limit=None))
        out.print(f"OTEL_EXPORTER_OTLP_ENDPOINT={receiver.endpoint}", markup=False)
        if token:
            out.print("OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>", markup=False)
        sys.stdout.flush()
        if exposed:
            warn(f"listening on {host}: other machines can reach it; only requests with the "
                 "token are taken")
        receiver.serve_forever(report)
        # Stored, not all indexed for search yet: after a burst that took seconds at Ctrl-C.
        # The next writer to open the store (the studio, serve) indexes the rest when idle.
        store.writer.flush(searchable=False)
        forwarded = f" {forwarder.status_line()}" if forwarder is not None else ""
    err.print(("\n" if live else "") + f"stopped; stored {receiver.stats.line()}",
              safe_text(forwarded, limit=VALUE_LIMIT))


def host_failure(exc: OSError, host: str) -> None:
    """Fail naming ``--host`` when ``exc`` (from binding) blames the address: a name that does
    not resolve, or an address this machine does not have. Otherwise return: the port is at
    fault (taken, reserved), and the caller says so."""
    if isinstance(exc, socket.gaierror):
        fail(f"cannot resolve --host {host}: {exc.strerror or exc}", _HOSTS)
    if exc.errno == errno.EADDRNOTAVAIL:
        fail(f"--host {host} is not an address of this machine", _HOSTS)


_HOSTS = ("give --host 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or another "
          "address of this machine")
