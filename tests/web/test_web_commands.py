"""What each browser tab runs: a PostgreSQL store's URL, password and all, reaches the tab's
studio through its environment (``LUMOS_DB``), never its command line, which ``ps`` shows to
every user of the machine. And what ``web`` checks before it says it serves: the store the tabs
will open, and the address it serves on."""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from lumos_studio.cli import cli
from lumos_studio.store import Store, parse_target
from lumos_studio.web import DB_ENV, read_only_command, store_in_environment, studio_command
from tests.builders import T0, weather_trace
from tests.ports import free_port
from tests.studio.test_serve_cli import read_line_with

TRACE = "0af7651916cd43dd8448eb211c80319c"


def test_a_postgresql_url_reaches_the_tabs_by_their_environment(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    url = pg_url.replace("://lumospg@", "://lumospg:s3cret@", 1)  # the cluster trusts local users
    with Store.open(parse_target(url)) as store:
        store.writer.submit_many(weather_trace(TRACE, T0))
        store.writer.flush()
    monkeypatch.delenv(DB_ENV, raising=False)  # restored after the test
    store_in_environment(url)
    for command in (studio_command(None, 4318, None), read_only_command(None)):
        assert "s3cret" not in command and "--db" not in command
    # A tab's process inherits the server's environment: the same store, read from LUMOS_DB.
    listed = subprocess.run(
        [*shlex.split(studio_command(None, 4318, None))[:3], "traces"],
        env=dict(os.environ), capture_output=True, text=True, timeout=60, check=False)
    assert listed.returncode == 0, listed.stderr
    assert TRACE[:12] in listed.stdout


def test_a_sqlite_store_is_named_on_the_command_line(tmp_path: Path) -> None:
    db = tmp_path / "studio.db"
    assert shlex.split(studio_command(db, 4318, None))[3:5] == ["--db", str(db)]
    assert shlex.split(read_only_command(db))[3:] == ["--db", str(db), "--read-only"]


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory nothing can be created in (root ignores modes: a read-only tmpfs then)."""
    folder = tmp_path / "locked"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    if shutil.which("mount") is None:
        pytest.skip("no mount for a read-only directory as root")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)],
                          capture_output=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode(errors='replace')}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def _not_a_store(tmp_path: Path, locked: Path) -> str:
    (tmp_path / "notes.db").write_text("not a store\n")
    return str(tmp_path / "notes.db")


def _postgres_down(tmp_path: Path, locked: Path) -> str:
    return f"postgresql://lumos@127.0.0.1:{free_port()}/studio"  # nothing listens there


def _read_only_directory(tmp_path: Path, locked: Path) -> str:
    return str(locked / "studio.db")


BAD_STORES: dict[str, Callable[[Path, Path], str]] = {
    "not a store": _not_a_store,
    "postgresql down": _postgres_down,
    "read-only directory": _read_only_directory,
}


@pytest.mark.parametrize("bad", list(BAD_STORES))
def test_web_refuses_a_store_as_the_studio_does_before_it_serves(
    tmp_path: Path, read_only_dir: Path, bad: str
) -> None:
    db = BAD_STORES[bad](tmp_path, read_only_dir)
    port = free_port()
    web = CliRunner().invoke(cli, ["--db", db, "web", "--port", str(port)])
    studio = CliRunner().invoke(cli, ["--db", db, "--otlp-port", "0"])
    assert web.exit_code == studio.exit_code != 0, (web.output, studio.output)
    assert web.stderr == studio.stderr and web.stderr.startswith("error: ")
    assert "serving the studio" not in web.stdout
    with socket.socket() as probe:  # and nothing was left listening
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_web_on_a_port_in_use_says_so_and_nothing_else(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        ran = CliRunner().invoke(cli, ["--db", str(tmp_path / "s.db"), "web", "--port",
                                       str(port)])
    assert ran.exit_code == 1, ran.output
    assert f"port {port} is in use" in ran.stderr and "pass --port N" in ran.stderr
    assert "serving the studio" not in ran.stdout


def test_web_blames_a_host_that_does_not_resolve(tmp_path: Path) -> None:
    ran: Result = CliRunner().invoke(cli, ["--db", str(tmp_path / "s.db"), "web", "--host",
                                           "999.1.1.1", "--token", "s3cret"])
    assert ran.exit_code == 1, ran.output
    assert "cannot resolve --host 999.1.1.1" in ran.stderr and "--port" not in ran.stderr


def test_web_says_where_it_serves_once_the_page_answers_there(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "lumos_studio", "--db", str(tmp_path / "s.db"), "web", "--port",
         str(port), "--otlp-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        line = read_line_with(process, "serving the studio on")
        assert f"http://127.0.0.1:{port}" in line
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200
    finally:
        process.terminate()
        process.wait(30)
