"""Whether message content (prompts, answers, tool arguments and results) is recorded.

The OTel GenAI conventions make content opt-in, through
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``: instrumentations usually run in production
and export to shared backends. ``lumos_core`` is a local development tool first: its spans go to a
SQLite file on your machine, and the studio's conversation view, search, replay, ``fixture``
regression tests and memory time travel are all made of that text, so content is recorded unless
switched off. Switch it off before exporting to a shared collector:

- the variable, read at the first span (``false``/``0``/``no``/``NO_CONTENT``;
  ``true``/``SPAN_ONLY``/``SPAN_AND_EVENT`` keep spans' content, ``EVENT_ONLY`` only log bodies'),
- ``lumos_core.configure(capture_content=False)`` for the process (it wins over the variable),
- ``Agent(..., capture_content=False)`` for one agent's runs (and what they call).

When off, span attributes and log bodies keep the run's shape (names, ids, counts, usage, timing)
without any text a user, model, tool or memory produced.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any, Final

CAPTURE_ENV: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
#: In a memory event's body: true when its text was left out (content capture off).
CONTENT_OMITTED: Final = "content_omitted"

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ContentCapture:
    """Where content is recorded: in span attributes, in log record bodies (events)."""

    spans: bool
    events: bool


ALL: Final = ContentCapture(spans=True, events=True)
NONE: Final = ContentCapture(spans=False, events=False)

_ENV_VALUES: Final = {
    "true": ALL, "1": ALL, "yes": ALL, "on": ALL, "span_and_event": ALL,
    "false": NONE, "0": NONE, "no": NONE, "off": NONE, "no_content": NONE,
    "span_only": ContentCapture(spans=True, events=False),
    "event_only": ContentCapture(spans=False, events=True),
}

_configured: ContentCapture | None = None
_from_env: ContentCapture | None = None
_scoped: ContextVar[ContentCapture | None] = ContextVar("lumos_capture_content", default=None)


def _parse(value: bool | ContentCapture) -> ContentCapture:
    if isinstance(value, ContentCapture):
        return value
    return ALL if value else NONE


def set_capture_content(enabled: bool | ContentCapture | None) -> None:
    """The process-wide choice (``None``: back to the environment variable, read again, else
    on)."""
    global _configured, _from_env
    _configured = None if enabled is None else _parse(enabled)
    _from_env = None


def _environment() -> ContentCapture:
    """The variable's choice, read once (it is asked on every span)."""
    global _from_env
    if _from_env is not None:
        return _from_env
    raw = os.environ.get(CAPTURE_ENV)
    if raw is None or not raw.strip():
        parsed = ALL
    else:
        found = _ENV_VALUES.get(raw.strip().lower())
        if found is None:
            _log.warning(
                "%s=%r is not one of true, false, NO_CONTENT, SPAN_ONLY, EVENT_ONLY, "
                "SPAN_AND_EVENT; recording content", CAPTURE_ENV, raw,
            )
        parsed = found or ALL
    _from_env = parsed
    return parsed


def content_capture() -> ContentCapture:
    """The choice in force here: the innermost agent's or scope's, else the process's, else the
    environment variable's, else on."""
    return _scoped.get() or _configured or _environment()


def capturing_spans() -> bool:
    """Whether span attributes may carry message content here."""
    return content_capture().spans


def capturing_events() -> bool:
    """Whether log record bodies may carry message content here."""
    return content_capture().events


def enter_capture(enabled: bool | ContentCapture | None) -> Token[ContentCapture | None] | None:
    """Apply ``enabled`` to code running in this context until ``leave_capture``; ``None``
    changes nothing (an agent without its own choice inherits its caller's)."""
    return None if enabled is None else _scoped.set(_parse(enabled))


def leave_capture(token: Token[ContentCapture | None] | None) -> None:
    """Undo ``enter_capture``."""
    if token is not None:
        _scoped.reset(token)


@contextmanager
def capture_content(enabled: bool | ContentCapture) -> Iterator[None]:
    """``with capture_content(False):`` records no content inside the block (any code: agents,
    workflows, memory, retrieval) unless an agent there chose otherwise."""
    token = enter_capture(enabled)
    try:
        yield
    finally:
        leave_capture(token)


def memory_event_body(body: dict[str, Any]) -> dict[str, Any]:
    """A memory event's body as it may be emitted here: without message parts or working-memory
    values when log bodies must not carry content (ids, sequence numbers and roles stay)."""
    if capturing_events():
        return body
    out = {k: v for k, v in body.items() if k != "value"}
    out[CONTENT_OMITTED] = True
    if "messages" in body:
        out["messages"] = [
            {**entry, "message": _bare_message(entry.get("message"))}
            for entry in body["messages"]
        ]
    return out


def _bare_message(message: Any) -> dict[str, Any]:
    if not isinstance(message, dict):
        return {"role": "user", "parts": []}
    bare: dict[str, Any] = {"role": message.get("role", "user"), "parts": []}
    if "finish_reason" in message:
        bare["finish_reason"] = message["finish_reason"]
    return bare
