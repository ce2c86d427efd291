"""What the dialect readers fill in while reading one span, and the value checks they share.

Every value comes from outside: the helpers here never raise, they answer ``None``/``""`` (or
``BAD`` for JSON that does not parse) and the reader leaves that key unread.
"""

from __future__ import annotations

import math
from typing import Any, Final

import orjson

from lumos_studio.semantics.view import (
    Dialect,
    Document,
    ErrorInfo,
    Evaluation,
    Message,
    OperationKind,
    Part,
    ToolDefinition,
)

#: Bounds on what one span may contribute: a hostile span cannot make the view huge.
MAX_MESSAGES: Final = 1000
MAX_PARTS: Final = 500
MAX_TOOLS: Final = 500
MAX_INDEX: Final = 1000  #: highest N read from flattened ``….N.…`` keys
MAX_JSON_CHARS: Final = 8 * 1024 * 1024

BAD: Final[Any] = object()  #: what ``loads`` answers for text that is not JSON (or too big)


def loads(text: str | bytes) -> Any:
    """Parse JSON text, or ``BAD``."""
    if len(text) > MAX_JSON_CHARS:
        return BAD
    try:
        return orjson.loads(text)
    except (orjson.JSONDecodeError, TypeError, ValueError, RecursionError):
        return BAD


def maybe_json(value: Any) -> Any:
    """A string holding a JSON object or array parsed; anything else as it is.

    Tool arguments and results arrive as JSON text in some dialects and as values in others; the
    view holds the value, so a JSON string is never shown encoded twice.
    """
    if isinstance(value, str):
        stripped = value.lstrip()
        if stripped[:1] in ("{", "["):
            parsed = loads(value)
            if parsed is not BAD:
                return parsed
    return value


def as_str(value: Any) -> str:
    """A string attribute as it is; numbers as their text (ids are sometimes ints); else ""."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def as_int(value: Any) -> int | None:
    """A token count: a non-negative int (or integral float / digit string), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float):
        return int(value) if value.is_integer() and value >= 0 else None
    if isinstance(value, str) and value.isdigit() and len(value) < 20:
        return int(value)
    return None


def as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def str_list(value: Any) -> tuple[str, ...] | None:
    """A list of strings, given as an array or as JSON text of one (Logfire), or one string."""
    if isinstance(value, str):
        parsed = loads(value) if value.lstrip().startswith("[") else [value]
        value = parsed
    if isinstance(value, list | tuple):
        return tuple(s for s in (as_str(v) for v in value[:MAX_PARTS]) if s)
    return None


USAGE_FIELDS: Final = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_creation_tokens",
    "reasoning_tokens",
    "total_tokens",
)


class Draft:
    """The span view under construction: the first reader to find a field sets it.

    Readers run in priority order (current conventions first), so when a span carries two
    dialects (pydantic-ai with OpenInference on top) the richer one wins and the other only fills
    gaps. ``read`` collects the attribute keys some reader understood.
    """

    __slots__ = (
        "_json",
        "agent_name",
        "attrs",
        "conversation_id",
        "cost",
        "dialects",
        "documents",
        "error",
        "evaluations",
        "finish_reasons",
        "has_tool",
        "input_messages",
        "kind",
        "operation_name",
        "output_messages",
        "provider",
        "query",
        "read",
        "request_model",
        "response_id",
        "response_model",
        "settings",
        "streaming",
        "system_instructions",
        "tool_arguments",
        "tool_definitions",
        "tool_id",
        "tool_name",
        "tool_result",
        "usage",
    )

    def __init__(self, attrs: dict[str, Any]) -> None:
        self.attrs = attrs
        self.read: set[str] = set()
        self.dialects: list[Dialect] = []
        self.kind = OperationKind.UNKNOWN
        self.operation_name = ""
        self.request_model = ""
        self.response_model = ""
        self.provider = ""
        self.usage: dict[str, int] = {}
        self.cost: float | None = None
        self.system_instructions: tuple[Part, ...] = ()
        self.input_messages: tuple[Message, ...] = ()
        self.output_messages: tuple[Message, ...] = ()
        self.tool_definitions: tuple[ToolDefinition, ...] = ()
        self.tool_name = ""
        self.tool_id = ""
        self.tool_arguments: Any = None
        self.tool_result: Any = None
        self.has_tool = False
        self.conversation_id = ""
        self.agent_name = ""
        self.response_id = ""
        self.streaming: bool | None = None
        self.settings: dict[str, Any] = {}  # ``RequestSettings``' fields the span gave
        self.error: ErrorInfo | None = None
        self.finish_reasons: tuple[str, ...] = ()
        self.evaluations: list[Evaluation] = []
        self.query = ""
        self.documents: tuple[Document, ...] = ()
        self._json: dict[str, Any] = {}

    def add_dialect(self, dialect: Dialect) -> None:
        if dialect not in self.dialects:
            self.dialects.append(dialect)

    def json(self, key: str) -> Any:
        """The attribute parsed once: JSON text decoded (``BAD`` if it is not JSON), else as is."""
        if key in self._json:
            return self._json[key]
        value = self.attrs.get(key)
        parsed = loads(value) if isinstance(value, str) else value
        self._json[key] = parsed
        return parsed

    def take_str(self, key: str) -> str:
        """A string attribute, marked read when it is one."""
        value = self.attrs.get(key)
        if value is None:  # most keys asked for are absent: answer before any type check
            return ""
        text = value if type(value) is str else as_str(value)
        if text:
            self.read.add(key)
        return text

    def fill(self, field: str, *keys: str) -> None:
        """Set a string field from the first of ``keys`` holding a string; mark every one read."""
        attrs = self.attrs
        for key in keys:
            if key in attrs:
                value = self.take_str(key)
                if value and not getattr(self, field):
                    setattr(self, field, value)

    def set_setting(self, name: str, value: Any) -> bool:
        """A request setting (a ``RequestSettings`` field) unless an earlier reader gave it;
        False when the value is none a model would take."""
        if name in self.settings or value is None:
            return False
        taken = _setting(name, value)
        if taken is None:
            return False
        self.settings[name] = taken
        return True

    def set_kind(self, kind: OperationKind | None) -> None:
        if kind is not None and self.kind is OperationKind.UNKNOWN:
            self.kind = kind

    def set_usage(self, field: str, key: str) -> None:
        """Take a token count from ``key`` unless an earlier reader already gave this field."""
        if key not in self.attrs:
            return
        count = as_int(self.attrs[key])
        if count is None:
            return
        self.read.add(key)
        self.usage.setdefault(field, count)

    def set_usage_value(self, field: str, value: Any) -> None:
        count = as_int(value)
        if count is not None:
            self.usage.setdefault(field, count)

    def set_streaming(self, key: str) -> None:
        if key in self.attrs:
            flag = as_bool(self.attrs[key])
            if flag is not None:
                self.read.add(key)
                if self.streaming is None:
                    self.streaming = flag

    def set_finish_reasons(self, key: str) -> None:
        if key in self.attrs:
            reasons = str_list(self.attrs[key])
            if reasons is not None:
                self.read.add(key)
                if not self.finish_reasons:
                    self.finish_reasons = reasons


def documents(value: Any) -> tuple[Document, ...] | None:
    """A JSON list of ``{"id", "content", "score"}`` (GenAI retrieval documents, memory records)."""
    if not isinstance(value, list):
        return None
    return tuple(
        Document(as_str(item.get("id")), as_str(item.get("content")), as_float(item.get("score")))
        for item in value[:MAX_PARTS]
        if isinstance(item, dict)
    )


def indexed(keys: list[str], prefix: str) -> dict[int, dict[str, str]]:
    """Flattened ``{prefix}{N}.{rest}`` keys grouped as ``{N: {rest: key}}``, N in index order.

    Keys whose N is not a small non-negative number are left out (so they stay unread).
    """
    groups: dict[int, dict[str, str]] = {}
    start = len(prefix)
    for key in keys:
        if not key.startswith(prefix):
            continue
        number, dot, rest = key[start:].partition(".")
        if not dot or not number.isdigit() or len(number) > 4 or int(number) > MAX_INDEX:
            continue
        groups.setdefault(int(number), {})[rest] = key
    return dict(sorted(groups.items()))


def _setting(name: str, value: Any) -> Any:
    """``value`` as the setting ``name`` takes it, or None: the span's values are untrusted."""
    if name == "stop":
        stops = [value] if isinstance(value, str) else value
        if not isinstance(stops, list | tuple) or not stops or len(stops) > 16:
            return None
        if not all(isinstance(stop, str) and 0 < len(stop) <= 256 for stop in stops):
            return None
        return tuple(stops)
    if name in ("max_tokens", "seed"):
        number = as_int(value)
        return number if number is not None and (name == "seed" or number >= 1) else None
    real = as_float(value)
    if real is None or not math.isfinite(real) or real < 0 or (name == "top_p" and real > 1):
        return None
    return real
