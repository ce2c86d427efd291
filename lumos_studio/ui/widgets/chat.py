"""Chat with the selected agent or workflow: a transcript, the reply growing as it streams, and
an input line."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

import orjson
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, Static

from lumos_studio.display import BODY_LIMIT, safe_str
from lumos_studio.sessions.base import PauseNote, StreamUpdate
from lumos_studio.ui.clipboard import copy_text

STREAM_REFRESH = 0.08  # seconds between two redraws of a streaming reply (≤ ~12 per second)
IDLE_PLACEHOLDER = "Message the agent, Enter to send"
_ROLE_STYLES = {"you": "bold green", "error": "bold red", "tool": "dim", "hint": "dim italic"}


class ChatPane(Vertical):
    """Shows one conversation; posts ``Submitted`` when the user presses Enter.

    A running turn streams into a turn of its own (``begin_stream`` / ``stream`` /
    ``end_stream``), redrawn at most every ``STREAM_REFRESH`` whatever the rate of the pieces.
    The debugger's pauses are pieces of it too (``note_pause``), so they read in the order the
    run went.
    """

    BORDER_TITLE = "Chat"
    ALLOW_MAXIMIZE = True
    BINDINGS: ClassVar[list[BindingType]] = [
        # Out of the text field, so letter keys act again (keys.md says Escape leaves one).
        Binding("escape", "leave_input", "Leave the input", show=False),
        Binding("y", "copy_reply", "Copy reply", show=False),
    ]

    class Submitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.agent_name: str | None = None
        self.idle_placeholder = IDLE_PLACEHOLDER
        self.stream_agent: str | None = None  # whose turn is streaming, if any
        self.streamed: list[StreamUpdate] = []
        self._stream_view: Static | None = None
        self._redraw: Timer | None = None
        self._parked_focus: Widget | None = None  # where focus went when the input was disabled
        self.last_reply: str | None = None  # the shown conversation's latest answer, for ``y``

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Escape is the input's alone: from the conversation it is the app's (restoring a
        maximized pane)."""
        if action == "leave_input":
            return self.app.focused is self.query_one("#chat-input", Input)
        return True

    def action_leave_input(self) -> None:
        """From the input to the conversation above it (it scrolls with the arrows)."""
        self.query_one("#transcript", VerticalScroll).focus()

    def action_copy_reply(self) -> None:
        """The latest answer whole, from the conversation (in the input, ``y`` is a letter)."""
        copy_text(self.app, self.last_reply, "the latest answer",
                  "no answer in this conversation yet")

    def compose(self) -> ComposeResult:
        yield VerticalScroll(id="transcript")
        yield Input(placeholder=IDLE_PLACEHOLDER, id="chat-input")

    def set_agent(
        self, name: str, transcript: list[tuple[str, str]], placeholder: str = IDLE_PLACEHOLDER
    ) -> None:
        """Switch to ``name`` and show its conversation so far (and its streaming turn)."""
        self.agent_name = name
        self.border_title = Text(f"Chat · {safe_str(name)}")
        self.idle_placeholder = placeholder
        chat_input = self.query_one("#chat-input", Input)
        if not chat_input.disabled:
            chat_input.placeholder = placeholder
        log = self.query_one("#transcript", VerticalScroll)
        log.remove_children()
        self._stream_view = None
        self.last_reply = None
        for role, text in transcript:
            self.add_turn(role, text)
        if self.stream_agent == name:
            self._mount_stream_view()

    def add_turn(self, role: str, text: str) -> None:
        """One turn of the transcript; ``role`` may be an agent's name, ``text`` anything."""
        shown = safe_str(text, BODY_LIMIT, multiline=True)
        line = Text(f"{safe_str(role)} › ", style=_ROLE_STYLES.get(role, "bold cyan"))
        if role in ("tool", "hint"):
            line = Text(shown, style=_ROLE_STYLES[role])
        else:
            line.append(shown, style="red" if role == "error" else "")
        kind = role if role in _ROLE_STYLES else "agent"
        if kind == "agent":
            self.last_reply = text
        log = self.query_one("#transcript", VerticalScroll)
        log.mount(Static(line, classes=f"turn turn-{kind}"), before=self._stream_view)
        log.scroll_end(animate=False)

    # --- a streaming reply ---

    def begin_stream(self, agent_name: str) -> None:
        """A turn of ``agent_name`` starts: its pieces show as they arrive."""
        self.end_stream()
        self.stream_agent = agent_name
        if agent_name == self.agent_name:
            self._mount_stream_view()

    def stream(self, update: StreamUpdate) -> None:
        """Another piece of the running turn; the view is redrawn on the next tick."""
        if self.stream_agent is None:
            return
        self.streamed.append(update)
        self._redraw_soon()

    def note_pause(self, note: PauseNote) -> bool:
        """Note a pause of the running turn where the run is now (a workflow's under its step);
        False when no turn is streaming (a fork's run: noted apart)."""
        if self.stream_agent is None:
            return False
        self.streamed.append(StreamUpdate(step=_pause_step(note, self.streamed), pause=note))
        self._redraw_soon()
        return True

    def settle_pause(self, note: PauseNote, taken: bool) -> bool:
        """The edit or stub of ``note`` (the very one given to ``note_pause``) was taken: it
        shows where it was made; or refused: it goes. False when the running turn has none."""
        for i, update in enumerate(self.streamed):
            if update.pause is note:
                if taken:
                    self.streamed[i] = replace(update, pause=replace(note, taken=True))
                else:
                    del self.streamed[i]
                self._redraw_soon()
                return True
        return False

    def end_stream(self) -> list[StreamUpdate]:
        """The turn ended: drop its streaming view (the final answer replaces it) and return
        the pieces it showed."""
        streamed, self.streamed = self.streamed, []
        self.stream_agent = None
        if self._redraw is not None:
            self._redraw.stop()
            self._redraw = None
        if self._stream_view is not None:
            self._stream_view.remove()
            self._stream_view = None
        return streamed

    def forget_tool_call(self, tool: str, arguments: Any) -> None:
        """A call of ``tool`` that never ran (its run ended at a pause before it) leaves the
        running turn: its latest call with ``arguments``, else its latest call."""
        calls = [i for i, u in enumerate(self.streamed) if u.tool == tool and not u.finished]
        if not calls:
            return
        made = next((i for i in reversed(calls) if self.streamed[i].arguments == arguments),
                    calls[-1])
        del self.streamed[made]
        self._redraw_soon()

    @property
    def streamed_text(self) -> str:
        """The answer text of the running turn so far."""
        return "".join(u.text for u in self.streamed)

    def _redraw_soon(self) -> None:
        if self._redraw is None and self._stream_view is not None:
            self._redraw = self.set_timer(STREAM_REFRESH, self._draw_stream)

    def _mount_stream_view(self) -> None:
        self._stream_view = Static(classes="turn turn-agent turn-streaming")
        log = self.query_one("#transcript", VerticalScroll)
        log.mount(self._stream_view)
        self._draw_stream()

    def _draw_stream(self) -> None:
        self._redraw = None
        if self._stream_view is None or self.stream_agent is None:
            return
        self._stream_view.update(render_stream(self.stream_agent, self.streamed))
        self.query_one("#transcript", VerticalScroll).scroll_end(animate=False)

    # --- input ---

    def set_idle_placeholder(self, text: str) -> None:
        """What the input says when no run is going (e.g. what a workflow expects)."""
        self.idle_placeholder = text
        chat_input = self.query_one("#chat-input", Input)
        if not chat_input.disabled:
            chat_input.placeholder = text

    def set_busy(self, busy: bool) -> None:
        """Disable the input while a turn runs; then focus it again, unless the user moved the
        focus meanwhile (disabling moved it to the next widget: it is taken back from there)."""
        chat_input = self.query_one("#chat-input", Input)
        screen = self.screen
        if busy:
            had_focus = chat_input.has_focus
            chat_input.disabled = True
            self._parked_focus = screen.focused if had_focus else None
        else:
            chat_input.disabled = False
            if screen.focused in (None, chat_input, self._parked_focus):
                chat_input.focus()
            self._parked_focus = None
        chat_input.placeholder = "the agent is working…" if busy else self.idle_placeholder

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if text:
            event.input.clear()
            self.post_message(self.Submitted(text))


def tool_note(update: StreamUpdate) -> str:
    """A tool call as one line of the chat: ``→ get_weather(city=Paris)``."""
    if update.finished:
        return f"✗ {update.tool} failed" if update.failed else ""
    arguments = ", ".join(
        f"{k}={v if isinstance(v, str) else orjson.dumps(v).decode()}"
        for k, v in update.arguments.items()
    )
    return f"→ {update.tool}({arguments})"


def pause_note(note: PauseNote) -> str:
    """A pause as one line of the chat: ``⏸ paused before tool get_weather: continue``."""
    return f"⏸ paused {note.point.replace('_', ' ')} {safe_str(note.target)}: {note.decision}"


def piece_note(update: StreamUpdate) -> str:
    """The line a tool call or a taken pause leaves in the chat ("" for none)."""
    if update.pause is not None:
        return pause_note(update.pause) if update.pause.taken else ""
    return tool_note(update) if update.tool is not None else ""


def _pause_step(note: PauseNote, updates: list[StreamUpdate]) -> str | None:
    """The workflow step a pause is noted under: the step it stopped at, else the step of the
    latest call of its tool, else the latest step heard from; None in an agent's turn."""
    if note.point in ("before_step", "after_step"):
        return note.target
    in_steps = [u for u in updates if u.step is not None]
    latest = [u for u in in_steps if u.tool == note.target] or in_steps
    return latest[-1].step if latest else None


# Marks every terminal font has, one cell wide (a pause sign is an emoji in some).
_STEP_MARKS = {"running": "▸", "success": "✓", "failed": "✗", "suspended": "‖"}


def step_note(update: StreamUpdate) -> str:
    """A workflow step as one line of the chat: ``▸ price`` when it starts, then how it ended
    (``✓ price``, ``✗ confirm failed``, ``‖ approve suspended``)."""
    status = update.step_status
    mark = _STEP_MARKS.get(status, "·")
    suffix = f" {status}" if status in ("failed", "suspended") else ""
    return f"{mark} {update.step}{suffix}"


def render_stream(agent_name: str, updates: list[StreamUpdate]) -> Text:
    """A streaming turn: the text so far, tool calls and pauses as dim notes on their own
    lines; a workflow's, step by step (``render_steps``)."""
    if any(update.step is not None for update in updates):
        return render_steps(agent_name, updates)
    line = Text(f"{safe_str(agent_name)} › ", style="bold cyan")
    _append_pieces(line, updates)
    line.append("▍", style="cyan blink")
    return line


def render_steps(workflow: str, updates: list[StreamUpdate]) -> Text:
    """A running workflow: each step as it started (▸) or ended, with what its agents wrote
    under it. Parallel steps write at the same time, so their pieces are kept apart."""
    pieces: dict[str, list[StreamUpdate]] = {}  # step → its text and tool pieces, in order
    status: dict[str, str] = {}
    for update in updates:
        if update.step is None:
            continue
        pieces.setdefault(update.step, [])
        if update.step_status:
            status[update.step] = update.step_status
        else:
            pieces[update.step].append(update)
    line = Text(f"{safe_str(workflow)} ›", style="bold cyan")
    for step, written in pieces.items():
        note = StreamUpdate(step=step, step_status=status.get(step, "running"))
        # (A step's last tool or pause note ends its own line: no blank line after it.)
        line.append(("" if line.plain.endswith("\n") else "\n") + safe_str(step_note(note)),
                    style="red" if note.step_status == "failed" else "dim")
        if written:
            line.append("\n")
            _append_pieces(line, written)
    line.append(" ▍", style="cyan blink")
    return line


def _append_pieces(line: Text, updates: list[StreamUpdate]) -> None:
    """Text as written, tool calls and pauses as notes on their own lines."""
    for update in updates:
        if update.tool is None and update.pause is None:
            line.append(safe_str(update.text, None, multiline=True))
            continue
        note = piece_note(update)
        if note:
            if line.plain and not line.plain.endswith(("\n", "› ")):
                line.append("\n")
            line.append(safe_str(note, BODY_LIMIT) + "\n", style="red" if update.failed else "dim")
