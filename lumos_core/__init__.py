"""lumos_core: an embedded agent framework whose every step is an OpenTelemetry GenAI span."""

from __future__ import annotations

__version__ = "0.1.0"

from lumos_core.agent import Agent, AgentRunError, RunResult, StepLimitExceeded
from lumos_core.messages import Message, Usage
from lumos_core.models import Model, ModelError, ModelHTTPError, ScriptedModel
from lumos_core.tools import Tool, ToolError, tool

__all__ = [
    "Agent",
    "AgentRunError",
    "Message",
    "Model",
    "ModelError",
    "ModelHTTPError",
    "RunResult",
    "ScriptedModel",
    "StepLimitExceeded",
    "Tool",
    "ToolError",
    "Usage",
    "__version__",
    "tool",
]
