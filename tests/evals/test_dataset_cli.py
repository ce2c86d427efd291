"""``lumos-studio dataset``: stored runs (made by ``run --demo``, as a user makes them) appended
to a dataset file that ``eval`` then runs; runs with no question are named and left out; a file
that is no dataset, or a taken id, writes nothing and says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from lumos_core.evals import Dataset
from lumos_studio.store import Store, StoreReader
from tests.builders import make_span
from tests.evals.test_scoring import invoke


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "studio.db"
    for question in ("weather in Paris?", "weather in Oslo?"):
        assert invoke(path, "run", "--demo", "weather", question).exit_code == 0
    return path


def test_the_newest_runs_become_cases_that_eval_runs(db: Path, tmp_path: Path) -> None:
    done = invoke(db, "dataset", "--last", "2")
    assert done.exit_code == 0, done.output
    target = Path("datasets") / "weather.jsonl"
    assert f"added 2 case(s) to {target} (2 in all)" in done.stderr
    assert f"lumos-studio eval FILE {target} --agent weather" in done.stderr
    cases = Dataset.from_jsonl(tmp_path / target)
    assert [case.input for case in cases] == ["weather in Oslo?", "weather in Paris?"]
    assert cases.cases[0].metadata["expected_tools"] == [
        {"name": "get_weather", "arguments": {"city": "Oslo"}}]

    ran = invoke(db, "eval", "--demo", str(target), "--agent", "weather")
    assert ran.exit_code == 0, ran.output
    assert "trajectory" in ran.output and "2/2" in ran.output


def test_a_run_is_added_once_and_a_file_that_is_no_dataset_is_left_alone(
    db: Path, tmp_path: Path,
) -> None:
    newest = StoreReader(db).list_traces()[0].trace_id
    to = tmp_path / "regressions.jsonl"
    assert invoke(db, "dataset", newest[:6], "--to", str(to)).exit_code == 0
    again = invoke(db, "dataset", newest[:6], "--to", str(to))
    assert again.exit_code == 1
    assert f"already holds a case 'weather-{newest[:8]}'" in again.stderr
    assert "nothing was written" in again.stderr
    assert len(to.read_text().splitlines()) == 1

    broken = tmp_path / "broken.jsonl"
    broken.write_text("not json\n")
    refused = invoke(db, "dataset", newest[:6], "--to", str(broken))
    assert refused.exit_code == 1
    assert ":1: not JSON" in refused.stderr and "pick another file with --to" in refused.stderr
    assert broken.read_text() == "not json\n"


def test_runs_without_a_question_are_named_and_the_rest_added(db: Path, tmp_path: Path) -> None:
    cron = "3cf7651916cd43dd8448eb211c80319c"
    with Store(db) as store:
        store.writer.submit_many([make_span("cron job", trace_id=cron)])
        store.writer.flush()
    done = invoke(db, "dataset", "--last", "3", "--to", str(tmp_path / "c.jsonl"))
    assert done.exit_code == 0, done.output
    assert f"left out {cron}: no user message" in done.stderr
    assert "added 2 case(s)" in done.stderr

    alone = invoke(db, "dataset", cron[:8])
    assert alone.exit_code == 1
    assert "none of the runs has a user message" in alone.stderr


@pytest.mark.parametrize("args, said", [
    ((), "choose the traces: TRACE ids (prefixes) or --last N"),
    (("--last", "1", "abc"), "choose the traces"),
    (("ffff",), "no trace starting with 'ffff'"),
    (("--last", "0"), "0 is not in the range 1<=x<=1000000"),
])
def test_mistakes_are_one_sentence_and_exit_2(db: Path, args: tuple[str, ...], said: str) -> None:
    done = invoke(db, "dataset", *args)
    assert done.exit_code == 2
    assert said in done.output
    assert not Path("datasets").exists()


def test_a_folder_in_the_way_cannot_be_written(db: Path, tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    done = invoke(db, "dataset", "--last", "1", "--to", str(tmp_path / "taken"))
    assert done.exit_code == 2  # click: a folder is no file
    assert "is a directory" in done.output
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro" / "sub").write_text("")
    blocked = invoke(db, "dataset", "--last", "1", "--to", str(tmp_path / "ro" / "sub" / "x.jsonl"))
    assert blocked.exit_code == 1
    assert "cannot write" in blocked.stderr


def test_an_experiment_is_named_and_left_out(db: Path, tmp_path: Path) -> None:
    """Its cases are its dataset's already, and its trace holds them all."""
    from tests.builders import T0
    from tests.evals.agents import weather_agent
    from tests.evals.experiment_store import record_experiment

    with Store(db) as store:
        experiment = record_experiment(store, "weather v1", weather_agent(), T0)
    done = invoke(db, "dataset", experiment[:8])
    assert done.exit_code == 1
    assert (f"left out {experiment}: an experiment on weather: its cases are that dataset's "
            "already") in done.stderr
    assert "pick agent runs, not experiments" in done.stderr
