"""The one typed view of what a span means, whatever dialect it was written in.

Frozen dataclasses, built by ``read_span``; panes, the search index, metrics and pricing read these
fields instead of attribute keys. Values parsed from JSON (tool arguments, results, schemas) are
plain JSON values (``dict``/``list``/``str``/numbers); treat them as read-only.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class Dialect(enum.Enum):
    """A telemetry convention a span was read as (a span may carry several)."""

    GENAI = "otel-genai"  #: current OTel GenAI attributes (gen_ai.input.messages …)
    GENAI_EVENTS = "otel-genai-events"  #: earlier GenAI forms: span/log events, flattened prompts
    OPENINFERENCE = "openinference"
    OPENLLMETRY = "openllmetry"
    PYDANTIC_AI = "pydantic-ai"
    LOGFIRE = "logfire"
    VERCEL_AI = "vercel-ai"
    LUMOS = "lumos"


class OperationKind(enum.Enum):
    """What a span does, across every dialect's span-kind vocabulary."""

    AGENT = "agent"
    WORKFLOW = "workflow"  #: a workflow, chain or task step
    LLM = "llm"  #: one model call (chat, completion)
    TOOL = "tool"
    RETRIEVAL = "retrieval"
    EMBEDDING = "embedding"
    RERANKER = "reranker"
    GUARDRAIL = "guardrail"
    EVALUATOR = "evaluator"
    MEMORY = "memory"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class TextPart:
    """Plain text of a message."""

    text: str


@dataclass(frozen=True, slots=True)
class ReasoningPart:
    """A model's reasoning (thinking) text."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallPart:
    """A model asking for a tool; ``arguments`` is the parsed JSON value, never re-encoded."""

    id: str
    name: str
    arguments: Any


@dataclass(frozen=True, slots=True)
class ToolResultPart:
    """A tool's answer sent back to the model (``result`` as given: text or a JSON value)."""

    id: str
    name: str
    result: Any


@dataclass(frozen=True, slots=True)
class MediaPart:
    """A reference to media: a URI, an inline (base64) blob, or a provider file id."""

    mime_type: str = ""
    uri: str = ""
    blob: str = ""
    file_id: str = ""
    modality: str = ""


@dataclass(frozen=True, slots=True)
class OtherPart:
    """A part of a type no reader knows; ``value`` is what was sent, for the raw view."""

    type: str
    value: Any


Part = TextPart | ReasoningPart | ToolCallPart | ToolResultPart | MediaPart | OtherPart


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message: a role and its typed parts."""

    role: str
    parts: tuple[Part, ...]
    finish_reason: str = ""
    name: str = ""

    @property
    def text(self) -> str:
        """The text parts joined, for search and one-line previews."""
        return "\n".join(p.text for p in self.parts if isinstance(p, TextPart))


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts; ``None`` where the span did not say."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_tokens: int | None = None
    cache_creation_tokens: int | None = None
    reasoning_tokens: int | None = None
    total_tokens: int | None = None

    @property
    def total(self) -> int:
        """The total the span gave, else input + output (0 when nothing is known)."""
        if self.total_tokens is not None:
            return self.total_tokens
        return (self.input_tokens or 0) + (self.output_tokens or 0)

    @property
    def known(self) -> bool:
        return self.input_tokens is not None or self.output_tokens is not None


@dataclass(frozen=True, slots=True)
class RequestSettings:
    """How the model was asked to answer, where the span said so (``None``: not said); only
    values a model would take (a temperature of -1 or a max of 0 tokens is left out)."""

    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The settings the span gave, by name (``lumos_core.ModelSettings``' names)."""
        named = {"temperature": self.temperature, "max_tokens": self.max_tokens,
                 "top_p": self.top_p, "seed": self.seed, "stop": list(self.stop) or None}
        return {name: value for name, value in named.items() if value is not None}


@dataclass(frozen=True, slots=True)
class ToolDefinition:
    """A tool offered to the model."""

    name: str
    description: str = ""
    parameters: Any = None


@dataclass(frozen=True, slots=True)
class ToolCall:
    """What a tool span ran: its name, call id, arguments (parsed JSON) and result."""

    name: str = ""
    id: str = ""
    arguments: Any = None
    result: Any = None


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """Why a span failed: its status message and its first exception event."""

    status_message: str = ""
    type: str = ""
    message: str = ""
    stacktrace: str = ""


@dataclass(frozen=True, slots=True)
class Document:
    """A retrieved document or memory record, best first as the span listed them."""

    id: str = ""
    content: str = ""
    score: float | None = None


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A ``gen_ai.evaluation.result`` event: how an evaluator scored this span's output."""

    name: str
    score: float | None = None
    label: str = ""
    explanation: str = ""
    passed: bool | None = None  #: reached its scorer's threshold (lumos scorers say)
    source: str = ""  #: who scored: ``experiment`` | ``rescore`` | ``human`` (lumos)


@dataclass(frozen=True, slots=True)
class SpanView:
    """Everything the studio understands of one span; ``unread_keys`` lists what it did not."""

    dialects: tuple[Dialect, ...] = ()
    kind: OperationKind = OperationKind.UNKNOWN
    operation_name: str = ""
    request_model: str = ""
    response_model: str = ""
    provider: str = ""
    usage: Usage = Usage()
    cost: float | None = None
    system_instructions: tuple[Part, ...] = ()
    input_messages: tuple[Message, ...] = ()
    output_messages: tuple[Message, ...] = ()
    tool_definitions: tuple[ToolDefinition, ...] = ()
    request_settings: RequestSettings = RequestSettings()
    tool_call: ToolCall | None = None
    conversation_id: str = ""
    agent_name: str = ""
    response_id: str = ""
    streaming: bool | None = None
    error: ErrorInfo | None = None
    finish_reasons: tuple[str, ...] = ()
    evaluations: tuple[Evaluation, ...] = ()
    query: str = ""  #: what a retrieval or memory search looked for
    documents: tuple[Document, ...] = ()  #: what it found
    unread_keys: tuple[str, ...] = ()

    @property
    def model(self) -> str:
        """The model that answered, else the one asked for."""
        return self.response_model or self.request_model

    @property
    def is_llm(self) -> bool:
        return self.kind is OperationKind.LLM
