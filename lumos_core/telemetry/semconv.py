"""Every span and attribute name the core emits, in one place.

Names follow the OpenTelemetry GenAI semantic conventions (status: Development). Anything those
conventions do not cover lives under ``lumos.*``.
"""

from __future__ import annotations

from typing import Final

# gen_ai.operation.name values
OP_INVOKE_AGENT: Final = "invoke_agent"
OP_CHAT: Final = "chat"
OP_EXECUTE_TOOL: Final = "execute_tool"
OP_INVOKE_WORKFLOW: Final = "invoke_workflow"
OP_RETRIEVAL: Final = "retrieval"
OP_EMBEDDINGS: Final = "embeddings"

# Attributes
OPERATION_NAME: Final = "gen_ai.operation.name"
PROVIDER_NAME: Final = "gen_ai.provider.name"
AGENT_NAME: Final = "gen_ai.agent.name"
AGENT_DESCRIPTION: Final = "gen_ai.agent.description"
CONVERSATION_ID: Final = "gen_ai.conversation.id"
REQUEST_MODEL: Final = "gen_ai.request.model"
REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
RESPONSE_MODEL: Final = "gen_ai.response.model"
RESPONSE_ID: Final = "gen_ai.response.id"
RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
INPUT_MESSAGES: Final = "gen_ai.input.messages"
OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
TOOL_DEFINITIONS: Final = "gen_ai.tool.definitions"
TOOL_NAME: Final = "gen_ai.tool.name"
TOOL_DESCRIPTION: Final = "gen_ai.tool.description"
TOOL_TYPE: Final = "gen_ai.tool.type"
TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
ERROR_TYPE: Final = "error.type"
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"

# lumos.* extensions
LUMOS_STEPS: Final = "lumos.agent.steps"
LUMOS_TOOL_ERROR: Final = "lumos.tool.error"

# Event names (log records with ``event_name``). OTLP ships a span only when it ends, so a worker
# process announces each span as it starts with this event; the studio shows it as running.
# Body: {"name", "kind", "parent_span_id" (hex or null), "start_time_unix_nano", "attributes"};
# the log record's trace_id/span_id are the started span's.
EVENT_SPAN_STARTED: Final = "lumos.span.started"
EVENT_MEMORY_PREFIX: Final = "lumos.memory."

INSTRUMENTATION_NAME: Final = "lumos_core"


def span_name(operation: str, target: str | None) -> str:
    """The conventions' span name: ``{operation} {model or agent or tool name}``."""
    return f"{operation} {target}" if target else operation
