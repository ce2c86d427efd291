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
# Memory operations (GenAI conventions, ``gen_ai.memory.client`` span; span name = the operation).
OP_CREATE_MEMORY_STORE: Final = "create_memory_store"
OP_DELETE_MEMORY_STORE: Final = "delete_memory_store"
OP_CREATE_MEMORY: Final = "create_memory"
OP_SEARCH_MEMORY: Final = "search_memory"
OP_UPDATE_MEMORY: Final = "update_memory"
OP_UPSERT_MEMORY: Final = "upsert_memory"
OP_DELETE_MEMORY: Final = "delete_memory"

# Attributes
OPERATION_NAME: Final = "gen_ai.operation.name"
PROVIDER_NAME: Final = "gen_ai.provider.name"
AGENT_NAME: Final = "gen_ai.agent.name"
AGENT_DESCRIPTION: Final = "gen_ai.agent.description"
CONVERSATION_ID: Final = "gen_ai.conversation.id"
REQUEST_MODEL: Final = "gen_ai.request.model"
REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
REQUEST_TOP_P: Final = "gen_ai.request.top_p"
REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"
REQUEST_SEED: Final = "gen_ai.request.seed"
#: ``json`` when the agent asks for structured output (``output_type=``).
OUTPUT_TYPE: Final = "gen_ai.output.type"
RESPONSE_MODEL: Final = "gen_ai.response.model"
RESPONSE_ID: Final = "gen_ai.response.id"
RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
#: On chat spans of streamed calls: true, and seconds from the request to the first chunk.
REQUEST_STREAM: Final = "gen_ai.request.stream"
RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
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
REQUEST_TOP_K: Final = "gen_ai.request.top_k"
EMBEDDINGS_DIMENSION_COUNT: Final = "gen_ai.embeddings.dimension.count"
DATA_SOURCE_ID: Final = "gen_ai.data_source.id"
RETRIEVAL_QUERY_TEXT: Final = "gen_ai.retrieval.query.text"
#: JSON array of ``{"id", "score", ...}``, best first (the conventions' retrieval documents schema).
RETRIEVAL_DOCUMENTS: Final = "gen_ai.retrieval.documents"

# gen_ai.memory.* (semantic-conventions-genai: memory operations).
MEMORY_STORE_ID: Final = "gen_ai.memory.store.id"
MEMORY_RECORD_ID: Final = "gen_ai.memory.record.id"
MEMORY_RECORD_COUNT: Final = "gen_ai.memory.record.count"
MEMORY_QUERY_TEXT: Final = "gen_ai.memory.query.text"
#: JSON array of ``{"id", "content", "score"?, "metadata"?}`` (the memory records schema).
MEMORY_RECORDS: Final = "gen_ai.memory.records"
# Proposed beside those (semantic-conventions PR #3569), not yet in the registry.
MEMORY_STORE_NAME: Final = "gen_ai.memory.store.name"
MEMORY_SCOPE: Final = "gen_ai.memory.scope"  # user | conversation | agent | team
MEMORY_SEARCH_SIMILARITY_THRESHOLD: Final = "gen_ai.memory.search.similarity.threshold"
MEMORY_EXPIRATION_DATE: Final = "gen_ai.memory.expiration_date"
MEMORY_SCOPE_USER: Final = "user"
MEMORY_SCOPE_CONVERSATION: Final = "conversation"

# GenAI client metrics (histograms, one record per model call; ``telemetry.metrics``)
METRIC_CLIENT_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
METRIC_CLIENT_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
#: On token usage records: ``input`` | ``output``.
TOKEN_TYPE: Final = "gen_ai.token.type"

# MCP (OpenTelemetry's semantic conventions for the Model Context Protocol)
MCP_METHOD_NAME: Final = "mcp.method.name"
MCP_PROTOCOL_VERSION: Final = "mcp.protocol.version"

# lumos.* extensions
LUMOS_STEPS: Final = "lumos.agent.steps"
#: On a forked agent run's ``invoke_agent`` span (and its link): the span id of the model call it
#: re-runs from (``lumos_core.agent_fork``).
LUMOS_AGENT_FORK_OF: Final = "lumos.agent.fork.of"
#: On a tool called again by hand (``Agent.call_tool``) and its link: the span id of the
#: ``execute_tool`` span whose call it repeats.
LUMOS_TOOL_FORK_OF: Final = "lumos.tool.fork.of"
#: On a model call sent again from the playground (``lumos_core.playground``) and its link: the
#: span id of the ``chat`` span whose request it repeats, edited or not.
LUMOS_CHAT_FORK_OF: Final = "lumos.chat.fork.of"
#: On a tool called by hand: the agent whose tool it is (no ``invoke_agent`` span is around it).
LUMOS_TOOL_AGENT: Final = "lumos.tool.agent"
LUMOS_TOOL_ERROR: Final = "lumos.tool.error"
#: On ``execute_tool`` spans of MCP tools: the server's name, its transport (``stdio`` |
#: ``streamable-http``) and, when a tool_prefix renamed it, the tool's name on the server.
LUMOS_MCP_SERVER: Final = "lumos.mcp.server"
LUMOS_MCP_TRANSPORT: Final = "lumos.mcp.transport"
LUMOS_MCP_TOOL_NAME: Final = "lumos.mcp.tool.name"
#: What a memory operation touched: ``messages`` | ``working_memory`` | ``recall`` | ``thread``.
LUMOS_MEMORY_KIND: Final = "lumos.memory.kind"
#: The resource (user) a thread belongs to; the thread itself is ``gen_ai.conversation.id``.
LUMOS_MEMORY_RESOURCE_ID: Final = "lumos.memory.resource_id"
#: On ``chat`` spans: how many stored messages (the window) and recalled messages were sent.
LUMOS_MEMORY_WINDOW_COUNT: Final = "lumos.memory.window.count"
LUMOS_MEMORY_RECALLED_COUNT: Final = "lumos.memory.recalled.count"
#: On ``chat`` spans, JSON: what memory and retrieval contributed to this model call:
#: ``{"thread_id", "resource_id", "window": {"count", "first_seq", "last_seq"},
#: "working_memory": {"scope", "chars"}, "recalled": [{"id", "thread_id", "seq", "score"}],
#: "retrieved": [{"id", "score", "data_source"}]}`` (keys present only when they apply).
LUMOS_CONTEXT_SUMMARY: Final = "lumos.context.summary"
#: On ``retrieval`` spans: ``hybrid`` | ``bm25`` | ``vector``, and the ids/scores as arrays.
LUMOS_RETRIEVAL_MODE: Final = "lumos.retrieval.mode"
LUMOS_RETRIEVAL_IDS: Final = "lumos.retrieval.ids"
LUMOS_RETRIEVAL_SCORES: Final = "lumos.retrieval.scores"

# Workflows. The ``invoke_workflow {name}`` span carries ``gen_ai.operation.name = invoke_workflow``
# and, as the GenAI conventions now ask, the workflow's name in ``gen_ai.agent.name``; the
# ``lumos.workflow.*`` names below cover runs, steps, suspend and resume. Each step is a child span
# named ``step {step name}``; an agent step's ``invoke_agent`` span nests under it.
SPAN_WORKFLOW_STEP: Final = "step"
LUMOS_WORKFLOW_NAME: Final = "lumos.workflow.name"
#: The run's id: the same on every segment of a run (the first, and each resumed one).
LUMOS_WORKFLOW_RUN_ID: Final = "lumos.workflow.run_id"
#: ``success`` | ``failed`` | ``suspended`` | ``cancelled`` (on the ``invoke_workflow`` span).
LUMOS_WORKFLOW_STATUS: Final = "lumos.workflow.status"
#: JSON of the workflow's input / output (output on success only).
LUMOS_WORKFLOW_INPUT: Final = "lumos.workflow.input"
LUMOS_WORKFLOW_OUTPUT: Final = "lumos.workflow.output"
#: String array: the steps waiting for ``resume`` when a run suspends.
LUMOS_WORKFLOW_SUSPENDED_STEPS: Final = "lumos.workflow.suspended_steps"
#: On a resumed segment's span (which also links to the previous segment's span) and on the
#: resumed step's span: true, the step resumed, and the resume data as JSON.
LUMOS_WORKFLOW_RESUMED: Final = "lumos.workflow.resumed"
LUMOS_WORKFLOW_RESUME_STEP: Final = "lumos.workflow.resume.step"
LUMOS_WORKFLOW_RESUME_DATA: Final = "lumos.workflow.resume.data"
LUMOS_WORKFLOW_STEP_NAME: Final = "lumos.workflow.step.name"
#: ``function`` | ``agent`` | ``tool`` | ``sequence`` | ``parallel`` | ``branch`` | ``while`` |
#: ``foreach`` | ``workflow`` (a nested workflow: its ``invoke_workflow`` span nests under the
#: step's, with ``lumos.workflow.parent``; a tool step's ``execute_tool`` span likewise).

LUMOS_WORKFLOW_STEP_KIND: Final = "lumos.workflow.step.kind"
#: ``success`` | ``failed`` | ``suspended`` | ``cancelled`` (a parallel sibling failed).
LUMOS_WORKFLOW_STEP_STATUS: Final = "lumos.workflow.step.status"
#: JSON of a function or agent step's input / output.
LUMOS_WORKFLOW_STEP_INPUT: Final = "lumos.workflow.step.input"
LUMOS_WORKFLOW_STEP_OUTPUT: Final = "lumos.workflow.step.output"
#: On ``branch`` steps: the name of the step chosen ("" when no case held).
LUMOS_WORKFLOW_BRANCH_CHOSEN: Final = "lumos.workflow.branch.chosen"
#: Span event on a suspending step's span and on the ``invoke_workflow`` span, with
#: ``lumos.workflow.step.name`` and ``lumos.workflow.suspend.payload`` (JSON).
EVENT_WORKFLOW_SUSPENDED: Final = "lumos.workflow.suspended"
LUMOS_WORKFLOW_SUSPEND_PAYLOAD: Final = "lumos.workflow.suspend.payload"
#: On a fork's ``invoke_workflow`` span (which links to the original run's): the run it was
#: forked from and the step it re-ran from.
LUMOS_WORKFLOW_FORK_OF: Final = "lumos.workflow.fork.of"
LUMOS_WORKFLOW_FORK_STEP: Final = "lumos.workflow.fork.step"
#: On a nested workflow's ``invoke_workflow`` span: the name of the workflow it runs inside.
LUMOS_WORKFLOW_PARENT: Final = "lumos.workflow.parent"
#: Each pass of a ``while`` / ``foreach`` step is a span ``iteration {step name}`` under the
#: step's, with its number (from 1) and the loop's bound; the step's span gets the count.
SPAN_WORKFLOW_ITERATION: Final = "iteration"
LUMOS_WORKFLOW_LOOP_ITERATION: Final = "lumos.workflow.loop.iteration"
LUMOS_WORKFLOW_LOOP_BOUND: Final = "lumos.workflow.loop.bound"
LUMOS_WORKFLOW_LOOP_ITERATIONS: Final = "lumos.workflow.loop.iterations"

# The debugger (``lumos_core.debug``): on the span where a run paused,
# ``lumos.debug.{point}.decision`` (``continue`` | ``step`` | ``edit`` | ``skip`` | ``abort``), and
# for an edit or a skip ``lumos.debug.{point}.original`` and ``.value`` (JSON): what was changed
# by hand. ``point`` is ``before_step`` | ``after_step`` | ``before_model`` | ``after_model`` |
# ``before_tool`` | ``after_tool``.
LUMOS_DEBUG_PREFIX: Final = "lumos.debug."


def debug_key(point: str, what: str) -> str:
    """``lumos.debug.{point}.{what}``."""
    return f"{LUMOS_DEBUG_PREFIX}{point}.{what}"


# Event names (log records with ``event_name``). OTLP ships a span only when it ends, so a worker
# process announces each span as it starts with this event; the studio shows it as running.
# Body: {"name", "kind", "parent_span_id" (hex or null), "start_time_unix_nano", "attributes"};
# the log record's trace_id/span_id are the started span's.
EVENT_SPAN_STARTED: Final = "lumos.span.started"
# Each memory change is also a log record emitted at once, inside the memory operation's span, with
# ``event_name = EVENT_MEMORY_PREFIX + operation`` (``lumos.memory.upsert_memory`` etc.). Its body
# carries enough to rebuild the state (``lumos_core.memory.rebuild_memory_state``):
#   upsert_memory/messages: {"op", "kind", "thread_id", "resource_id",
#                            "messages": [{"id", "seq", "created_ns", "message"}]}
#   update_memory/working_memory: {"op", "kind", "scope", "key", "thread_id", "resource_id",
#                                  "value", "format"}
#   delete_memory/thread: {"op", "kind", "thread_id", "resource_id"}
#   delete_memory/working_memory: {"op", "kind", "scope", "key", "thread_id", "resource_id"}
# With content capture off (``telemetry.content``) a body has ``"content_omitted": true``, its
# messages no parts and its working memory no ``value``.
EVENT_MEMORY_PREFIX: Final = "lumos.memory."
EVENT_MEMORY_UPSERT: Final = "lumos.memory.upsert_memory"
EVENT_MEMORY_UPDATE: Final = "lumos.memory.update_memory"
EVENT_MEMORY_DELETE: Final = "lumos.memory.delete_memory"

# Evaluations (GenAI conventions: the ``gen_ai.evaluation.result`` event). An experiment
# (``lumos_core.evals``) is a root span ``experiment {name}``; each case a child span
# ``case {id}`` holding the task's own run; each score an event on the case span it judges (the
# case span is still open while the scorers run; the agent's span has ended by then).
EVENT_EVALUATION_RESULT: Final = "gen_ai.evaluation.result"
EVALUATION_NAME: Final = "gen_ai.evaluation.name"
EVALUATION_SCORE_VALUE: Final = "gen_ai.evaluation.score.value"
EVALUATION_SCORE_LABEL: Final = "gen_ai.evaluation.score.label"
EVALUATION_EXPLANATION: Final = "gen_ai.evaluation.explanation"
#: On evaluation events, beside the conventions' fields: did the score reach the scorer's
#: threshold, and who scored (``experiment`` | ``rescore`` | ``human``).
LUMOS_EVALUATION_PASSED: Final = "lumos.evaluation.passed"
LUMOS_EVALUATION_SOURCE: Final = "lumos.evaluation.source"
SPAN_EXPERIMENT: Final = "experiment"
SPAN_EXPERIMENT_CASE: Final = "case"
LUMOS_EXPERIMENT_NAME: Final = "lumos.experiment.name"
LUMOS_EXPERIMENT_ID: Final = "lumos.experiment.id"
LUMOS_EXPERIMENT_DATASET: Final = "lumos.experiment.dataset"
#: What ran each case: ``agent {name}``, ``workflow {name}`` or ``function {qualified name}``.
LUMOS_EXPERIMENT_TASK: Final = "lumos.experiment.task"
LUMOS_EXPERIMENT_REPEATS: Final = "lumos.experiment.repeats"
LUMOS_EXPERIMENT_SEED: Final = "lumos.experiment.seed"
LUMOS_EXPERIMENT_CASE_COUNT: Final = "lumos.experiment.case_count"
#: On the experiment span, JSON: ``{scorer: {"mean", "pass_rate", "count", "threshold"}}``.
LUMOS_EXPERIMENT_SUMMARY: Final = "lumos.experiment.summary"
LUMOS_EXPERIMENT_CASE_ID: Final = "lumos.experiment.case.id"
LUMOS_EXPERIMENT_CASE_REPEAT: Final = "lumos.experiment.case.repeat"
#: The case's place in the dataset (from 0): cases may run in another order (a seed).
LUMOS_EXPERIMENT_CASE_INDEX: Final = "lumos.experiment.case.index"
#: JSON of the case's input, expected output, metadata, and the task's output.
LUMOS_EXPERIMENT_CASE_INPUT: Final = "lumos.experiment.case.input"
LUMOS_EXPERIMENT_CASE_EXPECTED: Final = "lumos.experiment.case.expected"
LUMOS_EXPERIMENT_CASE_METADATA: Final = "lumos.experiment.case.metadata"
LUMOS_EXPERIMENT_CASE_OUTPUT: Final = "lumos.experiment.case.output"

INSTRUMENTATION_NAME: Final = "lumos_core"


def span_name(operation: str, target: str | None) -> str:
    """The conventions' span name: ``{operation} {model or agent or tool name}``."""
    return f"{operation} {target}" if target else operation

# On the resource of a studio's worker: the studio's pid. Spans a studio that is gone left
# running are told by it from other programs' (``lumos_studio.sessions.interrupted``).
LUMOS_STUDIO_PID: Final = "lumos.studio.pid"
