"""The command ``lumos-studio new`` prints last, run as written (through the CLI, in the new
project's folder), opens a dev session whose agent answers: only the terminal is a Pilot's."""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from lumos_studio.app import StudioApp
from lumos_studio.cli import cli
from tests.new.helpers import STUDIO, new_project
from tests.ui.helpers import wait_for

TURNS = {
    "chatbot": [("what is 6 * 7?", "chatbot › 6 * 7 = 42")],
    "rag": [("how long do I have to return an order?",
             "docs_qa › You can return any order within 30 days")],
    "workflow": [('{"topic": "our new espresso"}', "announce › suspended at review"),
                 ('{"approved": true}', "Published: Big news: our new espresso is here!")],
    "evaluated": [("where is A1001?", "orders › Order A1001 is shipped on 2 March")],
}


def transcript(app: StudioApp) -> str:
    return "\n".join(str(w.content) for w in app.query(".turn"))


@pytest.mark.parametrize("template", list(TURNS))
def test_the_printed_command_opens_a_session_that_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template: str
) -> None:
    command = new_project(tmp_path, "demo", template)
    cd, _, run = command.partition(" && ")
    assert shlex.split(cd)[0] == "cd"
    argv = shlex.split(run)
    assert argv[0] == str(STUDIO) and argv[1:] == ["dev", "agents.py"]
    monkeypatch.chdir(tmp_path / shlex.split(cd)[1])
    monkeypatch.delenv("LUMOS_DB", raising=False)  # the project's own store, as printed
    seen: list[str] = []

    def run_in_pilot(app: StudioApp) -> None:
        async def chat() -> None:
            async with app.run_test(size=(120, 40)) as pilot:
                await wait_for(pilot, lambda: app.loads == 1, timeout=30)
                for message, answer in TURNS[template]:
                    await pilot.press(*message, "enter")
                    await wait_for(pilot, lambda a=answer: a in transcript(app), timeout=30)
                seen.append(transcript(app))

        asyncio.run(chat())

    monkeypatch.setattr(StudioApp, "run", run_in_pilot)
    ran = CliRunner().invoke(cli, argv[1:], catch_exceptions=False)

    assert ran.exit_code == 0, ran.output
    assert seen, "the studio never answered"
    assert (tmp_path / "demo" / ".lumos" / "studio.db").is_file()  # the project's own store
