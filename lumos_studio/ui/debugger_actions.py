"""The studio's debugger: breakpoints set from the agent list (``b``), a span (``b`` in the
waterfall) or the graph (``BreakpointToggled``); a run that pauses shows ``PausedScreen`` and
waits for its decision; ``f`` on a span forks its run (a workflow's from that step, an agent's
from that model call) and compares the two runs.

A mixin of ``StudioApp`` (``app.py`` keeps the wiring). A pause reaches the app on the session's
thread (``pause_handler``), which blocks until the screen answers; every pause still waiting
when its run ends, or the app closes, is answered ``Abort`` so no thread is left behind.
"""

from __future__ import annotations

import sys
import threading
from concurrent.futures import Future
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeGuard

import orjson
from textual import work
from textual.message import Message

from lumos_core.debug import Abort, Decision, Edit, Skip
from lumos_core.messages import Message as LumosMessage
from lumos_core.messages import message_from_dict
from lumos_core.telemetry import semconv as sc
from lumos_studio.display import safe_str
from lumos_studio.sessions.base import (
    AgentInfo,
    PauseNote,
    RunOutcome,
    Session,
    WorkflowOutcome,
)
from lumos_studio.ui.breakpoints import Breakpoints, BreakpointSpec, span_breakpoint
from lumos_studio.ui.breakpoints_dialog import CLEAR_ALL, BreakpointsDialog
from lumos_studio.ui.decoded_trace import DecodedTrace
from lumos_studio.ui.widgets.agent_list import AgentList
from lumos_studio.ui.widgets.chat import ChatPane, pause_note
from lumos_studio.ui.widgets.waterfall import TraceWaterfall
from lumos_studio.ui.workflow_turns import workflow_reply

if TYPE_CHECKING:

    from textual.app import App
    from textual.screen import Screen
    from textual.worker import Worker

    from lumos_core.worker_protocol import Paused, ToolDescription
    from lumos_studio.records import SpanRecord
    from lumos_studio.semantics import SpanView
    from lumos_studio.ui.screens.fork import (
        AgentForkPoint,
        AnyForkPoint,
        ForkChoice,
        ForkPoint,
        ToolForkPoint,
    )
    from lumos_studio.ui.screens.paused import EditorMode, PausedScreen

    _AppBase = App[None]  # what the mixin relies on, checked against Textual's own types
else:
    _AppBase = object


class RunPaused(Message):
    """A run stopped at a breakpoint; ``answer`` takes the decision (from the UI thread)."""

    def __init__(self, paused: Paused, answer: Future[Decision]) -> None:
        super().__init__()
        self.paused = paused
        self.answer = answer


class BreakpointToggled(Message):
    """Set ``spec``, or remove it when set (the graph's nodes post this)."""

    def __init__(self, spec: BreakpointSpec) -> None:
        super().__init__()
        self.spec = spec


class ForkFinished(Message):
    def __init__(self, point: AnyForkPoint, outcome: WorkflowOutcome | RunOutcome) -> None:
        super().__init__()
        self.point = point
        self.outcome = outcome


class DebuggerActions(_AppBase):
    """Breakpoints, pauses and forks for ``StudioApp``."""

    # Provided by StudioApp (and ChatTurns).
    session: Session
    breakpoints: Breakpoints
    running: bool

    if TYPE_CHECKING:
        @property
        def main(self) -> Screen[None]: ...
        def _screens_gone(self) -> bool: ...
        def _agent_info(self, name: str) -> AgentInfo | None: ...
        def open_playground(self, span: SpanRecord, view: SpanView) -> None: ...
        def _record_turn(self, agent_name: str, role: str, text: str) -> None: ...
        def _start_run(self) -> None: ...
        def load_trace_list(self) -> None: ...
        def _show_run_trace(self, trace_id: str | None) -> None: ...
        def open_comparison(self, before: str, after: str) -> Worker[None]: ...
        def show_graph_breakpoints(self) -> None: ...
        def decoded_trace(self) -> DecodedTrace: ...
        def show_pause_on_graph(self, paused: Paused | None) -> None: ...

    def init_debugger(self, breakpoints: Breakpoints) -> None:
        self.breakpoints = breakpoints
        self._pause_lock = threading.Lock()
        self._waiting_pauses: set[Future[Decision]] = set()
        # The last edit's or stub's text, refilled in the editor if it is refused.
        self._draft: tuple[EditorMode, str] | None = None
        # The chat's notes of edits and stubs, by their pause: shown once the run takes them
        # (another pause comes, or the run ends), never when refused.
        self._unconfirmed_notes: dict[PauseKey, PauseNote] = {}
        self._shown_pauses: list[Paused] = []  # the pauses the paused views wait on
        # The chat a run without a streaming turn (a fork's) notes its pauses in.
        self._fork_chat: str | None = None

    # --- pauses: the session's thread asks, the screen answers ---

    def pause_handler(self, paused: Paused) -> Decision:
        """A ``PauseHandler``: blocks the session's thread until the paused view decides."""
        if self._screens_gone():  # closing: nobody is left to decide
            return Abort("the studio closed")
        answer: Future[Decision] = Future()
        with self._pause_lock:
            self._waiting_pauses.add(answer)
        try:
            self.post_message(RunPaused(paused, answer))
            return answer.result()
        finally:
            with self._pause_lock:
                self._waiting_pauses.discard(answer)

    def on_run_paused(self, message: RunPaused) -> None:
        # The debugger's screens are imported when first shown, not before the first frame.
        from lumos_studio.ui.screens.paused import PausedScreen, describe_decision, editor_text

        paused, answer = message.paused, message.answer
        self._confirm_notes(refused=paused if paused.refused is not None else None)
        if self._screens_gone() or answer.done():
            _settle(answer, Abort("the studio closed"))
            return
        draft = self._draft if paused.refused else None

        def decided(decision: Decision | None) -> None:
            if answer.done():  # its run ended meanwhile: nothing is left to answer or note
                return
            decision = decision if decision is not None else Abort()
            if paused in self._shown_pauses:
                self._shown_pauses.remove(paused)
            if isinstance(decision, Edit):
                self._draft = ("edit", editor_text(decision.value))
            elif isinstance(decision, Skip):
                self._draft = ("skip", editor_text(decision.result))
            refusable = isinstance(decision, (Edit, Skip))  # the run may still refuse it
            note = PauseNote(paused.point, paused.target, describe_decision(decision),
                             taken=not refusable)
            if refusable:
                self._unconfirmed_notes[_key(paused)] = note
            if not self._screens_gone():
                self._note_pause(note)
                # Parallel steps pause at once: the graph shows the one still waiting, if any.
                self.show_pause_on_graph(self._shown_pauses[-1] if self._shown_pauses else None)
                if isinstance(decision, Abort):
                    self._forget_call_not_made(paused)
            _settle(answer, decision)

        self._shown_pauses.append(paused)
        self.show_pause_on_graph(paused)
        self.push_screen(PausedScreen(paused, draft), decided)

    def end_pauses(self) -> None:
        """A run ended (or the app closes): no pause of it waits any longer."""
        with self._pause_lock:
            waiting, self._waiting_pauses = self._waiting_pauses, set()
        for answer in waiting:
            _settle(answer, Abort("the run ended"))
        shown, self._shown_pauses = self._shown_pauses, []
        if self._screens_gone():
            self._unconfirmed_notes.clear()
            return
        self._confirm_notes()  # the run went on with them: none was asked again
        for paused in shown:  # ended (cancelled) while waiting there
            self._forget_call_not_made(paused)
        if shown:
            self.show_pause_on_graph(None)
        # Every paused view of the run, not only the top one (parallel steps pause at once),
        # bottom to top: the top one leaves now, each below it once it is on top again.
        for screen in self.screen_stack:
            if _is_paused_screen(screen):
                screen.close()

    def _confirm_notes(self, refused: Paused | None = None) -> None:
        """The edits and stubs waiting to be noted were taken, but for the one of ``refused``
        (its pause, asked again): the others show in the chat."""
        notes, self._unconfirmed_notes = self._unconfirmed_notes, {}
        if self._screens_gone():
            return
        chat = self.main.query_one(ChatPane)
        for key, note in notes.items():
            taken = refused is None or key != _key(refused)
            if not chat.settle_pause(note, taken) and taken:
                self._note_apart(replace(note, taken=True))

    def _note_pause(self, note: PauseNote) -> None:
        """In the running turn, where the run paused; a fork's run (none streams) apart."""
        if not self.main.query_one(ChatPane).note_pause(note) and note.taken:
            self._note_apart(note)

    def _note_apart(self, note: PauseNote) -> None:
        if self._fork_chat is not None:
            self._record_turn(self._fork_chat, "tool", pause_note(note))

    def _forget_call_not_made(self, paused: Paused) -> None:
        """The run ended at ``paused``: a tool call it stopped before never ran, so the chat
        keeps no note of it."""
        if paused.point == "before_tool":
            self.main.query_one(ChatPane).forget_tool_call(paused.target, paused.value)

    # --- breakpoints ---

    def on_agent_list_breakpoints_requested(self, message: AgentList.BreakpointsRequested
                                            ) -> None:
        info = self._agent_info(message.agent_name)
        if info is None:
            return

        def chosen(choice: BreakpointSpec | str | None) -> None:
            if choice == CLEAR_ALL:
                self.breakpoints.clear(info.name)
                self.notify(f"breakpoints of {safe_str(info.name)} removed", title="Debugger",
                            markup=False)
            elif isinstance(choice, BreakpointSpec):
                self._toggle(choice)
            self.show_breakpoints()

        self.push_screen(BreakpointsDialog(info, self.breakpoints.of(info.name)), chosen)

    def on_trace_waterfall_breakpoint_requested(
        self, message: TraceWaterfall.BreakpointRequested
    ) -> None:
        decoded = self.decoded_trace()
        owner = trace_owner(decoded)
        span = decoded.spans.get(message.span.span_id)
        spec = (span_breakpoint(owner, span, decoded.views.get(span.span_id))
                if owner and span is not None else None)
        if spec is None:
            self.notify("No run pauses at this span: pick a step, a model call or a tool call.")
            return
        self._toggle(spec)
        self.show_breakpoints()

    def on_breakpoint_toggled(self, message: BreakpointToggled) -> None:
        self._toggle(message.spec)
        self.show_breakpoints()

    def _toggle(self, spec: BreakpointSpec) -> None:
        added = self.breakpoints.toggle(spec)
        said = "set" if added else "removed"
        self.notify(f"{safe_str(spec.owner)}: {safe_str(spec.describe(), None)} {said}",
                    title="Breakpoint", markup=False)

    def show_breakpoints(self) -> None:
        """The gutters: ● beside agents with breakpoints and the spans they stop at."""
        if self._screens_gone():
            return
        self.main.query_one(AgentList).set_marked(self.breakpoints.owners())
        self.show_graph_breakpoints()
        tree = self.main.query_one(TraceWaterfall)
        if not self.breakpoints.specs:  # the common case, on every live refresh: no scan
            tree.set_marked(frozenset())
            return
        decoded = self.decoded_trace()
        tree.set_marked(self.breakpoints.marked_spans(
            trace_owner(decoded), decoded.spans, decoded.views))

    # --- fork from here ---

    def on_trace_waterfall_fork_requested(self, message: TraceWaterfall.ForkRequested) -> None:
        from lumos_studio.ui.screens.fork import (
            AgentForkPoint,
            ForkScreen,
            ToolForkPoint,
            agent_fork_point,
            fork_point,
            tool_fork_point,
        )

        decoded = self.decoded_trace()
        span = decoded.spans.get(message.span.span_id)
        if span is None:
            self.notify("This trace is too big to fork from here.", title="Fork")
            return
        # A tool call is called again; another span forks its workflow's step or model call.
        point: AnyForkPoint | str | None = tool_fork_point(span, decoded.spans, decoded.views)
        if point is None:
            point = fork_point(span, decoded.spans)
            if isinstance(point, str) and not trace_is_workflow(decoded):
                point = agent_fork_point(span, decoded.spans, decoded.views)
        view = decoded.views.get(span.span_id)
        if view is not None and view.is_llm and view.input_messages and (
                isinstance(point, str) or (isinstance(point, AgentForkPoint)
                                           and self._agent_info(point.agent) is None)):
            # A model call no agent here made (another framework's, another program's): no run
            # to fork, but the call itself can be sent again.
            self.open_playground(span, view)
            return
        if isinstance(point, str):
            self.notify(point, title="Fork", markup=False)
            return
        if self.running:
            self.notify("A run is in progress: fork once it ends.")
            return
        chosen_point = point

        def chosen(choice: ForkChoice | None) -> None:
            if choice is None:
                return
            if isinstance(chosen_point, ToolForkPoint):
                self._call_tool_by_hand(chosen_point, choice)
            elif isinstance(chosen_point, AgentForkPoint):
                try:
                    messages = tuple(message_from_dict(m) for m in choice.input)
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    self.notify(f"not messages: {safe_str(exc, None)}", title="Fork",
                                severity="error", markup=False)
                    return
                self._start_fork(chosen_point.agent, "forked the run from a model call")
                self.run_agent_fork(chosen_point, messages)
            else:
                self._start_fork(chosen_point.workflow, f"forked run {chosen_point.run_id[:8]} "
                                                        f"from step {safe_str(chosen_point.step)}")
                self.run_fork(chosen_point, choice)

        self.push_screen(ForkScreen(point), chosen)

    def on_agent_list_tool_call_requested(self, message: AgentList.ToolCallRequested) -> None:
        """``c`` in the agents: pick one of the agent's tools (when it has several), fill in its
        arguments, and call it by hand."""
        from lumos_studio.ui.screens.tool_pick import ToolPickScreen

        info = self._agent_info(message.agent_name)
        if info is None or info.kind == "workflow":
            self.notify("A workflow has no tools of its own: pick an agent to call its tools.",
                        title="Call a tool", markup=False)
            return
        if not info.callable_tools:
            self.notify(f"{safe_str(info.name)} has no tools to call.", title="Call a tool",
                        markup=False)
            return
        if self.running:
            self.notify("A run is in progress: call a tool once it ends.")
            return
        if len(info.callable_tools) == 1:
            self._open_tool_call(info.name, info.callable_tools[0])
            return

        def picked(tool: ToolDescription | None) -> None:
            if tool is not None:
                self._open_tool_call(info.name, tool)

        self.push_screen(ToolPickScreen(info.name, info.callable_tools), picked)

    def _open_tool_call(self, agent: str, tool: ToolDescription) -> None:
        from lumos_studio.ui.screens.fork import ForkScreen, ToolForkPoint

        try:
            example = orjson.loads(tool.example)
        except orjson.JSONDecodeError:
            example = {}
        point = ToolForkPoint(agent, tool.name, None, None, example)

        def chosen(choice: ForkChoice | None) -> None:
            if choice is not None:
                self._call_tool_by_hand(point, choice)

        self.push_screen(ForkScreen(point), chosen)

    def _call_tool_by_hand(self, point: ToolForkPoint, choice: ForkChoice) -> None:
        again = " again" if point.repeats is not None else ""
        self._start_fork(point.agent, f"called {safe_str(point.tool)}{again} by hand")
        self.run_tool_call(point, choice.input)

    def _start_fork(self, name: str, hint: str) -> None:
        """A fork's run starts: said first in ``name``'s chat, where its pauses and its outcome
        follow."""
        self._start_run()
        self._fork_chat = name
        self._record_turn(name, "hint", hint)

    @work(thread=True, group="agent-run")
    def run_fork(self, point: ForkPoint, choice: ForkChoice) -> None:
        outcome = self.session.fork_workflow(
            point.workflow, point.run_id, point.step, input=choice.input, edited=choice.edited,
            breakpoints=self.breakpoints.wire(point.workflow), on_pause=self.pause_handler,
        )
        self.post_message(ForkFinished(point, outcome))

    @work(thread=True, group="agent-run")
    def run_agent_fork(self, point: AgentForkPoint, messages: tuple[LumosMessage, ...]) -> None:
        outcome = self.session.fork_agent(
            point.agent, messages, (point.trace_id, point.span_id),
            breakpoints=self.breakpoints.wire(point.agent), on_pause=self.pause_handler,
        )
        self.post_message(ForkFinished(point, outcome))

    @work(thread=True, group="agent-run")
    def run_tool_call(self, point: ToolForkPoint, arguments: dict[str, Any]) -> None:
        outcome = self.session.call_tool(
            point.agent, point.tool, arguments, point.repeats,
            breakpoints=self.breakpoints.wire(point.agent), on_pause=self.pause_handler,
        )
        self.post_message(ForkFinished(point, outcome))

    def on_fork_finished(self, message: ForkFinished) -> None:
        from lumos_studio.ui.screens.fork import AgentForkPoint, ForkPoint, ToolForkPoint

        if self._screens_gone():
            return
        point, outcome = message.point, message.outcome
        self.running = False
        self.end_pauses()
        self._fork_chat = None
        self.main.query_one(ChatPane).set_busy(False)
        if isinstance(point, ToolForkPoint) and isinstance(outcome, RunOutcome):
            # Its result in the chat, its one-span trace in the tree (nothing to compare).
            name = point.agent
            if outcome.cancelled:
                self._record_turn(name, "hint", f"the call of {point.tool} was cancelled")
            elif outcome.error is not None:
                self._record_turn(name, "error", f"{point.tool}: {outcome.error}")
            else:
                self._record_turn(name, "tool", f"{point.tool} → {outcome.output or ''}")
            self._show_run_trace(outcome.trace_id)
            return
        if isinstance(point, AgentForkPoint) and isinstance(outcome, RunOutcome):
            name = point.agent
            if outcome.error is not None:
                self._record_turn(name, "error", outcome.error)
            else:
                self._record_turn(name, name, outcome.output or "")
        elif isinstance(point, ForkPoint) and isinstance(outcome, WorkflowOutcome):
            name = point.workflow
            for role, text in workflow_reply(name, outcome):
                self._record_turn(name, role, text)
        if outcome.trace_id and point.trace_id:
            self.load_trace_list()
            self.open_comparison(point.trace_id, outcome.trace_id)


def _is_paused_screen(screen: object) -> TypeGuard[PausedScreen]:
    """Whether ``screen`` is a run's paused view (none was shown if its module is not loaded)."""
    paused = sys.modules.get("lumos_studio.ui.screens.paused")
    return paused is not None and isinstance(screen, paused.PausedScreen)


def trace_is_workflow(decoded: DecodedTrace) -> bool:
    root = decoded.root
    return root is not None and sc.LUMOS_WORKFLOW_RUN_ID in root.attributes


def trace_owner(decoded: DecodedTrace) -> str | None:
    """The agent or workflow whose run the shown trace is (its root's name)."""
    root = decoded.root
    if root is None:
        return None
    view = decoded.views.get(root.span_id)
    return view.agent_name or None if view is not None else None


PauseKey = tuple[str | None, str, str]  # a pause's span, point and target: the same when re-asked


def _key(paused: Paused) -> PauseKey:
    return (paused.span_id, paused.point, paused.target)


def _settle(answer: Future[Decision], decision: Decision) -> None:
    if not answer.done():
        answer.set_result(decision)
