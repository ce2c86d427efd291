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

from collections.abc import Sequence
from dataclasses import replace
from typing import Final

from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.semantics import logfire, pydantic_ai
from lumos_studio.semantics._draft import Draft
from lumos_studio.semantics.genai import read_genai_messages, read_tool_call
from lumos_studio.semantics.reader import (
    CONVENTION_HEADS,
    PYDANTIC_MARKERS,
    read_span,
)
from lumos_studio.semantics.text import searchable_text
from lumos_studio.semantics.view import SpanView, ToolCall

_PLAIN_HEADS: Final = frozenset({"gen_ai", "lumos"})
_OTHER_HEADS: Final = CONVENTION_HEADS - _PLAIN_HEADS
_FLATTENED: Final = ("gen_ai.prompt", "gen_ai.completion")


def span_search_text(span: SpanRecord, logs: Sequence[LogRecord] = ()) -> str:
    """The span's words for the search index (``logs``: its and its parent's log records)."""
    view = None
    if not logs and _plain_genai(span):
        try:
            view = _text_view(span)
        except Exception:  # an odd value: the full reader copes with it (and never raises)
            view = None
    if view is None:
        view = read_span(span, logs)
    inputs = view.input_messages
    last_answer = max(
        (i for i, message in enumerate(inputs) if message.role == "assistant"), default=-1
    )
    if last_answer >= 0:
        view = replace(view, input_messages=inputs[last_answer + 1 :])
    return searchable_text(view)


def _plain_genai(span: SpanRecord) -> bool:
    """Whether only the current GenAI readers (and ours) would read anything of this span."""
    attrs = span.attributes
    if not isinstance(attrs, dict) or span.events or "events" in attrs:
        return False
    scope = span.scope_name if isinstance(span.scope_name, str) else ""
    if scope == pydantic_ai.SCOPE or scope.startswith(logfire.SCOPE_PREFIX):
        return False
    for key in attrs:
        if not isinstance(key, str):
            return False
        head = key.partition(".")[0]
        if head in _OTHER_HEADS or (head == "gen_ai" and key.startswith(_FLATTENED)):
            return False
    return not any(key in attrs for key in PYDANTIC_MARKERS)


def _text_view(span: SpanRecord) -> SpanView:
    """The fields ``searchable_text`` uses, read as ``read_genai`` reads them."""
    attrs = span.attributes
    assert isinstance(attrs, dict)  # ``_plain_genai`` said so
    d = Draft(attrs)
    d.fill("request_model", "gen_ai.request.model")
    d.fill("response_model", "gen_ai.response.model")
    d.fill("agent_name", "gen_ai.agent.name")
    read_genai_messages(d)
    read_tool_call(d)
    tool_call = None
    if d.has_tool or d.attrs.get("gen_ai.operation.name") == "execute_tool":
        tool_call = ToolCall(d.tool_name, d.tool_id, d.tool_arguments, d.tool_result)
    return SpanView(
        request_model=d.request_model,
        response_model=d.response_model,
        agent_name=d.agent_name,
        system_instructions=d.system_instructions,
        input_messages=d.input_messages,
        output_messages=d.output_messages,
        tool_call=tool_call,
    )
