"""Datasets: the cases an experiment runs, from a JSONL file or from Python.

One case per line of a ``.jsonl`` file::

    {"id": "paris", "input": "weather in Paris?", "expected": "Paris",
     "metadata": {"expected_tools": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}}

Only ``input`` is required; ``id`` defaults to the line number. YAML is not read: the core
depends on no YAML library, and JSONL is what the studio exports and any tool can write.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

__all__ = ["Case", "Dataset", "DatasetError"]


class DatasetError(ValueError):
    """A dataset file could not be read; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Case:
    """One example: what the task is given, what a good answer looks like, and anything else
    a scorer may use (``metadata["expected_tools"]`` for the trajectory scorer)."""

    input: Any
    expected: Any = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    id: str = ""


@dataclass(frozen=True, slots=True)
class Dataset:
    """A named, ordered collection of cases with unique ids."""

    name: str
    cases: tuple[Case, ...]

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise DatasetError("a dataset needs a non-empty name")
        seen: set[str] = set()
        for case in self.cases:
            if case.id in seen:
                raise DatasetError(f"dataset {self.name!r}: case id {case.id!r} appears twice")
            seen.add(case.id)

    @classmethod
    def from_cases(cls, name: str, cases: Iterable[Case | Mapping[str, Any]]) -> Dataset:
        """Cases given as ``Case`` or as dicts (like JSONL lines); missing ids are numbered."""
        built = [c if isinstance(c, Case) else _case(c, f"case {i}") for i, c in
                 enumerate(cases, 1)]
        return cls(name, tuple(
            c if c.id else Case(c.input, c.expected, c.metadata, str(i))
            for i, c in enumerate(built, 1)
        ))

    @classmethod
    def from_jsonl(cls, path: str | os.PathLike[str], name: str | None = None) -> Dataset:
        """Read one case per line (blank lines skipped); ``name`` defaults to the file's stem."""
        source = Path(path)
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise DatasetError(f"cannot read {source}: {exc.strerror or exc}") from None
        return cls.from_jsonl_bytes(data, source, name)

    @classmethod
    def from_jsonl_bytes(cls, data: bytes, source: Path, name: str | None = None) -> Dataset:
        """``from_jsonl`` of a file's bytes already read; ``source`` names the file."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise DatasetError(f"{source} is not UTF-8 text") from None
        cases = []
        for number, value in case_lines(text, lambda number: f"{source}:{number}"):
            case = _case(value, f"{source}:{number}")
            cases.append(case if case.id else Case(case.input, case.expected, case.metadata,
                                                   str(number)))
        if not cases:
            raise DatasetError(f"{source} holds no cases")
        return cls(name or source.stem, tuple(cases))

    def __iter__(self) -> Iterator[Case]:
        return iter(self.cases)

    def __len__(self) -> int:
        return len(self.cases)

    def select(self, ids: Sequence[str]) -> Dataset:
        """Only the cases with these ids (in the dataset's order)."""
        wanted = set(ids)
        return Dataset(self.name, tuple(c for c in self.cases if c.id in wanted))


def case_lines(text: str, where: Callable[[int], str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each non-blank line of JSONL ``text`` with its number, as the JSON object it must be;
    ``DatasetError`` names the first line that is not one (``where`` says how to name it)."""
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise DatasetError(f"{where(number)}: not JSON ({exc})") from None
        if not isinstance(value, dict):
            raise DatasetError(f"{where(number)}: a case is a JSON object with an \"input\"")
        yield number, value


def check_case(value: Mapping[str, Any], where: str) -> None:
    """Raise ``DatasetError`` (naming ``where``) unless ``value`` is a case as a file holds one."""
    _case(value, where)


def _case(value: Mapping[str, Any], where: str) -> Case:
    if "input" not in value:
        raise DatasetError(f"{where}: a case needs an \"input\"")
    unknown = set(value) - {"id", "input", "expected", "metadata"}
    if unknown:
        raise DatasetError(f"{where}: unknown key(s) {sorted(unknown)}; a case has id, input, "
                           "expected and metadata")
    metadata = value.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        raise DatasetError(f"{where}: \"metadata\" must be an object")
    case_id = value.get("id")
    return Case(value["input"], value.get("expected"), dict(metadata),
                "" if case_id is None else str(case_id))
