"""The words a search finds a span by: what the writer's text index stores for each span.

The text is ``searchable_text`` of the span's view, but for the input messages a chat span
repeats from earlier in its conversation (only those after its last answer are kept: the rest
were indexed with an earlier span). The index reads every span that may hold messages, on the
writer's thread, where Python time is taken from the agent's own thread (the GIL): a span written
in the current GenAI attributes alone (ours and most OTel SDK ones) is read by the same readers
``read_span`` uses, but only for the fields the text needs, at about a third of the cost.
A test holds the two ways equal over every dialect fixture.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from typing import Any, Final

import orjson

from lumos_studio.records import LogRecord, SpanEvent, SpanRecord
from lumos_studio.semantics import logfire, pydantic_ai
from lumos_studio.semantics._draft import (
    MAX_JSON_CHARS,
    MAX_MESSAGES,
    MAX_PARTS,
    Draft,
    as_str,
)
from lumos_studio.semantics.genai import read_genai_messages, read_tool_call
from lumos_studio.semantics.genai_events import MESSAGE_EVENTS
from lumos_studio.semantics.reader import (
    CONVENTION_HEADS,
    PYDANTIC_MARKERS,
    read_span,
)
from lumos_studio.semantics.text import (
    MAX_SEARCH_CHARS,
    message_text,
    part_text,
    searchable_text,
    value_text,
)

_PLAIN_HEADS: Final = frozenset({"gen_ai", "lumos"})
_OTHER_HEADS: Final = CONVENTION_HEADS - _PLAIN_HEADS
_FLATTENED: Final = ("gen_ai.prompt", "gen_ai.completion")


def span_search_text(span: SpanRecord, logs: Sequence[LogRecord] = ()) -> str:
    """The span's words for the search index (``logs``: its and its parent's log records)."""
    if not logs and _plain_genai(span):
        try:
            return _plain_text(span)
        except Exception:  # an odd value: the full reader copes with it (and never raises)
            pass
    view = read_span(span, logs)
    inputs = view.input_messages
    last_answer = max(
        (i for i, message in enumerate(inputs) if message.role == "assistant"), default=-1
    )
    if last_answer >= 0:
        view = replace(view, input_messages=inputs[last_answer + 1 :])
    return searchable_text(view)


# Keys seen so far, and whether a span holding them may be read by the GenAI readers alone.
_plain_keys: dict[str, bool] = {}


def _plain_key(key: Any) -> bool:
    known = _plain_keys.get(key) if type(key) is str else False
    if known is None:
        head = key.partition(".")[0]
        known = not (
            head in _OTHER_HEADS or (head == "gen_ai" and key.startswith(_FLATTENED))
            or key in PYDANTIC_MARKERS
        )
        if len(_plain_keys) > 4_096:
            _plain_keys.clear()
        _plain_keys[key] = known
    return known


def _plain_genai(span: SpanRecord) -> bool:
    """Whether only the current GenAI readers (and ours) would read anything of this span."""
    attrs = span.attributes
    if not isinstance(attrs, dict) or not _no_message_events(span.events):
        return False
    return _plain_keys_and_scope(attrs, span.scope_name if isinstance(span.scope_name, str) else "")


def _plain_keys_and_scope(keys: Collection[Any], scope_name: str) -> bool:
    """Whether attributes with these keys, in a span of this scope, are read by the current
    GenAI readers alone (``_plain_genai`` and ``plain_text_of`` say so the same way)."""
    if "events" in keys:
        return False
    if scope_name == pydantic_ai.SCOPE or scope_name.startswith(logfire.SCOPE_PREFIX):
        return False
    if type(keys) is not list:
        return all(map(_plain_key, keys))
    # A stored span's keys (``plain_text_of``): spans of one instrumentation share a few
    # lists of keys, each judged once instead of its ~20 keys one by one for every span.
    key_list = tuple(keys)
    known = _plain_key_lists.get(key_list)
    if known is None:
        known = all(map(_plain_key, key_list))
        if len(_plain_key_lists) > 1_024:
            _plain_key_lists.clear()
        _plain_key_lists[key_list] = known
    return known


# Lists of keys seen so far, and whether a span holding them may be read by the readers alone.
_plain_key_lists: dict[tuple[Any, ...], bool] = {}


def plain_text_of(
    keys: Collection[str], values: dict[str, Any], event_names: Iterable[str], scope_name: str
) -> str | None:
    """``span_search_text`` (without logs) of a span known by its attribute keys, the values of
    those in ``PLAIN_TEXT_KEYS`` it has, its events' names and its scope; None when the span
    needs the full reader. For the idle indexer, which reads no more of a stored span
    (``otlp.proto_span.text_fields``): a ``SpanRecord`` for it cost as much as the text."""
    if any(name in _MESSAGE_EVENT_NAMES for name in event_names):
        return None
    if not _plain_keys_and_scope(keys, scope_name):
        return None
    try:
        return _plain_text_of(values)
    except Exception:  # an odd value: the full reader copes with it
        return None


# Span events a reader takes messages from (``genai_events.read_events``); others give no words.
_MESSAGE_EVENT_NAMES: Final = frozenset(
    {*MESSAGE_EVENTS, "gen_ai.content.prompt", "gen_ai.content.completion"}
)


def _no_message_events(events: Any) -> bool:
    """Whether the span's events give ``searchable_text`` nothing (an evaluation, a step, an
    exception: the OTLP load's spans carry 2–3 such), so the fast reader may read the span."""
    if not events:
        return True
    if not isinstance(events, tuple | list):
        return False
    for event in events:
        if not isinstance(event, SpanEvent) or event.name in _MESSAGE_EVENT_NAMES:
            return False
    return True


_INPUT = "gen_ai.input.messages"
_OUTPUT = "gen_ai.output.messages"
_INSTRUCTIONS = "gen_ai.system_instructions"
_TEXT_FIELDS: Final = (
    ("gen_ai.request.model",), ("gen_ai.response.model",), ("gen_ai.agent.name",),
)
_TOOL_KEYS: Final = frozenset({  # every key ``read_tool_call`` reads
    "gen_ai.tool.name", "gen_ai.tool.call.id", "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
})
# Every attribute ``_plain_text`` reads (``read_tool_call`` included): see ``plain_text_of``.
PLAIN_TEXT_KEYS: Final = frozenset({
    *(key for (key,) in _TEXT_FIELDS), _INSTRUCTIONS, _INPUT, _OUTPUT, "gen_ai.operation.name",
    *_TOOL_KEYS,
})
# Content values worth remembering: an agent sends the same system instructions with every
# call, and its agent span repeats its first chat's input and its last chat's output.
_CACHED_CHARS = 16 * 1024


def _plain_text(span: SpanRecord) -> str:
    attrs = span.attributes
    assert isinstance(attrs, dict)  # ``_plain_genai`` said so
    return _plain_text_of(attrs)


def _plain_text_of(attrs: dict[str, Any]) -> str:
    """``searchable_text`` of the fields ``read_genai`` reads for it, read as it reads them,
    with each message attribute's lines remembered by its value (``_content_lines``)."""
    pieces: list[str] = []
    for (key,) in _TEXT_FIELDS:
        value = attrs.get(key)
        if value is not None:
            pieces.append(value if type(value) is str else as_str(value))
    for key in (_INSTRUCTIONS, _INPUT, _OUTPUT):
        if key in attrs:
            lines = _content_lines(key, attrs[key])
            if key == _INPUT:  # only what came after its last answer (see the module)
                last_answer = max(
                    (i for i, (role, _) in enumerate(lines) if role == "assistant"), default=-1
                )
                lines = lines[last_answer + 1 :]
            pieces.extend(text for _, text in lines)
    if not _TOOL_KEYS.isdisjoint(attrs):  # without them ``read_tool_call`` finds no words
        d = Draft(attrs)
        read_tool_call(d)
        if d.has_tool or attrs.get("gen_ai.operation.name") == "execute_tool":
            pieces += [d.tool_name, value_text(d.tool_arguments), value_text(d.tool_result)]
    return "\n".join(p for p in pieces if p)[:MAX_SEARCH_CHARS]


def _content_lines(key: str, value: Any) -> tuple[tuple[str, str], ...]:
    """(role, text) of each message or instruction part that ``key``'s value gives."""
    if type(value) is str and len(value) <= _CACHED_CHARS:
        return _remembered_lines(key, value)
    return _lines(key, value)


@functools.lru_cache(maxsize=256)
def _remembered_lines(key: str, value: str) -> tuple[tuple[str, str], ...]:
    return _lines(key, value)


def _lines(key: str, value: Any) -> tuple[tuple[str, str], ...]:
    if key != _INSTRUCTIONS and type(value) is str:
        lines = _text_part_lines(value)
        if lines is not None:
            return lines
    d = Draft({key: value})
    read_genai_messages(d)
    if key == _INSTRUCTIONS:
        return tuple(("", part_text(part)) for part in d.system_instructions)
    messages = d.input_messages if key == _INPUT else d.output_messages
    return tuple((message.role, message_text(message)) for message in messages)


def _text_part_lines(value: str) -> tuple[tuple[str, str], ...] | None:
    """(role, text) of each message of a messages attribute in the GenAI shape whose parts are
    all text (``[{"role", "parts": [{"type": "text", "content"}]}]``, most chat spans), read as
    ``read_genai_messages`` and ``message_text`` read them; None for any other shape (then they
    read it). Through the typed messages the same lines cost ~10x the CPU, on the writer's
    thread, where it holds the GIL."""
    if len(value) > MAX_JSON_CHARS:
        return None
    try:
        messages = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if type(messages) is not list or len(messages) > MAX_MESSAGES:
        return None
    lines: list[tuple[str, str]] = []
    for message in messages:
        if type(message) is not dict:
            return None
        role = message.get("role")
        parts = message.get("parts")
        if type(role) is not str or type(parts) is not list or len(parts) > MAX_PARTS:
            return None
        texts: list[str] = []
        for part in parts:
            if type(part) is not dict or part.get("type") != "text":
                return None
            content = part.get("content")
            if type(content) is not str:
                return None
            if content:
                texts.append(content)
        lines.append((role, "\n".join(texts)))
    return tuple(lines)
