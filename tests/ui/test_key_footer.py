"""The studio's footer follows the focus, and is not rebuilt when its keys stay the same."""

from __future__ import annotations

from textual.widgets._footer import FooterKey

from lumos_studio.app import StudioApp
from lumos_studio.sessions.discovery import load_demo
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store
from lumos_studio.ui.widgets.key_footer import KeyFooter
from lumos_studio.ui.widgets.trace_list import TraceList
from lumos_studio.ui.widgets.waterfall import TraceWaterfall
from tests.builders import agent_run
from tests.ui.helpers import wait_for


def descriptions(app: StudioApp) -> list[str]:
    return [key.description for key in app.query_one(KeyFooter).query(FooterKey)]


async def test_the_footer_shows_the_focused_panes_keys_and_keeps_its_widgets_otherwise(
    store: Store,
) -> None:
    store.writer.submit_many(agent_run(1))
    store.writer.flush()
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer))
    async with app.run_test(size=(120, 40)) as pilot:
        traces = app.query_one(TraceList)
        tree = app.query_one(TraceWaterfall)
        await wait_for(pilot, lambda: traces.row_count == 1 and len(tree.spans) == 2)
        traces.focus()
        await wait_for(pilot, lambda: "Mark" in descriptions(app))
        await pilot.pause(0.2)  # the span's detail and memory in: the keys' states settled
        keys = list(app.query_one(KeyFooter).query(FooterKey))

        app.refresh_bindings()  # nothing the footer shows changed
        await pilot.pause()
        await pilot.pause()
        assert list(app.query_one(KeyFooter).query(FooterKey)) == keys

        tree.focus()  # other keys: rebuilt
        await wait_for(pilot, lambda: "Mark" not in descriptions(app))
        traces.focus()
        await wait_for(pilot, lambda: "Mark" in descriptions(app))
