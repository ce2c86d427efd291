"""``lumos-studio replay FILE``: a saved run played back on its recorded clock.

Reads a ``LoadedTrace`` (never the user's store). The tree, the span detail and the memory pane
show the run as it was at the playback instant: spans not yet ended are shown running.

As the studio opens a trace, the recording is read as its tree's headers (``SpanHeaders``), and a
span is decoded whole only when the detail shows it, or when the memory pane needs what it found:
reading and understanding every span of a 100,000-span recording before its first frame took
2.2 s.
"""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Footer, Header, Static

from lumos_core.telemetry import semconv as sc
from lumos_studio.display import VALUE_LIMIT, safe_str
from lumos_studio.memory_view import memory_view
from lumos_studio.present import format_time
from lumos_studio.records import LogRecord, SpanRecord
from lumos_studio.replay.loader import LoadedTrace, LoadProgress
from lumos_studio.replay.timeline import logs_at, recording_instants, span_at, spans_at
from lumos_studio.store import StoreReader
from lumos_studio.store.span_headers import SpanHeaders
from lumos_studio.ui.base_app import ConsoleApp
from lumos_studio.ui.messages import MemoryLoaded, TraceListLoaded
from lumos_studio.ui.playground_actions import PlaygroundActions
from lumos_studio.ui.trace_exchange import TraceExchange
from lumos_studio.ui.widgets.memory_pane import MemoryPane
from lumos_studio.ui.widgets.playback_bar import PlaybackBar
from lumos_studio.ui.widgets.span_detail import SpanDetail
from lumos_studio.ui.widgets.trace_list import TraceList
from lumos_studio.ui.widgets.trace_pane import TracePane
from lumos_studio.ui.widgets.waterfall import TraceWaterfall

ALL_LOGS = 10**9
REPLAY_LOG_LINES = 9
LOG_CHARS = 200  # of a log body, on its one line
# A recording of more spans than this draws its start from its first ones while the rest is read
# (a 100,000-span recording's headers take ~0.45 s beside the first frames).
FIRST_PART = 2_000
DECODED_SPANS = 256  # spans kept decoded for the detail, the most recently shown
# While a big file is read, its runs stored so far are listed again this often (seconds): a
# run further down the file can be picked before the whole file is in.
LIST_EVERY = 1.0


class RecordingLoaded(Message):
    """One trace of the loaded file: its spans' headers, its logs (with earlier runs' memory
    events), the spans that searched (whole: the memory pane shows what they found), the
    conversation it belongs to, and the instants playback steps through. Not ``complete``: the
    recording's first spans only (and no searches), to draw its start while the rest is read."""

    def __init__(self, trace_id: str, headers: SpanHeaders, logs: list[LogRecord],
                 searches: list[SpanRecord], conversation: str | None, instants: list[int],
                 *, complete: bool) -> None:
        super().__init__()
        self.trace_id = trace_id
        self.headers = headers
        self.logs = logs
        self.searches = searches
        self.conversation = conversation
        self.instants = instants
        self.complete = complete


class FileReading(Message):
    """How far the worker reading the rest of the file has got."""

    def __init__(self, progress: LoadProgress) -> None:
        super().__init__()
        self.progress = progress


class FileRead(Message):
    """The whole file is in the replay's store: its counts and problems are final."""


class ReplayApp(ConsoleApp, TraceExchange, PlaygroundActions):
    """Play saved traces back: pick a run, then play, step or scrub through it; save runs of
    the recording to ``traces/`` or compare two (the trace list's ``s`` and ``c``)."""

    TITLE = "Lumos Studio — replay"
    # The studio's narrow and short layouts (studio.tcss) at 80x24 too: the trace list's column
    # shrinks to 24–26 columns, leaving the tree and the detail room to read.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # noqa: RUF012 (App: not a ClassVar)
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]  # noqa: RUF012 (App: not a ClassVar)
    BINDINGS: ClassVar[list[BindingType]] = [
        # The playback keys act from any pane, before a pane's own use of the key (the tree's
        # space folds, its home and end move its cursor, its p goes to the previous error).
        Binding("p", "focus('playback')", "Playback", priority=True),
        *(Binding(key, f"playback('{action}')", name, show=False, priority=True)
          for key, action, name in (
              ("space", "play_pause", "Play/pause"), ("full_stop", "step_next", "Next step"),
              ("comma", "step_previous", "Previous step"),
              ("plus,equals_sign", "faster", "Faster"), ("minus", "slower", "Slower"),
              ("right_square_bracket", "scrub(1)", "Forward"),
              ("left_square_bracket", "scrub(-1)", "Back"),
              ("home", "seek_fraction(0)", "Start"), ("end", "seek_fraction(1)", "End"))),
        Binding("l", "focus('traces')", "Traces", show=False),
        Binding("t", "focus('tree')", "Tree", show=False),
        Binding("P", "open_playground", "Playground", key_display="P", show=False),
    ]

    def __init__(self, loaded: LoadedTrace) -> None:
        super().__init__()
        self.loaded = loaded
        self.trace_id: str | None = None
        self.spans = SpanHeaders("")  # the recording's, whole; the tree shows them as at_ns
        self.logs: list[LogRecord] = []
        self._searches: list[SpanRecord] = []
        self._conversation: str | None = None
        self._decoded: dict[str, SpanRecord] = {}  # by span id, the most recently shown last
        self._partial_trace: str | None = None  # the trace whose first part the bar plays
        self._reading_rest = False  # the worker reading the rest of the file was started
        self._list_read_at = time.monotonic()  # the trace list last read while the file is
        self.at_ns: int | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="sessions"):
                yield TraceList(id="traces")
                yield Static(Text(self._problems_text()), id="problems")
            with Vertical(id="traces-column"):
                yield PlaybackBar(id="playback")
                with Horizontal(id="inspector"):
                    yield TracePane(TraceWaterfall(id="tree", clock=self._clock),
                                    id="trace-pane", words=self.loaded.reader.spans_with_words)
                    yield SpanDetail(id="detail")
                with Horizontal(id="state"):
                    yield MemoryPane(id="memory")
                    yield Static(Text("logs appear as it plays", style="dim"), id="replay-logs")
        yield Footer()

    def on_mount(self) -> None:
        self._show_counts()
        first = self.loaded.reader.first_trace_id()
        if first is not None:  # the first run recorded; a file's start (its first records
            # only, bounded) read here, a store file's in the worker (its logs may be many)
            self.open_trace(first, start_now=self.loaded.of_lines)
            self.query_one(PlaybackBar).focus()  # space plays, as the README says
        self.load_trace_list()

    def _show_counts(self, progress: LoadProgress | None = None) -> None:
        """The file's counts in the header (how far it is read, while it is), and its
        problems."""
        loaded = self.loaded
        name = safe_str(loaded.path, None)
        if progress is None and loaded.loading:
            progress = LoadProgress(loaded.spans + loaded.logs, 0, 0)
        if progress is not None:
            share = f"{progress.fraction:.0%} · " if progress.total_bytes else ""
            self.sub_title = f"{name} · reading the file: {share}{progress.records:,} records"
        else:
            self.sub_title = f"{name} · {loaded.spans:,} spans, {loaded.logs:,} logs"
        problems = self.query_one("#problems", Static)
        problems.update(Text(self._problems_text()))
        problems.display = bool(loaded.problems)

    def _read_rest(self) -> None:
        """Read the rest of the file, once, after the run's start is drawn: beside the first
        frames, the reading would hold them back."""
        if self.loaded.loading and not self._reading_rest:
            self._reading_rest = True
            self.read_rest()

    @work(thread=True, exclusive=True, group="file")
    def read_rest(self) -> None:
        def reading(progress: LoadProgress) -> None:
            self.post_message(FileReading(progress))

        self.loaded.finish(reading, progress_interval=0.25)
        self.post_message(FileRead())

    def on_file_reading(self, message: FileReading) -> None:
        if self.loaded.loading:
            self._show_counts(message.progress)
            now = time.monotonic()
            if now - self._list_read_at >= LIST_EVERY:  # the runs stored so far, listed
                self._list_read_at = now
                self.load_trace_list()

    def on_file_read(self, message: FileRead) -> None:
        """Every trace of the file now: the list again, and the run shown whole."""
        if not self._showing():
            return
        self._show_counts()
        self.load_trace_list()
        if self.trace_id is not None:
            self.load_recording(self.trace_id)

    def exchange_blocked(self) -> str | None:
        """Saving or comparing a run of a file still being read would take part of it."""
        if self.loaded.loading:
            return "the file is still being read: save or compare its runs once it is"
        return None

    @property
    def trace_reader(self) -> StoreReader:
        return self.loaded.reader

    async def action_playback(self, action: str) -> None:
        """A playback key pressed in another pane: the playback bar acts on it."""
        await self.run_action(action, self.query_one(PlaybackBar))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The playback keys are the replay screen's: on another (compare, the keys' help),
        the key is that screen's own."""
        if action in ("playback", "focus"):
            return bool(self.screen.query(PlaybackBar))
        return True

    def _clock(self) -> int:
        return self.at_ns or 0

    def _problems_text(self) -> str:
        lines = [safe_str(p, VALUE_LIMIT) for p in self.loaded.problems[:5]]
        more = self.loaded.problem_count - len(lines)
        if more > 0:
            lines.append(f"… {more} more")
        return "\n".join(lines)

    @work(thread=True, exclusive=True, group="trace-list")
    def load_trace_list(self) -> None:
        self.post_message(TraceListLoaded(self.loaded.reader.list_traces()))

    @work(thread=True, exclusive=True, group="trace")
    def load_recording(self, trace_id: str, start_shown: bool = False) -> None:
        """The recording's start (unless ``start_shown``), then the whole of it once the file
        is read (``on_file_read`` asks again when it is)."""
        if not start_shown:
            start = self._read_recording(trace_id, whole=False)
            self.post_message(start)
            if start.complete:
                return
        if not self.loaded.loading:
            self.post_message(self._read_recording(trace_id, whole=True))

    def _read_recording(self, trace_id: str, *, whole: bool) -> RecordingLoaded:
        """The recording, or (not ``whole``) its first ``FIRST_PART`` spans: then not
        ``complete`` if more may follow (from the store, or from the file being read)."""
        reader = self.loaded.reader
        headers = (reader.trace_headers(trace_id) if whole
                   else reader.trace_headers(trace_id, first=FIRST_PART))
        logs = reader.logs(trace_id=trace_id, limit=ALL_LOGS)
        # Memory events of earlier runs (the same conversation's past) set the scene.
        start = headers.starts[0] if headers else 0
        earlier = [m for m in reader.events(sc.EVENT_MEMORY_PREFIX, start - 1)
                   if m.trace_id != trace_id]
        merged = sorted([*logs, *earlier], key=lambda log: log.time_ns)
        conversation = reader.trace_conversation(trace_id)
        if not whole and headers and (len(headers) == FIRST_PART or self.loaded.loading):
            # Up to the last start read: past it, a span not read yet may have begun.
            read_to = max(headers.starts)
            part = [t for t in recording_instants(headers, logs) if t <= read_to]
            return RecordingLoaded(trace_id, headers, merged, [], conversation, part,
                                   complete=False)
        searches = reader.spans_by_id(trace_id, headers.searching_ids())
        return RecordingLoaded(trace_id, headers, merged, searches, conversation,
                               recording_instants(headers, logs), complete=True)

    def on_trace_list_loaded(self, message: TraceListLoaded) -> None:
        traces = self.query_one(TraceList)
        if self.trace_id is None:  # nothing to draw first (the file's start held no span)
            self._read_rest()
        traces.show(message.summaries, self.trace_id)  # its row highlighted: the one playing

    def on_trace_list_chosen(self, message: TraceList.Chosen) -> None:
        self.open_trace(message.trace_id)
        self.query_one(PlaybackBar).focus()

    def open_trace(self, trace_id: str, *, start_now: bool = False) -> None:
        """Play ``trace_id``; with ``start_now``, its start is read here, not in the worker.

        The replay's first run is read so, and drawn in the first frame: its first spans take
        ~15 ms to read alone, but ~250 ms in a worker beside the first frames' layout and the
        trace list's read (the GIL shared three ways), which the tree waited for; then the
        bar's first ``Moved`` came after three frames (``bench startup``: a 10,000-span file's
        tree drawn 820–1,050 → ~700 ms)."""
        self.trace_id = trace_id
        self._partial_trace = None
        self._decoded = {}
        if not start_now:
            self.load_recording(trace_id)
            return
        start = self._read_recording(trace_id, whole=False)
        self.on_recording_loaded(start)
        if self.spans.trace_id == trace_id:  # its first instant in the first frame too, not
            self._show_at(self.query_one(PlaybackBar).time_ns)  # after the bar's Moved
        if not start.complete and not self.loaded.loading:  # a run longer than its start in
            self.load_recording(trace_id, start_shown=True)  # a file read whole (else: once read)

    def on_recording_loaded(self, message: RecordingLoaded) -> None:
        if message.trace_id != self.trace_id:
            return
        if not self._showing():
            return
        if not message.complete and self._partial_trace == message.trace_id:
            return  # its first part plays already (the file was being read): the rest next
        self.spans, self.logs = message.headers, message.logs
        self._searches, self._conversation = message.searches, message.conversation
        headers = message.headers
        bar = self.query_one(PlaybackBar)
        tree = self.query_one(TraceWaterfall)
        if not message.complete:  # its first part: it plays while the rest is read
            tree.axis_end_ns = None
            self._partial_trace = message.trace_id
            bar.load(message.instants, partial=True)  # its first instant shows, as it moves
            return
        # The axis spans the whole recording from the start, not the instant played so far.
        tree.axis_end_ns = max(max(headers.starts), max(headers.ends)) if headers else None
        if self._partial_trace == message.trace_id:  # keys pressed meanwhile have acted
            self._partial_trace = None
            bar.extend(message.instants)  # its Moved shows the spans the first part did not hold
        else:
            bar.load(message.instants)

    def on_playback_bar_moved(self, message: PlaybackBar.Moved) -> None:
        if self.trace_id is None or self.spans.trace_id != self.trace_id:
            return  # its recording is not read yet (the bar's first move, at its mount)
        if not self._showing():
            return
        self._show_at(message.time_ns)

    def _show_at(self, at_ns: int) -> None:
        """The tree, the detail, the memory and the logs as they were at ``at_ns``."""
        assert self.trace_id is not None
        self.at_ns = at_ns
        now = self.spans.as_at(at_ns)
        tree = self.query_one(TraceWaterfall)
        tree.show(self.trace_id, now)
        if self.loaded.loading and not self._reading_rest:  # the run's start drawn: read on
            self.call_after_refresh(self._read_rest)
        detail = self.query_one(SpanDetail)
        selected = self._span_now(detail.span.span_id) if detail.span is not None else None
        logs = [log for log in logs_at(self.logs, at_ns) if log.trace_id == self.trace_id]
        if selected is None and now:
            selected = self._span_now(now.ids[0])
            tree.select_span(now.ids[0])
        if selected is not None:
            detail.show(selected, logs)
        else:
            detail.logs = logs
        self._show_memory(detail.span)
        self._show_logs(at_ns)

    def _span_now(self, span_id: str) -> SpanRecord | None:
        """A span whole as at the playback instant (None: not started by then), decoded when
        first shown: one read by its key, of a store that is the recording's alone."""
        if self.trace_id is None or self.at_ns is None:
            return None
        span = self._decoded.pop(span_id, None)
        if span is None:
            span = self.loaded.reader.span(self.trace_id, span_id)
            if span is None:
                return None
            if len(self._decoded) >= DECODED_SPANS:
                del self._decoded[next(iter(self._decoded))]
        self._decoded[span_id] = span
        return span_at(span, self.at_ns)

    def _show_logs(self, at_ns: int) -> None:
        """The run's log lines written by the playback instant, newest last (memory events too)."""
        shown = [log for log in logs_at(self.logs, at_ns) if log.trace_id == self.trace_id]
        lines = Text()
        for log in shown[-REPLAY_LOG_LINES:]:
            lines.append(f"{format_time(log.time_ns)} ", style="dim")
            kind = safe_str(log.event_name or log.severity_text or "LOG")
            lines.append(f"{kind:<8} ", style="cyan")
            lines.append(safe_str(log.body, LOG_CHARS) + "\n")
        logs = self.query_one("#replay-logs", Static)
        total = sum(1 for log in self.logs if log.trace_id == self.trace_id)
        logs.border_title = "Logs"
        logs.border_subtitle = f"{len(shown)} of {total}"
        empty = "no logs yet at this instant" if total else "this run wrote no logs"
        logs.update(lines if shown else Text(empty, style="dim"))

    def on_trace_waterfall_span_chosen(self, message: TraceWaterfall.SpanChosen) -> None:
        if not self._showing():
            return
        span = self._span_now(message.span.span_id)
        if span is not None:
            self.query_one(SpanDetail).show(span)
            self._show_memory(span)

    def _show_memory(self, selected: SpanRecord | None) -> None:
        if self.trace_id is None or self.at_ns is None:
            return
        events = [
            log for log in logs_at(self.logs, self.at_ns)
            if log.event_name.startswith(sc.EVENT_MEMORY_PREFIX)
        ]
        searches = spans_at(self._searches, self.at_ns)
        self.post_message(MemoryLoaded(self.trace_id, memory_view(
            searches, events, selected, conversation_id=self._conversation)))

    def on_memory_loaded(self, message: MemoryLoaded) -> None:
        if message.trace_id == self.trace_id and self._showing():
            self.query_one(MemoryPane).show(message.view)

    def _showing(self) -> bool:
        """False while the app closes: the playback bar may still be ticking then."""
        return bool(self.screen_stack) and bool(self.screen.query(MemoryPane))


    def on_unmount(self) -> None:
        self.loaded.close()
