"""lumos_core: an embedded agent framework whose every step is an OpenTelemetry GenAI span."""

from __future__ import annotations

__version__ = "0.1.0"

from lumos_core.agent import Agent, AgentRunError, RunResult, StepLimitExceeded
from lumos_core.memory import (
    HashingEmbedder,
    Memory,
    OpenAIEmbedder,
    SemanticRecall,
    WorkingMemory,
    rebuild_memory_state,
)
from lumos_core.messages import Message, Usage
from lumos_core.models import Model, ModelError, ModelHTTPError, ScriptedModel
from lumos_core.rag import DocumentIndex, retrieve_tool
from lumos_core.tools import Tool, ToolError, tool

__all__ = [
    "Agent",
    "AgentRunError",
    "DocumentIndex",
    "HashingEmbedder",
    "Memory",
    "Message",
    "Model",
    "ModelError",
    "ModelHTTPError",
    "OpenAIEmbedder",
    "RunResult",
    "ScriptedModel",
    "SemanticRecall",
    "StepLimitExceeded",
    "Tool",
    "ToolError",
    "Usage",
    "WorkingMemory",
    "__version__",
    "rebuild_memory_state",
    "retrieve_tool",
    "tool",
]
