"""``lumos-studio eval`` run the way CI runs it: tables printed, exit code from thresholds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lumos_studio.cli import cli
from lumos_studio.cli_eval import DEMO_DATASETS
from lumos_studio.experiments import list_experiments, load_experiment
from lumos_studio.store import StoreReader

AGENT_FILE = '''
from lumos_core import Agent, ScriptedModel, tool
from lumos_core.evals import Contains, Dataset, ToolTrajectory

@tool
def lookup_order(order_id: int) -> str:
    """Look up an order by its number."""
    return f"order {order_id} ships STATUS"

support = Agent(name="support", instructions="Help with orders.", model=ScriptedModel(),
                tools=[lookup_order])
orders = Dataset.from_cases("orders", [
    {"id": "one", "input": "where is order 1?", "expected": "ships tomorrow",
     "metadata": {"expected_tools": [{"name": "lookup_order", "arguments": {"order_id": 1}}]}},
    {"id": "two", "input": "where is order 2?", "expected": "ships tomorrow",
     "metadata": {"expected_tools": [{"name": "lookup_order", "arguments": {"order_id": 2}}]}},
    {"id": "three", "input": "where is order 3?", "expected": "ships today"},
])
shipping = Contains(name="shipping")
tools_used = ToolTrajectory(name="tools")
'''


def agent_file(tmp_path: Path, status: str = "tomorrow") -> Path:
    path = tmp_path / "support_agents.py"
    path.write_text(AGENT_FILE.replace("STATUS", status))
    return path


def invoke(db: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", str(db), *args], catch_exceptions=False)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "studio.db"


def test_eval_prints_a_table_per_scorer_and_records_the_experiment(db: Path,
                                                                    tmp_path: Path) -> None:
    ran = invoke(db, "eval", str(agent_file(tmp_path)), "orders", "--agent", "support",
                 "--cases")
    assert ran.exit_code == 0, ran.output
    lines = ran.stdout.splitlines()
    assert any(line.split() == ["│", "shipping", "│", "0.67", "│", "67%", "│", "2/3", "│"]
               for line in lines), ran.stdout
    assert any(line.split() == ["│", "tools", "│", "1.00", "│", "67%", "│", "2/3", "│"]
               for line in lines), ran.stdout
    three = next(line for line in lines if "│ three" in line)
    assert "0.00 ✗" in three and "missing 'ships today'" in three
    assert "no earlier experiment on dataset 'orders'" in ran.stderr
    reader = StoreReader(db)
    [header] = list_experiments(reader)
    assert (header.dataset, header.task, header.case_count) == ("orders", "agent support", 3)
    view = load_experiment(reader, header.trace_id)
    assert view is not None
    assert [(c.case_id, c.scores["shipping"].passed) for c in view.cases] == [
        ("one", True), ("two", True), ("three", False)]


def test_the_exit_code_follows_the_thresholds(db: Path, tmp_path: Path) -> None:
    path = str(agent_file(tmp_path))
    met = invoke(db, "eval", path, "orders", "--agent", "support", "--threshold",
                 "shipping=0.6")
    assert met.exit_code == 0, met.output
    missed = invoke(db, "eval", path, "orders", "--agent", "support", "--threshold", "0.9")
    assert missed.exit_code == 1
    assert "threshold: shipping: pass rate 67% is under 90%" in missed.stderr
    assert "threshold: tools: pass rate 67% is under 90%" in missed.stderr
    unknown = invoke(db, "eval", path, "orders", "--agent", "support", "--threshold",
                     "polite=0.5")
    assert unknown.exit_code == 2
    assert "--threshold names no scorer polite (scorers: shipping, tools)" in unknown.stderr
    bad = invoke(db, "eval", path, "orders", "--agent", "support", "--threshold", "x=high")
    assert bad.exit_code == 2 and "a pass rate from 0 to 1" in bad.stderr



@pytest.mark.parametrize("given", ["=0.5", " =1"])
def test_a_threshold_with_no_scorer_before_its_equals_sign_is_refused(
        db: Path, tmp_path: Path, given: str) -> None:
    refused = invoke(db, "eval", str(agent_file(tmp_path)), "orders", "--agent", "support",
                     "--threshold", given)
    assert refused.exit_code == 2
    assert refused.stderr == (
        f"error: --threshold {given!r} names no scorer before '=': write SCORER=RATE for one "
        "scorer (contains=0.8) or RATE for every scorer (0.8)\n")
    assert not db.exists()  # refused before anything ran


def test_a_folder_named_like_a_demo_dataset_does_not_hide_it(
        db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # At the repository's root, "docs" is also the docs/ folder: --demo docs is the dataset.
    (tmp_path / "weather").mkdir()
    monkeypatch.chdir(tmp_path)
    ran = invoke(db, "eval", "--demo", "weather", "--agent", "weather")
    assert ran.exit_code == 0, ran.output
    assert "dataset weather · agent weather" in ran.stdout
    assert [e.dataset for e in list_experiments(StoreReader(db))] == ["weather"]


def test_an_agents_file_that_exits_at_import_is_named_not_a_silent_exit(
        db: Path, tmp_path: Path) -> None:
    exits = tmp_path / "exits.py"
    exits.write_text("import sys\n\nsys.exit(3)\n")
    refused = invoke(db, "eval", str(exits), "cases.jsonl", "--agent", "support")
    assert refused.exit_code == 2
    assert refused.stderr.startswith(
        f"error: {exits.resolve()}:3: sys.exit(3) while importing the agents file\n")
    assert "the agents are imported into this process" in refused.stderr
    assert not db.exists()


def test_an_unknown_demo_dataset_lists_the_demo_datasets(db: Path) -> None:
    refused = invoke(db, "eval", "--demo", "nope", "--agent", "weather")
    assert refused.exit_code == 2
    demo = ", ".join(sorted(p.stem for p in DEMO_DATASETS.glob("*.jsonl")))
    assert demo == "docs, weather"
    assert refused.stderr.startswith(f"error: no demo dataset 'nope'; the demo has: {demo}\n")
    assert "nor a Dataset in the file" not in refused.stderr


def test_a_second_run_is_compared_with_the_first_and_regressions_are_named(
        db: Path, tmp_path: Path) -> None:
    first = invoke(db, "eval", str(agent_file(tmp_path)), "orders", "--agent", "support")
    assert first.exit_code == 0, first.output
    worse = invoke(db, "eval", str(agent_file(tmp_path, "next week")), "orders", "--agent",
                   "support", "--cases")
    assert worse.exit_code == 0, worse.output
    assert "2 regressed, 0 improved, 1 unchanged" in worse.stderr
    assert "▼ one (shipping)" in worse.stdout and "▼ two (shipping)" in worse.stdout
    shipping = next(line for line in worse.stdout.splitlines() if "│ shipping" in line)
    assert "-67 pts" in shipping


def test_mistakes_end_in_one_sentence(db: Path, tmp_path: Path) -> None:
    path = str(agent_file(tmp_path))
    no_agent = invoke(db, "eval", path, "orders", "--agent", "billing")
    assert no_agent.exit_code == 2
    assert "no agent or workflow named 'billing' (found: support)" in no_agent.stderr
    no_dataset = invoke(db, "eval", path, "missing.jsonl")
    assert no_dataset.exit_code == 2
    assert "no dataset 'missing.jsonl'" in no_dataset.stderr
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"input": "x"}\n{oops\n')
    bad_line = invoke(db, "eval", path, str(broken))
    assert bad_line.exit_code == 2 and "broken.jsonl:2: not JSON" in bad_line.stderr
    assert "Traceback" not in bad_line.output
    bare = tmp_path / "bare.jsonl"
    bare.write_text('{"input": "where is order 1?"}\n')
    plain = tmp_path / "plain_agents.py"
    plain.write_text(AGENT_FILE.split("orders = ")[0])
    nothing = invoke(db, "eval", str(plain), str(bare))  # the only agent, no scorer to use
    assert nothing.exit_code == 2 and "nothing to score" in nothing.stderr


def test_a_jsonl_dataset_runs_the_demo_in_a_real_process(db: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lumos_studio", "--db", str(db), "eval", "--demo", "weather",
         "--agent", "weather", "--threshold", "contains=0.5"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "weather · dataset weather · agent weather · 8 runs" in done.stdout
    assert "│ contains" in done.stdout and "│ trajectory" in done.stdout
    failed = subprocess.run(
        [sys.executable, "-m", "lumos_studio", "--db", str(db), "eval", "--demo", "weather",
         "--agent", "weather", "--threshold", "trajectory=1"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert failed.returncode == 1
    assert "threshold: trajectory: pass rate" in failed.stderr
    assert "0 regressed, 0 improved, 8 unchanged" in failed.stderr


def test_scorers_held_in_a_list_are_the_files_scorers(db: Path, tmp_path: Path) -> None:
    """``SCORERS = [...]`` counts as defining them, not only a scorer bound to its own name."""
    path = tmp_path / "listed_agents.py"
    path.write_text(AGENT_FILE.replace("shipping = Contains(name=\"shipping\")\n", "")
                    .replace("tools_used = ToolTrajectory(name=\"tools\")\n",
                             "SCORERS = [Contains(name=\"listed\")]\n"))
    done = invoke(db, "eval", str(path), "orders", "--agent", "support")
    assert done.exit_code == 0, done.output
    assert "│ listed" in done.output
    assert "│ contains" not in done.output and "│ trajectory" not in done.output
