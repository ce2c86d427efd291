"""Our agent's runs/s beside those of the core at an earlier commit, on this machine, now.

Issue 16 asked that agent runs/s with tracing on into an in-memory exporter stay "at or above
today's", the core at 6e6a47f: about 4,400 runs/s on the machine of that day. Machines differ
by half and more from one session to the next (``bench.python_loop_ms``), so a fixed figure
says more about the machine than the code. Here both cores run the same harness, each in a
process of its own (``python -m bench.core_reference DIR``, with DIR's ``lumos_core`` first on
``sys.path``), in turns, so the load of the hour weighs on both alike.

The earlier core comes from the repository's history (``git archive``); where there is none
(a tarball, a shallow clone), ``reference_core`` says why and the caller keeps the fixed figure.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

REFERENCE_COMMIT = "6e6a47f"  # issue 16's "today's"
ROOT = Path(__file__).resolve().parent.parent
QUESTION = "What is the weather in Paris?"
WARMUP_RUNS = 200
RUNS, SECONDS = 3_000, 3.0
PAIRS = 3  # turns of (ours, reference); each side's median is reported


@dataclass(frozen=True, slots=True)
class Comparison:
    """Runs/s of our core and of the reference, each the median of its turns."""

    ours: float
    reference: float
    ours_rounds: tuple[float, ...]
    reference_rounds: tuple[float, ...]


def reference_core(destination: Path, commit: str = REFERENCE_COMMIT) -> Path | str:
    """``lumos_core`` as it was at ``commit``, written under ``destination``: the directory to
    put first on ``sys.path``, or why it cannot be had (no git, no such commit)."""
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", commit, "lumos_core"],
            capture_output=True, check=False, timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"git could not be run ({error})"
    if archive.returncode != 0:
        message = archive.stderr.decode(errors="replace").strip().splitlines()
        return f"commit {commit} is not in this clone ({message[-1] if message else 'git failed'})"
    archive_path = destination / "core.tar"
    archive_path.write_bytes(archive.stdout)
    with tarfile.open(archive_path) as tar:
        try:
            tar.extractall(destination, filter="data")
        except TypeError:  # Python before 3.11.4 has no filters; the archive is this repository's
            tar.extractall(destination)
    return destination


def compare(reference: Path, ours: Path = ROOT, pairs: int = PAIRS) -> Comparison:
    """Our core and the one at ``reference`` in turns, ``pairs`` times each."""
    ours_rounds: list[float] = []
    reference_rounds: list[float] = []
    for _ in range(pairs):
        ours_rounds.append(runs_per_second(ours))
        reference_rounds.append(runs_per_second(reference))
    return Comparison(
        statistics.median(ours_rounds), statistics.median(reference_rounds),
        tuple(ours_rounds), tuple(reference_rounds),
    )


def runs_per_second(core: Path) -> float:
    """One turn: the harness in a process of its own, with ``core``'s ``lumos_core``."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.core_reference", str(core), str(RUNS), str(SECONDS)],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the harness failed on {core}: {done.stderr.strip()[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def _harness(core: Path, runs: int, seconds: float) -> float:
    """Runs/s of the bench's weather agent (2 model calls, 1 tool call), traced through the
    SDK's ``SimpleSpanProcessor`` into an ``InMemorySpanExporter`` emptied after each run: the
    ``bench.agent_runs`` in-memory row, written with only what both cores offer."""
    sys.path.insert(0, str(core))
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    import lumos_core  # the core under ``core``, not the one installed

    if not Path(lumos_core.__file__ or "").resolve().is_relative_to(core.resolve()):
        raise RuntimeError(f"imported {lumos_core.__file__}, not the core under {core}")

    @lumos_core.tool
    def get_weather(city: str) -> str:
        """Current weather for a city."""
        return f"Sunny, 21 °C in {city}."

    agent = lumos_core.Agent(
        name="bench-weather",
        instructions="You answer questions about the weather. Use get_weather for conditions.",
        model="scripted", tools=[get_weather],
        description="Looks up the current weather for a city.",
    )
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    async def run_many(limit: int, budget: float) -> float:
        count = 0
        start = time.perf_counter()
        while count < limit and time.perf_counter() - start < budget:
            await agent.run(QUESTION, tracer_provider=provider)
            exporter.clear()
            count += 1
        return count / (time.perf_counter() - start)

    async def scenario() -> float:
        await run_many(min(WARMUP_RUNS, runs), seconds)
        return await run_many(runs, seconds)

    return asyncio.run(scenario())


if __name__ == "__main__":
    core_dir, run_count, time_budget = sys.argv[1:4]
    print(_harness(Path(core_dir), int(run_count), float(time_budget)))
