"""The playground (``P`` on a model call): the request a recorded model call was sent, editable,
sent again to any model, the answer shown beside the recorded one; send as often as you like.

Works on a model call of any framework's trace (the request is read from the span's view), with
or without agents loaded: the call goes from this process straight to the model
(``lumos_core.playground``), no tools are run. Each try is recorded in the store as a ``chat``
span of its own, linked to the recorded call (not in a read-only store).
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from opentelemetry.trace import NoOpTracerProvider, TracerProvider
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, Static, TextArea

from lumos_core.models import ModelError
from lumos_core.playground import ModelCall, ModelCallAnswer, try_model_call
from lumos_studio.display import editor_json, safe_str, safe_text
from lumos_studio.semantics import Message
from lumos_studio.semantics.text import message_block
from lumos_studio.ui.playground_request import (
    PlaygroundPoint,
    answer_messages,
    model_calls,
    request_summary,
)
from lumos_studio.ui.screens.editor_dialog import EditorDialog, FieldRow


class PlaygroundScreen(EditorDialog[None]):
    """ctrl+s sends the edited request to the model typed above it; escape closes (a call
    under way is dropped)."""

    DEFAULT_CSS = """
    PlaygroundScreen > Vertical { max-width: 150; height: 96%; }
    PlaygroundScreen #playground-answers { height: 1fr; }
    PlaygroundScreen #playground-answers VerticalScroll {
        width: 1fr; border: round $primary 50%; padding: 0 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "send", "Send"),
        Binding("escape", "close", "Close"),
    ]

    def __init__(self, point: PlaygroundPoint, tracer_provider: TracerProvider | None) -> None:
        super().__init__()
        self.point = point
        self.tracer_provider = tracer_provider  # None: tries not recorded (the app only reads)
        self.tries = 0
        self._blocks: list[Text] = []  # the latest try: a block a model, in the order typed

    def compose(self) -> ComposeResult:
        point = self.point
        with Vertical():
            yield Static(Text.assemble(
                ("Playground", "bold"), " · try again a call of ", safe_str(point.recorded_model),
                " · ", request_summary(point.request)), id="playground-title",
                classes="dialog-title")
            yield FieldRow("model", point.model, field_id="playground-model",
                           placeholder="provider:model (openai:gpt-4o-mini) or scripted; "
                                       "several, comma separated, side by side")
            editor = TextArea(editor_json(point.request), id="playground-request",
                              soft_wrap=True)
            editor.border_title = "the request (JSON: instructions, messages, tools, settings)"
            yield editor
            with Horizontal(id="playground-answers"):
                recorded = VerticalScroll(Static(_answer(point.answer)), id="playground-recorded")
                recorded.border_title = "recorded answer"
                yield recorded
                tried = VerticalScroll(Static(Text(
                    "ctrl+s sends the request to the model above", style="dim"),
                    id="playground-answer"), id="playground-try")
                tried.border_title = "this try"
                yield tried
            yield Static("", id="playground-error", classes="dialog-error")
            yield Static("ctrl+s sends · tab: model ↔ request · escape closes",
                         classes="dialog-keys")

    def on_mount(self) -> None:
        model = self.query_one("#playground-model", Input)
        (model if not model.value else self.query_one(TextArea)).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the model's field sends, as ctrl+s does."""
        event.stop()
        self.action_send()

    def action_send(self) -> None:
        error = self.query_one("#playground-error", Static)
        models = self.query_one("#playground-model", Input).value
        calls = model_calls(models, self.query_one(TextArea).text)
        if isinstance(calls, str):
            error.update(safe_text(calls, limit=None))
            return
        error.update("")
        self.tries += 1
        self._blocks = [Text(f"try {self.tries} · {safe_str(str(call.model))} · sending…",
                             style="dim") for call in calls]
        self._show_blocks()
        self._send(calls)

    @work(exclusive=True, group="playground")
    async def _send(self, calls: tuple[ModelCall, ...]) -> None:
        """Every model at once; each answer shown as it comes."""
        await asyncio.gather(*(self._send_one(n, call) for n, call in enumerate(calls)))

    async def _send_one(self, number: int, call: ModelCall) -> None:
        model = str(call.model)
        pieces: list[str] = []

        def arrived(piece: str) -> None:  # streamed: the answer so far, as it comes
            pieces.append(piece)
            self._blocks[number] = Text("\n").join([
                Text(f"try {self.tries} · {safe_str(model)} · answering…", style="dim"),
                safe_text("".join(pieces), limit=20_000, multiline=True),
            ])
            self._show_blocks()

        try:
            answer = await try_model_call(call, repeats=(self.point.trace_id, self.point.span_id),
                                          tracer_provider=self.tracer_provider
                                          or NoOpTracerProvider(), on_text=arrived)
        except (ValueError, ModelError) as exc:
            self._blocks[number] = self._failed(model, str(exc))
        except Exception as exc:  # a provider's reply no client expected: said, never raised
            self._blocks[number] = self._failed(model, f"{type(exc).__name__}: {exc}")
        else:
            self._blocks[number] = self._answered(model, answer)
        self._show_blocks()

    def _answered(self, model: str, answer: ModelCallAnswer) -> Text:
        response = answer.response
        usage = response.usage
        facts = [safe_str(model), f"{answer.seconds:.2f} s",
                 f"{usage.input_tokens:,} → {usage.output_tokens:,} tokens",
                 response.message.finish_reason or "stop"]
        where = (f"recorded as trace {answer.trace_id[:8]}…" if answer.trace_id
                 else "not recorded (this studio only reads)")
        return Text("\n").join([
            Text(f"try {self.tries} · " + " · ".join(facts), style="bold"),
            Text(where, style="dim"),
            _answer(answer_messages(response.message)),
        ])

    def _failed(self, model: str, message: str) -> Text:
        return Text("\n").join([
            Text(f"try {self.tries} · {safe_str(model)} failed", style="bold"),
            safe_text(message, limit=4000, multiline=True, style="red"),
        ])

    def _show_blocks(self) -> None:
        self._show(Text("\n\n").join(self._blocks))

    def _show(self, body: Text) -> None:
        self.query_one("#playground-answer", Static).update(body)

    def action_close(self) -> None:
        self.dismiss(None)


def _answer(messages: tuple[Message, ...]) -> Text:
    """What the model said: its text, and each tool it asked for as ``→ name(arguments)``."""
    if not messages:
        return Text("the answer was not recorded", style="dim")
    text = "\n".join(block for block in (message_block(m) for m in messages) if block)
    return safe_text(text or "(an empty answer)", limit=20_000, multiline=True)
