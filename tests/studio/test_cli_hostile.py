"""Every command prints hostile stored text literally: no crash, no escape reaches the terminal."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lumos_studio.cli import cli
from lumos_studio.store import Store
from tests.builders import weather_trace
from tests.hostile import (
    CLEAR_SCREEN,
    FORBIDDEN,
    HOSTILE_TRACE,
    MARKUP_CLOSE,
    STORABLE,
    VISIBLE,
    bad_otlp_lines,
    hostile_logs,
    hostile_spans,
)

WEATHER_TRACE = "0af7651916cd43dd8448eb211c80319c"


def invoke(db: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", str(db), *args], catch_exceptions=False)


def assert_safe(result: Result) -> None:
    """Nothing in what a command printed acts on a terminal."""
    for stream in (result.stdout, result.stderr):
        found = [char for char in FORBIDDEN if char in stream]
        assert not found, f"{found} in {stream[:2000]!r}"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "studio.db"
    with Store(path) as store:
        store.writer.submit_many([*hostile_spans(), *hostile_logs(), *weather_trace()])
        store.writer.flush()
    return path


def test_traces_lists_hostile_names_literally(db: Path) -> None:
    listed = invoke(db, "traces")
    assert listed.exit_code == 0, listed.output
    assert_safe(listed)
    assert f"invoke_agent {MARKUP_CLOSE}" in listed.stdout


def test_show_prints_every_hostile_span_name_visibly(db: Path) -> None:
    shown = invoke(db, "show", HOSTILE_TRACE[:28])
    assert shown.exit_code == 0, shown.output
    assert_safe(shown)
    for key in STORABLE:
        assert VISIBLE[key] in shown.stdout, key
    assert "a␛[2J b" in shown.stdout and "␛]52;c;SGVsbG8=␇" in shown.stdout


def test_compare_summary_prints_the_changed_hostile_spans(db: Path) -> None:
    compared = invoke(db, "compare", WEATHER_TRACE, HOSTILE_TRACE, "--summary")
    assert compared.exit_code == 0, compared.output
    assert_safe(compared)
    assert f"added    {VISIBLE['markup_close']}" in compared.stdout
    assert VISIBLE["osc52"] in compared.stdout


def test_an_error_quoting_what_was_typed_is_plain_text(db: Path) -> None:
    missing = invoke(db, "show", f"{MARKUP_CLOSE}{CLEAR_SCREEN}")
    assert missing.exit_code == 1
    assert_safe(missing)
    assert "no trace starting with '[/] xa" in missing.stderr


def test_import_warnings_quote_bad_lines_plainly_and_export_import_keeps_names(
    db: Path, tmp_path: Path
) -> None:
    exported = tmp_path / "hostile [/] x.jsonl"
    wrote = invoke(db, "export", "--trace", HOSTILE_TRACE, "-o", str(exported))
    assert wrote.exit_code == 0, wrote.output
    assert_safe(wrote)
    assert "hostile [/] x.jsonl" in wrote.stderr
    with exported.open("a", encoding="utf-8") as file:
        file.write(bad_otlp_lines())

    other = tmp_path / "other.db"
    imported = invoke(other, "import", str(exported))
    assert imported.exit_code == 0, imported.output
    assert_safe(imported)
    assert "warning:" in imported.stderr and "[/] x" in imported.stderr
    assert "bytesValue" in imported.stderr
    shown = invoke(other, "show", HOSTILE_TRACE)
    assert_safe(shown)
    assert VISIBLE["clear_screen"] in shown.stdout


def test_replay_lists_the_problems_of_a_file_plainly(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text(bad_otlp_lines(), encoding="utf-8")
    replayed = invoke(tmp_path / "unused.db", "replay", str(broken))
    assert replayed.exit_code == 1
    assert_safe(replayed)
    assert "warning:" in replayed.stderr and "[/] x" in replayed.stderr
    assert "nothing to replay" in replayed.stderr


AGENT_FILE = '''
from lumos_core import Agent, ScriptedModel

hostile = Agent(name="hostile", model=ScriptedModel(["ok \\x1b[2J \\x1b]52;c;SGVsbG8=\\x07 [/] x"]))
'''


def test_run_prints_an_answer_holding_escapes_visibly(tmp_path: Path) -> None:
    agents = tmp_path / "agents.py"
    agents.write_text(AGENT_FILE, encoding="utf-8")
    ran = invoke(tmp_path / "run.db", "run", str(agents), "hostile", "hi [/] \x1b[2J")
    assert ran.exit_code == 0, ran.output
    assert_safe(ran)
    assert "ok ␛[2J ␛]52;c;SGVsbG8=␇ [/] x" in ran.stdout
