"""What a person waits for from Enter in the shell: ``lumos-studio`` to its first frame, and
``lumos-studio show TRACE`` to its last line.

The studio runs as ``lumos-studio --db STORE --otlp-port 0`` in a subprocess on a pseudo-terminal
(160x50, ``TERM=xterm-256color``), as in a real terminal; the bench reads what it draws. "First
paint" is the moment the screen holds the header's title (the first frame Textual writes); "trace
list shown" the moment the list's count (``N traces``) is drawn, the first figure a person can
act on. Then ``ctrl+q`` quits it. Both on an empty store and on the ×1 bench store.

``show`` prints the 10,000-span trace of the ×1 store into a pipe; ``export`` writes it to a
file, every span read whole. ``replay`` opens such a file (10,000 and 100,000 spans) in the same
terminal until the tree draws the run's first instant (the file's start read into a store of
its own, then its trace opened), and until its header counts the whole file read. ``compare``
of the 10,000-span file with itself, until its first rows are drawn (both files read, the
spans of those rows aligned), and until it is aligned whole. Beside both: ``python -c pass``
and ``lumos-studio --help`` (the interpreter, then importing the CLI): the floor start-up
alone puts under each figure; ``--help`` is held to a target of its own, since every command
starts with it.

Each row also gives the CPU the process had used by then (all its threads; a child's rusage, or
``/proc/PID/task/*/schedstat`` at the moment the studio drew): on a shared machine the wall
clock waits for other processes, the CPU figure does not.
"""

from __future__ import annotations

import compileall
import fcntl
import os
import pty
import re
import resource
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import check
from bench.stores import bench_store, big_trace_id
from lumos_studio.store import Store

FIRST_PAINT_TARGET_MS = 700.0
SHOW_TARGET_MS = 400.0
# A saved file replayed: the studio's start (700 ms) with the file's start read into a store of
# its own and its trace opened; the rest of the file is read after (``replay.line_load``).
REPLAY_10K_TARGET_MS = 700.0
REPLAY_100K_TARGET_MS = 2_500.0
# Two saved runs compared: the studio's start (700 ms) and each run opened as a trace (150 ms).
COMPARE_10K_TARGET_MS = 1_000.0
# The comparison's counts, drawn once it is aligned whole ("0 changed · 0 removed · 0 added");
# a long one's first rows come before, the table saying so ("the first 120 rows · …").
COMPARE_SHOWN = rb"\d+ changed \xc2\xb7 \d+ removed"
COMPARE_FIRST_ROWS = rb"the first [\d,]+ rows|" + COMPARE_SHOWN
# The tree's own count of the spans it shows ("4 spans"); the header's "10,000 spans" is not it.
REPLAY_TREE = rb"(?<![\d,])\d+ spans"
HELP_TARGET_MS = 150.0  # the interpreter (~20 ms), click, rich and the commands' definitions
ROUNDS = 3
COLUMNS, LINES = 160, 50
TITLE = b"Lumos Studio"
CLI = Path(sys.executable).with_name("lumos-studio")


def _kill(process: subprocess.Popen[bytes]) -> None:
    """The studio we started, and whatever it started (its own session)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


@dataclass(frozen=True, slots=True)
class StudioStart:
    """Seconds from spawn to the title drawn and to the list drawn, and the studio's CPU seconds
    (every thread) at each."""

    painted: float
    listed: float
    painted_cpu: float
    listed_cpu: float
    done: float = float("nan")  # ``in_terminal``'s ``then`` drawn (its ``marker`` if none)
    done_cpu: float = float("nan")


def _cpu_seconds(pid: int) -> float:
    """CPU seconds every thread of ``pid`` has run so far (``schedstat``: ns on a CPU)."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return float("nan")
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as stat:
                total += int(stat.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that ended meanwhile
    return total / 1e9


def studio_first_paint(db: Path, list_marker: bytes) -> tuple[float, float]:
    """Seconds from spawn to the title drawn, and to ``list_marker`` drawn."""
    start = studio_start(db, list_marker)
    return start.painted, start.listed


def studio_start(db: Path, list_marker: bytes) -> StudioStart:
    """The studio started on ``db`` in a terminal until it drew its title and ``list_marker``."""
    return in_terminal([str(CLI), "--db", str(db), "--otlp-port", "0"], db.parent,
                       re.escape(list_marker))


def in_terminal(command: list[str], cwd: Path, marker: bytes, title: bytes | None = TITLE,
                then: bytes | None = None) -> StudioStart:
    """``command`` started in a terminal until it drew ``title`` (None: anything), then
    ``marker`` (a regular expression over what it wrote) and ``then`` (one more, if given),
    then quit with ``ctrl+q``."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(COLUMNS),
           "LINES": str(LINES)}
    env.pop("TEXTUAL", None)
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdin=terminal, stdout=terminal, stderr=terminal, env=env, cwd=cwd,
        start_new_session=True, close_fds=True,
    )
    os.close(terminal)
    wanted = re.compile(marker)
    last = re.compile(then) if then is not None else None
    screen = b""
    painted = listed = done = None
    painted_cpu = listed_cpu = done_cpu = float("nan")
    quit_sent = False
    try:
        deadline = started + 60
        while time.perf_counter() < deadline:
            readable, _, _ = select.select([controller], [], [], 0.05)
            if readable:
                try:
                    chunk = os.read(controller, 1 << 16)
                except OSError:  # the studio closed its terminal: it has quit
                    break
                if not chunk:
                    break
                screen += chunk
                now = time.perf_counter()
                if painted is None and (title is None or title in screen):
                    painted, painted_cpu = now, _cpu_seconds(process.pid)
                if listed is None and painted is not None and wanted.search(screen):
                    listed, listed_cpu = now, _cpu_seconds(process.pid)
                if done is None and listed is not None and (last is None or last.search(screen)):
                    done, done_cpu = now, _cpu_seconds(process.pid)
            if done is not None and not quit_sent:
                os.write(controller, b"\x11")  # ctrl+q
                quit_sent = True
                deadline = time.perf_counter() + 10
            if process.poll() is not None:
                break
    finally:
        _kill(process)
        os.close(controller)
    if painted is None or listed is None or done is None:
        missing = "title" if painted is None else "marker" if listed is None else "last marker"
        raise RuntimeError(f"{command[-1]} drew no {missing}: {screen[-500:]!r}")
    return StudioStart(painted - started, listed - started, painted_cpu, listed_cpu,
                       done - started, done_cpu)


def _file_read(spans: int) -> bytes:
    """The replay's header once it has read the whole file (``10,000 spans, 0 logs``)."""
    return f"{spans:,} spans, 0 logs".encode()


def _run(command: list[str]) -> tuple[float, float]:
    """Wall seconds of ``command`` to its exit, and the CPU seconds it used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, check=False,
                          env={**os.environ, "COLUMNS": str(COLUMNS)})
    took = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr[-500:]!r}")
    return took, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def compile_sources() -> None:
    """Our packages' bytecode, as an installed package (or any start after the first) has it:
    with ``PYTHONDONTWRITEBYTECODE`` set, as on this machine, each start would compile ~300 of
    our modules first (~150 ms), which no user waits for twice."""
    root = Path(__file__).resolve().parents[1]
    for package in ("lumos_core", "lumos_studio"):
        compileall.compile_dir(root / package, quiet=1)


def main(console: Console) -> None:
    compile_sources()
    store = bench_store(1, console)
    table = Table(title=f"from Enter in the shell (a subprocess each round; median of {ROUNDS})",
                  title_justify="left", title_style="bold")
    for column in ("command", "median ms", "rounds (ms)", "CPU ms", "target", ""):
        table.add_column(column, justify="left" if column == "command" else "right")

    def row(label: str, runs: list[tuple[float, float]], target: float | None = None) -> None:
        """``runs``: (wall, CPU) seconds of each round; the wall median is held to ``target``."""
        median = _median_ms([wall for wall, _ in runs])
        table.add_row(label, f"{median:,.0f}", " · ".join(f"{w * 1000:,.0f}" for w, _ in runs),
                      f"{_median_ms([cpu for _, cpu in runs]):,.0f}",
                      f"≤ {target:,.0f}" if target else "",
                      check(label.strip(), median, target) if target else "")

    row("python -c pass (the interpreter alone)",
        [_run([sys.executable, "-c", "pass"]) for _ in range(ROUNDS)])
    row("lumos-studio --help (interpreter + the CLI's imports)",
        [_run([str(CLI), "--help"]) for _ in range(ROUNDS)], HELP_TARGET_MS)
    with tempfile.TemporaryDirectory(prefix="lumos-bench-start-") as tmp:
        empty = Path(tmp) / "empty" / "store.db"
        empty.parent.mkdir()
        Store(empty).close()
        starts = [studio_start(empty, b"0 traces") for _ in range(ROUNDS)]
        row("lumos-studio, empty store → first paint",
            [(s.painted, s.painted_cpu) for s in starts], FIRST_PAINT_TARGET_MS)
        row("  → the trace list drawn", [(s.listed, s.listed_cpu) for s in starts])
    big = [studio_start(store.path, f"{store.traces:,} traces".encode()) for _ in range(ROUNDS)]
    row(f"lumos-studio, ×1 store ({store.spans:,} spans) → first paint",
        [(s.painted, s.painted_cpu) for s in big], FIRST_PAINT_TARGET_MS)
    row("  → the trace list drawn", [(s.listed, s.listed_cpu) for s in big])
    for spans, target in ((1_000, None), (10_000, SHOW_TARGET_MS)):
        command = [str(CLI), "--db", str(store.path), "show", big_trace_id(spans)]
        row(f"lumos-studio show (a {spans:,}-span trace, into a pipe)",
            [_run(command) for _ in range(ROUNDS)], target)
    with tempfile.TemporaryDirectory(prefix="lumos-bench-export-") as tmp:
        # Every span read whole (as replay, compare and the graph read them) and written out.
        command = [str(CLI), "--db", str(store.path), "export", "--trace", big_trace_id(10_000),
                   "-o", str(Path(tmp) / "trace.jsonl"), "--force"]  # the rounds' one file
        row("lumos-studio export (a 10,000-span trace, to a file)",
            [_run(command) for _ in range(ROUNDS)])
        for spans, target in ((10_000, REPLAY_10K_TARGET_MS), (100_000, REPLAY_100K_TARGET_MS)):
            saved = Path(tmp) / f"trace-{spans}.jsonl"
            _run([str(CLI), "--db", str(store.path), "export", "--trace", big_trace_id(spans),
                  "-o", str(saved)])
            replays = [in_terminal([str(CLI), "replay", str(saved)], Path(tmp), REPLAY_TREE,
                                   then=_file_read(spans)) for _ in range(ROUNDS)]
            row(f"lumos-studio replay (a {spans:,}-span file) → its tree drawn",
                [(r.listed, r.listed_cpu) for r in replays], target)
            row("  → its title drawn (the first frame)",
                [(r.painted, r.painted_cpu) for r in replays])
            row("  → the whole file read (its count in the header)",
                [(r.done, r.done_cpu) for r in replays])
            if spans == 10_000:  # the run compared with itself: every span read and aligned
                compares = [in_terminal([str(CLI), "compare", str(saved), str(saved)], Path(tmp),
                                        COMPARE_FIRST_ROWS, None, COMPARE_SHOWN)
                            for _ in range(ROUNDS)]
                row("lumos-studio compare (two 10,000-span files) → the first rows drawn",
                    [(r.listed, r.listed_cpu) for r in compares], COMPARE_10K_TARGET_MS)
                row("  → aligned whole (its counts drawn)",
                    [(r.done, r.done_cpu) for r in compares])
    console.print(table)
