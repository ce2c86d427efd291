"""A ``--db`` file that is not a store this studio can use: one sentence and exit 2 from every
command, and the file left as it was (issue 13, finding 6)."""

from __future__ import annotations

import gc
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from lumos_core.telemetry import semconv as sc
from lumos_core.telemetry.semconv import LUMOS_STUDIO_PID
from lumos_studio.cli import cli
from lumos_studio.otlp import write_file
from lumos_studio.scoring import evaluation_record
from lumos_studio.store import Store, StoreReader, StoreUnusable
from tests.builders import agent_run, weather_trace


def _good(path: Path) -> None:
    with Store(path) as store:
        store.writer.submit_many(weather_trace())
        store.writer.flush()


def _random(path: Path) -> None:
    path.write_bytes(os.urandom(64 * 1024))


def _text(path: Path) -> None:
    path.write_text("import os\nprint('agents')\n")


def _truncated(path: Path) -> None:
    _good(path)
    os.truncate(path, path.stat().st_size // 2)


def _foreign(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        connection.execute("INSERT INTO users (name) VALUES ('ada')")
    connection.close()


def _newer(path: Path) -> None:
    _good(path)
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA user_version = 99")
    connection.close()


BAD: dict[str, tuple[Callable[[Path], None], str]] = {
    "random bytes": (_random, "is not a Lumos Studio store (file is not a database)"),
    "text": (_text, "is not a Lumos Studio store (file is not a database)"),
    "truncated": (_truncated, "is not a Lumos Studio store"),
    "foreign": (_foreign, "is not a Lumos Studio store (an SQLite database of another"),
    "newer": (_newer, "was written by a newer Lumos Studio (schema 99 > "),
}

COMMANDS: dict[str, Callable[[Path, Path], list[str]]] = {
    "traces": lambda db, tmp: ["traces"],
    "show": lambda db, tmp: ["show", "0af7"],
    "export": lambda db, tmp: ["export", "--all", "-o", str(tmp / "out.jsonl")],
    "import": lambda db, tmp: ["import", str(tmp / "in.jsonl")],
    "run": lambda db, tmp: ["run", "--demo", "weather", "weather?"],
    "compare": lambda db, tmp: ["compare", "0af7", "0af7", "--summary"],
    "replay": lambda db, tmp: ["replay", str(db)],
}


@pytest.fixture(params=list(BAD))
def bad_db(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str]:
    make, message = BAD[request.param]
    db = tmp_path / "studio.db"
    make(db)
    write_file(tmp_path / "in.jsonl", weather_trace("1" * 32))
    return db, message


def _snapshot(db: Path) -> bytes:
    """The file's bytes (a read of a WAL-mode file may add its empty -wal and -shm)."""
    return db.read_bytes()


def _one_clear_line(stderr: str, db: Path, message: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"error: {db}") and message in lines[0], stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_refuses_a_bad_store_in_one_line(
    bad_db: tuple[Path, str], tmp_path: Path, command: str
) -> None:
    db, message = bad_db
    before = _snapshot(db)
    result = CliRunner().invoke(cli, ["--db", str(db), *COMMANDS[command](db, tmp_path)])
    assert result.exit_code == 2, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit)
    _one_clear_line(result.stderr, db, message)
    assert result.stdout == ""
    assert _snapshot(db) == before  # nothing migrated into someone else's file


@pytest.mark.parametrize("command", [[], ["serve", "--port", "0"]], ids=["studio", "serve"])
def test_the_studio_and_serve_refuse_a_bad_store(
    bad_db: tuple[Path, str], command: list[str]
) -> None:
    db, message = bad_db
    done = subprocess.run(
        [sys.executable, "-m", "lumos_studio", "--db", str(db), *command],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2, done.stderr
    _one_clear_line(done.stderr, db, message)


def test_a_reader_refuses_a_store_of_another_version(tmp_path: Path) -> None:
    newer, older = tmp_path / "newer.db", tmp_path / "older.db"
    _newer(newer)
    with pytest.raises(StoreUnusable, match="newer Lumos Studio"):
        StoreReader(newer)
    _good(older)
    with sqlite3.connect(older) as connection:
        connection.execute("PRAGMA user_version = 3")
    connection.close()
    with pytest.raises(StoreUnusable, match="older Lumos Studio"):
        StoreReader(older)


def test_an_empty_file_holds_no_runs_for_every_reader(tmp_path: Path) -> None:
    """0 bytes is an empty SQLite database: no runs, not "no such table: traces"."""
    db = tmp_path / "empty.db"
    db.touch()
    for command in (["traces"], ["show", "abc"], ["export", "--all", "-o", "-"]):
        result = CliRunner().invoke(cli, ["--db", str(db), *command])
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith(f"error: {db} holds no runs yet; record a run first"), (
            command, result.stderr)
    result = CliRunner().invoke(cli, ["replay", str(db)])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {db} holds no runs: nothing to replay"
    assert db.stat().st_size == 0  # looked at, left as it was


def test_a_good_store_still_opens_for_every_reader(tmp_path: Path) -> None:
    db = tmp_path / "studio.db"
    _good(db)
    copy = tmp_path / "copy.db"
    shutil.copy(db, copy)
    assert StoreReader(copy).trace_ids() == ["0af7651916cd43dd8448eb211c80319c"]


def test_damage_found_while_reading_ends_in_one_line_too(tmp_path: Path) -> None:
    """Opening checks the header and the schema; a damaged page further in shows only when a
    command reads it."""
    db = tmp_path / "studio.db"
    _good(db)
    with sqlite3.connect(db) as connection:
        (root,) = connection.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'spans'").fetchone()
        (page_size,) = connection.execute("PRAGMA page_size").fetchone()
    connection.close()
    with open(db, "r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\xff" * page_size)
    result = CliRunner().invoke(cli, ["--db", str(db), "export", "--all", "-o",
                                      str(tmp_path / "out.jsonl")])
    assert result.exit_code == 2, (result.output, result.exception)
    _one_clear_line(result.stderr, db, "is damaged (database disk image is malformed)")


def test_a_store_name_that_looks_like_markup_is_printed_as_it_is(tmp_path: Path) -> None:
    db = tmp_path / "[bold]x[red.db"
    _random(db)
    result = CliRunner().invoke(cli, ["--db", str(db), "traces"])
    assert result.exit_code == 2, (result.output, result.exception)
    _one_clear_line(result.stderr, db, "is not a Lumos Studio store")


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 300 KB filesystem (tmpfs), too small for a store: a full disk, not a bad file."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mount)],
                          capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode(errors='replace')}")
    try:
        yield mount
    finally:
        left = subprocess.run(["umount", str(mount)], capture_output=True)
        if left.returncode != 0:  # still busy: not left mounted, but said
            subprocess.run(["umount", "--lazy", str(mount)], check=False)
            pytest.fail(f"the store left a file open: {left.stderr.decode(errors='replace')}")


def test_a_full_disk_when_the_store_is_made_is_named_as_such(tiny_disk: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--db", str(tiny_disk / "studio.db"), "import", "traces/assistant.jsonl"]
    )
    assert result.exit_code == 1  # the file is not at fault: not the exit 2 of a bad store
    assert "the disk is full" in result.stderr
    assert "not a usable Lumos Studio store" not in result.stderr
    assert "Traceback" not in result.output + result.stderr


@pytest.mark.parametrize(("value", "said"), [
    ("mysql://x", "unsupported --db URL scheme 'mysql': give a SQLite file path or a "
                  "postgresql:// URL"),
    ("sqlite:///studio.db", "unsupported --db URL scheme 'sqlite'"),
    ("", "--db is empty: give a SQLite file path or a postgresql:// URL"),
], ids=["mysql", "sqlite", "empty"])
@pytest.mark.parametrize("command", ["traces", "import"])
def test_a_db_that_is_no_file_path_is_refused_before_anything_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, said: str, command: str
) -> None:
    monkeypatch.chdir(tmp_path)
    write_file(tmp_path / "in.jsonl", weather_trace("1" * 32))
    args = ["import", "in.jsonl"] if command == "import" else [command]
    result = CliRunner().invoke(cli, ["--db", value, *args])
    assert result.exit_code == 2, (result.output, result.exception)
    assert said in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]  # no "mysql:" directory


@pytest.fixture
def seal() -> Iterator[Callable[[Path], None]]:
    """Makes a directory this process cannot write (its files stay readable): mode 0o555, or for
    root, whom modes do not stop, a read-only bind mount of it (a read-only filesystem)."""
    undo: list[list[str] | Path] = []

    def make_read_only(directory: Path) -> None:
        if os.geteuid() != 0:
            directory.chmod(0o555)
            undo.append(directory)
        elif shutil.which("mount") is not None:
            bound = subprocess.run(["mount", "--bind", str(directory), str(directory)],
                                   capture_output=True)
            if bound.returncode == 0:
                undo.append(["umount", str(directory)])
                subprocess.run(["mount", "-o", "remount,bind,ro", str(directory)],
                               capture_output=True)
        if os.access(directory, os.W_OK):
            pytest.skip("cannot make a directory read-only here (root without mount)")

    yield make_read_only
    for step in reversed(undo):
        if isinstance(step, Path):
            step.chmod(0o755)
            continue
        gc.collect()  # a reader's connection that only a cycle still holds
        left = subprocess.run(step, capture_output=True)
        if left.returncode != 0:  # still busy: not left mounted, but said
            subprocess.run(["umount", "--lazy", step[-1]], check=False)
            pytest.fail(f"a reader left the store open: {left.stderr.decode(errors='replace')}")


def _in(directory: Path, *make: Callable[[Path], None]) -> Path:
    """A store made elsewhere, then copied alone into ``directory`` (as a user copies one)."""
    made = directory.parent / "made" / "studio.db"
    made.parent.mkdir()
    for step in make:
        step(made)
    directory.mkdir()
    shutil.copy(made, directory / made.name)
    return directory / made.name


def test_a_store_in_a_read_only_directory_is_read_by_every_command_that_reads(
    tmp_path: Path, seal: Callable[[Path], None]
) -> None:
    from lumos_studio.replay.loader import load_trace

    def interrupted(path: Path) -> None:  # traces would close it: here it cannot, and need not
        gone = subprocess.Popen([sys.executable, "-c", "pass"])
        gone.wait()
        left = replace(agent_run(7, running=True)[0],
                       resource={LUMOS_STUDIO_PID: str(gone.pid)})
        with Store(path) as store:
            store.writer.submit_many([left, *agent_run(7)[1:]])
            store.writer.flush()

    db = _in(tmp_path / "read-only", _good, interrupted)
    seal(db.parent)
    listed = CliRunner().invoke(cli, ["--db", str(db), "traces"])
    assert listed.exit_code == 0, listed.output
    assert "0af7651916cd43dd8448eb211c80319c" in listed.stdout
    assert "00000000000000000000000000000007" in listed.stdout
    shown = CliRunner().invoke(cli, ["--db", str(db), "show", "0af7"])
    assert shown.exit_code == 0, shown.output
    assert "execute_tool get_weather" in shown.stdout
    out = tmp_path / "out.jsonl"
    exported = CliRunner().invoke(cli, ["--db", str(db), "export", "--all", "-o", str(out)])
    assert exported.exit_code == 0, exported.output
    assert "wrote 2 trace(s)" in exported.stderr and out.stat().st_size
    with load_trace(db) as loaded:  # what replay opens
        assert loaded.spans == len(weather_trace()) + len(agent_run(7))
        assert len(loaded.reader.trace_spans("0af7651916cd43dd8448eb211c80319c")) == 4
    assert sorted(p.name for p in db.parent.iterdir()) == ["studio.db"]


def test_a_store_copied_with_pages_in_its_wal_into_a_read_only_directory_says_what_to_do(
    tmp_path: Path, seal: Callable[[Path], None]
) -> None:
    made = tmp_path / "made" / "studio.db"
    made.parent.mkdir()
    _good(made)
    writing = sqlite3.connect(made)
    writing.execute("PRAGMA wal_autocheckpoint=0")
    with writing:
        writing.execute("UPDATE traces SET root_name = 'renamed'")
    db = tmp_path / "read-only" / "studio.db"
    db.parent.mkdir()
    for suffix in ("", "-wal"):  # copied while written: the update is in the WAL only
        shutil.copy(f"{made}{suffix}", f"{db}{suffix}")
    writing.close()
    seal(db.parent)
    result = CliRunner().invoke(cli, ["--db", str(db), "traces"])
    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == (
        f"error: cannot read the store {db}: its directory is read-only, and SQLite reads the "
        "pages waiting in studio.db-wal only through a studio.db-shm made beside it; copy both "
        "files to a writable directory and pass the copy with --db")


# ------------------------------------------------------------------- a store it cannot write


@pytest.fixture
def read_only_store(tmp_path: Path) -> Iterator[Path]:
    """A store holding a run, its message text still queued for indexing (its session ended
    before the writer was idle), in a file this process cannot write: ``chattr +i`` for root,
    whom no chmod stops, a chmod for anyone else; as a person found it (issue: writes to a
    read-only store)."""
    db = tmp_path / "studio.db"
    spans = weather_trace()
    with Store(db) as store:  # a log record in the trace: its spans' text goes the queue's way
        assert store.writer.commit([*spans, evaluation_record(
            spans[0].trace_id, spans[0].span_id, {sc.EVALUATION_NAME: "earlier"})])
    write_file(tmp_path / "in.jsonl", weather_trace("1" * 32))
    as_root = os.geteuid() == 0
    try:
        if not as_root:
            db.chmod(0o444)
        elif shutil.which("chattr") is None or subprocess.run(
                ["chattr", "+i", str(db)], capture_output=True).returncode != 0:
            pytest.skip("chattr +i is not available here")
        try:
            open(db, "r+b").close()
        except OSError:
            yield db
        else:
            pytest.skip("this filesystem lets the file be written")
    finally:
        if as_root and shutil.which("chattr") is not None:
            subprocess.run(["chattr", "-i", str(db)], capture_output=True)
        db.chmod(0o644)


def test_the_writer_keeps_a_read_only_store_as_its_storage_error_without_a_traceback(
    read_only_store: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Whichever transaction meets it (a batch, the queued text's indexing at a flush, a pin),
    the writer's owner learns it from ``storage_error``; nothing is logged as a bug."""
    caplog.set_level(logging.DEBUG, logger="lumos_studio.store.writer")
    with Store(read_only_store) as store:
        store.writer.submit_many(weather_trace("2" * 32))
        assert store.writer.flush()  # indexes the queued text too: refused as well
        assert not store.writer.pin_traces([weather_trace()[0].trace_id], True)
        problem = store.writer.storage_error
        assert problem is not None and problem.kind == "read-only"
        assert store.writer.failed_batches == 1
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO] == [
        "could not write 4 records: the store is read-only"]
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


def _agents_file(directory: Path) -> Path:
    """An agent the worker process would run (it is never started: the store is refused)."""
    path = directory / "agents.py"
    path.write_text("from lumos_core import Agent, ScriptedModel\n\n"
                    "echo = Agent('echo', model=ScriptedModel())\n")
    return path


WRITERS: dict[str, Callable[[Path], list[str]]] = {
    "annotate": lambda tmp: ["annotate", "0af7", "--label", "x"],
    "score": lambda tmp: ["score", "--last", "1", "--contains", "x"],
    "run": lambda tmp: ["run", "--demo", "weather", "hi"],
    "run FILE": lambda tmp: ["run", str(_agents_file(tmp)), "echo", "hi"],
    "eval": lambda tmp: ["eval", "--demo", "weather", "--agent", "weather"],
    "import": lambda tmp: ["import", str(tmp / "in.jsonl")],
}


@pytest.mark.parametrize("command", list(WRITERS))
def test_a_store_that_refuses_writes_is_one_error_and_exit_1(
    read_only_store: Path, tmp_path: Path, command: str
) -> None:
    db = read_only_store
    result = CliRunner().invoke(cli, ["--db", str(db), *WRITERS[command](tmp_path)])
    assert result.exit_code == 1, (result.output, result.exception)
    assert "Traceback" not in result.stdout + result.stderr
    said, hint = result.stderr.splitlines()  # no line says anything was stored
    assert said.startswith(
        f"error: the store is read-only: {db} cannot be written (attempt to write a readonly "
        "database)"), said
    assert hint == ("make the file and its directory writable (check their permissions and "
                    "attributes: ls -l, lsattr), or pass another --db")
    reader = StoreReader(db)  # what it held before, no more
    assert reader.count_traces() == 1
    assert len(reader.logs(trace_id=weather_trace()[0].trace_id)) == 1
