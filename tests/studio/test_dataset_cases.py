"""Runs kept as evaluation cases (``dataset_cases``): a trace of any dialect (captured from the
real instrumentation packages) as a case, and cases appended to a dataset file that
``Dataset.from_jsonl`` then reads; a file that is no dataset, or a taken id, writes nothing."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import orjson
import pytest

from lumos_core.evals import Dataset, DatasetError
from lumos_studio.dataset_cases import (
    LeftOut,
    LeftOutKind,
    RunCase,
    append_cases,
    case_of_trace,
    dataset_path,
    parse_cases,
)
from lumos_studio.display import editor_json
from lumos_studio.otlp import read_records
from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.store import Store
from tests.builders import T0, make_span, weather_trace
from tests.evals.agents import weather_agent
from tests.evals.experiment_store import record_experiment
from tests.hostile import CORPUS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dialects"
TRACES = Path(__file__).resolve().parents[2] / "traces"


def _traces(path: Path) -> list[tuple[list[SpanRecord], list[LogRecord]]]:
    records = read_records(path)
    by_trace: dict[str, list[SpanRecord]] = defaultdict(list)
    for span in records.spans:
        by_trace[span.trace_id].append(span)
    return [(spans, [log for log in records.logs if log.trace_id == trace_id])
            for trace_id, spans in by_trace.items()]


@pytest.mark.parametrize("name", sorted(p.stem for p in FIXTURES.glob("*.jsonl")))
def test_a_run_of_every_dialect_is_a_case_a_dataset_takes(name: str) -> None:
    traces = _traces(FIXTURES / f"{name}.jsonl")
    runs = [run for run in (case_of_trace(*trace) for trace in traces)
            if isinstance(run, RunCase)]
    assert runs, f"no run of {name} became a case"
    dataset = Dataset.from_cases(name, [run.case for run in runs])
    for case in dataset:
        assert isinstance(case.input, str) and case.input
        assert case.metadata["trace_id"]
        for tool in case.metadata.get("expected_tools", ()):
            assert tool["name"]


def test_the_weather_run_keeps_its_question_answer_and_tool_call() -> None:
    run = case_of_trace(weather_trace())
    assert isinstance(run, RunCase)
    assert run.name == "weather"
    assert run.case == {
        "id": "weather-0af76519", "input": "weather in Paris?",
        "expected": "Sunny, 18 °C in Paris.",
        "metadata": {"trace_id": "0af7651916cd43dd8448eb211c80319c",
                     "expected_tools": [{"name": "get_weather", "arguments": {"city": "Paris"}}]},
    }
    assert dataset_path(run.name) == Path("datasets/weather.jsonl")


def test_a_run_with_no_question_and_an_experiment_say_why_no_case_is_made(
    store: Store,
) -> None:
    cron = [make_span("cron job", trace_id="3cf7651916cd43dd8448eb211c80319c")]
    assert case_of_trace(cron) == LeftOut(cron[0].trace_id, LeftOutKind.NO_USER_MESSAGE)
    experiment = record_experiment(store, "weather v1", weather_agent(), T0)
    left = case_of_trace(store.reader.trace_spans(experiment))
    assert left == LeftOut(experiment, LeftOutKind.EXPERIMENT, "weather")
    assert left.reason == "an experiment on weather: its cases are that dataset's already"


def test_appended_cases_are_read_back_and_a_file_without_its_last_newline_keeps_its_lines(
    tmp_path: Path,
) -> None:
    path = tmp_path / "new" / "weather.jsonl"
    assert append_cases(path, [{"id": "a", "input": "one"}]) == 1
    path.write_bytes(path.read_bytes().rstrip(b"\n"))  # as an editor may leave it
    assert append_cases(path, [{"id": "b", "input": "two", "expected": "2"},
                               {"id": "c", "input": "three"}]) == 3
    dataset = Dataset.from_jsonl(path)
    assert [(c.id, c.input, c.expected) for c in dataset] == [
        ("a", "one", None), ("b", "two", "2"), ("c", "three", None)]


@pytest.mark.parametrize("existing, cases, said", [
    ('{"id": "a", "input": "x"}\n', [{"id": "a", "input": "y"}], "already holds a case 'a'"),
    ("", [{"id": "a", "input": "x"}, {"id": "a", "input": "y"}], "the same id"),
    ('{"id": "a", "input": "x"}\nnot json\n', [{"id": "b", "input": "y"}], ":2: not JSON"),
    ('{"question": "x"}\n', [{"id": "b", "input": "y"}], 'needs an "input"'),
])
def test_a_file_that_is_no_dataset_or_a_taken_id_writes_nothing(
    tmp_path: Path, existing: str, cases: list[dict[str, str]], said: str,
) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(existing)
    with pytest.raises(DatasetError, match=said):
        append_cases(path, cases)
    assert path.read_text() == existing


def test_a_folder_where_the_file_should_be_is_an_os_error(tmp_path: Path) -> None:
    (tmp_path / "cases.jsonl").mkdir()
    with pytest.raises(OSError):
        append_cases(tmp_path / "cases.jsonl", [{"input": "x"}])


@pytest.mark.parametrize("text, said", [
    ("", "no case to add"),
    ("{not json", "line 1: not JSON"),
    ('{"input": "x"}\n[1]', "line 2: a case is a JSON object"),
    ('{"expected": "x"}', 'line 1: a case needs an "input"'),
    ('{"input": "x", "answer": 1}', "unknown key(s) ['answer']"),
    ('{"input": "x", "metadata": 3}', '"metadata" must be an object'),
])
def test_what_is_wrong_with_the_edited_lines_is_said(text: str, said: str) -> None:
    answer = parse_cases(text)
    assert isinstance(answer, str)
    assert said in answer


@pytest.mark.parametrize("name", sorted(n for n in CORPUS if "surrogate" not in n))
def test_hostile_text_is_escaped_in_the_editor_and_stored_as_it_was(
    name: str, tmp_path: Path,
) -> None:
    text = CORPUS[name]
    case = {"id": "x", "input": text, "expected": text}
    line = editor_json(case, indent=None)
    assert "\n" not in line and "\x1b" not in line and "\u202e" not in line
    parsed = parse_cases(line)
    assert isinstance(parsed, list)
    path = tmp_path / "cases.jsonl"
    append_cases(path, parsed)
    assert orjson.loads(path.read_bytes().splitlines()[0])["input"] == text
