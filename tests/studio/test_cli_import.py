"""``import`` says what it stored and nothing else (issue 13, finding 5): new vs already there,
a write that fails is an error with what was not stored, lines have a size cap, a file that is
not OTLP is refused, and a writer stuck in SQLite never takes the process down."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result

from lumos_studio.cli import cli
from lumos_studio.otlp import encode_lines, write_file
from lumos_studio.otlp.files import open_lines
from lumos_studio.store import Store, StoreReader
from tests.builders import weather_trace

ROOT = Path(__file__).resolve().parents[2]


def invoke(db: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", str(db), "import", *args])


def test_a_reimport_says_nothing_new_was_added(tmp_path: Path) -> None:
    db, first, both = tmp_path / "studio.db", tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    write_file(first, weather_trace("1" * 32))
    write_file(both, [*weather_trace("1" * 32), *weather_trace("2" * 32)])

    ran = invoke(db, str(first))
    assert ran.exit_code == 0, ran.output
    assert ran.stderr.strip() == f"imported 4 new spans in 1 trace from {first}"
    again = invoke(db, str(first), str(both))
    assert again.exit_code == 0, again.output
    assert again.stderr.splitlines() == [
        f"imported 0 new spans (4 already in the store) in 1 trace from {first}",
        f"imported 4 new spans (4 already in the store) in 2 traces from {both}",
    ]
    assert StoreReader(db).count_traces() == 2


def test_a_file_that_is_not_otlp_is_refused_in_one_sentence(tmp_path: Path) -> None:
    db, agents = tmp_path / "studio.db", tmp_path / "agents.py"
    agents.write_text("from lumos_core import Agent\n" * 30)
    ran = invoke(db, str(agents))
    assert ran.exit_code == 1
    (line,) = ran.stderr.splitlines()
    assert line.startswith(f"error: {agents} is not OTLP JSON lines: line 1 is not JSON (")


def test_good_lines_are_imported_beside_bad_ones_with_a_warning(tmp_path: Path) -> None:
    db, mixed = tmp_path / "studio.db", tmp_path / "mixed.jsonl"
    mixed.write_text("".join(encode_lines(weather_trace())) + "{not json\n")
    ran = invoke(db, str(mixed))
    assert ran.exit_code == 0, ran.output
    assert f"warning: {mixed}:2: invalid JSON" in ran.stderr
    assert f"imported 4 new spans in 1 trace from {mixed}" in ran.stderr


def test_an_oversized_line_stops_the_reading_and_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    good = "".join(encode_lines(weather_trace()))
    path.write_text(good + '{"resourceSpans": [' + " " * 5000 + "]}\n" + good)
    with open_lines(path, max_line=len(good) + 10) as reader:
        decoded = list(reader)
    assert [line.line_number for line in decoded] == [1]
    assert reader.stopped is not None and reader.stopped.line_number == 2
    assert reader.stopped.message == f"line 2 is longer than {len(good) + 10:,} bytes; " \
                                     "reading stopped there"


def test_import_of_an_endless_line_stops_at_the_cap(tmp_path: Path) -> None:
    """/dev/zero has no newline: the old import read it into memory until it ran out."""
    ran = invoke(tmp_path / "studio.db", "/dev/zero")
    assert ran.exit_code == 1
    assert ran.stderr.strip() == (
        "error: /dev/zero: line 1 is longer than 64 MiB; reading stopped there; nothing in it "
        "was imported"
    )


def test_a_file_cut_short_is_an_error_and_what_came_before_is_kept(tmp_path: Path) -> None:
    db, cut = tmp_path / "studio.db", tmp_path / "cut.jsonl"
    first = "".join(encode_lines(weather_trace("1" * 32)))
    second = "".join(encode_lines(weather_trace("2" * 32)))
    cut.write_text(first + second[: len(second) // 2])  # a copy stopped mid-line
    ran = invoke(db, str(cut))
    assert ran.exit_code == 1
    assert ran.stderr.splitlines() == [
        f"imported 4 new spans in 1 trace from {cut}",
        f"error: {cut}: line 2 is cut short (the file ends inside it); the records from that "
        "line on were not imported",
    ]
    only = tmp_path / "only.jsonl"
    only.write_text(first[:-20])
    ran = invoke(db, str(only))
    assert ran.exit_code == 1
    assert ran.stderr.strip() == (
        f"error: {only}: line 1 is cut short (the file ends inside it); nothing in it was "
        "imported")


def test_a_bad_line_that_ends_is_still_a_warning_even_last(tmp_path: Path) -> None:
    db, mixed = tmp_path / "studio.db", tmp_path / "mixed.jsonl"
    mixed.write_text("".join(encode_lines(weather_trace())) + "{not json\n")
    ran = invoke(db, str(mixed))
    assert ran.exit_code == 0, ran.output
    assert ran.stderr.splitlines()[0].startswith(f"warning: {mixed}:2: invalid JSON: ")


def test_a_file_that_cannot_be_read_does_not_stop_the_others(tmp_path: Path) -> None:
    db, good = tmp_path / "studio.db", tmp_path / "good.jsonl"
    write_file(good, weather_trace())
    missing = tmp_path / "missing.jsonl"
    ran = invoke(db, str(missing), str(good))
    assert ran.exit_code == 1
    assert ran.stderr.splitlines() == [
        f"error: cannot read {missing}: No such file or directory",
        f"imported 4 new spans in 1 trace from {good}",
    ]
    assert StoreReader(db).count_traces() == 1


def _run_with_the_write_lock_held(
    db: Path, code: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter (the writer waits 0.3 s for a lock) while this process
    holds the store's write lock."""
    with Store(db):
        pass  # a current store: opening it again needs no write
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        return subprocess.run(
            [sys.executable, "-c",
             "from lumos_studio.store import connection\n"
             "connection.WRITER_BUSY_TIMEOUT_MS = 300\n" + code, str(db), *args],
            capture_output=True, text=True, timeout=300, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_write_that_fails_is_an_error_that_says_what_was_not_stored(tmp_path: Path) -> None:
    db, path = tmp_path / "studio.db", tmp_path / "in.jsonl"
    write_file(path, weather_trace())
    done = _run_with_the_write_lock_held(
        db, "import sys\nfrom lumos_studio.cli import main\n"
            "sys.argv = ['lumos-studio', '--db', sys.argv[1], 'import', sys.argv[2]]\nmain()",
        str(path),
    )
    assert done.returncode == 1, (done.returncode, done.stderr)  # not a signal, not success
    assert done.stderr.splitlines()[0] == (
        f"error: could not write to {db} (database is locked): the records of {path} from line 1 "
        "on were not stored"
    )
    assert "imported" not in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 2
    assert StoreReader(db).count_traces() == 0


def test_closing_a_writer_still_waiting_for_the_lock_does_not_crash(tmp_path: Path) -> None:
    """The segfault's cause: ``close`` gave up waiting for the writer thread and closed the
    connection under it, still inside SQLite's wait for the lock (rc 139, or the thread died on
    a closed database)."""
    done = _run_with_the_write_lock_held(tmp_path / "studio.db", """
import sys, threading
from pathlib import Path
from lumos_studio.store import Store
from tests.builders import weather_trace
store = Store(Path(sys.argv[1]))
store.writer.submit_many(weather_trace())
assert not store.writer.flush(0.05)  # the writer waits for the lock
thread = next(t for t in threading.enumerate() if t.name == "lumos-store-writer")
store.writer.close(timeout=0.01)  # gives up on the thread
store.reader.close()
thread.join()  # its wait ends: "database is locked", on a connection still open
print("survived")
""")
    assert done.returncode == 0, (done.returncode, done.stderr)
    assert done.stdout == "survived\n"
    assert "closed database" not in done.stderr


def test_an_import_tells_how_far_into_the_file_it_is(tmp_path: Path) -> None:
    from lumos_studio.importer import import_file

    spans = [span for n in range(3_000) for span in weather_trace(trace_id=f"{n + 1:032x}")]
    path = tmp_path / "many.jsonl"
    write_file(path, spans)  # 12,000 spans: committed in chunks of 5,000 records
    heard: list[int] = []
    with Store(tmp_path / "studio.db") as store:
        done = import_file(store, path, on_progress=heard.append)
    assert done.new_spans == 12_000
    assert len(heard) == 2 and heard == sorted(heard)
    assert 0 < heard[0] < heard[1] <= path.stat().st_size
