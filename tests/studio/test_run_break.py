"""``lumos-studio run … --break``: a real subprocess stops at a step, a model call or a tool call,
prints what was about to be used, and ends (exit 3) or goes on with ``--continue``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lumos_studio.cli_break import PAUSED_EXIT
from lumos_studio.store import StoreReader
from tests.studio.test_worker_streams_and_workflows import DEFINITIONS


def lumos(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from lumos_studio.cli import main; main()", "--db", str(db),
         "run", *args],
        capture_output=True, text=True, timeout=120,
    )


@pytest.fixture
def defs(tmp_path: Path) -> Path:
    path = tmp_path / "defs.py"
    path.write_text(DEFINITIONS)
    return path


def test_break_at_a_workflow_step_prints_its_input_and_exits_3(defs: Path, tmp_path: Path) -> None:
    db = tmp_path / "studio.db"
    done = lumos(db, str(defs), "shop", '{"item": "tea", "count": 2}', "--break", "confirm")

    assert done.returncode == PAUSED_EXIT, done.stderr
    assert "paused before step 'confirm'; its input:" in done.stderr
    assert json.loads(done.stdout) == {"item": "tea", "total": 6}
    assert "--continue" in done.stderr
    reader = StoreReader(db)  # the run's trace is kept, ending where it stopped
    (trace,) = reader.list_traces(limit=5)
    names = [s.name for s in reader.trace_spans(trace.trace_id)]
    assert "step price" in names and "step confirm" in names


def test_break_with_continue_prints_each_pause_and_finishes(defs: Path, tmp_path: Path) -> None:
    done = lumos(tmp_path / "studio.db", str(defs), "weather", "weather in Oslo?",
                 "--break", "tool:get_weather", "--break", "model", "--continue")

    assert done.returncode == 0, done.stderr
    assert done.stderr.count("paused before the model call of agent 'weather'") == 2
    assert done.stderr.count("paused before tool call 'get_weather'; its arguments:") == 1
    first, _, rest = done.stdout.partition("}\n{")
    request = json.loads(first + "}")
    assert request["messages"][0]["parts"][0]["content"] == "weather in Oslo?"
    assert [t["name"] for t in request["tools"]] == ["get_weather"]
    assert '"city": "Oslo"' in rest
    assert done.stdout.rstrip().endswith("Sunny in Oslo")


def test_a_break_never_reached_is_said_and_a_bad_one_refused(defs: Path, tmp_path: Path) -> None:
    db = tmp_path / "studio.db"
    missed = lumos(db, str(defs), "weather", "weather in Oslo?", "--break", "tool:other")
    assert missed.returncode == 0 and "never reached --break tool:other" in missed.stderr
    empty = lumos(db, str(defs), "weather", "hi", "--break", "tool:")
    assert empty.returncode == 2 and "names nothing to stop at" in empty.stderr
    alone = lumos(db, str(defs), "weather", "hi", "--continue")
    assert alone.returncode == 2 and "--continue goes with --break" in alone.stderr
