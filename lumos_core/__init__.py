"""lumos_core: an embedded agent framework whose every step is an OpenTelemetry GenAI span.

The names below are loaded on first use (module ``__getattr__``, PEP 562): ``from lumos_core
import Agent`` imports the agent, but importing one light module of the package (the CLI reads
``lumos_core.memory_limit``, the store reads ``lumos_core.telemetry.semconv``) no longer pulls in
every model client, workflow and memory class first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lumos_core._lazy import load_export

__version__ = "0.1.0"

if TYPE_CHECKING:
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
    from lumos_core.tool_calls import ToolCallResult
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

# Each public name and the module that defines it; the TYPE_CHECKING imports above say the same
# for type checkers (tests/studio/test_startup.py holds the two together).
_EXPORTS: dict[str, str] = {
    "Agent": "lumos_core.agent",
    "HashingEmbedder": "lumos_core.memory",
    "Memory": "lumos_core.memory",
    "OpenAIEmbedder": "lumos_core.memory",
    "SemanticRecall": "lumos_core.memory",
    "WorkingMemory": "lumos_core.memory",
    "rebuild_memory_state": "lumos_core.memory",
    "Message": "lumos_core.messages",
    "Usage": "lumos_core.messages",
    "Model": "lumos_core.models",
    "ModelError": "lumos_core.models",
    "ModelHTTPError": "lumos_core.models",
    "ModelStreamEvent": "lumos_core.models",
    "ResponseCompleted": "lumos_core.models",
    "ScriptedModel": "lumos_core.models",
    "TextDelta": "lumos_core.models",
    "ToolCallDelta": "lumos_core.models",
    "OutputValidationError": "lumos_core.output",
    "DocumentIndex": "lumos_core.rag",
    "retrieve_tool": "lumos_core.rag",
    "AgentRunError": "lumos_core.run_results",
    "AgentStreamEvent": "lumos_core.run_results",
    "RunCompleted": "lumos_core.run_results",
    "RunResult": "lumos_core.run_results",
    "StepLimitExceeded": "lumos_core.run_results",
    "ToolCallFinished": "lumos_core.run_results",
    "ToolCallStarted": "lumos_core.run_results",
    "ModelSettings": "lumos_core.settings",
    "ToolCallResult": "lumos_core.tool_calls",
    "capture_content": "lumos_core.telemetry",
    "configure": "lumos_core.telemetry",
    "Tool": "lumos_core.tools",
    "ToolError": "lumos_core.tools",
    "tool": "lumos_core.tools",
    "StepContext": "lumos_core.workflows",
    "Workflow": "lumos_core.workflows",
    "WorkflowError": "lumos_core.workflows",
    "WorkflowFailed": "lumos_core.workflows",
    "WorkflowInputError": "lumos_core.workflows",
    "WorkflowRun": "lumos_core.workflows",
    "agent_step": "lumos_core.workflows",
    "branch": "lumos_core.workflows",
    "parallel": "lumos_core.workflows",
    "sequence": "lumos_core.workflows",
    "step": "lumos_core.workflows",
}

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
    "ToolCallResult",
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


def __getattr__(name: str) -> object:
    return load_export(globals(), _EXPORTS, name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
