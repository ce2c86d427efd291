"""The core stands alone: users embed it without pulling in the studio or Textual."""

from __future__ import annotations

import json
import subprocess
import sys


def test_core_imports_without_textual_or_the_studio() -> None:
    code = (
        "import json, sys, lumos_core, lumos_core.models.openai;"
        "print(json.dumps(sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('textual', 'lumos_studio'))))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(output) == []
