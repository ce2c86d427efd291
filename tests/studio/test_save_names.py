"""Saved trace files' names: any agent name becomes one safe name directly inside the folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from lumos_studio.replay.save import MAX_LABEL, safe_label, trace_file

HOSTILE = [
    "../../etc/passwd",
    "/etc/passwd",
    "..",
    ".",
    "",
    "a/b\\c",
    "nul\x00byte",
    "esc\x1b[2Jctl\n\r\t",
    "x" * 10_000,
    "CON",
    "com1.txt",
    ".hidden",
    "-rf",
    "名前 with spaces",
    "\u202egnp.exe",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_every_name_gives_a_plain_file_inside_the_folder(tmp_path: Path, name: str) -> None:
    path = trace_file(tmp_path / "traces", name, "20260101-120000")
    assert path.parent == tmp_path / "traces"
    assert path.resolve().parent == (tmp_path / "traces").resolve()
    label = path.name.removesuffix("-20260101-120000.jsonl")
    assert label and len(label) <= MAX_LABEL
    assert set(label) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
    assert not label.startswith((".", "-"))
    assert label.split(".")[0].lower() not in {"con", "nul", "com1"}
    path.parent.mkdir()
    path.write_text("{}\n")  # a name the file system takes
    assert [p.name for p in (tmp_path / "traces").iterdir()] == [path.name]


def test_an_ordinary_name_is_kept() -> None:
    assert safe_label("weather-v2.1_beta") == "weather-v2.1_beta"
    assert safe_label("my agent/../x") == "my-agent-.-x"
    assert safe_label(None) == "trace"
