"""lumos_core: an embedded agent framework whose every step is an OpenTelemetry GenAI span."""

from __future__ import annotations

__version__ = "0.1.0"

from lumos_core.agent import Agent
from lumos_core.memory import (
    HashingEmbedder,
    Memory,
    OpenAIEmbedder,
    SemanticRecall,
    WorkingMemory,
    rebuild_memory_state,
)
from lumos_core.messages import Message, Usage
from lumos_core.models import (
    Model,
    ModelError,
    ModelHTTPError,
    ModelStreamEvent,
    ResponseCompleted,
    ScriptedModel,
    TextDelta,
    ToolCallDelta,
)
from lumos_core.output import OutputValidationError
from lumos_core.rag import DocumentIndex, retrieve_tool
from lumos_core.run_results import (
    AgentRunError,
    AgentStreamEvent,
    RunCompleted,
    RunResult,
    StepLimitExceeded,
    ToolCallFinished,
    ToolCallStarted,
)
from lumos_core.settings import ModelSettings
from lumos_core.telemetry import capture_content, configure
from lumos_core.tools import Tool, ToolError, tool
from lumos_core.workflows import (
    StepContext,
    Workflow,
    WorkflowError,
    WorkflowFailed,
    WorkflowInputError,
    WorkflowRun,
    agent_step,
    branch,
    parallel,
    sequence,
    step,
)

__all__ = [
    "Agent",
    "AgentRunError",
    "AgentStreamEvent",
    "DocumentIndex",
    "HashingEmbedder",
    "Memory",
    "Message",
    "Model",
    "ModelError",
    "ModelHTTPError",
    "ModelSettings",
    "ModelStreamEvent",
    "OpenAIEmbedder",
    "OutputValidationError",
    "ResponseCompleted",
    "RunCompleted",
    "RunResult",
    "ScriptedModel",
    "SemanticRecall",
    "StepContext",
    "StepLimitExceeded",
    "TextDelta",
    "Tool",
    "ToolCallDelta",
    "ToolCallFinished",
    "ToolCallStarted",
    "ToolError",
    "Usage",
    "Workflow",
    "WorkflowError",
    "WorkflowFailed",
    "WorkflowInputError",
    "WorkflowRun",
    "WorkingMemory",
    "__version__",
    "agent_step",
    "branch",
    "capture_content",
    "configure",
    "parallel",
    "rebuild_memory_state",
    "retrieve_tool",
    "sequence",
    "step",
    "tool",
]
