"""Evaluations: datasets of cases, scorers, and experiments whose results are telemetry.

::

    from lumos_core.evals import Contains, Dataset, Experiment, ToolTrajectory

    dataset = Dataset.from_jsonl("evals/weather.jsonl")
    result = Experiment(dataset, weather, [Contains(), ToolTrajectory()]).run_sync()
    print(result.summary("contains").pass_rate)

Each case runs under a ``case {id}`` span of the ``experiment {name}`` span, and each score is a
``gen_ai.evaluation.result`` event on its case span (``lumos_core.evals.experiment``).
"""

from __future__ import annotations

from lumos_core.evals.check import ExperimentFailed, assert_experiment
from lumos_core.evals.dataset import Case, Dataset, DatasetError
from lumos_core.evals.experiment import Experiment, Task, evaluation_attributes
from lumos_core.evals.judge import LLMJudge, parse_verdict
from lumos_core.evals.results import CaseResult, ExperimentResult, ScorerSummary
from lumos_core.evals.scorers import (
    Contains,
    CostBudget,
    Exact,
    FunctionScorer,
    Latency,
    Regex,
    TokenBudget,
    ValidAs,
    scorer,
)
from lumos_core.evals.scoring import Sample, Score, Scorer, output_text
from lumos_core.evals.trajectory import ExpectedCall, ToolTrajectory

__all__ = [
    "Case",
    "CaseResult",
    "Contains",
    "CostBudget",
    "Dataset",
    "DatasetError",
    "Exact",
    "ExpectedCall",
    "Experiment",
    "ExperimentFailed",
    "ExperimentResult",
    "FunctionScorer",
    "LLMJudge",
    "Latency",
    "Regex",
    "Sample",
    "Score",
    "Scorer",
    "ScorerSummary",
    "Task",
    "TokenBudget",
    "ToolTrajectory",
    "ValidAs",
    "assert_experiment",
    "evaluation_attributes",
    "output_text",
    "parse_verdict",
    "scorer",
]
