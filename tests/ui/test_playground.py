"""The playground through the real studio: ``P`` (or ``f``, where no agent here made the call)
on a model call another framework recorded (captured from OpenInference's real instrumentation)
sends its request, edited, to a real HTTP server on 127.0.0.1 speaking Chat Completions, and to
the scripted model; the answer shows beside the recorded one, each try lands in the store linked
to the call, a bad request or a failing provider is said, never raised."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static, TextArea

from lumos_core.telemetry import semconv as sc
from lumos_studio.app import StudioApp
from lumos_studio.records import SpanRecord
from lumos_studio.store import Store
from lumos_studio.ui.screens.playground import PlaygroundScreen
from lumos_studio.ui.widgets.waterfall import TraceWaterfall
from tests.core.provider_server import ProviderServer, openai_server
from tests.core.test_openai_model import completion
from tests.ui.helpers import wait_for
from tests.ui.test_dialect_panes import _load, _session
from tests.ui.test_read_only import read_only_studio


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ProviderServer]:
    with openai_server(monkeypatch) as state:
        yield state


async def open_playground(pilot: Pilot[None], app: StudioApp, span: SpanRecord,
                          key: str = "P") -> PlaygroundScreen:
    app.show_trace(span.trace_id)
    tree = app.main.query_one(TraceWaterfall)
    await wait_for(pilot, lambda: span.span_id in tree.spans)
    tree.select_span(span.span_id)
    tree.focus()
    await pilot.pause()
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(app.screen, PlaygroundScreen))
    assert isinstance(app.screen, PlaygroundScreen)
    return app.screen


def answer_of(screen: PlaygroundScreen) -> str:
    return str(screen.query_one("#playground-answer", Static).render())


async def test_another_frameworks_model_call_is_sent_again_edited_to_its_provider(
    store: Store, server: ProviderServer,
) -> None:
    chat, _ = _load(store, "openinference-openai")
    server.reply(completion("Rome: 24 °C and sunny.", prompt_tokens=40, completion_tokens=9))
    app = StudioApp(store, _session(store))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_playground(pilot, app, chat)
        assert screen.query_one("#playground-model", Input).value == "openai:gpt-4o-mini"
        editor = screen.query_one(TextArea)
        request = orjson.loads(editor.text)
        assert request["settings"] == {"temperature": 0.2}
        assert [m["role"] for m in request["messages"]] == ["user", "assistant", "tool"]
        request["settings"]["temperature"] = 0.9
        editor.load_text(orjson.dumps(request).decode())

        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "Rome: 24 °C and sunny." in answer_of(screen))

        shown = answer_of(screen)
        assert "try 1 · openai:gpt-4o-mini" in shown and "40 → 9 tokens" in shown
        sent = server.requests[0].body
        assert sent["temperature"] == 0.9
        assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "tool"]
        assert sent["tools"][0]["function"]["name"] == request["tools"][0]["name"]
        # the try is in the store, a trace of its own, linked to the recorded call
        store.writer.flush()
        tries = [s for s in store.reader.roots_named("chat ")
                 if s.attributes.get(sc.LUMOS_CHAT_FORK_OF) == chat.span_id]
        assert [s.name for s in tries] == ["chat gpt-4o-mini"]
        assert tries[0].trace_id != chat.trace_id
        assert tries[0].trace_id[:8] in shown
        # the recorded answer beside it
        recorded = str(screen.query_one("#playground-recorded Static", Static).render())
        assert recorded.strip()
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, PlaygroundScreen))


async def test_f_on_a_model_call_no_agent_here_made_opens_the_playground(store: Store) -> None:
    chat, _ = _load(store, "openllmetry-attributes")
    app = StudioApp(store, _session(store))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_playground(pilot, app, chat, key="f")
        # another model, offline: the scripted one answers; Enter in the model's field sends
        model = screen.query_one("#playground-model", Input)
        model.value = "scripted"
        model.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: "try 1 · scripted" in answer_of(screen))


async def test_a_bad_request_and_a_failing_provider_are_said_and_the_next_try_works(
    store: Store, server: ProviderServer,
) -> None:
    chat, _ = _load(store, "pydantic-ai-v6")
    server.reply({"error": {"message": "Rate limit reached"}}, 400)
    app = StudioApp(store, _session(store))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_playground(pilot, app, chat)
        editor = screen.query_one(TextArea)
        recorded_request = editor.text
        error = screen.query_one("#playground-error", Static)
        editor.load_text("{not json")
        await pilot.press("ctrl+s")
        assert "The request is not JSON" in str(error.render())
        model = screen.query_one("#playground-model", Input)
        model.value = "nope:x"
        editor.load_text(recorded_request)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "unknown provider 'nope'" in answer_of(screen))
        assert not server.requests

        model.value = "openai:gpt-4o-mini"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "try 2 · openai:gpt-4o-mini failed" in answer_of(screen))
        assert "Rate limit reached" in answer_of(screen)
        assert str(error.render()) == ""

        server.reply(completion("fine now"))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "fine now" in answer_of(screen))


async def test_a_read_only_studio_tries_a_call_without_recording_it(store: Store) -> None:
    chat, _ = _load(store, "vercel-ai-sdk")
    app = read_only_studio(store)  # (which writes two traces of its own first)
    before = sorted(store.reader.trace_ids())
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_playground(pilot, app, chat)
        screen.query_one("#playground-model", Input).value = "scripted"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "not recorded (this studio only reads)" in answer_of(screen))
    assert sorted(store.reader.trace_ids()) == before


async def test_several_models_answer_the_same_request_side_by_side(
    store: Store, server: ProviderServer,
) -> None:
    chat, _ = _load(store, "openinference-openai")
    server.reply(completion("From the server: 24 °C.", prompt_tokens=40, completion_tokens=9),
                 delay=0.3)  # the scripted answer comes first; shown in the order typed
    app = StudioApp(store, _session(store))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_playground(pilot, app, chat)
        screen.query_one("#playground-model", Input).value = "openai:gpt-4o-mini, scripted"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "From the server: 24 °C." in answer_of(screen))
        shown = answer_of(screen)
        assert shown.index("openai:gpt-4o-mini") < shown.index("try 1 · scripted")  # as typed
        assert "sending" not in shown
        store.writer.flush()
        tries = [s for s in store.reader.roots_named("chat ")
                 if s.attributes.get(sc.LUMOS_CHAT_FORK_OF) == chat.span_id]
        assert sorted(s.name for s in tries) == ["chat gpt-4o-mini", "chat scripted"]


async def test_the_model_field_shows_its_value_while_it_has_the_focus() -> None:
    """A one-line field keeps no border when focused (Textual's would hide its one row)."""
    from tests.ui.test_dialog_snapshots import PLAYGROUND, DialogHost
    from tests.ui.test_hostile_panes import screen_text

    app = DialogHost(PlaygroundScreen(PLAYGROUND, None))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        app.screen.query_one("#playground-model", Input).focus()
        await pilot.pause()
        assert "model  openai:gpt-4o-mini" in screen_text(app)


async def test_a_replayed_files_model_call_is_tried_and_not_recorded(tmp_path: Path) -> None:
    """``P`` in ``lumos-studio replay``: the saved run's model call, tried offline."""
    from lumos_studio.replay.loader import load_trace
    from lumos_studio.replay_app import ReplayApp
    from lumos_studio.ui.widgets.playback_bar import PlaybackBar

    traces = Path(__file__).resolve().parents[2] / "traces"
    app = ReplayApp(load_trace(traces / "weather-paris.jsonl"))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.spans and app.at_ns is not None)
        app.query_one(PlaybackBar).focus()
        await pilot.press("end")
        tree = app.query_one(TraceWaterfall)
        await wait_for(pilot, lambda: len(tree.spans) == 4)
        chat = next(s for s in tree.spans.values() if s.name.startswith("chat"))
        tree.select_span(chat.span_id)
        tree.focus()
        await pilot.pause()
        await pilot.press("P")
        await wait_for(pilot, lambda: isinstance(app.screen, PlaygroundScreen))
        screen = app.screen
        assert isinstance(screen, PlaygroundScreen)
        assert screen.query_one("#playground-model", Input).value == "scripted"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "not recorded (this studio only reads)" in answer_of(screen))
