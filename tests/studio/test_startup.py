"""Start-up stays light: the CLI, ``--help``, ``show`` and ``import lumos_core`` load only what
they use (checked through ``sys.modules`` in a fresh interpreter, not by timing)."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lumos_studio.store import Store
from tests.builders import weather_trace

# What a command that draws nothing, records nothing and queries no store must not load.
HEAVY = (
    "textual",
    "opentelemetry.sdk",
    "lumos_studio.store.queries",
    "lumos_studio.store.writer",
    "lumos_studio.app",
    "sqlite_utils",
    "httpx",
    "google.protobuf",
    "lumos_core.agent",
    "lumos_core.workflows",
)
ROOT = Path(__file__).resolve().parents[2]


def loaded_after(code: str, *args: str, watch: tuple[str, ...] = HEAVY) -> list[str]:
    """The modules of ``watch`` in ``sys.modules`` once ``code`` ran in a fresh interpreter."""
    script = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({watch!r}))))"
    )
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True,
                          check=True, cwd=ROOT)
    loaded: list[str] = json.loads(done.stdout.splitlines()[-1])
    return loaded


def test_importing_the_cli_loads_no_ui_no_telemetry_sdk_and_no_store_queries() -> None:
    assert loaded_after("import lumos_studio.cli") == []


def test_the_help_of_every_command_loads_none_of_what_the_commands_use() -> None:
    code = """
import click
from lumos_studio.cli import cli
for name in [None, *cli.commands]:
    try:
        cli([name, "--help"] if name else ["--help"], standalone_mode=False)
    except (SystemExit, click.exceptions.Exit):
        pass
"""
    assert loaded_after(code) == []


def test_show_prints_the_tree_without_the_ui_or_the_telemetry_sdk(tmp_path: Path) -> None:
    db = tmp_path / "studio.db"
    with Store(db) as store:
        store.writer.submit_many(weather_trace())
        store.writer.flush()
    code = """
import sys
from lumos_studio.cli import cli
try:
    cli(["--db", sys.argv[1], "show", "0af76519"], standalone_mode=False)
except SystemExit as exc:
    assert not exc.code, exc.code
"""
    watch = ("textual", "opentelemetry.sdk", "opentelemetry.trace", "httpx", "lumos_core.agent",
             "lumos_studio.app", "google.protobuf")  # the tree is read from columns alone
    assert loaded_after(code, str(db), watch=watch) == []


def test_the_studio_starts_without_the_agent_framework_or_protobuf() -> None:
    """The app's modules name the agent framework's types for the type checker and import
    what they run where it runs: pydantic and protobuf were a sixth of the first paint. The
    default studio's demo session is made after the first frame (``sessions/deferred.py``)."""
    code = "import lumos_studio.app, lumos_studio.ui.read_only, lumos_studio.sessions.demo"
    watch = ("pydantic", "google.protobuf", "lumos_core.agent", "lumos_core.memory.memory",
             "lumos_core.workflows", "lumos_core.tools",
             # the worker protocol's ~30 classes, and the debugger's screens until shown
             "lumos_core.worker_protocol", "lumos_studio.ui.screens.fork",
             "lumos_studio.ui.screens.paused")
    assert loaded_after(code, watch=watch) == []


def test_the_receiver_starts_without_protobuf_or_the_telemetry_sdk() -> None:
    """The studio starts its OTLP receiver before its first frame; the first request that needs
    a decoder loads it."""
    code = "import lumos_studio.ingest.otlp_http, lumos_studio.ingest"
    watch = ("google.protobuf", "opentelemetry.sdk", "opentelemetry.proto")
    assert loaded_after(code, watch=watch) == []


def test_the_studio_loads_the_evaluation_views_pygments_and_sqlite_utils_when_used() -> None:
    """What ``lumos-studio`` imports before its first frame leaves out what only an action, a
    load problem or a migration uses."""
    code = """
import lumos_studio.app, lumos_studio.sessions.discovery, lumos_studio.sessions.in_process
import lumos_studio.ingest.otlp_http, lumos_studio.sessions.interrupted
"""
    later = ("lumos_studio.scoring", "lumos_core.evals", "lumos_core.testing",
             "lumos_studio.ui.screens.compare", "lumos_studio.ui.screens.experiments",
             "rich.markdown", "pygments", "sqlite_utils", "opentelemetry.instrumentation")
    # The evaluation actions' mixin is part of the app; the screens it opens are not.
    assert loaded_after(code, watch=later) == ["lumos_studio.ui.screens.experiments_app"]


def test_importing_lumos_core_loads_a_name_when_it_is_first_used() -> None:
    assert loaded_after("import lumos_core") == []
    assert "lumos_core.agent" in loaded_after("from lumos_core import Agent")


@pytest.mark.parametrize(
    "package", ["lumos_core", "lumos_core.models", "lumos_core.telemetry", "lumos_core.memory",
                "lumos_studio.store", "lumos_studio.otlp", "lumos_studio.ingest"]
)
def test_each_lazy_name_is_the_one_its_type_checking_import_names(package: str) -> None:
    module = importlib.import_module(package)
    exports: dict[str, str] = module._EXPORTS
    assert _type_checking_imports(inspect.getsource(module)) == exports
    for name, source in exports.items():
        assert getattr(module, name) is getattr(importlib.import_module(source), name)


def test_lumos_core_exports_every_lazy_name_and_star_import_finds_them() -> None:
    import lumos_core

    assert set(lumos_core.__all__) == {*lumos_core._EXPORTS, "__version__"}
    names: dict[str, object] = {}
    exec("from lumos_core import *", names)
    assert set(lumos_core.__all__) <= set(names)
    with pytest.raises(AttributeError, match="no attribute 'Agentt'"):
        lumos_core.Agentt  # noqa: B018 - the lookup is the test


def _type_checking_imports(source: str) -> dict[str, str]:
    """``{name: module}`` of the ``from … import …`` lines under ``if TYPE_CHECKING:``."""
    found: dict[str, str] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for line in node.body:
                assert isinstance(line, ast.ImportFrom) and line.module
                found.update({alias.name: line.module for alias in line.names})
    return found


def test_the_running_spans_read_at_every_start_go_by_trace_not_through_every_span(
    store: Store,
) -> None:
    store.writer.submit_many(weather_trace())
    store.writer.flush()
    statements: list[str] = []
    connection = store.reader._db
    connection.set_trace_callback(statements.append)
    assert store.reader.running_spans() == []
    connection.set_trace_callback(None)
    plan = [row[-1] for row in connection.execute(f"EXPLAIN QUERY PLAN {statements[-1]}")]
    assert [step.split()[0] for step in plan] == ["SCAN", "SEARCH"]
    assert plan[1].startswith("SEARCH s USING INDEX")


def test_reading_runs_as_cases_and_scoring_them_loads_no_agent_nor_experiment_runner() -> None:
    """``D`` and the scoring keys of a studio whose agents run in a worker: the dataset and
    the scores of the evals package, not its experiment runner, judge, agent or model
    clients (the first ``D`` took ~340 ms more with them)."""
    code = "import lumos_studio.dataset_cases, lumos_studio.scoring"
    watch = ("lumos_core.agent", "lumos_core.evals.experiment", "lumos_core.evals.judge",
             "lumos_core.workflows", "httpx", "opentelemetry.sdk")
    assert loaded_after(code, watch=watch) == []
