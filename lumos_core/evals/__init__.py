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

from typing import TYPE_CHECKING

from lumos_core._lazy import load_export

if TYPE_CHECKING:
    from lumos_core.evals.check import ExperimentFailed, assert_experiment
    from lumos_core.evals.dataset import Case, Dataset, DatasetError
    from lumos_core.evals.experiment import Experiment, Task
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
    from lumos_core.evals.scoring import Sample, Score, Scorer, evaluation_attributes, output_text
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

# Each name's module, imported when the name is first asked for (``lumos_core._lazy``): the
# studio reads a dataset (``lumos_core.evals.dataset``) without the judge's agent and model
# clients, which made its first ``D`` ~300 ms slower.
_EXPORTS: dict[str, str] = {
    "Case": "lumos_core.evals.dataset",
    "CaseResult": "lumos_core.evals.results",
    "Contains": "lumos_core.evals.scorers",
    "CostBudget": "lumos_core.evals.scorers",
    "Dataset": "lumos_core.evals.dataset",
    "DatasetError": "lumos_core.evals.dataset",
    "Exact": "lumos_core.evals.scorers",
    "ExpectedCall": "lumos_core.evals.trajectory",
    "Experiment": "lumos_core.evals.experiment",
    "ExperimentFailed": "lumos_core.evals.check",
    "ExperimentResult": "lumos_core.evals.results",
    "FunctionScorer": "lumos_core.evals.scorers",
    "LLMJudge": "lumos_core.evals.judge",
    "Latency": "lumos_core.evals.scorers",
    "Regex": "lumos_core.evals.scorers",
    "Sample": "lumos_core.evals.scoring",
    "Score": "lumos_core.evals.scoring",
    "Scorer": "lumos_core.evals.scoring",
    "ScorerSummary": "lumos_core.evals.results",
    "Task": "lumos_core.evals.experiment",
    "TokenBudget": "lumos_core.evals.scorers",
    "ToolTrajectory": "lumos_core.evals.trajectory",
    "ValidAs": "lumos_core.evals.scorers",
    "assert_experiment": "lumos_core.evals.check",
    "evaluation_attributes": "lumos_core.evals.scoring",
    "output_text": "lumos_core.evals.scoring",
    "parse_verdict": "lumos_core.evals.judge",
    "scorer": "lumos_core.evals.scorers",
}


def __getattr__(name: str) -> object:
    return load_export(globals(), _EXPORTS, name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
