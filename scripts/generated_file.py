"""What every generator in scripts/ does with the text it makes: write its file, or with
``--check`` only say whether the committed file is that text (a test runs each so)."""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Callable
from pathlib import Path


def write_or_check(output: Path, render: Callable[[], str], description: str,
                   argv: list[str] | None = None) -> int:
    """The generator's command line: 0 once written (or current), 1 when ``--check`` finds
    ``output`` out of date."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help=f"only check {output.name}")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != text:
            script = Path(inspect.getfile(render)).name  # the generator, however it was run
            print(f"{output} is out of date: run python scripts/{script}", file=sys.stderr)
            return 1
        return 0
    output.write_text(text, encoding="utf-8")
    print(f"wrote {output}")
    return 0
