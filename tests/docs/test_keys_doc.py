"""docs/keys.md holds every key the app binds: each binding of every lumos_studio widget, screen
and app is a row of its class's section, with the name the app shows for it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

from textual.binding import Binding
from textual.dom import DOMNode
from textual.keys import format_key

import lumos_studio

PAGE = Path(__file__).resolve().parents[2] / "docs" / "keys.md"


def classes_with_bindings() -> dict[str, type[DOMNode]]:
    """Every lumos_studio class that declares BINDINGS of its own, by class name."""
    found: dict[str, type[DOMNode]] = {}
    for module in pkgutil.walk_packages(lumos_studio.__path__, "lumos_studio."):
        if module.name.endswith("__main__"):  # importing it would start the studio
            continue
        for value in vars(importlib.import_module(module.name)).values():
            if (inspect.isclass(value) and issubclass(value, DOMNode)
                    and value.__module__ == module.name and "BINDINGS" in value.__dict__):
                found[value.__name__] = value
    return found


def shown(key: str) -> str:
    """A key as the page writes it: the character for symbols (``/`` for slash), else its name."""
    symbol = format_key(key)
    return symbol if len(symbol) == 1 and symbol.isascii() and symbol.isprintable() else key


def sections() -> dict[str, list[str]]:
    """The table rows of each section, by the class names its heading's comment lists."""
    found: dict[str, list[str]] = {}
    rows: list[str] = []
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"## .*<!-- (.*) -->", line)
        if heading:
            rows = []
            for name in heading.group(1).split(","):
                found[name.strip()] = rows
        elif line.startswith("| `"):
            rows.append(line)
    return found


def test_the_scan_finds_the_studio_and_its_panes() -> None:
    assert {"StudioApp", "ConsoleApp", "TraceWaterfall", "LogsPane", "PlaybackBar",
            "NewProjectWizard"} <= set(classes_with_bindings())


def test_every_binding_is_a_row_of_its_section() -> None:
    documented = sections()
    missing = []
    for name, cls in classes_with_bindings().items():
        rows = documented.get(name)
        if rows is None:
            missing.append(f"{name}: no section (a heading with <!-- {name} -->)")
            continue
        for binding in cls.BINDINGS:
            bound = binding if isinstance(binding, Binding) else Binding(*binding)
            keys = [f"`{shown(k.strip())}`" for k in bound.key.split(",")]
            if not any(all(k in row for k in keys) and f"| {bound.description}" in row
                       for row in rows):
                missing.append(f"{name}: {' '.join(keys)} ({bound.description})")
    assert not missing, "not in docs/keys.md:\n" + "\n".join(missing)
