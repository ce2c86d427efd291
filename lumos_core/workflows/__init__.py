"""Workflows: steps (functions, agents, tools or whole workflows) in sequence, in parallel, by
branch or in bounded loops, suspendable for a human and resumable later, each run one
``invoke_workflow`` span with a child span per step.

``Workflow("trip", [plan, parallel(weather, sights), choose])``, then ``await workflow.run(data)``;
a step calling ``ctx.suspend(payload)`` ends the run ``suspended`` and
``await workflow.resume(run_id, resume_data=...)`` continues it.
"""

from __future__ import annotations

from lumos_core.workflows.constructs import (
    ForEachStep,
    LoopLimitExceeded,
    ToolStep,
    WhileStep,
    WorkflowStep,
    foreach,
    loop_while,
    tool_step,
    workflow_step,
)
from lumos_core.workflows.context import StepContext
from lumos_core.workflows.events import (
    StepFinished,
    StepStarted,
    StepStreamed,
    WorkflowEvent,
    WorkflowListener,
    step_status,
)
from lumos_core.workflows.result import (
    ResumeError,
    RunStatus,
    StepValidationError,
    WorkflowError,
    WorkflowFailed,
    WorkflowInputError,
    WorkflowRun,
)
from lumos_core.workflows.snapshots import RunSnapshot, SnapshotStore
from lumos_core.workflows.steps import (
    AgentStep,
    BranchStep,
    FunctionStep,
    ParallelStep,
    SequenceStep,
    Step,
    agent_step,
    as_step,
    branch,
    parallel,
    sequence,
    step,
)
from lumos_core.workflows.workflow import Workflow

__all__ = [
    "AgentStep",
    "BranchStep",
    "ForEachStep",
    "FunctionStep",
    "LoopLimitExceeded",
    "ParallelStep",
    "ResumeError",
    "RunSnapshot",
    "RunStatus",
    "SequenceStep",
    "SnapshotStore",
    "Step",
    "StepContext",
    "StepFinished",
    "StepStarted",
    "StepStreamed",
    "StepValidationError",
    "ToolStep",
    "WhileStep",
    "Workflow",
    "WorkflowError",
    "WorkflowEvent",
    "WorkflowFailed",
    "WorkflowInputError",
    "WorkflowListener",
    "WorkflowRun",
    "WorkflowStep",
    "agent_step",
    "as_step",
    "branch",
    "foreach",
    "loop_while",
    "parallel",
    "sequence",
    "step",
    "step_status",
    "tool_step",
    "workflow_step",
]
