"""``--forward`` on the command line: ``serve`` passes on what it stores, bad URLs are refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from lumos_studio.cli import cli
from tests.forward.test_forward import (
    PROTOBUF,
    SPANS_PER_REQUEST,
    body_of,
    stored_spans,
    team_collector,
    wait_for,
)
from tests.studio.test_serve_cli import read_line_with


def test_serve_forwards_what_it_stores_to_a_collector_given_before_or_after_the_command(
        tmp_path: Path) -> None:
    with team_collector(tmp_path / "team.db") as (team, _):
        process = subprocess.Popen(
            [sys.executable, "-m", "lumos_studio", "--db", str(tmp_path / "local.db"),
             "--forward", team, "serve", "--otlp-port", "0", "--forward", team],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            local = read_line_with(process, "OTEL_EXPORTER_OTLP_ENDPOINT=").strip().split("=")[1]
            for request in range(4):
                answer = httpx.post(f"{local}/v1/traces", content=body_of(request),
                                    headers={"Content-Type": PROTOBUF}, timeout=30)
                assert answer.status_code == 200
            wait_for(lambda: stored_spans(tmp_path / "team.db") == 4 * SPANS_PER_REQUEST)
        finally:
            process.terminate()
            _, stderr = process.communicate(timeout=30)
    assert f"{4 * SPANS_PER_REQUEST} sent" in stderr  # the status line names each target once
    assert stderr.count("→ 127.0.0.1") >= 1


def test_a_forward_url_that_is_not_one_is_refused_before_anything_opens(tmp_path: Path) -> None:
    from click.testing import CliRunner

    db = tmp_path / "never.db"
    result = CliRunner().invoke(cli, ["--db", str(db), "serve", "--forward", "collector:4318"])
    assert result.exit_code == 2
    assert "is not an http(s) URL" in result.output
    assert "--forward http://127.0.0.1:4318" in result.output
    assert not db.exists()


def test_the_groups_otlp_port_is_the_commands_when_the_command_gives_none(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "lumos_studio", "--db", str(tmp_path / "s.db"), "--otlp-port", "0",
         "serve"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        endpoint = read_line_with(process, "OTEL_EXPORTER_OTLP_ENDPOINT=").strip()
    finally:
        process.terminate()
        process.wait(30)
    assert not endpoint.endswith(":4318")


def test_a_forwarding_queue_that_cannot_be_a_directory_ends_the_command_saying_so(
        tmp_path: Path) -> None:
    from click.testing import CliRunner

    (tmp_path / "local.db-forward").write_text("not a directory")  # where the queues go
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "local.db"), "serve",
                                      "--otlp-port", "0", "--forward", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "cannot use the forwarding queue" in result.output
    assert "local.db-forward" in result.output
    assert "make it a writable directory" in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an exception
