"""Checking a new project's name and folder, and writing its files from a template.

Problems are ``NewProjectError``s whose message is one sentence saying what to do; the command
prints them through ``cli_support`` and the wizard beside the field. A value that goes into a
generated file's code (Python, TOML) goes in as a literal of that language, never as code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Final

from lumos_core.models.presets import PRESETS
from lumos_studio.new.providers import (
    SCRIPTED,
    ProviderChoice,
    model_name_problem,
    provider_names,
)
from lumos_studio.new.templates import TEMPLATES, Template, common_folder

NAME_PATTERN: Final = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
NAME_RULE: Final = (
    "a letter, then up to 63 letters, digits, '-' or '_' (it names the folder and the project)"
)
#: The file the agents live in, as ``lumos-studio dev`` takes it.
AGENTS_FILE: Final = "agents.py"


class NewProjectError(Exception):
    """A choice that cannot make a project; the message says what was wrong and what to do."""


@dataclass(frozen=True, slots=True)
class ProjectPlan:
    """Everything ``write_project`` needs: the answers of the wizard or of the flags."""

    name: str
    template: Template
    provider: ProviderChoice
    target: Path


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a project, or None."""
    if NAME_PATTERN.fullmatch(name):
        return None
    shown = repr(name) if name else "an empty name"
    return f"{shown} cannot name a project: use {NAME_RULE}"


def template_named(name: str) -> Template:
    if name not in TEMPLATES:
        raise NewProjectError(
            f"there is no template {name!r}: choose one of {', '.join(TEMPLATES)}"
        )
    return TEMPLATES[name]


def check_provider(name: str) -> None:
    if name not in provider_names():
        raise NewProjectError(
            f"there is no provider {name!r}: choose one of {', '.join(provider_names())}"
        )


def target_problem(target: Path, force: bool) -> str | None:
    """Why files cannot be written to ``target``, or None (a missing or empty folder is fine)."""
    if target.exists() and not target.is_dir():
        return f"{target} exists and is not a folder: choose another name or --directory"
    if not force and target.is_dir() and any(target.iterdir()):
        return (f"{target} is not empty: choose another name or --directory, or pass --force "
                "to write the project's files into it")
    return None


def python_str(value: str) -> str:
    """``value`` as a Python string literal, in double quotes when that needs no escape."""
    literal = repr(value)
    if literal.startswith("'") and '"' not in value:
        literal = f'"{literal[1:-1]}"'
    return literal


def toml_str(value: str) -> str:
    """``value`` as a TOML basic string: quotes, backslashes and characters that do not print
    escaped (a lone surrogate, which TOML cannot hold, becomes U+FFFD)."""
    def escape(char: str) -> str:
        code = ord(char)
        if char in '"\\':
            return f"\\{char}"
        if 0xD800 <= code <= 0xDFFF:
            return "\\ufffd"
        if char.isprintable():
            return char
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"

    return '"' + "".join(escape(char) for char in value) + '"'


def _model_line(provider: ProviderChoice) -> str:
    if provider.name == SCRIPTED:
        return ('# The model every agent here uses; a real one is "<provider>:<model name>",\n'
                '# e.g. "openai:gpt-4o-mini" (with its key exported).\n'
                "MODEL: str | Model = offline_model()")
    return ("# The model every agent here uses; offline_model() runs without a key or network.\n"
            f"MODEL: str | Model = {python_str(provider.model)}")


def _env_lines(provider: ProviderChoice) -> str:
    if provider.name == SCRIPTED:
        return ("# The scripted model needs none. With a real model, its key, e.g.:\n"
                "# OPENAI_API_KEY=")
    preset = PRESETS[provider.name]
    lines = []
    if preset.api_key_env:
        optional = "" if preset.key_required else "  # only if your server wants one"
        lines.append(f"{preset.api_key_env}={optional}")
    lines.append(f"# {preset.base_url_env}=  # another endpoint for {provider.name} "
                 "(a proxy, a gateway)")
    return "\n".join(lines)


def _values(plan: ProjectPlan) -> dict[str, str]:
    provider = plan.provider
    text = ("The agents use the scripted model, a stand-in that runs offline" if
            provider.name == SCRIPTED else f"The agents use `{provider.model}`")
    return {
        "name": plan.name,
        "toml_name": toml_str(plan.name),
        "toml_summary": toml_str(f"{plan.template.name} template: {plan.template.summary}"),
        "model_line": _model_line(provider),
        "env_lines": _env_lines(provider),
        "model_text": text,
        "key_text": provider.key_status(),
    }


def render(text: str, values: dict[str, str]) -> str:
    """``{{key}}`` replaced by its value; a key with no value is a bug in the template."""
    def fill(match: re.Match[str]) -> str:
        return values[match.group(1)]

    return re.sub(r"\{\{(\w+)\}\}", fill, text)


def _files(folder: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    """(relative output path, source) for every file of a template folder."""
    found: list[tuple[str, Traversable]] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name == "__pycache__":
            continue
        name = entry.name.removesuffix(".tmpl")
        name = "." + name.removeprefix("dot-") if name.startswith("dot-") else name
        if entry.is_dir():
            found.extend(_files(entry, f"{prefix}{name}/"))
        else:
            found.append((prefix + name, entry))
    return found


def _project_files(plan: ProjectPlan) -> list[tuple[str, Traversable]]:
    return _files(common_folder()) + _files(plan.template.folder)


def existing_files(plan: ProjectPlan) -> list[Path]:
    """The project's files already in ``plan.target`` (relative to it): what --force replaces."""
    return [Path(relative) for relative, _ in _project_files(plan)
            if (plan.target / relative).exists()]


def write_project(plan: ProjectPlan, force: bool = False) -> list[Path]:
    """Write the template's files (and the shared ones) under ``plan.target``; the paths
    written, relative to it. Nothing is written when the folder or a value is refused."""
    problem = (name_problem(plan.name) or model_name_problem(plan.provider.model_name)
               or target_problem(plan.target, force))
    if problem:
        raise NewProjectError(problem)
    values = _values(plan)
    written: list[Path] = []
    for relative, source in _project_files(plan):
        path = plan.target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if source.name.endswith(".tmpl"):
            path.write_text(render(source.read_text(encoding="utf-8"), values), encoding="utf-8")
        else:
            path.write_bytes(source.read_bytes())
        written.append(Path(relative))
    return written
