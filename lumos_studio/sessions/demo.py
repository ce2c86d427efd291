"""The studio's default session: the bundled demo's agents and workflows, made after the first
frame (``sessions/deferred.py``)."""

from __future__ import annotations

from lumos_studio.sessions.base import Session
from lumos_studio.sessions.deferred import DeferredSession
from lumos_studio.store.writer import StoreWriter

DEMO_SOURCE = "the bundled demo"


def demo_session(writer: StoreWriter) -> DeferredSession:
    """The demo in this process, its spans and log records recorded into ``writer``."""

    def make() -> Session:
        from lumos_studio.sessions.discovery import load_demo
        from lumos_studio.sessions.in_process import InProcessSession

        return InProcessSession.recording(load_demo(), writer)

    return DeferredSession(DEMO_SOURCE, make)
