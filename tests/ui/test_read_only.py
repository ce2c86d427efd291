"""``lumos-studio --read-only``: the studio on a reader alone. Keys that would write say why and
change nothing; the trace list, opening a trace, the search and live updates still work."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from textual.pilot import Pilot

from lumos_studio.app import StudioApp
from lumos_studio.cli import cli
from lumos_studio.store import Store, StoreReader, StoreTarget
from lumos_studio.store.postgres.reader import PostgresReader
from lumos_studio.ui.commands import binding_commands
from lumos_studio.ui.read_only import ReadOnlySession, ReadOnlyStore, ReadOnlyStoreError
from lumos_studio.ui.widgets.chat import ChatPane
from lumos_studio.ui.widgets.span_detail import SpanDetail
from lumos_studio.ui.widgets.trace_browser import TraceBrowser
from lumos_studio.ui.widgets.trace_list import TraceList
from lumos_studio.ui.widgets.waterfall import TraceWaterfall
from tests.builders import T0, weather_trace
from tests.ui.helpers import wait_for

OLDER, NEWER = "0af7651916cd43dd8448eb211c80319c", "1bf7651916cd43dd8448eb211c80319c"
LATER = "2cf7651916cd43dd8448eb211c80319c"


def read_only_studio(store: Store) -> StudioApp:
    """Two traces written by a store's writer (as ``serve`` would), then a studio reading them."""
    store.writer.submit_many(weather_trace(OLDER, T0))
    store.writer.submit_many(weather_trace(NEWER, T0 + 60 * 10**9))
    store.writer.flush()
    if isinstance(store.target, Path):
        return StudioApp(ReadOnlyStore(StoreReader(store.path)), ReadOnlySession())
    return StudioApp(ReadOnlyStore(PostgresReader(store.target), store.target), ReadOnlySession())


@pytest.fixture
def any_store(store_target: StoreTarget) -> Iterator[Store]:
    """A store on each engine, written by its own writer as another process's would be."""
    opened = Store.open(store_target)
    yield opened
    opened.close()


async def opened(pilot: Pilot) -> None:
    traces = pilot.app.query_one(TraceList)
    await wait_for(pilot, lambda: traces.row_count == 2)
    tree = pilot.app.query_one(TraceWaterfall)
    await wait_for(pilot, lambda: tree.trace_id == NEWER and len(tree.spans) == 4)
    detail = pilot.app.query_one(SpanDetail)  # its span is read by a worker of its own
    await wait_for(pilot, lambda: detail.span is not None and detail.span.trace_id == NEWER)
    await pilot.pause()


def notices(app: StudioApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_keys_that_would_write_say_why_and_change_nothing(store: Store) -> None:
    app = read_only_studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(pilot)
        assert app.read_only
        assert "read-only" in app.sub_title and str(store.path) in app.sub_title
        assert not app.query_one("#sessions").display  # no agents, no chat
        assert app.focused is app.query_one(TraceList)
        for key, why in [("p", "pins nothing"), ("delete", "deletes nothing"),
                         ("s", "saves no files"), ("ctrl+r", "runs nothing"),
                         ("ctrl+n", "stores no annotations"), ("f12", "stores no scores"),
                         ("i", "has no chat"), ("f3", "runs no agents")]:
            await pilot.press(key)
            await pilot.pause()
            assert any(why in notice for notice in notices(app)), key
        app.query_one(TraceWaterfall).focus()
        for key, why in [("b", "sets no breakpoints"), ("f", "forks no runs")]:
            await pilot.press(key)
            await pilot.pause()
            assert any(why in notice for notice in notices(app)), key
        app.action_screenshot()  # the palette's "Save screenshot": a file on the server
        await pilot.pause()
        assert sum("saves no files" in notice for notice in notices(app)) == 2
        assert not app.query_one(ChatPane).has_focus_within
        assert not app.running
    reader = StoreReader(store.path)
    try:
        assert {t.trace_id for t in reader.list_traces()} == {OLDER, NEWER}  # none deleted
        assert not any(t.pinned for t in reader.list_traces())
    finally:
        reader.close()
    assert not (store.path.parent / "traces").exists()


async def test_the_footer_and_the_palette_leave_out_what_would_write(store: Store) -> None:
    app = read_only_studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(pilot)
        shown = {b.binding.action for b in app.screen.active_bindings.values()}
        assert {"pin", "delete", "save", "rerun", "cancel_run"}.isdisjoint(shown)
        assert "mark" in shown and "search" in shown  # reading keys stay
        commands = [str(c.title) for c in binding_commands(app, app.screen)]
        assert not any("Pin" in c or "Delete" in c or "Re-run" in c for c in commands)
        assert any("Search" in c for c in commands)
        palette = [str(c.title) for c in app.get_system_commands(app.screen)]
        assert not any("agents and chat" in c for c in palette)


async def test_the_list_opens_searches_and_follows_what_others_store(any_store: Store) -> None:
    store = any_store
    app = read_only_studio(store)
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(pilot)
        traces, tree = app.query_one(TraceList), app.query_one(TraceWaterfall)
        traces.focus()
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: tree.trace_id == OLDER)
        await pilot.press("f4")  # hiding a pane is this session's: no layout file is written
        await pilot.pause()
        traces.focus()
        await pilot.press("slash", *"tokyo")  # the search runs: neither run asked of Tokyo
        await wait_for(pilot, lambda: traces.row_count == 0)
        app.query_one(TraceBrowser).action_clear_search()
        await wait_for(pilot, lambda: traces.row_count == 2)
        store.writer.submit_many(weather_trace(LATER, T0 + 120 * 10**9))  # another process
        store.writer.flush()
        await wait_for(pilot, lambda: traces.row_count == 3, timeout=15)
    assert not (store.path.parent / "layout.json").exists()


def test_a_read_only_store_has_no_writer(store: Store) -> None:
    read_only = ReadOnlyStore(StoreReader(store.path))
    with read_only, pytest.raises(ReadOnlyStoreError):
        read_only.writer.submit_many([])


def test_read_only_is_for_the_studio_and_needs_a_store(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    opened_missing = CliRunner().invoke(cli, ["--db", str(missing), "--read-only"])
    assert opened_missing.exit_code != 0
    assert "no store at" in opened_missing.output
    assert not missing.exists()  # nothing created
    with_command = CliRunner().invoke(cli, ["--db", str(missing), "--read-only", "dev", "."])
    assert with_command.exit_code == 2
    assert "opens the studio alone" in with_command.output
    with_web = CliRunner().invoke(cli, ["--db", str(missing), "--read-only", "web"])
    assert with_web.exit_code == 2
    assert "lumos-studio web --read-token R" in with_web.output


def test_read_only_studio_snapshot(snap_compare, relative_store: Store) -> None:  # type: ignore[no-untyped-def]
    """The header says read-only and which store; no agents or chat column, no writing keys."""
    app = read_only_studio(relative_store)
    assert snap_compare(app, run_before=opened, terminal_size=(120, 40))


def test_read_only_studio_on_a_small_terminal(snap_compare, relative_store: Store) -> None:  # type: ignore[no-untyped-def]
    app = read_only_studio(relative_store)
    assert snap_compare(app, run_before=opened, terminal_size=(80, 24))
