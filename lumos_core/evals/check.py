"""An experiment as a test: ``assert_experiment`` fails with the cases that fell short.

The pytest plugin's ``evaluate`` fixture runs an experiment and calls it::

    def test_weather_agent(evaluate):
        evaluate(Dataset.from_jsonl("evals/weather.jsonl"), weather, [Contains()], threshold=0.9)
"""

from __future__ import annotations

from collections.abc import Mapping

from lumos_core.evals.results import ExperimentResult

__all__ = ["ExperimentFailed", "assert_experiment"]

SHOWN_CASES = 20


class ExperimentFailed(AssertionError):
    """A scorer's pass rate fell under its threshold; the message lists the failing cases."""


def assert_experiment(result: ExperimentResult,
                      threshold: float | Mapping[str, float] = 1.0) -> ExperimentResult:
    """Raise ``ExperimentFailed`` unless every scorer's pass rate reaches ``threshold`` (one
    rate for all, or a rate per scorer name; scorers not named are not checked)."""
    limits = (dict(threshold) if isinstance(threshold, Mapping)
              else {s.name: threshold for s in result.summaries})
    below = result.below(limits)
    if not below:
        return result
    checked = set(limits)
    lines = [f"experiment {result.name!r} on dataset {result.dataset!r}: " + "; ".join(below)]
    failing = [c for c in result.cases
               if c.error or any(not s.passed and s.name in checked for s in c.scores)]
    for case in failing[:SHOWN_CASES]:
        run = f" (run {case.repeat + 1})" if case.repeat else ""
        reasons = [case.error] if case.error else [
            f"{s.name} {'–' if s.value is None else f'{s.value:.2f}'}"
            + (f": {s.explanation}" if s.explanation else "")
            for s in case.scores if not s.passed and s.name in checked]
        lines.append(f"  case {case.case.id}{run}: " + "; ".join(reasons))
    if len(failing) > SHOWN_CASES:
        lines.append(f"  … and {len(failing) - SHOWN_CASES} more failing cases")
    raise ExperimentFailed("\n".join(lines))
