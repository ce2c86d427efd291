"""``lumos-studio new NAME --yes``: the project it writes passes its own tests, and wrong
choices are refused in one sentence naming the valid ones."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from lumos_studio.new.templates import TEMPLATES
from tests.new.helpers import STUDIO, clean_env, lumos_studio, new_project


@pytest.mark.parametrize("template", list(TEMPLATES))
def test_each_template_writes_a_project_whose_tests_pass(tmp_path: Path, template: str) -> None:
    command = new_project(tmp_path, "demo", template)

    assert command == f"cd demo && {STUDIO} dev agents.py"
    project = tmp_path / "demo"
    for name in ("agents.py", "README.md", "pyproject.toml", ".env.example", ".gitignore"):
        assert (project / name).is_file(), name
    assert "{{" not in (project / "agents.py").read_text()
    meta = tomllib.loads((project / "pyproject.toml").read_text())
    assert meta["project"]["name"] == "demo" and meta["project"]["dependencies"] == [
        "lumos-studio"]

    tested = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project,
        capture_output=True, text=True, timeout=120, env=clean_env(),
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert " passed" in tested.stdout and "failed" not in tested.stdout
    assert not (project / ".lumos").exists()  # the tests kept their stores in tmp dirs


def test_a_provider_preset_names_its_key_variable(tmp_path: Path) -> None:
    env = clean_env()
    env.pop("OPENAI_API_KEY", None)
    made = subprocess.run(
        [str(STUDIO), "new", "bot", "--provider", "openai", "--model", "gpt-4.1-mini", "--yes"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env,
    )
    assert made.returncode == 0, made.stderr
    assert "OPENAI_API_KEY holds the key, and it is not set" in made.stderr
    agents = (tmp_path / "bot" / "agents.py").read_text()
    assert 'MODEL: str | Model = "openai:gpt-4.1-mini"' in agents
    assert "OPENAI_API_KEY=\n" in (tmp_path / "bot" / ".env.example").read_text()


def test_a_local_provider_needs_no_key(tmp_path: Path) -> None:
    made = lumos_studio("new", "local", "--template", "rag", "--provider", "ollama", "--yes",
                        cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "ollama runs locally and needs no key" in made.stderr
    assert '"ollama:llama3.2"' in (tmp_path / "local" / "agents.py").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["demo", "--template", "nosuch"],
         "error: there is no template 'nosuch': choose one of chatbot, rag, workflow, "
         "evaluated"),
        (["demo", "--provider", "nosuch"], "error: there is no provider 'nosuch': choose one of "
         "scripted, openai,"),
        (["9lives"], "error: '9lives' cannot name a project: use a letter, then up to 63"),
        (["a/b"], "error: 'a/b' cannot name a project"),
        ([], "error: --yes needs the project's NAME"),
        (["demo", "--model", "gpt-4o"],
         "error: --model names a provider's model, and the scripted one takes none\ngive the "
         "provider too: --provider openai --model gpt-4o"),
    ],
)
def test_a_wrong_choice_is_refused_with_the_valid_ones(
    tmp_path: Path, args: list[str], message: str
) -> None:
    refused = lumos_studio("new", *args, "--yes", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.startswith(message), refused.stderr
    assert "Traceback" not in refused.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_folder_with_files_is_refused_unless_forced(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "notes.txt").write_text("mine")

    refused = lumos_studio("new", "demo", "--yes", cwd=tmp_path)
    assert refused.returncode == 2
    assert "demo is not empty: choose another name or --directory, or pass --force" in (
        refused.stderr)
    assert [p.name for p in (tmp_path / "demo").iterdir()] == ["notes.txt"]

    forced = lumos_studio("new", "demo", "--yes", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert (tmp_path / "demo" / "agents.py").is_file()
    assert (tmp_path / "demo" / "notes.txt").read_text() == "mine"


def test_directory_puts_the_project_elsewhere(tmp_path: Path) -> None:
    command = new_project(tmp_path, "demo", "workflow", "--directory", "work/flows")
    assert command == f"cd work/flows && {STUDIO} dev agents.py"
    assert (tmp_path / "work" / "flows" / "agents.py").is_file()


def test_without_a_terminal_the_wizard_says_to_pass_yes(tmp_path: Path) -> None:
    asked = lumos_studio("new", "demo", cwd=tmp_path)
    assert asked.returncode == 2
    assert asked.stderr.startswith("error: the wizard needs a terminal: pass the NAME and --yes")


def test_a_hostile_folder_name_is_shown_as_text(tmp_path: Path) -> None:
    made = lumos_studio("new", "demo", "--directory", "evil\x1b[2Jdir", "--yes", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "\x1b" not in made.stdout + made.stderr
    assert "evil␛[2Jdir" in made.stdout.splitlines()[-1]
    assert (tmp_path / "evil\x1b[2Jdir" / "agents.py").is_file()


@pytest.mark.parametrize(
    ("model", "shown"),
    [
        ('x"; print("INJECTED") #', "'x\"; print(\"INJECTED\") #'"),
        ("x\ny", "'x\\ny'"),
        ("x\x1b[2Jy", "'x\\x1b[2Jy'"),
        ("gpt 4o", "'gpt 4o'"),
        ("", "''"),
        ("a" * 201, "a name of 201 characters"),
    ],
)
def test_a_model_name_that_could_be_code_is_refused_saying_what_is_allowed(
    tmp_path: Path, model: str, shown: str
) -> None:
    refused = lumos_studio("new", "inj", "--provider", "ollama", "--model", model, "--yes",
                           cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.startswith(
        f"error: --model: {shown} cannot name a model: use 1 to 200 letters, digits and "
        ". _ - / : @ + (e.g. gpt-4o-mini"), refused.stderr
    assert "\x1b" not in refused.stderr and "Traceback" not in refused.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_model_name_goes_into_agents_py_as_a_string_literal(tmp_path: Path) -> None:
    model = "hf.co/org/Model_v2:Q4_K_M@1+x"
    made = lumos_studio("new", "lit", "--provider", "ollama", "--model", model, "--yes",
                        cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    tree = ast.parse((tmp_path / "lit" / "agents.py").read_text())
    [value] = [node.value for node in tree.body
               if isinstance(node, ast.AnnAssign) and ast.unparse(node.target) == "MODEL"]
    assert isinstance(value, ast.Constant) and value.value == f"ollama:{model}"
    assert f"The agents use `ollama:{model}`" in (tmp_path / "lit" / "README.md").read_text()


def test_force_lists_the_files_it_replaces(tmp_path: Path) -> None:
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "README.md").write_text("my readme")
    (existing / ".gitignore").write_text("mine/")
    (existing / "notes.txt").write_text("mine")

    forced = lumos_studio("new", "existing", "--yes", "--force", cwd=tmp_path)

    assert forced.returncode == 0, forced.stderr
    assert "replaced 2 file(s) that were in existing (--force): .gitignore, README.md\n" in (
        forced.stderr)
    assert (existing / "README.md").read_text().startswith("# existing")
    assert (existing / "notes.txt").read_text() == "mine"
    fresh = lumos_studio("new", "fresh", "--yes", "--force", cwd=tmp_path)
    assert fresh.returncode == 0 and "replaced" not in fresh.stderr


def test_the_help_lists_every_template_and_what_force_replaces(tmp_path: Path) -> None:
    shown = lumos_studio("new", "--help", cwd=tmp_path)
    assert shown.returncode == 0
    words = " ".join(shown.stdout.split())
    assert f"--template TEXT {', '.join(TEMPLATES)} (default: chatbot" in words
    for template in TEMPLATES.values():
        assert f"{template.name} {template.summary}" in words
    assert "the template's files already there (README.md, pyproject.toml, .gitignore…) are " \
        "replaced, and listed" in words
