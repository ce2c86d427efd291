"""The studio's conversations: sending a turn to an agent or a workflow, the streamed reply, the
outcome in the chat and its trace beside it, re-running and cancelling.

A mixin of ``StudioApp`` (``app.py`` keeps the wiring); it only uses what the app declares below.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.widgets import Input

from lumos_studio.sessions.base import AgentInfo, Session, StreamUpdate, workflow_store_beside
from lumos_studio.store import Store
from lumos_studio.ui.breakpoints import Breakpoints
from lumos_studio.ui.conversations import Conversations
from lumos_studio.ui.messages import (
    SuspendedRunsFound,
    TurnFinished,
    TurnStreamed,
    WorkflowTurnFinished,
)
from lumos_studio.ui.read_only import ReadOnlyStore
from lumos_studio.ui.widgets.agent_list import AgentList
from lumos_studio.ui.widgets.chat import ChatPane, piece_note, step_note
from lumos_studio.ui.workflow_turns import (
    NEW_RUN,
    WorkflowRequest,
    earlier_run,
    placeholder,
    workflow_intro,
    workflow_reply,
    workflow_request,
)

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen

    from lumos_core import Message
    from lumos_core.debug import Decision
    from lumos_core.worker_protocol import Paused

    _AppBase = App[None]  # what the mixin relies on, checked against Textual's own types
else:
    _AppBase = object


class ChatTurns(_AppBase):
    """Chat turns for ``StudioApp``: agents answer (streamed), workflows run and resume."""

    # Provided by StudioApp.
    session: Session
    store: Store | ReadOnlyStore
    agent_name: str | None
    conversations: Conversations
    turn: int
    last_input: tuple[str, str] | None
    running: bool
    session_ready: bool  # the session has loaded its agents (or failed to) at least once
    queued_message: str | None  # sent while the first load was going, sent once it is done
    trace_id: str | None
    _follow_new_trace: bool
    breakpoints: Breakpoints

    if TYPE_CHECKING:
        @property
        def main(self) -> Screen[None]: ...
        def _screens_gone(self) -> bool: ...
        def show_trace(self, trace_id: str) -> None: ...
        def load_trace_list(self) -> None: ...
        def pause_handler(self, paused: Paused) -> Decision: ...
        def end_pauses(self) -> None: ...

    @work(thread=True, group="agent-run")
    def run_agent(
        self, agent_name: str, text: str, history: tuple[Message, ...], thread_id: str, turn: int
    ) -> None:
        def forward(update: StreamUpdate) -> None:
            self.post_message(TurnStreamed(agent_name, turn, update))

        outcome = self.session.run(
            agent_name, text, history, thread_id, on_event=forward,
            breakpoints=self.breakpoints.wire(agent_name), on_pause=self.pause_handler,
        )
        self.post_message(TurnFinished(agent_name, text, outcome))

    @work(thread=True, group="agent-run")
    def run_workflow(self, name: str, text: str, request: WorkflowRequest, turn: int) -> None:
        def forward(update: StreamUpdate) -> None:
            self.post_message(TurnStreamed(name, turn, update))

        outcome = self.session.run_workflow(
            name, request.input, resume=request.resume, resume_data=request.resume_data,
            on_event=forward, breakpoints=self.breakpoints.wire(name),
            on_pause=self.pause_handler,
        )
        self.post_message(WorkflowTurnFinished(name, text, outcome, request.resume))

    def on_agent_list_chosen(self, message: AgentList.Chosen) -> None:
        if self._screens_gone():  # a pane's late message while the app closes
            return
        if message.agent_name != self.agent_name:
            self.agent_name = message.agent_name
            self._open_chat(message.agent_name)

    def on_agent_list_confirmed(self, message: AgentList.Confirmed) -> None:
        if self._screens_gone():  # a pane's late message while the app closes
            return
        self.main.query_one("#chat-input").focus()

    def on_chat_pane_submitted(self, message: ChatPane.Submitted) -> None:
        self.send_turn(message.text)

    def send_turn(self, text: str) -> None:
        name = self.agent_name
        if name is None and not self.session_ready:  # a worker's first load: send it after
            self.queued_message = text
            self.notify("The agents are still loading: your message is sent once they are.",
                        title="Agents")
            return
        if name is None:
            self.notify("No agent to chat with: fix the agent file.", severity="error")
            return
        if self.running:
            self.notify("A run is in progress: wait, or cancel it with ctrl+x.")
            return
        info = self._agent_info(name)
        if text == NEW_RUN:
            if info is not None and info.kind == "workflow":
                self._new_workflow_run(info)
            else:
                self._new_conversation(name)
            return
        self._record_turn(name, "you", text)
        if info is not None and info.kind == "workflow":
            self._send_to_workflow(info, text)
            return
        self.last_input = (name, text)
        self._start_run()
        history = () if info is None or info.has_memory else self.conversations[name].history
        thread_id = self.conversations.thread_id(name)
        self.turn += 1
        self.main.query_one(ChatPane).begin_stream(name)
        self.run_agent(name, text, history, thread_id, self.turn)

    def send_queued_message(self) -> None:
        """After the first load: send what was typed while it went on, or give it back."""
        text, self.queued_message = self.queued_message, None
        if text is None:
            return
        if self.agent_name is not None:
            self.send_turn(text)
            return
        chat_input = self.main.query_one("#chat-input", Input)
        if not chat_input.value:
            chat_input.value = text  # not lost: the user sends it again once the file loads
        self.notify("The agents did not load, so your message was not sent (it is back in the "
                    "input).", severity="error")

    def _new_conversation(self, name: str) -> None:
        """``/new`` to an agent: its transcript and history go and a new memory thread begins;
        nothing is sent to it."""
        thread = self.conversations.start_over(name)
        if name == self.agent_name:
            self._open_chat(name)
        self._record_turn(name, "hint", f"New conversation (thread {thread}): the earlier "
                                        "messages are not sent.")

    def _new_workflow_run(self, info: AgentInfo) -> None:
        """``/new`` to a workflow: the chat starts over at what to send it, and its suspended
        run, if any, is no longer offered (it stays saved: ``run --resume`` resumes it)."""
        name = info.name
        conversation = self.conversations[name]
        waiting = conversation.forget_suspended()
        conversation.turns.clear()
        if name == self.agent_name:
            self._open_chat(name)  # the intro, and the placeholder of a new run
        if waiting is not None:
            self._record_turn(name, "hint", f"Run {waiting[:8]} is no longer offered here; it "
                                            f"stays saved (run --resume {waiting}).")

    def _send_to_workflow(self, info: AgentInfo, text: str) -> None:
        """Run the workflow on ``text``, or resume its suspended run with it."""
        name = info.name
        request = workflow_request(info, text, self.conversations[name].suspended_run)
        if isinstance(request, str):
            self._record_turn(name, "error", request)
            return
        if request.resume is None:  # ctrl+r runs the workflow again from this input, not a resume
            self.last_input = (name, text)
        self._start_run()
        self.turn += 1
        self.main.query_one(ChatPane).begin_stream(name)
        self.run_workflow(name, text, request, self.turn)

    def _start_run(self) -> None:
        self.running = True
        self.main.query_one(ChatPane).set_busy(True)
        self._follow_new_trace = True

    def on_turn_streamed(self, message: TurnStreamed) -> None:
        if not self._screens_gone() and self.running and message.turn == self.turn:
            self.main.query_one(ChatPane).stream(message.update)

    def on_turn_finished(self, message: TurnFinished) -> None:
        if self._screens_gone():
            return
        outcome, name = message.outcome, message.agent_name
        self.running = False
        self.end_pauses()
        chat = self.main.query_one(ChatPane)
        streamed = chat.end_stream()  # the final answer replaces the streamed one
        chat.set_busy(False)
        for update in streamed:  # its tool calls and pauses stay, in the order they came
            if note := piece_note(update):
                self._record_turn(name, "tool", note)
        if outcome.cancelled:
            partial = "".join(u.text for u in streamed).rstrip()
            if partial:
                self._record_turn(name, name, f"{partial} …")
            self._record_turn(name, "error", "cancelled")
        elif outcome.error is not None:
            self._record_turn(name, "error", outcome.error)
        else:
            self.conversations[name].history = outcome.messages
            self._record_turn(name, name, outcome.output or "")
        self._show_run_trace(outcome.trace_id)

    def on_workflow_turn_finished(self, message: WorkflowTurnFinished) -> None:
        if self._screens_gone():
            return
        outcome, name = message.outcome, message.workflow
        self.running = False
        self.end_pauses()
        conversation = self.conversations[name]
        if outcome.status == "suspended" and outcome.run_id:
            conversation.suspended_run = outcome.run_id
        elif outcome.status is not None:
            conversation.forget_suspended()
        chat = self.main.query_one(ChatPane)
        if chat.agent_name == name:
            info = self._agent_info(name)
            chat.set_idle_placeholder(placeholder(info, conversation.suspended_run))
        chat.set_busy(False)
        notes = []  # how each step ended, its calls and pauses stay, as one note above the output
        for update in chat.end_stream():
            if update.step_status in ("success", "failed", "suspended"):
                notes.append(step_note(update))
            elif note := piece_note(update):
                notes.append(note)
        if notes:
            self._record_turn(name, "tool", "\n".join(notes))
        for role, text in workflow_reply(name, outcome):
            self._record_turn(name, role, text)
        self._show_run_trace(outcome.trace_id)

    def _show_run_trace(self, trace_id: str | None) -> None:
        if trace_id and trace_id != self.trace_id:
            self._follow_new_trace = False
            self.show_trace(trace_id)
            self.load_trace_list()

    def _agent_info(self, name: str) -> AgentInfo | None:
        return next((a for a in self.session.agents if a.name == name), None)

    def _open_chat(self, name: str) -> None:
        """Show ``name``'s conversation; a workflow's starts with what to send it."""
        info = self._agent_info(name)
        conversation = self.conversations[name]
        if info is not None and info.kind == "workflow" and not conversation.turns:
            conversation.turns.append(("hint", workflow_intro(info)))
        self.main.query_one(ChatPane).set_agent(
            name, conversation.turns, placeholder(info, conversation.suspended_run))

    def _record_turn(self, agent_name: str, role: str, text: str) -> None:
        self.conversations.record(agent_name, role, text)
        if agent_name == self.agent_name:
            self.main.query_one(ChatPane).add_turn(role, text)

    def action_rerun(self) -> None:
        """Send the last message again, to the same agent: after an edit, to see the change."""
        if self.last_input is None:
            self.notify("Nothing to re-run yet.")
            return
        name, text = self.last_input
        if name != self.agent_name:
            self.main.query_one(AgentList).set_agents(self.session.agents, name, False)
            self.agent_name = name
            self._open_chat(name)
        if not self.running and self.conversations[name].forget_suspended() is not None:
            info = self._agent_info(name)  # a new run of the workflow: its input, not resume data
            self.main.query_one(ChatPane).set_idle_placeholder(placeholder(info))
        self.send_turn(text)

    def action_cancel_run(self) -> None:
        if not self.running:
            self.notify("No run to cancel.")
        elif self.session.cancel():
            self.notify("Cancelling…")
        else:
            self.notify("This session cannot cancel runs.", severity="warning")

    # --- runs an earlier session left suspended ---

    @work(thread=True, exclusive=True, group="suspended-runs")
    def load_suspended_runs(self, workflows: list[AgentInfo]) -> None:
        """Find the latest suspended run of each workflow in the file its runs are saved in
        (the user's own, or the studio's beside the store)."""
        by_file: dict[Path, list[str]] = {}
        for info in workflows:
            path = Path(info.snapshot_path or workflow_store_beside(self.store.path))
            by_file.setdefault(path, []).append(info.name)
        found: dict[str, tuple[str, dict[str, Any]]] = {}
        for path, names in by_file.items():
            if not path.is_file():
                continue
            from lumos_core.workflows import SnapshotStore  # not at start: pydantic and all

            try:
                snapshots = SnapshotStore(path)
                try:
                    for name in names:
                        waiting = snapshots.runs(workflow=name, status="suspended")
                        if waiting:
                            found[name] = (waiting[0].run_id, dict(waiting[0].suspended))
                finally:
                    snapshots.close()
            except Exception as exc:  # a foreign or damaged file: those chats start fresh
                self.call_from_thread(self.notify, f"could not read {path}: {exc}",
                                      severity="warning")
        if found:
            self.post_message(SuspendedRunsFound(found))

    def on_suspended_runs_found(self, message: SuspendedRunsFound) -> None:
        """Offer each one in its workflow's chat: the next message there resumes it."""
        if self._screens_gone():
            return
        for name, (run_id, suspended) in message.runs.items():
            conversation = self.conversations[name]
            if conversation.suspended_run is not None:
                continue
            conversation.suspended_run = run_id
            info = self._agent_info(name)
            if info is not None and not conversation.turns:
                self._record_turn(name, "hint", workflow_intro(info))
            for role, text in earlier_run(name, run_id, suspended):
                self._record_turn(name, role, text)
            if name == self.agent_name:
                self.main.query_one(ChatPane).set_idle_placeholder(placeholder(info, run_id))
