"""Each earlier or smaller form of the conventions, one small span at a time."""

from __future__ import annotations

import json
from typing import Any

from lumos_studio.records import LogRecord, SpanEvent, SpanRecord
from lumos_studio.semantics import (
    Dialect,
    Document,
    MediaPart,
    OperationKind,
    OtherPart,
    ReasoningPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    logs_for_span,
    message_text,
    read_span,
    searchable_text,
)

TRACE = "0" * 31 + "1"


def make_span(
    attributes: dict[str, Any] | None = None,
    events: tuple[SpanEvent, ...] = (),
    *,
    span_id: str = "00000000000000aa",
    parent: str | None = None,
    start: int = 100,
    end: int | None = 200,
    status: str = "UNSET",
    scope: str = "test",
) -> SpanRecord:
    return SpanRecord(
        TRACE,
        span_id,
        parent,
        "span",
        start,
        end,
        status_code=status,
        attributes=attributes or {},
        events=events,
        scope_name=scope,
    )


def make_log(
    name: str,
    body: Any,
    span_id: str,
    time_ns: int = 150,
    attributes: dict[str, Any] | None = None,
) -> LogRecord:
    return LogRecord(
        time_ns,
        body,
        trace_id=TRACE,
        span_id=span_id,
        event_name=name,
        attributes=attributes or {},
    )


def test_old_usage_names_count() -> None:
    view = read_span(
        make_span(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.usage.prompt_tokens": 12,
                "gen_ai.usage.completion_tokens": 5,
                "gen_ai.usage.cache_read_input_tokens": 3,
                "gen_ai.usage.cache_creation.input_tokens": 2,
                "gen_ai.usage.reasoning_tokens": 1,
            }
        )
    )
    usage = view.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total) == (12, 5, 17)
    assert (usage.cache_read_tokens, usage.cache_creation_tokens, usage.reasoning_tokens) == (
        3,
        2,
        1,
    )
    assert view.unread_keys == ()


def test_plain_string_system_instructions_are_one_text() -> None:
    view = read_span(make_span({"gen_ai.system_instructions": "Be brief."}))
    assert view.system_instructions == (TextPart("Be brief."),)
    json_form = read_span(make_span({"gen_ai.system_instructions": '"Be brief."'}))
    assert json_form.system_instructions == (TextPart("Be brief."),)


def test_reasoning_uri_and_blob_parts_are_typed() -> None:
    output = [
        {
            "role": "assistant",
            "finish_reason": "stop",
            "parts": [
                {"type": "reasoning", "content": "think"},
                {
                    "type": "uri",
                    "uri": "https://x/cat.png",
                    "mime_type": "image/png",
                    "modality": "image",
                },
                {"type": "blob", "content": "aGk=", "mime_type": "audio/wav", "modality": "audio"},
                {"type": "file", "file_id": "file-1"},
                {"type": "server_tool_call", "name": "web"},
                {"type": "text", "content": "done"},
            ],
        }
    ]
    view = read_span(make_span({"gen_ai.output.messages": json.dumps(output)}))
    parts = view.output_messages[0].parts
    assert parts[0] == ReasoningPart("think")
    assert parts[1] == MediaPart(mime_type="image/png", uri="https://x/cat.png", modality="image")
    assert parts[2] == MediaPart(mime_type="audio/wav", blob="aGk=", modality="audio")
    assert parts[3] == MediaPart(file_id="file-1")
    assert isinstance(parts[4], OtherPart) and parts[4].type == "server_tool_call"
    assert parts[5] == TextPart("done")
    assert view.finish_reasons == ("stop",)


def test_tool_call_response_reads_response_and_result() -> None:
    messages = [
        {
            "role": "tool",
            "parts": [
                {"type": "tool_call_response", "id": "a", "response": "ours"},
                {"type": "tool_call_response", "id": "b", "name": "f", "result": {"x": 1}},
            ],
        }
    ]
    view = read_span(make_span({"gen_ai.input.messages": json.dumps(messages)}))
    assert view.input_messages[0].parts == (
        ToolResultPart("a", "", "ours"),
        ToolResultPart("b", "f", {"x": 1}),
    )


def test_tool_definitions_flat_and_nested_and_tool_span() -> None:
    tools = [
        {"type": "function", "name": "a", "description": "A", "parameters": {"type": "object"}},
        {"type": "function", "function": {"name": "b", "parameters": '{"type": "object"}'}},
    ]
    view = read_span(
        make_span(
            {
                "gen_ai.tool.definitions": json.dumps(tools),
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "a",
                "gen_ai.tool.call.id": "c1",
                "gen_ai.tool.call.arguments": '{"q": 1}',
                "gen_ai.tool.call.result": "ok",
            }
        )
    )
    assert [(t.name, t.parameters) for t in view.tool_definitions] == [
        ("a", {"type": "object"}),
        ("b", {"type": "object"}),
    ]
    assert view.kind is OperationKind.TOOL
    assert view.tool_call is not None
    assert (view.tool_call.name, view.tool_call.id) == ("a", "c1")
    assert (view.tool_call.arguments, view.tool_call.result) == ({"q": 1}, "ok")


def test_span_events_with_flat_attributes() -> None:
    events = (
        SpanEvent("gen_ai.system.message", 1, {"content": "sys"}),
        SpanEvent("gen_ai.user.message", 2, {"content": "hello"}),
        SpanEvent(
            "gen_ai.assistant.message",
            3,
            {
                "tool_calls": json.dumps(
                    [{"id": "t1", "function": {"name": "f", "arguments": "{}"}}]
                ),
            },
        ),
        SpanEvent("gen_ai.tool.message", 4, {"id": "t1", "content": "42"}),
        SpanEvent(
            "gen_ai.choice",
            5,
            {
                "index": 0,
                "finish_reason": "stop",
                "message": json.dumps({"content": "answer"}),
            },
        ),
    )
    view = read_span(make_span({"gen_ai.operation.name": "chat"}, events))
    assert [m.role for m in view.input_messages] == ["system", "user", "assistant", "tool"]
    assert view.input_messages[2].parts == (ToolCallPart("t1", "f", {}),)
    assert view.input_messages[3].parts == (ToolResultPart("t1", "", "42"),)
    assert message_text(view.output_messages[0]) == "answer"
    assert view.output_messages[0].finish_reason == "stop"
    assert Dialect.GENAI_EVENTS in view.dialects


def test_content_prompt_and_completion_events_and_attributes() -> None:
    events = (
        SpanEvent(
            "gen_ai.content.prompt",
            1,
            {
                "gen_ai.prompt": json.dumps([{"role": "user", "content": "q?"}]),
            },
        ),
        SpanEvent("gen_ai.content.completion", 2, {"gen_ai.completion": "a!"}),
    )
    view = read_span(make_span({}, events))
    assert [(m.role, message_text(m)) for m in view.input_messages] == [("user", "q?")]
    assert [(m.role, message_text(m)) for m in view.output_messages] == [("assistant", "a!")]
    as_attributes = read_span(
        make_span(
            {
                "gen_ai.prompt": json.dumps([{"role": "user", "content": "q?"}]),
                "gen_ai.completion": "a!",
            }
        )
    )
    assert message_text(as_attributes.input_messages[0]) == "q?"
    assert message_text(as_attributes.output_messages[0]) == "a!"
    assert as_attributes.unread_keys == ()


def test_flattened_prompt_with_tool_calls_and_functions() -> None:
    view = read_span(
        make_span(
            {
                "llm.request.type": "chat",
                "gen_ai.prompt.0.role": "user",
                "gen_ai.prompt.0.content": "hi",
                "gen_ai.prompt.1.role": "assistant",
                "gen_ai.prompt.1.tool_calls.0.id": "t",
                "gen_ai.prompt.1.tool_calls.0.name": "f",
                "gen_ai.prompt.1.tool_calls.0.arguments": '{"a": 1}',
                "gen_ai.prompt.2.role": "tool",
                "gen_ai.prompt.2.tool_call_id": "t",
                "gen_ai.prompt.2.content": "r",
                "gen_ai.completion.0.role": "assistant",
                "gen_ai.completion.0.content": "bye",
                "gen_ai.completion.0.finish_reason": "stop",
                "llm.request.functions.0.name": "f",
                "llm.request.functions.0.parameters": '{"type": "object"}',
            }
        )
    )
    assert view.kind is OperationKind.LLM
    assert view.input_messages[1].parts == (ToolCallPart("t", "f", {"a": 1}),)
    assert view.input_messages[2].parts == (ToolResultPart("t", "", "r"),)
    assert view.finish_reasons == ("stop",)
    assert [(t.name, t.parameters) for t in view.tool_definitions] == [("f", {"type": "object"})]
    assert view.unread_keys == ()


def test_log_records_with_kvlist_and_json_bodies_and_the_event_name_attribute() -> None:
    span = make_span({"gen_ai.operation.name": "chat"})
    logs = [
        make_log(
            "",
            {"content": "hi", "role": "user"},
            span.span_id,
            110,
            attributes={"event.name": "gen_ai.user.message"},
        ),
        make_log(
            "gen_ai.choice",
            json.dumps({"message": {"content": "yo"}, "finish_reason": "stop"}),
            span.span_id,
            120,
        ),
        make_log("lumos.memory.upsert_memory", {"op": "x"}, span.span_id, 130),
    ]
    view = read_span(span, logs)
    assert [message_text(m) for m in view.input_messages] == ["hi"]
    assert [message_text(m) for m in view.output_messages] == ["yo"]


def test_log_rule_choice_on_the_parent_goes_to_the_model_call_in_whose_time_it_falls() -> None:
    parent = make_span({}, span_id="00000000000000p0", start=0, end=1000)
    first = make_span(
        {"gen_ai.operation.name": "chat"},
        span_id="00000000000000c1",
        parent=parent.span_id,
        start=100,
        end=200,
    )
    second = make_span(
        {"gen_ai.operation.name": "chat"},
        span_id="00000000000000c2",
        parent=parent.span_id,
        start=300,
        end=400,
    )
    logs = [
        make_log("gen_ai.user.message", {"content": "q1"}, first.span_id, 110),
        make_log("gen_ai.choice", {"message": {"content": "a1"}}, parent.span_id, 190),
        make_log("gen_ai.choice", {"message": {"content": "a2"}}, parent.span_id, 390),
        make_log("gen_ai.choice", {"message": {"content": "late"}}, parent.span_id, 999),
    ]
    assert [message_text(m) for m in read_span(first, logs).output_messages] == ["a1"]
    assert [message_text(m) for m in read_span(second, logs).output_messages] == ["a2"]
    assert read_span(parent, logs).output_messages == ()
    # A model call with its own choice does not take its parent's.
    own = [*logs, make_log("gen_ai.choice", {"message": {"content": "mine"}}, first.span_id, 195)]
    assert [message_text(m) for m in read_span(first, own).output_messages] == ["mine"]
    assert [log.time_ns for log in logs_for_span(second, logs, True)] == [390]


def test_openinference_contents_images_and_tool_messages() -> None:
    view = read_span(
        make_span(
            {
                "openinference.span.kind": "LLM",
                "llm.input_messages.0.message.role": "user",
                "llm.input_messages.0.message.contents.0.message_content.type": "text",
                "llm.input_messages.0.message.contents.0.message_content.text": "look",
                "llm.input_messages.0.message.contents.1.message_content.type": "image",
                "llm.input_messages.0.message.contents.1.message_content.image.image.url": "https://i",
                "llm.input_messages.1.message.role": "tool",
                "llm.input_messages.1.message.tool_call_id": "t",
                "llm.input_messages.1.message.content": "res",
                "llm.tools.0.tool.name": "f",
                "llm.tools.0.tool.description": "F",
                "llm.token_count.prompt_details.cache_write": 4,
                "llm.token_count.completion_details.reasoning": 2,
            }
        )
    )
    assert view.input_messages[0].parts == (
        TextPart("look"),
        MediaPart(uri="https://i", modality="image"),
    )
    assert view.input_messages[1].parts == (ToolResultPart("t", "", "res"),)
    assert [(t.name, t.description) for t in view.tool_definitions] == [("f", "F")]
    assert (view.usage.cache_creation_tokens, view.usage.reasoning_tokens) == (4, 2)
    assert view.unread_keys == ()


def test_openinference_span_kinds_map() -> None:
    for name, kind in [
        ("CHAIN", OperationKind.WORKFLOW),
        ("RETRIEVER", OperationKind.RETRIEVAL),
        ("EMBEDDING", OperationKind.EMBEDDING),
        ("RERANKER", OperationKind.RERANKER),
        ("GUARDRAIL", OperationKind.GUARDRAIL),
        ("EVALUATOR", OperationKind.EVALUATOR),
        ("AGENT", OperationKind.AGENT),
        ("SOMETHING", OperationKind.UNKNOWN),
    ]:
        assert read_span(make_span({"openinference.span.kind": name})).kind is kind


def test_traceloop_entity_spans() -> None:
    tool = read_span(
        make_span(
            {
                "traceloop.span.kind": "tool",
                "traceloop.entity.name": "lookup",
                "traceloop.entity.input": json.dumps({"args": [], "kwargs": {"city": "Oslo"}}),
                "traceloop.entity.output": '"cold"',
            }
        )
    )
    assert tool.kind is OperationKind.TOOL
    assert tool.tool_call is not None
    assert (tool.tool_call.name, tool.tool_call.arguments) == ("lookup", {"city": "Oslo"})
    assert Dialect.OPENLLMETRY in tool.dialects
    workflow = read_span(
        make_span({"traceloop.span.kind": "workflow", "traceloop.entity.name": "w"})
    )
    assert workflow.kind is OperationKind.WORKFLOW


def test_vercel_reasoning_media_and_older_names() -> None:
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "see"},
                {"type": "image", "image": "https://img", "mediaType": "image/png"},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "reasoning", "text": "hmm"},
                {"type": "tool-call", "toolCallId": "t", "toolName": "f", "args": {"a": 1}},
            ],
        },
        {
            "role": "tool",
            "content": [
                {"type": "tool-result", "toolCallId": "t", "toolName": "f", "result": "r"},
            ],
        },
    ]
    view = read_span(
        make_span(
            {
                "ai.operationId": "ai.generateText.doGenerate",
                "ai.prompt.messages": json.dumps(messages),
                "ai.usage.promptTokens": 3,
                "ai.usage.completionTokens": 4,
                "ai.toolCall.args": "{}",
            }
        )
    )
    assert view.kind is OperationKind.LLM
    assert view.input_messages[0].parts[1] == MediaPart(
        mime_type="image/png", uri="https://img", modality="image"
    )
    assert view.input_messages[1].parts == (ReasoningPart("hmm"), ToolCallPart("t", "f", {"a": 1}))
    assert view.input_messages[2].parts == (ToolResultPart("t", "f", "r"),)
    assert (view.usage.input_tokens, view.usage.output_tokens) == (3, 4)


def test_errors_take_status_and_the_exception_event() -> None:
    events = (
        SpanEvent(
            "exception",
            5,
            {
                "exception.type": "ValueError",
                "exception.message": "bad",
                "exception.stacktrace": "tb",
            },
        ),
    )
    view = read_span(make_span({}, events, status="ERROR"))
    assert view.error is not None
    assert (view.error.type, view.error.message, view.error.stacktrace) == (
        "ValueError",
        "bad",
        "tb",
    )
    assert read_span(make_span({})).error is None


def test_searchable_text_holds_messages_models_and_tool_calls() -> None:
    view = read_span(
        make_span(
            {
                "llm.model_name": "gpt-4o-mini",
                "llm.input_messages.0.message.role": "user",
                "llm.input_messages.0.message.content": "zanzibar weather",
            }
        )
    )
    text = searchable_text(view)
    assert "zanzibar" in text and "gpt-4o-mini" in text


def test_evaluation_results_from_span_events_and_log_records() -> None:
    event = SpanEvent(
        "gen_ai.evaluation.result",
        1,
        {"gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.value": 0.75},
    )
    span = make_span({"gen_ai.operation.name": "chat"}, (event,))
    log = make_log(
        "gen_ai.evaluation.result",
        None,
        span.span_id,
        attributes={"gen_ai.evaluation.name": "tone", "gen_ai.evaluation.score.label": "polite"},
    )
    view = read_span(span, [log])
    assert [(e.name, e.score, e.label) for e in view.evaluations] == [
        ("relevance", 0.75, ""),
        ("tone", None, "polite"),
    ]


def test_retrieval_and_memory_search_documents() -> None:
    docs = [{"id": "d1", "score": 0.9, "content": "Paris is sunny"}, {"id": "d2"}, "odd"]
    view = read_span(
        make_span(
            {
                "gen_ai.operation.name": "retrieval",
                "gen_ai.retrieval.query.text": "paris",
                "gen_ai.retrieval.documents": json.dumps(docs),
            }
        )
    )
    assert view.kind is OperationKind.RETRIEVAL and view.query == "paris"
    assert view.documents == (Document("d1", "Paris is sunny", 0.9), Document("d2"))
    memory = read_span(
        make_span(
            {
                "gen_ai.operation.name": "search_memory",
                "gen_ai.memory.query.text": "likes",
                "gen_ai.memory.records": json.dumps([{"id": "m", "content": "tea"}]),
            }
        )
    )
    assert memory.kind is OperationKind.MEMORY
    assert (memory.query, memory.documents) == ("likes", (Document("m", "tea"),))
    openinference = read_span(
        make_span(
            {
                "openinference.span.kind": "RETRIEVER",
                "input.value": "paris",
                "retrieval.documents.0.document.id": "a",
                "retrieval.documents.0.document.content": "text",
                "retrieval.documents.0.document.score": 0.5,
                "retrieval.documents.0.document.metadata": "{}",
            }
        )
    )
    assert openinference.query == "paris"
    assert openinference.documents == (Document("a", "text", 0.5),)
    assert openinference.unread_keys == ()
