"""OTLP/JSON codec: exact output rules, lenient input, and line-by-line file loading."""

from __future__ import annotations

import base64
import gzip
import math
from pathlib import Path
from typing import Any

import orjson
import pytest

from lumos_studio.otlp import (
    LineProblem,
    OtlpDecodeError,
    decode_trace_request,
    encode_lines,
    encode_trace_request,
    read_file,
    read_lines,
    write_file,
)
from lumos_studio.records import SpanEvent, SpanRecord

TRACE_ID = "5b8efff798038103d269b633813fc60c"
ROOT_ID = "eee19b7ec3c1b173"
CHILD_ID = "eee19b7ec3c1b174"
RESOURCE = {"service.name": "demo", "service.instance.id": "i-1"}


def make_span(**overrides: Any) -> SpanRecord:
    """A finished child span with a bit of everything; override what a test is about."""
    fields: dict[str, Any] = {
        "trace_id": TRACE_ID,
        "span_id": CHILD_ID,
        "parent_span_id": ROOT_ID,
        "name": "chat scripted",
        "start_ns": 1_700_000_000_000_000_000,
        "end_ns": 1_700_000_001_500_000_000,
        "kind": "CLIENT",
        "status_code": "ERROR",
        "status_message": "boom",
        "attributes": {
            "gen_ai.operation.name": "chat",
            "gen_ai.usage.input_tokens": 42,
            "big": 2**62,
            "negative": -7,
            "ratio": 0.25,
            "whole_float": 3.0,
            "stream": True,
            "off": False,
            "tags": ["a", "b"],
            "mixed": [1, "two", 3.5, None, [True]],
            "empty_list": [],
            "empty_map": {},
            "nested": {"role": "user", "parts": [{"type": "text", "n": 1}], "meta": {"k": None}},
        },
        "events": (
            SpanEvent("exception", 1_700_000_000_500_000_000, {"exception.type": "ValueError"}),
            SpanEvent("note", 1_700_000_000_600_000_000),
        ),
        "resource": RESOURCE,
        "scope_name": "lumos_core",
        "scope_version": "0.1.0",
    }
    fields.update(overrides)
    return SpanRecord(**fields)


def make_root(**overrides: Any) -> SpanRecord:
    fields: dict[str, Any] = {
        "span_id": ROOT_ID,
        "parent_span_id": None,
        "name": "invoke_agent demo",
        "kind": "INTERNAL",
        "status_code": "UNSET",
        "status_message": "",
        "attributes": {},
        "events": (),
    }
    fields.update(overrides)
    return make_span(**fields)


def first_span(request: dict[str, Any]) -> dict[str, Any]:
    return request["resourceSpans"][0]["scopeSpans"][0]["spans"][0]  # type: ignore[no-any-return]


def request_with(span: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A minimal request around one hand-written span JSON object."""
    scope_spans = {"scope": {"name": "x"}, "spans": [span]}
    return {"resourceSpans": [{"resource": {}, "scopeSpans": [scope_spans], **extra}]}


def minimal_span(**fields: Any) -> dict[str, Any]:
    span: dict[str, Any] = {"traceId": TRACE_ID, "spanId": CHILD_ID, "name": "s"}
    span.update(fields)
    return span


# ------------------------------------------------------------------------------------ round trip


def test_round_trip_through_json_lines() -> None:
    running = make_span(span_id="00000000000000aa", end_ns=None, name="still going")
    other_resource = make_span(
        trace_id="0" * 31 + "1", span_id="1" * 16, parent_span_id=None, resource={"a": 1}
    )
    other_scope = make_span(span_id="2" * 16, scope_name="other", scope_version="")
    records = [make_root(), make_span(), running, other_resource, other_scope]

    lines = list(encode_lines(records, batch_size=2))

    assert len(lines) == 3
    assert all(line.endswith("\n") and line.count("\n") == 1 for line in lines)
    decoded = [record for line in read_lines(lines) for record in line.spans]
    assert sorted(decoded, key=lambda r: r.span_id) == sorted(records, key=lambda r: r.span_id)


def test_round_trip_keeps_values_and_types() -> None:
    record = make_span()
    [back] = decode_trace_request(orjson.loads(orjson.dumps(encode_trace_request([record]))))
    assert back == record
    assert type(back.attributes["whole_float"]) is float
    assert type(back.attributes["stream"]) is bool
    assert back.attributes["mixed"] == [1, "two", 3.5, None, [True]]
    assert back.running is False


def test_running_span_has_no_end_time_and_reads_back_running() -> None:
    request = encode_trace_request([make_span(end_ns=None)])
    assert "endTimeUnixNano" not in first_span(request)
    [back] = decode_trace_request(request)
    assert back.running and back.end_ns is None
    [zero_end] = decode_trace_request(request_with(minimal_span(endTimeUnixNano="0")))
    assert zero_end.end_ns is None


def test_non_finite_doubles_use_proto3_spelling() -> None:
    request = encode_trace_request([make_root(attributes={"a": math.inf, "b": -math.inf})])
    values = [kv["value"] for kv in first_span(request)["attributes"]]
    assert values == [{"doubleValue": "Infinity"}, {"doubleValue": "-Infinity"}]
    [back] = decode_trace_request(orjson.loads(orjson.dumps(request)))
    assert back.attributes == {"a": math.inf, "b": -math.inf}


# -------------------------------------------------------------------------------- output rules


def test_output_follows_otlp_json_rules() -> None:
    request = encode_trace_request([make_root(trace_id=TRACE_ID.upper()), make_span()])

    [resource_spans] = request["resourceSpans"]
    assert resource_spans["resource"]["attributes"] == [
        {"key": "service.name", "value": {"stringValue": "demo"}},
        {"key": "service.instance.id", "value": {"stringValue": "i-1"}},
    ]
    [scope_spans] = resource_spans["scopeSpans"]
    assert scope_spans["scope"] == {"name": "lumos_core", "version": "0.1.0"}
    root, child = scope_spans["spans"]

    assert root["traceId"] == TRACE_ID
    assert "parentSpanId" not in root
    assert root["kind"] == 1
    assert root["status"] == {}
    assert "attributes" not in root and "events" not in root

    assert child["spanId"] == CHILD_ID and child["parentSpanId"] == ROOT_ID
    assert child["kind"] == 3
    assert child["status"] == {"code": 2, "message": "boom"}
    assert child["startTimeUnixNano"] == "1700000000000000000"
    assert child["endTimeUnixNano"] == "1700000001500000000"
    assert child["events"][0] == {
        "timeUnixNano": "1700000000500000000",
        "name": "exception",
        "attributes": [{"key": "exception.type", "value": {"stringValue": "ValueError"}}],
    }
    assert child["events"][1] == {"timeUnixNano": "1700000000600000000", "name": "note"}
    attributes = {kv["key"]: kv["value"] for kv in child["attributes"]}
    assert attributes["gen_ai.usage.input_tokens"] == {"intValue": "42"}
    assert attributes["big"] == {"intValue": str(2**62)}
    assert attributes["ratio"] == {"doubleValue": 0.25}
    assert attributes["stream"] == {"boolValue": True}
    assert attributes["tags"] == {
        "arrayValue": {"values": [{"stringValue": "a"}, {"stringValue": "b"}]}
    }
    assert attributes["empty_list"] == {"arrayValue": {}}
    assert attributes["empty_map"] == {"kvlistValue": {}}
    assert attributes["nested"]["kvlistValue"]["values"][0] == {
        "key": "role",
        "value": {"stringValue": "user"},
    }
    assert attributes["mixed"]["arrayValue"]["values"][3] == {}


def test_every_key_is_lower_camel_case() -> None:
    def keys(node: Any) -> set[str]:
        if isinstance(node, dict):
            found = set(node)
            for key, value in node.items():
                if key != "key":
                    found |= keys(value)
            return found
        if isinstance(node, list):
            return set().union(*(keys(item) for item in node)) if node else set()
        return set()

    request = encode_trace_request([make_span()])
    assert not {key for key in keys(request) if "_" in key}


@pytest.mark.parametrize(
    ("kind", "code"),
    [("INTERNAL", 1), ("SERVER", 2), ("CLIENT", 3), ("PRODUCER", 4), ("CONSUMER", 5)],
)
def test_span_kinds_are_integers(kind: str, code: int) -> None:
    assert first_span(encode_trace_request([make_root(kind=kind)]))["kind"] == code


def test_records_are_grouped_by_resource_then_scope() -> None:
    records = [
        make_root(),
        make_span(scope_name="other"),
        make_span(span_id="3" * 16, resource={"service.name": "two"}),
        make_span(span_id="4" * 16, resource=dict(RESOURCE)),  # equal, not the same object
    ]
    request = encode_trace_request(records)
    assert [len(rs["scopeSpans"]) for rs in request["resourceSpans"]] == [2, 1]
    first_scope = request["resourceSpans"][0]["scopeSpans"][0]
    assert [span["spanId"] for span in first_scope["spans"]] == [ROOT_ID, "4" * 16]


def test_int_outside_int64_is_kept_as_digits() -> None:
    request = encode_trace_request([make_root(attributes={"huge": 2**70})])
    assert first_span(request)["attributes"][0]["value"] == {"stringValue": str(2**70)}


def test_encode_lines_rejects_empty_batches() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        list(encode_lines([make_root()], batch_size=0))


def test_unknown_kind_on_a_record_is_a_bug() -> None:
    with pytest.raises(ValueError, match="span kind"):
        encode_trace_request([make_root(kind="client")])


# --------------------------------------------------------------------------------- lenient input


def test_uppercase_hex_ids_are_normalised() -> None:
    span = minimal_span(
        traceId=TRACE_ID.upper(), spanId=CHILD_ID.upper(), parentSpanId=ROOT_ID.upper()
    )
    [record] = decode_trace_request(request_with(span))
    assert (record.trace_id, record.span_id, record.parent_span_id) == (TRACE_ID, CHILD_ID, ROOT_ID)


def test_base64_ids_are_accepted() -> None:
    def b64(hex_id: str, *, padded: bool = True, urlsafe: bool = False) -> str:
        encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
        text = encode(bytes.fromhex(hex_id)).decode()
        return text if padded else text.rstrip("=")

    trace_id = "fbffffff98038103d269b633813fc60c"  # has bytes that differ in URL-safe base64
    span = minimal_span(
        traceId=b64(trace_id, urlsafe=True),
        spanId=b64(CHILD_ID, padded=False),
        parentSpanId=b64(ROOT_ID),
    )
    [record] = decode_trace_request(request_with(span))
    assert (record.trace_id, record.span_id, record.parent_span_id) == (trace_id, CHILD_ID, ROOT_ID)


def test_int64_as_numbers_and_enums_as_names() -> None:
    span = minimal_span(
        startTimeUnixNano=1_700_000_000_000_000_000,
        endTimeUnixNano=1_700_000_000_000_000_123,
        kind="SPAN_KIND_SERVER",
        status={"code": "STATUS_CODE_OK"},
        attributes=[
            {"key": "n", "value": {"intValue": 5}},
            {"key": "d", "value": {"doubleValue": 2}},
        ],
        events=[{"timeUnixNano": 7, "name": "e"}],
    )
    [record] = decode_trace_request(request_with(span))
    assert record.start_ns == 1_700_000_000_000_000_000
    assert record.duration_ns == 123
    assert (record.kind, record.status_code) == ("SERVER", "OK")
    assert record.attributes == {"n": 5, "d": 2.0}
    assert type(record.attributes["d"]) is float
    assert record.events == (SpanEvent("e", 7),)


def test_missing_optional_fields_take_defaults() -> None:
    [record] = decode_trace_request(
        {"resourceSpans": [{"scopeSpans": [{"spans": [minimal_span()]}]}]}
    )
    assert record == SpanRecord(
        trace_id=TRACE_ID,
        span_id=CHILD_ID,
        parent_span_id=None,
        name="s",
        start_ns=0,
        end_ns=None,
    )


def test_empty_or_zero_parent_means_root() -> None:
    for parent in ("", "0" * 16):
        [record] = decode_trace_request(request_with(minimal_span(parentSpanId=parent)))
        assert record.parent_span_id is None


def test_unknown_fields_are_ignored() -> None:
    span = minimal_span(
        traceState="k=v",
        flags=257,
        droppedAttributesCount=3,
        links=[{"traceId": TRACE_ID, "spanId": ROOT_ID}],
        attributes=[{"key": "future", "value": {"someNewValue": 1}}],
        status={"code": 0, "deprecatedCode": 1},
    )
    request = request_with(span, schemaUrl="https://opentelemetry.io/schemas/1.26.0")
    request["extra"] = True
    [record] = decode_trace_request(request)
    assert record.attributes == {"future": None}


def test_snake_case_keys_are_accepted() -> None:
    request = {
        "resource_spans": [
            {
                "resource": {"attributes": [{"key": "k", "value": {"string_value": "v"}}]},
                "scope_spans": [
                    {
                        "scope": {"name": "s", "version": "1"},
                        "spans": [
                            {
                                "trace_id": TRACE_ID,
                                "span_id": CHILD_ID,
                                "parent_span_id": ROOT_ID,
                                "name": "n",
                                "start_time_unix_nano": "5",
                                "end_time_unix_nano": "9",
                                "events": [{"time_unix_nano": "6", "name": "e"}],
                            }
                        ],
                    }
                ],
            }
        ]
    }
    [record] = decode_trace_request(request)
    assert (record.resource, record.scope_version, record.duration_ns) == ({"k": "v"}, "1", 4)
    assert record.events == (SpanEvent("e", 6),)


def test_bytes_values_stay_bytes() -> None:
    request = encode_trace_request([make_root(attributes={"blob": b"\x00\xff"})])
    value = first_span(request)["attributes"][0]["value"]
    assert value == {"bytesValue": "AP8="}
    [record] = decode_trace_request(request)
    assert record.attributes == {"blob": b"\x00\xff"}  # written back as bytesValue, not text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("traceId", TRACE_ID[:-2]),
        ("traceId", TRACE_ID + "00"),
        ("traceId", "z" * 32),
        ("traceId", "0" * 32),
        ("traceId", ""),
        ("traceId", 12),
        ("spanId", CHILD_ID[:-1]),
        ("spanId", CHILD_ID[:12]),  # hex digits only: never mistaken for base64
        ("spanId", base64.b64encode(bytes.fromhex(TRACE_ID)).decode()),
        ("parentSpanId", "xyz"),
    ],
)
def test_invalid_ids_name_the_field(field: str, value: Any) -> None:
    with pytest.raises(OtlpDecodeError, match=rf"spans\[0\]: {field}: "):
        decode_trace_request(request_with(minimal_span(**{field: value})))


@pytest.mark.parametrize(
    ("span", "message"),
    [
        (minimal_span(kind=9), "kind"),
        (minimal_span(kind="SIDEWAYS"), "kind"),
        (minimal_span(status={"code": "MAYBE"}), "status.code"),
        (minimal_span(startTimeUnixNano="soon"), "startTimeUnixNano"),
        (minimal_span(attributes=[{"key": "b", "value": {"boolValue": "yes"}}]), "boolValue"),
        (minimal_span(attributes={"key": "v"}), "expected a list"),
        (minimal_span(events=[{"name": 3}]), "events.name"),
        (minimal_span(status="bad"), "expected an object"),
    ],
)
def test_wrong_shapes_raise_decode_errors(span: dict[str, Any], message: str) -> None:
    with pytest.raises(OtlpDecodeError, match=message):
        decode_trace_request(request_with(span))


def test_wrong_request_shapes_raise_decode_errors() -> None:
    with pytest.raises(OtlpDecodeError, match="JSON object"):
        decode_trace_request([])
    with pytest.raises(OtlpDecodeError, match="resourceSpans"):
        decode_trace_request({"resourceSpans": {}})
    with pytest.raises(OtlpDecodeError, match=r"resourceSpans\[0\]: "):
        decode_trace_request({"resourceSpans": ["nope"]})
    with pytest.raises(OtlpDecodeError, match=r"scopeSpans\[0\]: scope.name"):
        decode_trace_request({"resourceSpans": [{"scopeSpans": [{"scope": {"name": 1}}]}]})


# ------------------------------------------------------------------------------------- files


def test_corrupt_lines_are_reported_and_the_rest_loads() -> None:
    good = list(encode_lines([make_root(), make_span()], batch_size=1))
    lines: list[str | bytes] = [
        good[0],
        '{"resourceSpans": [\n',  # cut off
        "\n",
        '{"resourceLogs": []}\n',  # another signal: skipped, not a problem
        '{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "abc"}]}]}]}\n',
        "[1, 2]\n",
        '{"hello": "world"}\n',
        "{}\n",
        good[1].encode(),
    ]
    reader = read_lines(lines)
    decoded = list(reader)

    assert [(d.line_number, [r.span_id for r in d.spans]) for d in decoded] == [
        (1, [ROOT_ID]),
        (9, [CHILD_ID]),
    ]
    assert [problem.line_number for problem in reader.problems] == [2, 5, 6, 7]
    assert reader.problems[0].message.startswith("invalid JSON")
    assert "traceId: invalid id 'abc'" in reader.problems[1].message
    assert "JSON object" in reader.problems[2].message
    assert "not an OTLP export request" in reader.problems[3].message


def test_read_file_plain_and_gzip(tmp_path: Path) -> None:
    records = [make_root(), make_span(), make_span(span_id="5" * 16, end_ns=None)]
    text = "".join(encode_lines(records, batch_size=2))
    plain = tmp_path / "trace.jsonl"
    plain.write_text(text)
    zipped = tmp_path / "trace.jsonl.gz"  # the name does not decide; the magic bytes do
    zipped.write_bytes(gzip.compress(text.encode()))
    misnamed = tmp_path / "really-gzip.jsonl"
    misnamed.write_bytes(gzip.compress(text.encode()))

    for path in (plain, zipped, misnamed):
        assert read_file(path) == (records, [])


def test_write_file_compresses_by_name_and_reads_back(tmp_path: Path) -> None:
    records = [make_root(), make_span()]
    for name, compress, gzipped in [
        ("a.jsonl", None, False),
        ("a.jsonl.gz", None, True),
        ("b.jsonl", True, True),
    ]:
        path = tmp_path / name
        assert write_file(path, iter(records), batch_size=1, compress=compress) == 2
        assert path.read_bytes().startswith(b"\x1f\x8b") is gzipped
        assert read_file(path) == (records, [])
    assert len((tmp_path / "a.jsonl").read_text().splitlines()) == 2


def test_read_file_reports_corrupt_line_with_number(tmp_path: Path) -> None:
    first, second = encode_lines([make_root(), make_span()], batch_size=1)
    path = tmp_path / "trace.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + first.encode() + b"not json\n" + second.encode())

    records, problems = read_file(path)

    assert [r.span_id for r in records] == [ROOT_ID, CHILD_ID]
    assert len(problems) == 1 and problems[0].line_number == 2
    assert problems[0] == (2, problems[0].message)
    assert isinstance(problems[0], LineProblem)


def test_truncated_gzip_keeps_what_was_read(tmp_path: Path) -> None:
    lines = list(
        encode_lines([make_span(span_id=f"{n:016x}") for n in range(1, 201)], batch_size=1)
    )
    data = gzip.compress("".join(lines).encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) - 20])

    records, problems = read_file(path)

    assert 0 < len(records) < 200
    [problem] = problems
    assert problem.line_number >= len(records) and "the file is cut short" in problem.message
