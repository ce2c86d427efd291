"""Agents imported into the studio's own process: the bundled demo, and tests."""

from __future__ import annotations

import asyncio
import logging
import threading
import traceback
from typing import Any

from opentelemetry import trace
from opentelemetry._logs import LoggerProvider
from opentelemetry.sdk._logs import LoggingHandler
from opentelemetry.trace import TracerProvider

from lumos_core import Message
from lumos_studio.sessions.base import AgentInfo, RunOutcome, Session
from lumos_studio.sessions.discovery import AgentCatalog
from lumos_studio.store.writer import StoreWriter


class InProcessSession(Session):
    """Runs agents on a thread of this process, traced into the studio's store."""

    def __init__(
        self,
        catalog: AgentCatalog,
        tracer_provider: TracerProvider | None = None,
        logger_provider: LoggerProvider | None = None,
    ) -> None:
        self.catalog = catalog
        self.source = catalog.source
        self.tracer_provider = tracer_provider
        self.logger_provider = logger_provider
        self.agents = tuple(AgentInfo.of(a) for a in catalog.agents.values())
        self._log_handler: logging.Handler | None = None
        self._running: tuple[asyncio.AbstractEventLoop, asyncio.Task[Any]] | None = None
        self._lock = threading.Lock()

    @classmethod
    def recording(cls, catalog: AgentCatalog, writer: StoreWriter) -> InProcessSession:
        """A session whose spans and log records (memory events, logging) land in ``writer``."""
        from lumos_studio.ingest import studio_logger_provider, studio_tracer_provider

        return cls(catalog, studio_tracer_provider(writer), studio_logger_provider(writer))

    def start(self) -> None:
        """Python ``logging`` emitted inside an agent's spans becomes log records too."""
        if self.logger_provider is None or self._log_handler is not None:
            return
        handler = LoggingHandler(level=logging.INFO, logger_provider=self.logger_provider)
        handler.addFilter(_inside_a_span)
        root = logging.getLogger()
        root.addHandler(handler)
        if root.getEffectiveLevel() > logging.INFO:
            root.setLevel(logging.INFO)
        self._log_handler = handler

    def stop(self) -> None:
        if self._log_handler is not None:
            logging.getLogger().removeHandler(self._log_handler)
            self._log_handler = None

    def run(
        self, agent: str, text: str, history: tuple[Message, ...], thread_id: str | None = None
    ) -> RunOutcome:
        chosen = self.catalog.agents[agent]

        async def go() -> Any:
            task = asyncio.current_task()
            assert task is not None
            with self._lock:
                self._running = (asyncio.get_running_loop(), task)
            return await chosen.run(
                text,
                message_history=history,
                thread_id=thread_id,
                tracer_provider=self.tracer_provider,
                logger_provider=self.logger_provider,
            )

        try:
            result = asyncio.run(go())
        except asyncio.CancelledError:
            return RunOutcome(cancelled=True)
        except Exception as exc:  # user code failed: report it, keep the studio up
            return RunOutcome(
                error=f"{type(exc).__name__}: {exc}",
                traceback="".join(traceback.format_exception(exc)),
            )
        finally:
            with self._lock:
                self._running = None
        return RunOutcome(result.output, result.trace_id, result.messages)

    def cancel(self) -> bool:
        """Cancels a run that is awaiting (a model call, an async tool); a busy sync tool
        finishes first, since threads cannot be interrupted. Worker sessions can kill."""
        with self._lock:
            running = self._running
        if running is None:
            return False
        loop, task = running
        loop.call_soon_threadsafe(task.cancel)
        return True


def _inside_a_span(record: logging.LogRecord) -> bool:
    """Only what agents log while they run: the studio's own logging is not the user's."""
    return (
        trace.get_current_span().get_span_context().is_valid
        and not record.name.startswith("opentelemetry")
    )
