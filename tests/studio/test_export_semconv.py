"""``export --semconv latest`` writes any dialect as current OTel GenAI attributes (issue 14):
re-imported, an OpenInference trace reads as a GenAI conversation; plain export is unchanged."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from lumos_studio.cli import cli
from lumos_studio.otlp.files import read_records
from lumos_studio.semantics import Dialect, OperationKind, message_text, read_span

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dialects"


def export_latest(tmp_path: Path, fixture: str, *extra: str) -> Path:
    db, out = tmp_path / "studio.db", tmp_path / "latest.jsonl"
    ran = CliRunner().invoke(cli, ["--db", str(db), "import", str(FIXTURES / fixture)])
    assert ran.exit_code == 0, ran.output
    ran = CliRunner().invoke(
        cli, ["--db", str(db), "export", "--all", "-o", str(out), "--semconv", "latest", *extra]
    )
    assert ran.exit_code == 0, ran.output
    return out


def test_an_openinference_trace_exported_as_latest_reads_as_genai(tmp_path: Path) -> None:
    out = export_latest(tmp_path, "openinference-openai.jsonl")
    spans = read_records(out).spans
    llm = []
    for span in spans:
        genai_only = {k: v for k, v in span.attributes.items() if k.startswith("gen_ai.")}
        view = read_span(replace(span, attributes=genai_only))  # read from gen_ai.* alone
        if view.kind is OperationKind.LLM:
            llm.append(view)
            assert Dialect.GENAI in view.dialects
    assert len(llm) == 4  # two model calls in each of the two turns
    first = llm[0]
    assert first.request_model.startswith("gpt-4o-mini")
    assert first.usage.input_tokens == 100 and first.usage.output_tokens == 17
    assert [m.role for m in first.input_messages] == ["system", "user"]
    assert "Paris" in message_text(first.input_messages[1])
    call = first.output_messages[0].parts[0]
    assert (call.name, call.arguments) == ("get_weather", {"city": "Paris"})
    answers = [message_text(m) for view in llm for m in view.output_messages]
    assert any("partly cloudy in Paris" in answer for answer in answers)
    # What was there is kept beside the GenAI attributes.
    assert any("llm.input_messages.0.message.role" in span.attributes for span in spans)


@pytest.mark.parametrize("fixture", ["openllmetry-events.jsonl", "vercel-ai-sdk.jsonl"])
def test_event_and_ai_sdk_forms_get_genai_messages_too(tmp_path: Path, fixture: str) -> None:
    spans = read_records(export_latest(tmp_path, fixture)).spans
    with_messages = [s for s in spans if "gen_ai.input.messages" in s.attributes]
    assert with_messages
    assert all(s.attributes.get("gen_ai.operation.name") for s in with_messages)
