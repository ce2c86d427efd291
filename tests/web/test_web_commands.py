"""What each browser tab runs: a PostgreSQL store's URL, password and all, reaches the tab's
studio through its environment (``LUMOS_DB``), never its command line, which ``ps`` shows to
every user of the machine."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from lumos_studio.store import Store, parse_target
from lumos_studio.web import DB_ENV, read_only_command, store_in_environment, studio_command
from tests.builders import T0, weather_trace

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
