"""The headless commands, run the way a script runs them."""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lumos_studio.cli import cli
from lumos_studio.store import StoreReader

AGENT_FILE = '''
from lumos_core import Agent, tool

@tool
def lookup_order(order_id: int) -> str:
    """Look up an order by its number."""
    return f"order {order_id} ships tomorrow"

support = Agent(name="support", instructions="Help with orders.", model="scripted",
                tools=[lookup_order])
'''


def invoke(db: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", str(db), *args], catch_exceptions=False)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "studio.db"


def test_run_demo_prints_the_answer_and_show_prints_the_four_span_tree(db: Path) -> None:
    ran = invoke(db, "run", "--demo", "weather", "weather in Paris?")
    assert ran.exit_code == 0, ran.output
    assert "°C in Paris." in ran.stdout
    trace_id = ran.stderr.split("trace ")[1].split()[0]

    listed = invoke(db, "traces")
    assert trace_id[:12] in listed.stdout and "invoke_agent weather" in listed.stdout

    shown = invoke(db, "show", trace_id[:8])
    assert shown.exit_code == 0
    lines = shown.stdout.splitlines()
    assert lines[0] == f"trace {trace_id}"
    assert [line.rsplit("  ", 1)[0] for line in lines[1:]] == [
        "└── invoke_agent weather",
        "    ├── chat scripted",
        "    ├── execute_tool get_weather",
        "    └── chat scripted",
    ]


def test_run_finds_an_agent_by_name_in_a_file(db: Path, tmp_path: Path) -> None:
    agents = tmp_path / "agents.py"
    agents.write_text(AGENT_FILE)
    ran = invoke(db, "run", str(agents), "support", "where is order 42?")
    assert ran.exit_code == 0, ran.output
    assert ran.stdout.strip() == "order 42 ships tomorrow"


def test_run_reports_file_problems_with_file_line_and_code(db: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("from lumos_core import Agent\n\nagent = Agent(name='x'\nprint('hi')\n")
    ran = invoke(db, "run", str(broken), "x", "hi")
    assert ran.exit_code == 2
    assert f"{broken}:3: syntax error" in ran.stderr
    assert ">    3 | agent = Agent(name='x'" in ran.stderr
    assert "Traceback" not in ran.output

    raising = tmp_path / "raising.py"
    raising.write_text("import json\n\nvalue = json.loads('{')\n")
    ran = invoke(db, "run", str(raising), "x", "hi")
    assert ran.exit_code == 2 and f"{raising}:3: JSONDecodeError while importing" in ran.stderr

    good = tmp_path / "agents.py"
    good.write_text(AGENT_FILE)
    ran = invoke(db, "run", str(good), "nobody", "hi")
    assert ran.exit_code == 2 and "no agent or workflow named 'nobody'" in ran.stderr
    assert "agents: support" in ran.stderr

    ran = invoke(db, "run", str(tmp_path / "missing.py"), "x", "hi")
    assert ran.exit_code == 2 and "no such file" in ran.stderr

    ran = invoke(db, "run", "--demo", "weather")
    assert ran.exit_code == 2 and "run takes --demo AGENT MESSAGE" in ran.stderr


def test_a_failing_agent_reports_the_error_and_keeps_its_trace(db: Path, tmp_path: Path) -> None:
    agents = tmp_path / "agents.py"
    failing = AGENT_FILE.replace('return f"order', 'raise KeyError(order_id)\n    return f"')
    agents.write_text(failing)
    ran = invoke(db, "run", str(agents), "support", "order 7?")
    assert ran.exit_code == 1
    assert "agent 'support' raised KeyError: 7" in ran.stderr
    trace_id = ran.stderr.split("lumos-studio show ")[1].split()[0]
    shown = invoke(db, "show", trace_id)
    assert "execute_tool lookup_order" in shown.stdout and "ERROR" in shown.stdout


def test_commands_on_an_empty_or_missing_store_say_what_to_do(db: Path) -> None:
    listed = invoke(db, "traces")
    assert listed.exit_code == 1 and "no store at" in listed.stderr
    invoke(db, "run", "--demo", "weather", "weather in Oslo?")
    shown = invoke(db, "show", "ffff")
    assert shown.exit_code == 1 and "no trace starting with 'ffff'" in shown.stderr


@pytest.mark.parametrize("limit", ["0", "-1", "99999999999999999999"])
def test_traces_refuses_a_limit_out_of_range_as_a_usage_error(db: Path, limit: str) -> None:
    invoke(db, "run", "--demo", "weather", "weather in Oslo?")
    listed = invoke(db, "traces", "--limit", limit)
    assert listed.exit_code == 2, listed.output
    assert f"Invalid value for '--limit': {limit} is not in the range 1<=x<=1000000" in (
        listed.stderr)
    assert invoke(db, "traces", "--limit", "1").stdout.count("invoke_agent weather") == 1


def test_export_writes_otlp_json_and_import_reads_back_the_same_tree(
    db: Path, tmp_path: Path
) -> None:
    invoke(db, "run", "--demo", "weather", "weather in Paris?")
    invoke(db, "run", "--demo", "calculator", "what is 2*21?")
    out = tmp_path / "export.jsonl"
    exported = invoke(db, "export", "--all", "-o", str(out))
    assert exported.exit_code == 0, exported.output
    assert "wrote 2 trace(s), 8 spans, 0 logs" in exported.stderr

    for line in out.read_text().splitlines():
        request = json.loads(line)
        span = request["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
        assert len(span["traceId"]) == 32 and span["traceId"] == span["traceId"].lower()
        assert isinstance(span["startTimeUnixNano"], str)
        assert "parentSpanId" in span or span["name"].startswith("invoke_agent")

    other = tmp_path / "other.db"
    imported = invoke(other, "import", str(out))
    assert imported.exit_code == 0 and "imported 8 new spans in 2 traces" in imported.stderr
    imported = invoke(other, "import", str(out))
    assert imported.exit_code == 0
    assert "imported 0 new spans (8 already in the store) in 2 traces" in imported.stderr
    original = invoke(db, "traces").stdout
    copy = invoke(other, "traces").stdout
    trace_ids = [line.split()[1] for line in original.splitlines() if "invoke_agent" in line]
    for trace_id in trace_ids:
        assert trace_id in copy
        assert invoke(db, "show", trace_id).stdout == invoke(other, "show", trace_id).stdout


def test_a_gzip_export_records_its_own_name_inside(db: Path, tmp_path: Path) -> None:
    invoke(db, "run", "--demo", "weather", "weather in Paris?")
    out = tmp_path / "weather.jsonl.gz"
    exported = invoke(db, "export", "--all", "-o", str(out))
    assert exported.exit_code == 0, exported.output
    header = out.read_bytes()
    assert header[3] & 0x08  # FNAME: the original name follows the 10-byte header
    assert header[10:].split(b"\0", 1)[0] == b"weather.jsonl"  # as gzip(1) records it
    assert gzip.decompress(header).decode().count("\n") == 1
    assert not list(tmp_path.glob("*.part"))


def test_export_never_writes_over_the_store_or_its_files(db: Path, tmp_path: Path) -> None:
    invoke(db, "run", "--demo", "weather", "weather in Paris?")
    (tmp_path / "link.db").symlink_to(db)
    os.link(db, tmp_path / "hard.db")
    before = db.read_bytes()
    for name, what in [("studio.db", "the store itself"), ("link.db", "the store itself"),
                       ("hard.db", "the store itself"), ("studio.db-wal", "-wal file"),
                       ("studio.db-shm", "-shm file"), ("studio.db-journal", "-journal file")]:
        ran = invoke(db, "export", "--all", "--force", "-o", str(tmp_path / name))
        assert ran.exit_code == 1, (name, ran.output)
        assert what in ran.stderr and "exporting into it would destroy the store" in ran.stderr
        assert "give -o another file" in ran.stderr
    assert db.read_bytes() == before and (tmp_path / "link.db").is_symlink()
    assert not (tmp_path / "studio.db-journal").exists()
    assert "invoke_agent weather" in invoke(db, "traces").stdout


def test_export_replaces_an_existing_file_only_with_force(db: Path, tmp_path: Path) -> None:
    invoke(db, "run", "--demo", "weather", "weather in Paris?")
    notes, other_app = tmp_path / "notes.txt", tmp_path / "app.db"
    notes.write_text("my notes\n")
    sqlite3.connect(other_app).execute("CREATE TABLE t (x)").connection.close()
    kept = other_app.read_bytes()
    for existing in (notes, other_app):
        ran = invoke(db, "export", "--all", "-o", str(existing))
        assert ran.exit_code == 1, ran.output
        assert f"error: {existing} already exists" in ran.stderr
        assert "pass --force to replace it, or give -o another file" in ran.stderr
    assert notes.read_text() == "my notes\n" and other_app.read_bytes() == kept
    forced = invoke(db, "export", "--all", "--force", "-o", str(notes))
    assert forced.exit_code == 0, forced.output
    assert json.loads(notes.read_text().splitlines()[0])["resourceSpans"]


def test_export_through_a_symlink_replaces_its_target_and_keeps_the_link(
    db: Path, tmp_path: Path
) -> None:
    invoke(db, "run", "--demo", "weather", "weather in Paris?")
    target, link = tmp_path / "saved" / "weather.jsonl", tmp_path / "latest.jsonl"
    target.parent.mkdir()
    target.write_text("older\n")
    link.symlink_to(target)
    refused = invoke(db, "export", "--all", "-o", str(link))
    assert refused.exit_code == 1 and "already exists" in refused.stderr
    forced = invoke(db, "export", "--all", "--force", "-o", str(link))
    assert forced.exit_code == 0, forced.output
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert json.loads(target.read_text().splitlines()[0])["resourceSpans"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["weather.jsonl"]  # no .part


def test_export_dash_writes_to_standard_output(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoke(db, "run", "--demo", "weather", "weather in Paris?")
    monkeypatch.chdir(tmp_path)
    ran = invoke(db, "export", "--all", "-o", "-")
    assert ran.exit_code == 0, ran.output
    spans = [s for line in ran.stdout.splitlines()
             for s in json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"]]
    assert len(spans) == 4
    assert "to standard output" in ran.stderr and not (tmp_path / "-").exists()


def test_export_writes_into_a_fifo_or_a_device_without_replacing_it(
    db: Path, tmp_path: Path
) -> None:
    invoke(db, "run", "--demo", "weather", "weather in Paris?")
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    reading = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # the export (~6 KB) fits its buffer
    try:
        ran = invoke(db, "export", "--all", "-o", str(fifo))
        assert ran.exit_code == 0, ran.output
        assert stat.S_ISFIFO(fifo.lstat().st_mode)
        assert json.loads(os.read(reading, 1 << 16).splitlines()[0])["resourceSpans"]
    finally:
        os.close(reading)
    null = tmp_path / "null"
    try:
        os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a /dev/null of our own
    except PermissionError:
        pytest.skip("making a device node needs root")
    ran = invoke(db, "export", "--all", "-o", str(null))
    assert ran.exit_code == 0, ran.output
    assert stat.S_ISCHR(null.lstat().st_mode)


def test_export_to_dev_stdout_writes_where_the_shell_redirected_it(
    db: Path, tmp_path: Path
) -> None:
    invoke(db, "run", "--demo", "weather", "weather in Paris?")
    out = tmp_path / "out.jsonl"
    with open(out, "wb") as redirected:  # what "> out.jsonl" does: the file exists, is empty
        redirected.write(b"# header\n")
        redirected.flush()
        done = subprocess.run(
            [sys.executable, "-m", "lumos_studio", "--db", str(db), "export", "--all", "-o",
             "/dev/stdout"], stdout=redirected, stderr=subprocess.PIPE, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    header, first, *_ = out.read_text().splitlines()
    assert header == "# header" and json.loads(first)["resourceSpans"]


def test_export_refuses_an_empty_output_name(db: Path) -> None:
    invoke(db, "run", "--demo", "weather", "weather in Paris?")
    ran = invoke(db, "export", "--all", "-o", "")
    assert ran.exit_code == 2, ran.output
    assert "an empty name is no file: give a file name, or - for standard output" in ran.stderr


def test_export_needs_a_choice_of_traces(db: Path, tmp_path: Path) -> None:
    invoke(db, "run", "--demo", "weather", "weather in Paris?")
    ran = invoke(db, "export", "-o", str(tmp_path / "x.jsonl"))
    assert ran.exit_code == 2 and "--trace ID" in ran.stderr


def test_import_of_a_corrupt_file_loads_the_valid_lines_and_names_the_bad_one(
    db: Path, tmp_path: Path
) -> None:
    invoke(db, "run", "--demo", "weather", "weather in Paris?")
    good = tmp_path / "good.jsonl"
    invoke(db, "export", "--all", "-o", str(good))
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("{not json\n" + good.read_text())
    ran = invoke(tmp_path / "other.db", "import", str(mixed))
    assert ran.exit_code == 0
    assert f"{mixed}:1:" in ran.stderr and "imported 4 new spans in 1 trace" in ran.stderr


def test_the_console_script_has_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lumos_studio", "--help"], capture_output=True, text=True,
        check=True,
    )
    for command in ("run", "traces", "show", "export", "import", "--db"):
        assert command in done.stdout


def test_compare_summary_of_the_demo_traces_before_and_after_a_prompt_change(db: Path) -> None:
    traces = Path(__file__).parents[2] / "traces"
    ran = invoke(db, "compare", str(traces / "weather-v1.jsonl"), str(traces / "weather-v2.jsonl"),
                 "--summary")
    assert ran.exit_code == 0, ran.output
    first = ran.stdout.splitlines()[0]
    assert "1 tool call fewer" in first and "tokens −" in first
    assert "removed  execute_tool get_weather" in ran.stdout


def test_compare_summary_lists_every_changed_span_of_a_long_run_in_order(db: Path) -> None:
    from lumos_studio.store import Store
    from tests.builders import T0, make_span

    spans = 2_345  # past the thousand lines printed at a time
    before, after = "1" * 32, "2" * 32
    with Store(db) as store:
        for trace_id, status in ((before, "OK"), (after, "ERROR")):
            root = make_span("invoke_agent long", trace_id=trace_id, span_id="f" * 16)
            store.writer.submit_many([root, *(
                make_span(f"step {n}", trace_id=trace_id, span_id=f"{n + 1:016x}",
                          parent="f" * 16, start=T0 + n, status=status)
                for n in range(spans))])
        store.writer.flush()
    ran = invoke(db, "compare", before, after, "--summary")
    assert ran.exit_code == 0, ran.output
    listed = [line.split() for line in ran.stdout.splitlines()[1:]]
    assert [words[:2] for words in listed] == [["changed", "step"]] * spans
    assert [int(words[2].rstrip(":")) for words in listed] == list(range(spans))  # in order


def test_replay_refuses_a_file_with_nothing_to_play(db: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.jsonl"
    junk.write_text("not json\n")
    ran = invoke(db, "replay", str(junk))
    assert ran.exit_code == 1 and "junk.jsonl" in ran.stderr
    assert "Traceback" not in ran.output


def test_run_a_demo_workflow_that_suspends_then_resume_it(db: Path) -> None:
    ran = invoke(db, "run", "--demo", "trip_planner",
                 '{"destination": "Rome", "needs_approval": true}')
    assert ran.exit_code == 0, ran.output
    assert '"question": "Book this trip?"' in ran.stdout
    hint = ran.stderr.strip().splitlines()[-1]
    assert hint.startswith("suspended; resume with: lumos-studio run --demo trip_planner --resume ")
    run_id = hint.split("--resume ", 1)[1].split()[0]
    assert (db.parent / "workflows.db").is_file()  # beside the store, as the studio keeps them

    resumed = invoke(db, "run", "--demo", "trip_planner", "--resume", run_id, '{"approved": true}')
    assert resumed.exit_code == 0, resumed.output
    assert resumed.stdout.startswith("Approved: ") and "Rome" in resumed.stdout
    assert f"run {run_id} · success" in resumed.stderr
    reader = StoreReader(db)
    names = {s.name for t in reader.list_traces() for s in reader.trace_spans(t.trace_id)}
    assert {"invoke_workflow trip_planner", "step approve"} <= names


def test_run_a_workflow_with_bad_input_or_an_unknown_run_says_why(db: Path) -> None:
    bad = invoke(db, "run", "--demo", "trip_planner", '{"days": 3}')
    assert bad.exit_code == 2
    assert "input is invalid (TripRequest): destination: Field required" in bad.stderr
    unknown = invoke(db, "run", "--demo", "trip_planner", "--resume", "nope", '{"approved": 1}')
    assert unknown.exit_code == 2 and "no workflow run 'nope'" in unknown.stderr
    not_json = invoke(db, "run", "--demo", "trip_planner", "--resume", "nope", "yes")
    assert not_json.exit_code == 2 and "resume data must be JSON" in not_json.stderr
    agent = invoke(db, "run", "--demo", "weather", "--resume", "x", "hi")
    assert agent.exit_code == 2 and "--resume is for workflows" in agent.stderr
