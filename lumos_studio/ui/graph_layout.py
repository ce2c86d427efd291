"""The graph pane's drawing, free of Textual: a ``GraphNode`` tree and its nodes' runs in, a
grid of cells (a character and a style tag each) out, top to bottom.

Steps are boxes joined by ``▼``; parallel steps and branch cases are lanes between a fork and a
join line (a branch's lanes under their conditions); loops and nested workflows are frames around
their body, titled with the loop's bound and passes (a nested workflow in double lines, or one box
with ``▸`` when collapsed); an agent is a loop frame around its model and what the model calls.
Each box has a gutter on its left for a breakpoint marker (``●``).

Tags: ``edge`` (arrows and lines), ``frame``, ``cond`` (a branch's condition), ``muted``
(timings), ``breakpoint``, ``selected`` (the selected node's label), and ``state.<state>`` for
a node's border and label.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from rich.cells import cell_len, get_character_cell_size

from lumos_studio.display import safe_str
from lumos_studio.present import format_duration
from lumos_studio.ui.graph_model import GraphNode, NodeRun, NodeState

GLYPHS = {
    NodeState.PENDING: "○",
    NodeState.RUNNING: "▶",
    NodeState.PAUSED: "‖",
    NodeState.DONE: "✓",
    NodeState.FAILED: "✗",
    NodeState.SUSPENDED: "◇",
}
BREAKPOINT = "●"
LABEL_CELLS = 24  # a node's name is cut to this, with …
GUTTER = 2  # the breakpoint column and a space, left of every box and frame
LANE_GAP = 2
_LOOPS = ("while", "foreach", "agent_loop")
_LANES = ("parallel", "branch", "calls")
_KIND_MARK = {"agent": "◈ ", "tool": "⚒ ", "model": "◎ ", "subagent": "◈ ", "handoff": "⇥ ",
              "workflow": "⇶ "}


@dataclass(frozen=True, slots=True)
class Rect:
    x: int
    y: int
    width: int
    height: int


@dataclass(slots=True)
class Canvas:
    """A block of the drawing: its cells, where arrows come in and go out (``axis``), and where
    each node landed (``boxes``, in drawing order)."""

    width: int
    height: int
    axis: int = 0
    chars: list[list[str]] = field(default_factory=list)
    tags: list[list[str]] = field(default_factory=list)
    boxes: dict[str, Rect] = field(default_factory=dict)

    @classmethod
    def blank(cls, width: int, height: int, axis: int = 0) -> Canvas:
        return cls(width, height, axis, [[" "] * width for _ in range(height)],
                   [[""] * width for _ in range(height)])

    def put(self, x: int, y: int, text: str, tag: str = "") -> int:
        """Write ``text`` from ``(x, y)`` (a wide character takes two cells); the cells used."""
        used = 0
        for char in text:
            size = get_character_cell_size(char)
            if x + used + size > self.width or size == 0:
                break
            self.chars[y][x + used] = char
            self.tags[y][x + used] = tag
            if size == 2:
                self.chars[y][x + used + 1] = ""
                self.tags[y][x + used + 1] = tag
            used += size
        return used

    def tag(self, x: int, y: int, width: int, tag: str) -> None:
        for column in range(x, min(x + width, self.width)):
            self.tags[y][column] = tag

    def blit(self, other: Canvas, x: int, y: int) -> None:
        for row in range(other.height):
            self.chars[y + row][x : x + other.width] = other.chars[row]
            self.tags[y + row][x : x + other.width] = other.tags[row]
        for node, rect in other.boxes.items():
            self.boxes[node] = Rect(rect.x + x, rect.y + y, rect.width, rect.height)

    def text(self) -> str:
        """The drawing as plain text (lines without trailing spaces): what tests compare."""
        return "\n".join("".join(row).rstrip() for row in self.chars)


@dataclass(frozen=True, slots=True)
class Look:
    """What the drawing depends on besides the graph: the runs, the selected node, the nodes
    with a breakpoint, the collapsed nested workflows, and now (for running nodes' timers)."""

    runs: Mapping[str, NodeRun] = field(default_factory=dict)
    selected: str | None = None
    breakpoints: Collection[str] = ()
    collapsed: Collection[str] = ()
    now_ns: int = 0


def layout_graph(root: GraphNode, look: Look) -> Canvas:
    """The whole drawing of ``root``: a workflow's steps in sequence, or an agent's loop."""
    if root.kind == "workflow_root":
        return _sequence(root.children, look) if root.children else _note("no steps")
    return _block(root, look)


def node_order(root: GraphNode, look: Look) -> list[str]:
    """The nodes the cursor visits, top to bottom (what ``layout_graph`` drew a box for)."""
    canvas = layout_graph(root, look)
    return sorted(canvas.boxes, key=lambda n: (canvas.boxes[n].y, canvas.boxes[n].x))


# --- blocks ---


def _block(node: GraphNode, look: Look) -> Canvas:
    if node.kind == "sequence":
        return _sequence(node.children, look)
    if node.kind in _LANES:
        return _lanes(node, look)
    if node.kind in _LOOPS or (node.kind == "workflow" and node.id not in look.collapsed):
        return _frame(node, look)
    return _box(node, look)


def _note(text: str) -> Canvas:
    canvas = Canvas.blank(cell_len(text), 1)
    canvas.put(0, 0, text, "muted")
    return canvas


def _label(node: GraphNode, look: Look) -> tuple[str, str, str]:
    """(glyph and name, timing, state tag) for a node's title."""
    run = look.runs.get(node.id, NodeRun())
    name = safe_str(node.label, None)
    if cell_len(name) > LABEL_CELLS:
        name = name[: LABEL_CELLS - 1] + "…"
    timing = ""
    if run.start_ns is not None and run.state is not NodeState.PENDING:
        end = run.end_ns if run.end_ns is not None else max(look.now_ns, run.start_ns)
        timing = format_duration(end - run.start_ns)
    return f"{GLYPHS[run.state]} {_KIND_MARK.get(node.kind, '')}{name}", timing, \
        f"state.{run.state.value}"


def _gutter(canvas: Canvas, node: GraphNode, look: Look, y: int) -> None:
    if node.id in look.breakpoints:
        canvas.put(0, y, BREAKPOINT, "breakpoint")


def _box(node: GraphNode, look: Look) -> Canvas:
    title, timing, tag = _label(node, look)
    collapsed = node.kind == "workflow"
    if collapsed:
        title += f" ▸ {len(node.children)} steps"
    content = cell_len(title) + (cell_len(timing) + 2 if timing else 0)
    inner = max(content + 2, 8)
    width = GUTTER + inner + 2
    canvas = Canvas.blank(width, 3, GUTTER + (inner + 2) // 2)
    top, side, bottom = ("╔═╗", "║", "╚═╝") if collapsed else ("┌─┐", "│", "└─┘")
    canvas.put(GUTTER, 0, top[0] + top[1] * inner + top[2], tag)
    canvas.put(GUTTER, 1, side, tag)
    canvas.put(GUTTER + 1 + inner, 1, side, tag)
    canvas.put(GUTTER, 2, bottom[0] + bottom[1] * inner + bottom[2], tag)
    used = canvas.put(GUTTER + 2, 1, title, "selected" if look.selected == node.id else tag)
    if timing:
        canvas.put(GUTTER + 2 + used + 2, 1, timing, "muted")
    _gutter(canvas, node, look, 1)
    canvas.boxes[node.id] = Rect(GUTTER, 0, inner + 2, 3)
    return canvas


def _sequence(nodes: tuple[GraphNode, ...], look: Look) -> Canvas:
    blocks = [_block(node, look) for node in nodes]
    axis = max(b.axis for b in blocks)
    width = max(axis - b.axis + b.width for b in blocks)
    height = sum(b.height for b in blocks) + len(blocks) - 1
    canvas = Canvas.blank(width, height, axis)
    y = 0
    for i, block in enumerate(blocks):
        if i:
            canvas.put(axis, y, "▼", "edge")
            y += 1
        canvas.blit(block, axis - block.axis, y)
        y += block.height
    return canvas


def _lane(node: GraphNode, parent: GraphNode, look: Look) -> Canvas:
    """One lane of a parallel step or a branch (with its condition on top)."""
    block = _block(node, look)
    if parent.kind != "branch":
        return block
    said = f"if {node.condition}" if node.condition else "else"
    said = safe_str(said, LABEL_CELLS)
    said_cells = cell_len(said)
    axis = max(block.axis, said_cells // 2)
    width = max(axis - block.axis + block.width, axis - said_cells // 2 + said_cells)
    canvas = Canvas.blank(width, block.height + 2, axis)
    canvas.put(axis - said_cells // 2, 0, said, "cond")
    canvas.put(axis, 1, "▼", "edge")
    canvas.blit(block, axis - block.axis, 2)
    return canvas


def _lanes(node: GraphNode, look: Look) -> Canvas:
    """Lanes side by side between a fork and a join line, under the node's title (what an
    agent's model calls has no title of its own)."""
    lanes = [_lane(child, node, look) for child in node.children]
    header = None if node.kind == "calls" else _header(node, look)
    if header is None and len(lanes) == 1:
        return lanes[0]
    xs, x = [], 0
    for lane in lanes:
        xs.append(x)
        x += lane.width + LANE_GAP
    axes = [lx + lane.axis for lx, lane in zip(xs, lanes, strict=True)]
    # An odd number of lanes: the middle one goes straight through; else halfway between.
    axis = axes[len(axes) // 2] if len(axes) % 2 else (axes[0] + axes[-1]) // 2
    shift = 0 if header is None else max(0, header.axis - axis)
    xs, axes, axis = [v + shift for v in xs], [v + shift for v in axes], axis + shift
    width = x - LANE_GAP + shift
    if header is not None:
        width = max(width, axis - header.axis + header.width)
    head_rows = 0 if header is None else header.height
    tallest = max(lane.height for lane in lanes)
    canvas = Canvas.blank(width, head_rows + tallest + 3, axis)
    if header is not None:
        canvas.blit(header, axis - header.axis, 0)
    fork_y, lanes_y, join_y = head_rows, head_rows + 2, head_rows + 2 + tallest
    _fork_line(canvas, fork_y, axes, axis, top=True)
    for lane_axis in axes:
        canvas.put(lane_axis, fork_y + 1, "▼", "edge")
    for lx, lane, lane_axis in zip(xs, lanes, axes, strict=True):
        canvas.blit(lane, lx, lanes_y)
        for y in range(lanes_y + lane.height, join_y):
            canvas.put(lane_axis, y, "│", "edge")
    _fork_line(canvas, join_y, axes, axis, top=False)
    return canvas


def _fork_line(canvas: Canvas, y: int, axes: list[int], axis: int, *, top: bool) -> None:
    """The line lanes leave from (``top``) or meet on, joined to the block's ``axis``."""
    if len(axes) == 1 and axes[0] == axis:
        canvas.put(axis, y, "│", "edge")
        return
    left, right = min(axes[0], axis), max(axes[-1], axis)
    canvas.put(left, y, "─" * (right - left + 1), "edge")
    first, last, middle, stem = ("┌", "┐", "┬", "┴") if top else ("└", "┘", "┴", "┬")
    for x in axes:
        canvas.put(x, y, first if x == left else last if x == right else middle, "edge")
    if axis in axes:
        join = "├" if axis == left else "┤" if axis == right else "┼"
        canvas.put(axis, y, join, "edge")
    else:
        canvas.put(axis, y, stem, "edge")


def _header(node: GraphNode, look: Look) -> Canvas:
    """The one-line title of a parallel step or a branch, above its fork."""
    title, timing, tag = _label(node, look)
    mark = "∥ " if node.kind == "parallel" else "⎇ "
    text = title[:2] + mark + title[2:]
    cells = cell_len(text) + (cell_len(timing) + 2 if timing else 0)
    canvas = Canvas.blank(GUTTER + cells, 2, GUTTER + min(cells // 2, cell_len(text) - 1))
    used = canvas.put(GUTTER, 0, text, "selected" if look.selected == node.id else tag)
    if timing:
        canvas.put(GUTTER + used + 2, 0, timing, "muted")
    canvas.put(canvas.axis, 1, "│", "edge")
    _gutter(canvas, node, look, 0)
    canvas.boxes[node.id] = Rect(GUTTER, 0, cells, 1)
    return canvas


def _under(block: Canvas, note: str) -> Canvas:
    """``block`` with a muted line under it, centred on its axis."""
    cells = cell_len(note)
    left = max(0, block.axis - cells // 2)
    shift = max(0, cells // 2 - block.axis)
    canvas = Canvas.blank(max(block.width + shift, left + cells + shift), block.height + 1,
                          block.axis + shift)
    canvas.blit(block, shift, 0)
    canvas.put(left + shift, block.height, note, "muted")
    return canvas


def _loop_title(node: GraphNode, look: Look) -> tuple[str, str]:
    """A loop frame's title (``↻ name 2/5``) and its foot (the while condition)."""
    run = look.runs.get(node.id, NodeRun())
    done = run.iterations
    if node.kind == "agent_loop":
        loop = "model ↔ tools" if len(node.children) > 1 else "model"
        if done and node.bound:
            return f"{loop}  {done}/{node.bound} calls", ""
        if done or node.bound:
            return f"{loop}  {f'{done} calls' if done else f'≤{node.bound} calls'}", ""
        return loop, ""
    passes = f"{done}/{node.bound}" if done is not None else f"≤{node.bound}"
    unit = "items" if node.kind == "foreach" else "passes"
    foot = f"while {node.condition}" if node.kind == "while" and node.condition else (
        "for each item" if node.kind == "foreach" else "")
    return f"↻ {passes} {unit}", foot


def _frame(node: GraphNode, look: Look) -> Canvas:
    """A loop, a nested workflow or an agent: a frame titled with the node, around its body."""
    if node.kind == "agent_loop":
        body = _sequence(node.children, look)
        if len(node.children) > 1:  # what the model called goes back to it: the loop
            body = _under(body, "↺ results back to the model")
    else:
        body = _sequence(node.children, look) if node.children else _note("empty")
    title, timing, tag = _label(node, look)
    if node.kind == "workflow":
        title += " ▾"
    extra, foot = ("", "") if node.kind == "workflow" else _loop_title(node, look)
    heading = f" {title} "
    tail = f" {extra} " if extra else ""
    tail += f" {timing} " if timing else ""
    inner = max(body.width + 2, cell_len(heading) + cell_len(tail) + 2, cell_len(foot) + 4)
    width = GUTTER + inner + 2
    height = body.height + 2
    body_x = GUTTER + 1 + (inner - body.width) // 2
    canvas = Canvas.blank(width, height, body_x + body.axis)
    (tl, h, tr, v, bl, br) = ("╔", "═", "╗", "║", "╚", "╝") if node.kind == "workflow" else \
        ("╭", "─", "╮", "│", "╰", "╯")
    frame_tag = "frame" if node.kind != "agent_loop" else tag
    canvas.put(GUTTER, 0, tl + h * inner + tr, frame_tag)
    for y in range(1, height - 1):
        canvas.put(GUTTER, y, v, frame_tag)
        canvas.put(GUTTER + 1 + inner, y, v, frame_tag)
    canvas.put(GUTTER, height - 1, bl + h * inner + br, frame_tag)
    used = canvas.put(GUTTER + 2, 0, heading, "selected" if look.selected == node.id else tag)
    if tail:
        canvas.put(GUTTER + 2 + used, 0, tail, "muted")
    if foot:
        canvas.put(GUTTER + 2, height - 1, f" {foot} ", "cond")
    canvas.blit(body, body_x, 1)
    _gutter(canvas, node, look, 0)
    canvas.boxes[node.id] = Rect(GUTTER, 0, inner + 2, height)  # the whole frame, to scroll to
    return canvas
