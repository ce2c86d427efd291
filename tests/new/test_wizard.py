"""The ``lumos-studio new`` wizard, walked with the keyboard, and how it looks."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, RadioSet, Select, Static

from lumos_studio.new.providers import provider_names
from lumos_studio.new.wizard import NewProjectWizard
from tests.ui.helpers import type_at_once, wait_for


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh folder: what the wizard says about ./NAME depends on the working directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return tmp_path


def note(app: NewProjectWizard, selector: str) -> str:
    return str(app.query_one(selector, Static).content)


async def test_the_keyboard_walks_name_template_provider_and_creates() -> None:
    app = NewProjectWizard()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"my-bot")
        assert note(app, "#target").startswith("Writes my-bot/: agents.py, tests/")
        await pilot.press("tab", "down", "enter")  # template: the second, rag
        await pilot.press("tab", "enter")  # open the providers
        await pilot.press(*["down"] * provider_names().index("openai"), "enter")
        await pilot.pause()
        assert app.query_one("#provider", Select).value == "openai"
        assert note(app, "#key-status") == (
            "! OPENAI_API_KEY holds the key, and it is not set: export it before chatting")
        await pilot.press("ctrl+s")
    plan = app.return_value
    assert plan is not None
    assert (plan.name, plan.template.name, plan.provider.model, plan.target) == (
        "my-bot", "rag", "openai:gpt-4o-mini", Path("my-bot"))


async def test_keys_typed_in_one_burst_go_where_the_focus_moved() -> None:
    """shift+tab back to the name, then its letters, in one read from the terminal: typed
    there, not lost on the template list it left."""
    app = NewProjectWizard()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("tab")
        assert app.focused is app.query_one(RadioSet)
        type_at_once(app, "\x1b[Zbot")  # shift+tab, then b, o, t
        await wait_for(pilot, lambda: app.query_one("#name", Input).value == "bot")
        assert app.focused is app.query_one("#name", Input)


async def test_a_change_still_queued_as_the_wizard_closes_is_dropped() -> None:
    """Keys typed in a burst leave ``Input.Changed`` messages queued; one handled while the
    wizard shuts down found its fields gone and failed the whole run."""
    app = NewProjectWizard()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"bot")
        field = app.query_one("#name", Input)
    app.on_input_changed(Input.Changed(field, "bot"))  # closed: its fields are gone


async def test_a_set_key_is_said_to_be_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-test")
    app = NewProjectWizard(name="bot", provider="deepseek")
    async with app.run_test(size=(120, 40)):
        assert note(app, "#key-status") == "✓ DEEPSEEK_API_KEY holds the key, and it is set"


async def test_a_bad_name_or_a_full_folder_keeps_the_wizard_open(in_tmp: Path) -> None:
    (in_tmp / "taken").mkdir()
    (in_tmp / "taken" / "x.txt").write_text("x")
    app = NewProjectWizard()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"2bad", "enter")
        assert note(app, "#name-problem").startswith("'2bad' cannot name a project: use a letter")
        await pilot.press(*["backspace"] * 4, *"taken", "enter")
        assert note(app, "#name-problem").startswith("taken is not empty: choose another name")
        assert app.is_running
        await pilot.press("escape")
    assert app.return_value is None



async def test_with_force_the_files_it_would_replace_are_named(in_tmp: Path) -> None:
    (in_tmp / "taken").mkdir()
    (in_tmp / "taken" / "README.md").write_text("mine")
    (in_tmp / "taken" / "x.txt").write_text("x")
    app = NewProjectWizard(name="taken", force=True)
    async with app.run_test(size=(120, 40)):
        assert note(app, "#target").endswith("; replaces README.md (--force)")

async def fill_in(pilot: Pilot) -> None:
    await pilot.press(*"demo")
    await pilot.pause()


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
def test_wizard_snapshot(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(NewProjectWizard(), run_before=fill_in, terminal_size=size)
