"""Working memory: a small document the agent keeps about the user or the task, and rewrites.

It is shown to the model in the instructions on every call and changed only through the
``update_working_memory`` tool, so what the agent "knows" is explicit, inspectable and traced.
Either a markdown scratchpad (the tool replaces it whole) or a pydantic model (the tool sends the
fields to change, which are merged and validated).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

import orjson
from pydantic import BaseModel, ValidationError

Scope = Literal["thread", "resource"]

DEFAULT_TEMPLATE: Final = """# User
- Name:
- Preferences:
- Goals:
"""

TOOL_NAME: Final = "update_working_memory"


@dataclass(frozen=True)
class WorkingMemory:
    """How an agent keeps working memory.

    ``scope="resource"`` shares it across every thread of a user; ``"thread"`` keeps one per
    conversation. ``template`` is the markdown shown before anything was written; ``schema``, a
    pydantic model, switches to structured memory (JSON, merged field by field).
    """

    scope: Scope = "resource"
    template: str = DEFAULT_TEMPLATE
    schema: type[BaseModel] | None = None

    def __post_init__(self) -> None:
        if self.scope not in ("thread", "resource"):
            raise ValueError("WorkingMemory scope must be 'thread' or 'resource'")

    @property
    def format(self) -> str:
        return "json" if self.schema is not None else "markdown"

    def key(self, thread_id: str, resource_id: str) -> str:
        """The store key for this scope."""
        return thread_id if self.scope == "thread" else resource_id

    def initial(self) -> str:
        """What the model sees before anything was written."""
        if self.schema is None:
            return self.template
        return _dump(self.schema().model_dump(mode="json"))

    def merge(self, current: str | None, update: Any) -> str:
        """The new stored value after the tool sent ``update``."""
        if self.schema is None:
            return str(update).strip() + "\n"
        base = orjson.loads(current) if current else {}
        changes = update.model_dump(mode="json", exclude_unset=True)
        try:
            merged = self.schema.model_validate({**base, **changes})
        except ValidationError as exc:
            raise ValueError(f"working memory does not fit {self.schema.__name__}: {exc}") from exc
        return _dump(merged.model_dump(mode="json"))

    def instructions(self, value: str | None) -> str:
        """The section appended to the agent's instructions."""
        shown = value if value is not None else self.initial()
        where = "all conversations with this user" if self.scope == "resource" else (
            "this conversation"
        )
        how = (
            "call update_working_memory with the complete updated document"
            if self.schema is None
            else "call update_working_memory with only the fields that changed"
        )
        return (
            "## Working memory\n"
            f"Facts worth keeping for {where}. When you learn something new or a fact changes, "
            f"{how}. Do not mention this memory to the user unless asked.\n"
            f"<working_memory>\n{shown.strip()}\n</working_memory>"
        )


def _dump(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
