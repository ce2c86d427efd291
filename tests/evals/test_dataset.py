"""Datasets from JSONL files and from Python, and the mistakes they are refused for."""

from __future__ import annotations

from pathlib import Path

import pytest

from lumos_core.evals import Case, Dataset, DatasetError


def test_jsonl_lines_become_cases_numbered_by_line(tmp_path: Path) -> None:
    path = tmp_path / "weather.jsonl"
    path.write_text('{"id": "paris", "input": "weather in Paris?", "expected": "Paris"}\n'
                    "\n"
                    '{"input": {"city": "Rome"}, "metadata": {"tags": ["eu"]}}\n')
    dataset = Dataset.from_jsonl(path)
    assert dataset.name == "weather"
    assert [c.id for c in dataset] == ["paris", "3"]
    assert dataset.cases[1] == Case({"city": "Rome"}, None, {"tags": ["eu"]}, "3")


@pytest.mark.parametrize(("line", "message"), [
    ("not json", "weather.jsonl:1: not JSON"),
    ("[1, 2]", "a case is a JSON object"),
    ('{"expected": "x"}', 'needs an "input"'),
    ('{"input": "x", "output": "y"}', "unknown key(s) ['output']"),
    ('{"input": "x", "metadata": 3}', '"metadata" must be an object'),
])
def test_a_bad_line_is_named(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "weather.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(DatasetError, match=None) as caught:
        Dataset.from_jsonl(path)
    assert message in str(caught.value)


def test_duplicate_ids_and_empty_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="'a' appears twice"):
        Dataset.from_cases("d", [{"id": "a", "input": 1}, {"id": "a", "input": 2}])
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(DatasetError, match="holds no cases"):
        Dataset.from_jsonl(empty)
    with pytest.raises(DatasetError, match="cannot read"):
        Dataset.from_jsonl(tmp_path / "missing.jsonl")


def test_select_keeps_the_dataset_order() -> None:
    dataset = Dataset.from_cases("d", [Case(i, id=str(i)) for i in range(5)])
    assert [c.id for c in dataset.select(["3", "1"])] == ["1", "3"]
