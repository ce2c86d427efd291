"""docs/troubleshooting.md lists every error the CLI prints: each message template in the code
(``fail``/``error``/``warn`` calls of the command modules, and the errors they print as they
are) appears there, word for word between its placeholders."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "troubleshooting.md"
PRINTERS = {"fail", "error", "warn"}
#: Exceptions whose message a command prints as it is (``fail(str(exc))``).
PRINTED_ERRORS = {"StoreError", "StoreUnusable", "ReplayError", "ImportFailed", "TokenRequired",
                  "NewProjectError"}
SHORTEST = 10  # shorter pieces between placeholders ("; got ", " in ") say nothing alone


def _pieces(node: ast.expr) -> list[str] | None:
    """The literal text of a message expression, split where values are filled in."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        parts = [""]
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts[-1] += str(value.value)
            else:
                parts.append("")
        return parts
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _pieces(node.left), _pieces(node.right)
        return (left or [""]) + (right or [""])
    return None  # a value computed elsewhere (str(exc)): its raise is checked instead


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip(" '\"")


def message_templates() -> list[tuple[str, list[str]]]:
    """(where, literal pieces) for every message the commands can print."""
    found = []
    for path in sorted((ROOT / "lumos_studio").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        is_command = "from lumos_studio.cli_support import" in source
        for node in ast.walk(ast.parse(source)):
            args: list[ast.expr] = []
            if (is_command and isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in PRINTERS):
                args = node.args[:2]  # the message and its hint
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                  and node.func.id in PRINTED_ERRORS):
                args = node.args[:1]
            elif (isinstance(node, ast.FunctionDef) and node.name.endswith("_problem")
                  and path.parent.name == "new"):
                args = [r.value for r in ast.walk(node)
                        if isinstance(r, ast.Return) and r.value is not None]
            for arg in args:
                pieces = _pieces(arg)
                if pieces is not None:
                    where = f"{path.relative_to(ROOT)}:{getattr(arg, 'lineno', 0)}"
                    found.append((where, pieces))
    return found


def test_the_scan_finds_the_commands_messages() -> None:
    assert len(message_templates()) > 80


def test_every_message_template_is_on_the_troubleshooting_page() -> None:
    page = _normal(PAGE.read_text(encoding="utf-8"))
    missing = [
        f"{where}: {piece!r}"
        for where, pieces in message_templates()
        for piece in map(_normal, pieces)
        if len(piece) >= SHORTEST and piece not in page
    ]
    assert not missing, "not in docs/troubleshooting.md:\n" + "\n".join(missing)
