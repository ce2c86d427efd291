"""``--forward URL``: the option every receiving command shares, and the forwarder's lifetime.

Given on the group (``lumos-studio --forward URL serve``) or on the command (``serve --forward
URL``), it means the same: the targets of both are used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from lumos_studio.cli_support import fail, note, warn

if TYPE_CHECKING:
    from lumos_studio.forward import Forwarder

FORWARD_HELP = (
    "Also send everything received, unchanged, to this OTLP/HTTP endpoint (repeatable): the "
    "team's OpenTelemetry Collector, Phoenix, Langfuse, Jaeger, Tempo. Headers come from "
    "OTEL_EXPORTER_OTLP_HEADERS; while it is down, requests wait in a queue on disk beside the "
    "store."
)
QUEUE_HELP = "Largest queue on disk per --forward target, in MB; past it, new requests are dropped."
DEFAULT_QUEUE_MB = 256

F = TypeVar("F", bound=Callable[..., object])


def forward_options(command: F) -> F:
    """``--forward`` (repeatable) and ``--forward-queue-mb`` on ``command``."""
    command = click.option("--forward-queue-mb", type=click.IntRange(min=1),
                           default=DEFAULT_QUEUE_MB, show_default=True, help=QUEUE_HELP)(command)
    return click.option("--forward", "forward", multiple=True, metavar="URL",
                        help=FORWARD_HELP)(command)


def with_group_targets(targets: Sequence[str]) -> tuple[str, ...]:
    """``targets`` and those given before the command name, once each, in order."""
    context = click.get_current_context(silent=True)
    given: Sequence[str] = ()
    if context is not None and context.parent is not None:
        given = context.find_root().params.get("forward") or ()
    return tuple(dict.fromkeys((*given, *targets)))


@contextmanager
def forwarding(db: Path, targets: Sequence[str], queue_mb: int = DEFAULT_QUEUE_MB
               ) -> Iterator[Forwarder | None]:
    """A started ``Forwarder`` for ``targets`` (None when there are none), stopped on exit;
    a bad URL ends the command with exit 2 before anything is opened."""
    if not targets:
        yield None
        return
    from lumos_studio.forward import BadForwardTarget, Forwarder, parse_target, spool_dir_beside

    try:
        parsed = [parse_target(text) for text in targets]
    except BadForwardTarget as exc:
        fail(str(exc), code=2)
    queues = spool_dir_beside(db)
    try:
        forwarder = Forwarder(parsed, queues, limit_bytes=queue_mb << 20).start()
    except OSError as exc:  # not writable, or not a directory: nothing was forwarded yet
        fail(f"cannot use the forwarding queue {queues}: {exc.strerror or exc}",
             "make it a writable directory (it sits beside the store), or give --db another "
             "store", code=1)
    try:
        yield forwarder
    finally:
        forwarder.stop()
        for status in forwarder.statuses():
            if status.queued_records:
                note(f"{status.queued_records:,} records wait for {status.label}; they are sent "
                     "the next time the studio forwards there")
            if status.dropped_records:
                warn(f"{status.dropped_records:,} records were not forwarded to {status.label}: "
                     "its queue was full (raise --forward-queue-mb)")
