"""Experiment results are spans and events: they survive ``export`` and ``import`` unchanged."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from lumos_core.evals import Contains, Experiment, ToolTrajectory
from lumos_studio.cli import cli
from lumos_studio.experiments import list_experiments, load_experiment
from lumos_studio.ingest import studio_tracer_provider
from lumos_studio.semantics import read_span
from lumos_studio.store import Store, StoreReader
from tests.evals.agents import weather_agent, weather_cases


def test_scores_read_the_same_after_export_and_import(tmp_path: Path) -> None:
    first, second = tmp_path / "first.db", tmp_path / "second.db"
    with Store(first) as store:
        experiment = Experiment(weather_cases(), weather_agent(),
                                [Contains(), ToolTrajectory()], name="weather v2",
                                tracer_provider=studio_tracer_provider(store.writer))
        result = experiment.run_sync()
        store.writer.flush()
    runner = CliRunner()
    saved = tmp_path / "experiment.jsonl"
    exported = runner.invoke(cli, ["--db", str(first), "export", "--all", "-o", str(saved)])
    assert exported.exit_code == 0, exported.output
    imported = runner.invoke(cli, ["--db", str(second), "import", str(saved)])
    assert imported.exit_code == 0, imported.output

    views = []
    for path in (first, second):
        reader = StoreReader(path)
        [header] = list_experiments(reader)
        view = load_experiment(reader, header.trace_id)
        assert view is not None
        views.append(view)
    before, after = views
    assert after == before
    assert after.header.name == "weather v2" and after.header.trace_id == result.trace_id
    assert [(c.case_id, {n: (e.score, e.passed, e.label) for n, e in c.scores.items()})
            for c in after.cases] == [
        ("paris", {"contains": (1.0, True, "pass"), "trajectory": (1.0, True, "pass")}),
        ("rome", {"contains": (1.0, True, "pass"), "trajectory": (1.0, True, "pass")}),
        ("wrong", {"contains": (0.0, False, "fail"), "trajectory": (0.0, False, "fail")}),
    ]
    assert [(s.name, s.pass_rate) for s in after.scorers] == [("contains", 2 / 3),
                                                              ("trajectory", 2 / 3)]
    # The span detail pane reads the same events through the one semantics reader.
    case_span = StoreReader(second).span(result.trace_id or "", result.cases[2].span_id or "")
    assert case_span is not None
    assert [e.name for e in read_span(case_span).evaluations] == ["contains", "trajectory"]
