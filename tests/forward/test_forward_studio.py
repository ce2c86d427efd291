"""The studio's header says where --forward sends, and says so when a target fails or drops."""

from __future__ import annotations

from pathlib import Path

from lumos_studio.app import StudioApp
from lumos_studio.forward import Forwarder, parse_target
from lumos_studio.sessions.discovery import load_demo
from lumos_studio.sessions.in_process import InProcessSession
from lumos_studio.store import Store
from tests.forward.test_forward import PROTOBUF, SPANS_PER_REQUEST, body_of
from tests.ui.helpers import wait_for


async def test_the_header_names_the_target_and_what_waits_or_was_dropped(
    store: Store, tmp_path: Path
) -> None:
    body = body_of(0)
    forwarder = Forwarder([parse_target("http://127.0.0.1:9")], tmp_path / "spool",
                          limit_bytes=len(body) * 2).start()  # port 9: nothing listens
    app = StudioApp(store, InProcessSession.recording(load_demo(), store.writer),
                    forwarder=forwarder)
    try:
        async with app.run_test(size=(140, 40)) as pilot:
            assert "→ 127.0.0.1:9" in app.sub_title
            for request in range(3):
                forwarder.accept("traces", PROTOBUF, body_of(request), SPANS_PER_REQUEST)
            await wait_for(pilot, lambda: "⚠ 100 waiting: cannot reach it" in app.sub_title,
                           timeout=10)
            await wait_for(pilot, lambda: "⚠ 50 dropped (queue full)" in app.sub_title,
                           timeout=10)
            # ``notify`` posts a message: the notification lands a moment after the header.
            await wait_for(pilot, lambda: any("50 records were not forwarded" in n.message
                                              for n in app._notifications), timeout=10)
    finally:
        forwarder.stop()
