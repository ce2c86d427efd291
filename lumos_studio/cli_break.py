"""``lumos-studio run … --break WHERE``: stop a run at a breakpoint and print what it was about
to do (a step's input, the request about to go to the model, a tool call's arguments), then end
the run there (exit ``PAUSED_EXIT``) or, with ``--continue``, go on.

WHERE is a workflow step's name, ``model`` (before any model call), ``tool`` (before any tool
call) or ``tool:NAME`` (before a call of that tool).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lumos_studio.cli_support import fail, info, out, warn
from lumos_studio.display import safe_json

if TYPE_CHECKING:  # the debugger is imported by a run that uses it, not by --help
    from lumos_core.debug import Debugger, Decision
    from lumos_core.worker_protocol import BreakAt, Paused

PAUSED_EXIT = 3  # stopped at a --break without --continue: the run ended there, on purpose
_STOPPED = "stopped at the breakpoint"

_SAYS = {
    "before_step": ("before step", "input"),
    "before_model": ("before the model call of agent", "request"),
    "before_tool": ("before tool call", "arguments"),
}


def parse_breaks(wheres: tuple[str, ...]) -> tuple[BreakAt, ...]:
    """``--break`` values as breakpoints (exit 2 on an empty one)."""
    from lumos_core.worker_protocol import BreakAt

    breaks = []
    for where in wheres:
        name = where.strip()
        if name == "model":
            breaks.append(BreakAt("before_model"))
        elif name == "tool":
            breaks.append(BreakAt("before_tool"))
        elif name.startswith("tool:") and name[5:].strip():
            breaks.append(BreakAt("before_tool", name[5:].strip()))
        elif name and not name.startswith("tool:"):
            breaks.append(BreakAt("before_step", name))
        else:
            fail(f"--break {where!r} names nothing to stop at",
                 "pass a step's name, model, tool or tool:NAME", code=2)
    return tuple(breaks)


@dataclass
class BreakReport:
    """Prints each pause and decides: continue with ``--continue``, else abort the run there."""

    keep_going: bool
    pauses: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def on_pause(self, paused: Paused) -> Decision:
        """For a worker's run (``WorkerSession.run(on_pause=...)``)."""
        return self._show(paused.point, paused.target, paused.value, paused.agent)

    def debugger(self, breaks: tuple[BreakAt, ...]) -> Debugger:
        """For a run in this process (``--demo``)."""
        from lumos_core.debug import Debugger
        from lumos_core.debug_remote import breakpoints_of, json_value

        async def decide(request: Any) -> Decision:
            return self._show(str(request.point), request.target, json_value(request.value),
                              request.agent)

        return Debugger(breakpoints_of(breaks), decide)

    def _show(self, point: str, target: str, value: Any, agent: str | None) -> Decision:
        from lumos_core.debug import Abort, Continue

        with self._lock:
            self.pauses += 1
        says, what = _SAYS.get(point, (point.replace("_", " "), "value"))
        subject = agent if point == "before_model" and agent else target
        info(f"paused {says} {subject!r}; its {what}:")
        out.print(safe_json(value))
        return Continue() if self.keep_going else Abort(_STOPPED)

    def stopped(self, error: str | None) -> bool:
        """Whether a failed run ended because we stopped it at a breakpoint."""
        return not self.keep_going and self.pauses > 0 and _STOPPED in (error or "")

    def finish(self, wheres: tuple[str, ...]) -> None:
        """After a run that went to its end: say so when no breakpoint was ever reached."""
        if wheres and self.pauses == 0:
            warn(f"the run never reached --break {', '.join(wheres)}")

    def exit_paused(self) -> None:
        info(f"the run was stopped there (exit {PAUSED_EXIT}); pass --continue to go on after "
             "printing")
        raise SystemExit(PAUSED_EXIT)
