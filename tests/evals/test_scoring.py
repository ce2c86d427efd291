"""Scores given after the fact: ``lumos-studio score`` over stored traces, ``annotate`` by hand,
both stored as evaluation records the semantics reader and the experiments view pick up."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lumos_core.telemetry import semconv as sc
from lumos_studio.cli import cli
from lumos_studio.experiments import load_experiment
from lumos_studio.scoring import Annotation, sample_of_trace
from lumos_studio.semantics import read_span
from lumos_studio.store import Store, StoreReader
from tests.builders import make_span
from tests.evals.experiment_store import three_experiments


def invoke(db: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", str(db), *args], catch_exceptions=False)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "studio.db"
    for question in ("weather in Paris?", "weather in New York?"):
        assert invoke(path, "run", "--demo", "weather", question).exit_code == 0
    return path


def evaluations(db: Path, trace_id: str) -> list[tuple[str, float | None, bool | None, str]]:
    reader = StoreReader(db)
    spans = reader.trace_spans(trace_id)
    found = sample_of_trace(spans)
    assert found is not None
    view = read_span(found[0], reader.logs(trace_id=trace_id))
    return [(e.name, e.score, e.passed, e.source) for e in view.evaluations]


def test_score_judges_stored_runs_and_stores_the_scores(db: Path, tmp_path: Path) -> None:
    scorers = tmp_path / "my_scorers.py"
    scorers.write_text("from lumos_core.evals import scorer\n\n"
                       "@scorer\ndef celsius(output, expected):\n    return '°C' in output\n")
    done = invoke(db, "score", "--last", "2", "--contains", "Paris", "--tools", "get_weather",
                  "--max-tokens", "100", "--file", str(scorers))
    assert done.exit_code == 0, done.output
    assert "stored 8 score(s) with 2 trace(s)" in done.stderr
    newest, older = [t.trace_id for t in StoreReader(db).list_traces()]
    assert evaluations(db, newest) == [("contains", 0.0, False, "rescore"),
                                       ("trajectory", 1.0, True, "rescore"),
                                       ("tokens", 1.0, True, "rescore"),
                                       ("celsius", 1.0, True, "rescore")]
    assert evaluations(db, older)[0] == ("contains", 1.0, True, "rescore")
    assert "missing 'Paris'" in done.stdout


def test_annotate_stores_a_persons_label_and_note(db: Path) -> None:
    newest = StoreReader(db).list_traces()[0].trace_id
    done = invoke(db, "annotate", newest[:8], "--label", "wrong-city", "--fail", "--note",
                  "asked New York, answered York")
    assert done.exit_code == 0, done.output
    reader = StoreReader(db)
    found = sample_of_trace(reader.trace_spans(newest))
    assert found is not None
    [evaluation] = read_span(found[0], reader.logs(trace_id=newest)).evaluations
    assert (evaluation.name, evaluation.score, evaluation.label, evaluation.explanation,
            evaluation.passed, evaluation.source) == (
        "human", None, "wrong-city", "asked New York, answered York", False, "human")


def test_score_and_annotate_mistakes_are_one_sentence(db: Path) -> None:
    assert "choose a scorer" in invoke(db, "score", "--last", "1").stderr
    assert "choose the traces" in invoke(db, "score", "--contains", "x").stderr
    bad = invoke(db, "score", "--last", "1", "--regex", "(")
    assert bad.exit_code == 2 and "is not a regular expression" in bad.stderr
    missing = invoke(db, "annotate", "ffff", "--label", "x")
    assert missing.exit_code == 2 and "no trace starting with 'ffff'" in missing.stderr
    every = invoke(db, "score", "", "--contains", "x")  # the empty prefix: every trace
    assert every.exit_code == 2 and "matches several traces" in every.stderr
    newest = StoreReader(db).list_traces()[0].trace_id
    empty = invoke(db, "annotate", newest[:8])
    assert empty.exit_code == 2 and "needs a score, a label or a note" in empty.stderr
    # (not hex: "00" was an id prefix of a random span 1 time in 64)
    wrong_span = invoke(db, "annotate", newest[:8], "--span", "zz", "--label", "x")
    assert wrong_span.exit_code == 2 and "has no span 'zz'" in wrong_span.stderr


def test_annotate_finds_a_span_by_id_prefix_or_name_and_else_lists_the_choices(
    db: Path, tmp_path: Path
) -> None:
    newest = StoreReader(db).list_traces()[0].trace_id
    spans = StoreReader(db).trace_spans(newest)
    tool = next(s for s in spans if s.name == "execute_tool get_weather")
    prefix = next(tool.span_id[:n] for n in range(1, 17)
                  if sum(s.span_id.startswith(tool.span_id[:n]) for s in spans) == 1)
    for given in (prefix, "execute_tool get_weather", "get_weather"):
        done = invoke(db, "annotate", newest[:8], "--span", given, "--label", given)
        assert done.exit_code == 0, done.output
        assert f"annotated span {tool.span_id} of trace {newest}" in done.stderr
    labels = [log.attributes[sc.EVALUATION_SCORE_LABEL]
              for log in StoreReader(db).logs(trace_id=newest) if log.span_id == tool.span_id]
    assert labels == [prefix, "execute_tool get_weather", "get_weather"]

    chats = [s.span_id for s in spans if s.name == "chat scripted"]
    several = invoke(db, "annotate", newest[:8], "--span", "chat scripted", "--label", "x")
    assert several.exit_code == 2
    assert several.stderr.splitlines() == [
        f"error: 'chat scripted' names 2 spans of trace {newest}",
        "give one of these ids (a prefix is enough):",
        *(f"  {span_id}  chat scripted" for span_id in chats)]
    none = invoke(db, "annotate", newest[:8], "--span", "search", "--label", "x")
    assert none.exit_code == 2
    said, heading, *listed = none.stderr.splitlines()
    assert said == f"error: trace {newest} has no span 'search' (by id, id prefix or name)"
    assert heading == "its spans:"
    assert listed == [f"  {s.span_id}  {s.name}" for s in spans]

    many = tmp_path / "many.db"
    with Store(many) as store:
        store.writer.submit_many([make_span("step", span_id=f"{n:016x}", trace_id="e" * 32)
                                  for n in range(1, 13)])
        store.writer.flush()
    steps = invoke(many, "annotate", "eee", "--span", "step", "--label", "x")
    assert steps.exit_code == 2
    assert steps.stderr.splitlines()[2:] == [
        *(f"  {n:016x}  step" for n in range(1, 11)), "  … 2 more"]


def test_annotate_refuses_an_empty_name_or_span_as_such(db: Path) -> None:
    newest = StoreReader(db).list_traces()[0].trace_id
    for option in ("--name", "--span"):
        for empty in ("", "  "):
            done = invoke(db, "annotate", newest[:8], option, empty, "--label", "x")
            assert done.exit_code == 2
            assert f"Invalid value for '{option}': must not be empty" in done.stderr
            assert "give --score" not in done.stderr
    assert evaluations(db, newest) == []


@pytest.mark.parametrize(("given", "said"), [
    (["--max-seconds", "-1"], "Invalid value for '--max-seconds': '-1' is less than 0"),
    (["--max-seconds", "nan"], "Invalid value for '--max-seconds': 'nan' is not a finite number"),
    (["--max-seconds", "inf"], "Invalid value for '--max-seconds': 'inf' is not a finite number"),
    (["--max-tokens", "-5"], "Invalid value for '--max-tokens': -5 is not in the range x>=0"),
    (["--tools", ",,"], "Invalid value for '--tools': ',,' names no tool; give the tools' names"),
    (["--tools", ""], "Invalid value for '--tools': '' names no tool"),
    (["--contains", ""], "Invalid value for '--contains': an empty text is in every answer"),
    (["--last", "99999999999999999999", "--contains", "x"],
     "Invalid value for '--last': 99999999999999999999 is not in the range 1<=x<=1000000"),
], ids=["negative seconds", "nan seconds", "inf seconds", "negative tokens", "no tools",
        "empty tools", "empty text", "too many traces"])
def test_score_refuses_a_budget_or_list_that_means_nothing(
    db: Path, given: list[str], said: str
) -> None:
    newest = StoreReader(db).list_traces()[0].trace_id
    args = given if "--last" in given else [newest[:8], *given]
    done = invoke(db, "score", *args)
    assert done.exit_code == 2, done.output
    assert said in done.stderr and "Traceback" not in done.output
    assert evaluations(db, newest) == []  # nothing stored


def test_annotate_and_score_refuse_a_number_that_is_none_alike(db: Path) -> None:
    newest = StoreReader(db).list_traces()[0].trace_id
    for bad in ("nan", "inf", "-inf"):
        scored = invoke(db, "score", newest[:8], "--max-seconds", bad)
        annotated = invoke(db, "annotate", newest[:8], "--score", bad)
        assert scored.exit_code == annotated.exit_code == 2
        assert f"'{bad}' is not a finite number" in scored.stderr
        assert f"'{bad}' is not a finite number" in annotated.stderr
    assert evaluations(db, newest) == []


@pytest.mark.parametrize(("source", "said", "line"), [
    ("import sys\n\nsys.exit(3)\n", "sys.exit(3) while importing the scorers file", 3),
    ("import argparse\n\nargparse.ArgumentParser().parse_args(['--nope'])\n",
     "sys.exit(2) while importing the scorers file", 3),
    ("class Stop(BaseException):\n    pass\n\nraise Stop('here')\n",
     "Stop while importing: here", 4),
    ("import os\n\nos._exit(3)\n", "os._exit(3) while importing the scorers file", 3),
], ids=["sys.exit", "argparse", "a BaseException", "os._exit"])
def test_score_says_so_when_a_scorers_file_exits_as_it_is_imported(
    db: Path, tmp_path: Path, source: str, said: str, line: int
) -> None:
    scorers = tmp_path / "exits.py"
    scorers.write_text(source)
    done = invoke(db, "score", "--last", "1", "--file", str(scorers))
    assert done.exit_code == 2, done.output  # not the file's own code, not silence
    assert f"error: {scorers}:{line}: {said}" in done.stderr
    assert f">    {line} | " in done.stderr  # the line, shown
    assert "scorers are imported into this process" in done.stderr
    assert evaluations(db, StoreReader(db).list_traces()[0].trace_id) == []


def test_an_annotated_case_counts_in_its_experiment(tmp_path: Path) -> None:
    path = tmp_path / "experiments.db"
    with Store(path) as store:
        first, _, _ = three_experiments(store)
    view = load_experiment(StoreReader(path), first)
    assert view is not None
    wrong = view.cases[2]
    done = invoke(path, "annotate", first, "--span", wrong.span_id, "--name", "contains",
                  "--score", "1", "--pass", "--note", "Lima is fine here")
    assert done.exit_code == 0, done.output
    again = load_experiment(StoreReader(path), first)
    assert again is not None
    assert again.cases[2].scores["contains"].source == "human"
    stats = again.stats("contains")
    assert stats is not None and stats.pass_rate == 1.0


def test_an_annotation_needs_something_to_say() -> None:
    with pytest.raises(ValueError, match="needs a score, a label or a note"):
        Annotation()
    with pytest.raises(ValueError, match="finite"):
        Annotation(score=float("nan"))
