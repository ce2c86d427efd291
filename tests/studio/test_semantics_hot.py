"""``semantics.hot``: the store's columns read the same from a span's attributes as a dict and
from the protobuf decoder's few hot values, for every captured dialect."""

from __future__ import annotations

from pathlib import Path

import pytest

from lumos_studio.otlp.files import read_records
from lumos_studio.otlp.proto_codec import decode_trace_request_proto
from lumos_studio.otlp.proto_encode import encode_trace_request_proto
from lumos_studio.otlp.proto_span import RawAttributes
from lumos_studio.semantics.hot import HOT_KEYS, hot_fields

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dialects"


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.jsonl")), ids=lambda p: p.stem)
def test_hot_fields_agree_between_dicts_and_encoded_spans(fixture: Path) -> None:
    spans = read_records(fixture).spans
    decoded = decode_trace_request_proto(encode_trace_request_proto(spans))
    assert len(decoded) == len(spans)
    by_id = {span.span_id: span for span in spans}
    for encoded in decoded:
        attributes = by_id[encoded.span_id].attributes
        raw = encoded.attributes
        if isinstance(raw, RawAttributes):
            assert hot_fields(raw.hot.get) == hot_fields(attributes.get)
            # A hot key the decoder did not need still reads from the span's bytes.
            for key in HOT_KEYS:
                assert raw.get(key) == attributes.get(key), key


def test_an_openinference_llm_span_is_a_chat_with_its_tokens_and_model() -> None:
    fields = hot_fields({
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o-mini-2024-07-18",
        "llm.token_count.prompt": 100,
        "llm.token_count.completion": 17,
        "session.id": "s1",
    }.get)
    assert fields == ("chat", None, "gpt-4o-mini-2024-07-18", None, 100, 17, "s1")


def test_older_and_ai_sdk_names() -> None:
    assert hot_fields({"gen_ai.usage.prompt_tokens": 5, "gen_ai.usage.completion_tokens": 2,
                       "gen_ai.operation.name": "chat"}.get)[4:6] == (5, 2)
    ai = hot_fields({"ai.operationId": "ai.generateText.doGenerate", "ai.model.id": "m",
                     "ai.usage.inputTokens": 3, "ai.usage.outputTokens": 4}.get)
    assert (ai.operation, ai.model, ai.input_tokens, ai.output_tokens) == ("chat", "m", 3, 4)
    outer = hot_fields({"ai.operationId": "ai.generateText"}.get)
    assert outer.operation == "invoke_agent"  # its usage is the calls' sum: not a chat
