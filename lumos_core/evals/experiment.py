"""The experiment runner: every case of a dataset through a task, scored, as telemetry.

An experiment is a root span ``experiment {name}``; each case run is a child ``case {id}`` that
holds the task's own spans (an agent's ``invoke_agent``...) and, as ``gen_ai.evaluation.result``
events, its scores. Results thus go wherever the provider's spans go (the studio's store, any
OTLP backend) and survive export and import.
"""

from __future__ import annotations

import asyncio
import inspect
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
from opentelemetry import _logs, trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.trace import Status, StatusCode

from lumos_core._sync import refuse_inside_event_loop
from lumos_core.agent import Agent
from lumos_core.evals.collector import CaseSpans, case_spans_for
from lumos_core.evals.dataset import Case, Dataset
from lumos_core.evals.results import CaseResult, ExperimentResult, summarise
from lumos_core.evals.scoring import Sample, Score, Scorer, evaluation_attributes, output_text
from lumos_core.messages import Usage
from lumos_core.run_results import RunResult
from lumos_core.settings import ModelSettings
from lumos_core.telemetry import (
    activate_providers,
    active_tracer_provider,
    get_tracer,
    reset_providers,
)
from lumos_core.telemetry import semconv as sc
from lumos_core.workflows import Workflow

__all__ = ["Experiment", "Task"]

#: What an experiment runs per case: an agent (given the input as its message), a workflow
#: (given the input) or any function of the input, async or not.
Task = Agent[Any] | Workflow | Callable[[Any], Any] | Callable[[Any], Awaitable[Any]]
ATTRIBUTE_LIMIT = 16_000  # characters of a case's input, expected and output kept on its span


class Experiment:
    """Runs ``task`` on each case of ``dataset`` ``repeats`` times, ``concurrency`` at once,
    and scores every run with ``scorers``.

    ``seed``, when given, shuffles the order the runs start in (order-dependent tasks show up)
    and is sent to agents' models as ``ModelSettings(seed=...)``. Spans go to
    ``tracer_provider`` (default: the active, then the global one; when that records nothing,
    a private provider, so trajectory scorers still see spans).
    """

    def __init__(
        self,
        dataset: Dataset,
        task: Task,
        scorers: Sequence[Scorer],
        *,
        name: str | None = None,
        concurrency: int = 4,
        repeats: int = 1,
        seed: int | None = None,
        tracer_provider: trace.TracerProvider | None = None,
        logger_provider: _logs.LoggerProvider | None = None,
    ) -> None:
        if concurrency < 1 or repeats < 1:
            raise ValueError("concurrency and repeats must be at least 1")
        names = [s.name for s in scorers]
        if len(set(names)) != len(names):
            raise ValueError(f"scorer names must differ (got {names}); pass name=...")
        self.dataset = dataset
        self.task = task
        self.scorers = list(scorers)
        self.name = name or dataset.name
        self.concurrency = concurrency
        self.repeats = repeats
        self.seed = seed
        self.tracer_provider = tracer_provider
        self.logger_provider = logger_provider

    @property
    def task_label(self) -> str:
        if isinstance(self.task, Agent):
            return f"agent {self.task.name}"
        if isinstance(self.task, Workflow):
            return f"workflow {self.task.name}"
        return f"function {getattr(self.task, '__qualname__', type(self.task).__name__)}"

    def run_sync(self, on_case: Callable[[CaseResult], None] | None = None) -> ExperimentResult:
        """``run`` for code that is not async."""
        refuse_inside_event_loop("Experiment.run_sync", "await experiment.run()")
        return asyncio.run(self.run(on_case=on_case))

    async def run(self, on_case: Callable[[CaseResult], None] | None = None) -> ExperimentResult:
        """Run and score every case; ``on_case`` hears each as it finishes (a progress bar)."""
        provider = self.tracer_provider or active_tracer_provider()
        if not isinstance(provider, SdkTracerProvider):
            provider = SdkTracerProvider()  # records for the scorers, exports nowhere
        tokens = activate_providers(provider, self.logger_provider)
        try:
            return await self._run(provider, on_case)
        finally:
            reset_providers(tokens)

    async def _run(self, provider: SdkTracerProvider,
                   on_case: Callable[[CaseResult], None] | None) -> ExperimentResult:
        tracer = get_tracer(provider)
        collector = case_spans_for(provider)
        experiment_id = uuid.uuid4().hex[:12]
        jobs = [(index, case, repeat) for index, case in enumerate(self.dataset.cases)
                for repeat in range(self.repeats)]
        order = list(range(len(jobs)))
        if self.seed is not None:
            random.Random(self.seed).shuffle(order)
        attributes: dict[str, Any] = {
            sc.LUMOS_EXPERIMENT_NAME: self.name,
            sc.LUMOS_EXPERIMENT_ID: experiment_id,
            sc.LUMOS_EXPERIMENT_DATASET: self.dataset.name,
            sc.LUMOS_EXPERIMENT_TASK: self.task_label,
            sc.LUMOS_EXPERIMENT_REPEATS: self.repeats,
            sc.LUMOS_EXPERIMENT_CASE_COUNT: len(self.dataset),
        }
        if self.seed is not None:
            attributes[sc.LUMOS_EXPERIMENT_SEED] = self.seed
        started = time.perf_counter()
        results: list[CaseResult | None] = [None] * len(jobs)
        gate = asyncio.Semaphore(self.concurrency)
        with tracer.start_as_current_span(sc.span_name(sc.SPAN_EXPERIMENT, self.name),
                                          attributes=attributes) as root:
            parent = trace.set_span_in_context(root)

            async def one(index: int) -> None:
                async with gate:
                    done = await self._case(tracer, collector, parent, *jobs[index])
                results[index] = done
                if on_case is not None:
                    on_case(done)

            tasks = [asyncio.ensure_future(one(i)) for i in order]
            try:
                await asyncio.gather(*tasks)
            except BaseException:
                for task in tasks:
                    task.cancel()
                raise
            finished = [r for r in results if r is not None]
            summaries = summarise([s.name for s in self.scorers],
                                  [s.threshold for s in self.scorers], finished)
            root.set_attribute(sc.LUMOS_EXPERIMENT_SUMMARY, orjson.dumps(
                {s.name: s.as_json() for s in summaries}).decode())
            if any(r.error for r in finished):
                root.set_status(Status(StatusCode.ERROR, "a case raised"))
            context = root.get_span_context()
        return ExperimentResult(self.name, self.dataset.name, tuple(finished), summaries,
                                time.perf_counter() - started, experiment_id,
                                format(context.trace_id, "032x") if context.is_valid else None)

    async def _case(self, tracer: trace.Tracer, collector: CaseSpans, parent: Context,
                    index: int, case: Case, repeat: int) -> CaseResult:
        attributes: dict[str, Any] = {
            sc.LUMOS_EXPERIMENT_CASE_ID: case.id,
            sc.LUMOS_EXPERIMENT_CASE_INDEX: index,
            sc.LUMOS_EXPERIMENT_CASE_REPEAT: repeat,
            sc.LUMOS_EXPERIMENT_CASE_INPUT: _json(case.input),
        }
        if case.expected is not None:
            attributes[sc.LUMOS_EXPERIMENT_CASE_EXPECTED] = _json(case.expected)
        if case.metadata:
            attributes[sc.LUMOS_EXPERIMENT_CASE_METADATA] = _json(dict(case.metadata))
        with tracer.start_as_current_span(
            sc.span_name(sc.SPAN_EXPERIMENT_CASE, case.id), context=parent, attributes=attributes,
            record_exception=False, set_status_on_exception=False,
        ) as span:
            span_id = span.get_span_context().span_id
            collector.open(span_id)
            try:
                started = time.perf_counter()
                error: str | None = None
                output: Any = None
                usage: Usage | None = None
                try:
                    output, usage = await self._call(case.input)
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"
                    span.record_exception(exc)
                    span.set_status(Status(StatusCode.ERROR, error))
                duration = time.perf_counter() - started
                spans = collector.snapshot(span_id)  # before any judge adds its own
                sample = Sample(case, output, spans, duration, usage or usage_of(spans),
                                repeat, error)
                scores = [await _score(s, sample) for s in self.scorers]
                if error is None:
                    span.set_attribute(sc.LUMOS_EXPERIMENT_CASE_OUTPUT, _json(output))
                for score in scores:
                    span.add_event(sc.EVENT_EVALUATION_RESULT, evaluation_attributes(score))
            finally:
                collector.close(span_id)
            context = span.get_span_context()
        return CaseResult(case, repeat, output, tuple(scores), duration, error,
                          format(context.trace_id, "032x"), format(context.span_id, "016x"))

    async def _call(self, value: Any) -> tuple[Any, Usage | None]:
        """Run the task on one input: its output, and its usage when the task says it."""
        task = self.task
        if isinstance(task, Agent):
            settings = ModelSettings(seed=self.seed) if self.seed is not None else None
            message = value if isinstance(value, str) else output_text(value)
            result = await task.run(message, settings=settings)
            return result.output, result.usage
        if isinstance(task, Workflow):
            done = await task.run(value)
            return done.output, None  # a failed run raises WorkflowFailed here
        returned = task(value)
        if inspect.isawaitable(returned):
            returned = await returned
        if isinstance(returned, RunResult):
            return returned.output, returned.usage
        return returned, None


async def _score(scorer: Scorer, sample: Sample) -> Score:
    if sample.error is not None:
        return scorer.unscored(f"the task raised {sample.error}")
    try:
        return await scorer.score(sample)
    except Exception as exc:  # a scorer's bug fails its score, not the experiment
        return scorer.unscored(f"the scorer raised {type(exc).__name__}: {exc}")


def usage_of(spans: Sequence[ReadableSpan]) -> Usage:
    """Tokens of every model call among ``spans`` (``chat`` spans)."""
    used = Usage()
    for span in spans:
        attributes = span.attributes or {}
        if attributes.get(sc.OPERATION_NAME) == sc.OP_CHAT:
            used = used + Usage(int(attributes.get(sc.USAGE_INPUT_TOKENS, 0) or 0),  # type: ignore[arg-type]
                                int(attributes.get(sc.USAGE_OUTPUT_TOKENS, 0) or 0))  # type: ignore[arg-type]
    return used


def _json(value: Any) -> str:
    text = output_text(value) if not isinstance(value, str) else orjson.dumps(value).decode()
    return text if len(text) <= ATTRIBUTE_LIMIT else text[: ATTRIBUTE_LIMIT - 1] + "…"
