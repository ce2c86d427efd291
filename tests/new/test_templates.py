"""The templates themselves: every provider fills them completely, and what they write is clean
Python (ruff with the repo's rules, for any allowed name)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from lumos_core.models.presets import PRESETS
from lumos_studio.new.project import (
    NewProjectError,
    ProjectPlan,
    python_str,
    toml_str,
    write_project,
)
from lumos_studio.new.providers import (
    DEFAULT_MODELS,
    ProviderChoice,
    model_name_problem,
    provider_choice,
    provider_names,
)
from lumos_studio.new.templates import TEMPLATES
from tests.hostile import CORPUS

RUFF = Path(sys.executable).parent / "ruff"
LONGEST_NAME = "a" * 64


def test_every_preset_has_a_first_model() -> None:
    assert set(DEFAULT_MODELS) == set(PRESETS)


@pytest.mark.parametrize("template", list(TEMPLATES))
def test_every_provider_fills_every_file(tmp_path: Path, template: str) -> None:
    for provider in provider_names():
        target = tmp_path / provider
        written = write_project(ProjectPlan("demo", TEMPLATES[template],
                                            provider_choice(provider), target))
        assert Path("agents.py") in written and Path(".env.example") in written
        for relative in written:
            text = (target / relative).read_text(encoding="utf-8")
            # a placeholder left unfilled (JSON such as cases.jsonl may end in "}}")
            assert not re.search(r"\{\{\w+\}\}", text), f"{provider}: {relative}"
            if relative.suffix == ".py":
                compile(text, str(relative), "exec")
        agents = (target / "agents.py").read_text(encoding="utf-8")
        assert (provider == "scripted") == ("MODEL: str | Model = offline_model()" in agents)


@pytest.mark.parametrize("provider", ["scripted", "azure-openai"])
def test_the_written_code_passes_ruff(tmp_path: Path, provider: str) -> None:
    for template in TEMPLATES.values():
        target = tmp_path / template.name
        write_project(ProjectPlan(LONGEST_NAME, template, provider_choice(provider), target))
        checked = subprocess.run(
            [str(RUFF), "check", "--no-cache", "--isolated", "--line-length", "100",
             "--target-version", "py311", "--select", "E,F,W,I,B,UP,SIM,RUF",
             "--ignore", "RUF001,RUF002,RUF003", "."],
            cwd=target, capture_output=True, text=True, timeout=60,
        )
        assert checked.returncode == 0, f"{template.name}:\n{checked.stdout}"


def test_nothing_is_written_into_a_refused_folder(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep")
    with pytest.raises(NewProjectError, match="is not empty"):
        write_project(ProjectPlan("demo", TEMPLATES["rag"], provider_choice("scripted"),
                                  tmp_path))
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]


@pytest.mark.parametrize("value", CORPUS.values(), ids=CORPUS.keys())
def test_values_go_into_python_and_toml_as_literals(value: str) -> None:
    assert ast.literal_eval(python_str(value)) == value
    # TOML cannot hold a lone surrogate: it becomes U+FFFD; everything else reads back as given
    expected = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
    assert tomllib.loads(f"name = {toml_str(value)}\n")["name"] == expected
    assert model_name_problem(value) is not None


def test_a_model_name_that_is_not_one_is_refused_before_any_file(tmp_path: Path) -> None:
    """The wizard and callers of ``write_project`` get the same check as ``--model``."""
    hostile = ProviderChoice("ollama", 'x"; print("INJECTED") #', None, False)
    with pytest.raises(NewProjectError, match="cannot name a model: use 1 to 200 letters"):
        write_project(ProjectPlan("demo", TEMPLATES["chatbot"], hostile, tmp_path / "demo"))
    assert list(tmp_path.iterdir()) == []
