"""What the pytest plugin's ``evaluate`` fixture hands a test (``lumos_core.testing``)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from lumos_core._sync import refuse_inside_event_loop
from lumos_core.evals.check import assert_experiment
from lumos_core.evals.dataset import Dataset
from lumos_core.evals.experiment import Experiment, Task
from lumos_core.evals.results import ExperimentResult
from lumos_core.evals.scoring import Scorer

__all__ = ["ExperimentCheck"]


class ExperimentCheck:
    """``evaluate(dataset, task, scorers, threshold=0.9)`` in a plain test, ``await
    evaluate.arun(...)`` in an async one: runs the experiment (spans go to the active provider,
    ``captured_spans`` when the test uses it) and fails with the cases under the threshold."""

    def __init__(self) -> None:
        self.results: list[ExperimentResult] = []

    def __call__(self, dataset: Dataset, task: Task, scorers: Sequence[Scorer], *,
                 threshold: float | Mapping[str, float] = 1.0, **options: Any
                 ) -> ExperimentResult:
        refuse_inside_event_loop("evaluate(...)", "await evaluate.arun(...)")
        return asyncio.run(self.arun(dataset, task, scorers, threshold=threshold, **options))

    async def arun(self, dataset: Dataset, task: Task, scorers: Sequence[Scorer], *,
                   threshold: float | Mapping[str, float] = 1.0, **options: Any
                   ) -> ExperimentResult:
        result = await Experiment(dataset, task, scorers, **options).run()
        self.results.append(result)
        return assert_experiment(result, threshold)
