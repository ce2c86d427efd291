"""``lumos-studio new``: ask (the wizard) or take the flags, write the project, print the one
command that starts it."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

import click

from lumos_studio.cli_support import fail, info, out
from lumos_studio.display import safe_text
from lumos_studio.new.project import (
    AGENTS_FILE,
    NewProjectError,
    ProjectPlan,
    check_provider,
    existing_files,
    name_problem,
    template_named,
    write_project,
)
from lumos_studio.new.providers import SCRIPTED, model_name_problem, provider_choice
from lumos_studio.new.templates import TEMPLATES

NEW_HELP = f"""\
Create a project from a template: agents, tests, README, pyproject.toml, .env.example.

\b
Templates:
{chr(10).join(f"  {t.name:9} {t.summary}" for t in TEMPLATES.values())}

Without --yes a wizard asks for the name, the template and the model provider, saying which
variable holds the provider's key and whether it is set. With --yes, NAME and the flags are
taken as they are (defaults: --template chatbot --provider scripted, which runs offline).

\b
Example:
  lumos-studio new demo --template rag --provider ollama --yes
"""


@click.command(help=NEW_HELP)
@click.argument("name", required=False)
@click.option("-t", "--template",
              help=f"{', '.join(TEMPLATES)} (default: chatbot; see Templates above).")
@click.option("-p", "--provider",
              help="scripted (offline, no key) or a provider preset: openai, anthropic, ollama…")
@click.option("--model", "model_name",
              help="The model to ask the provider for: letters, digits and . _ - / : @ + "
              "(default: a common one per provider, e.g. gpt-4o-mini).")
@click.option("-d", "--directory", type=click.Path(file_okay=False, path_type=Path),
              help="Where to write the project (default: ./NAME).")
@click.option("--force", is_flag=True,
              help="Write into a folder that is not empty: the template's files already there "
              "(README.md, pyproject.toml, .gitignore…) are replaced, and listed; the others "
              "are kept.")
@click.option("-y", "--yes", is_flag=True, help="Ask nothing: take NAME and the flags.")
def new(
    name: str | None, template: str | None, provider: str | None, model_name: str | None,
    directory: Path | None, force: bool, yes: bool,
) -> None:
    try:
        if template is not None:
            template_named(template)
        if provider is not None:
            check_provider(provider)
    except NewProjectError as exc:
        fail(str(exc), code=2)
    if name is not None and (problem := name_problem(name)):
        fail(problem, code=2)
    if model_name is not None and (problem := model_name_problem(model_name)):
        fail(f"--model: {problem}", code=2)
    if yes:
        if name is None:
            fail("--yes needs the project's NAME: lumos-studio new NAME --yes", code=2)
        if model_name is not None and (provider or SCRIPTED) == SCRIPTED:
            fail("--model names a provider's model, and the scripted one takes none",
                 "give the provider too: --provider openai --model gpt-4o", code=2)
        plan = ProjectPlan(
            name, template_named(template or "chatbot"),
            provider_choice(provider or SCRIPTED, model_name), directory or Path(name),
        )
    else:
        plan = _ask(name, template, provider, model_name, directory, force)
    replaced = existing_files(plan) if force else []
    try:
        written = write_project(plan, force=force)
    except NewProjectError as exc:
        fail(str(exc), code=2)
    except OSError as exc:
        fail(f"cannot write the project in {plan.target}: {exc.strerror or exc}")
    _report(plan, written, replaced)


def _ask(
    name: str | None, template: str | None, provider: str | None, model_name: str | None,
    directory: Path | None, force: bool,
) -> ProjectPlan:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        fail("the wizard needs a terminal: pass the NAME and --yes (with --template and "
             "--provider if you like)", code=2)
    from lumos_studio.new.wizard import NewProjectWizard

    plan = NewProjectWizard(
        name=name or "", template=template or "chatbot", provider=provider or SCRIPTED,
        model_name=model_name, directory=directory, force=force,
    ).run()
    if plan is None:
        info("cancelled: nothing was written")
        sys.exit(1)
    return plan


def start_command(target: Path) -> str:
    """The one command that opens the studio on the new project, as this shell can run it."""
    here = Path.cwd()
    shown = os.path.relpath(target, here) if target.resolve().is_relative_to(here.resolve()) \
        else str(target.resolve())
    return f"cd {shlex.quote(shown)} && {studio_executable()} dev {AGENTS_FILE}"


def studio_executable() -> str:
    """``lumos-studio`` when that name runs this installation, else the full path to it (after
    ``make studio`` it lives in the clone's .venv/bin, which is not on PATH)."""
    return _runnable("lumos-studio")


def _runnable(program: str) -> str:
    """``program`` as this shell reaches the one beside this Python, by name or by path."""
    beside = Path(sys.executable).parent / program
    found = shutil.which(program)
    if not beside.exists() or (found is not None and Path(found).absolute() == beside.absolute()):
        return program
    return shlex.quote(str(beside.absolute()))


def _report(plan: ProjectPlan, written: list[Path], replaced: list[Path]) -> None:
    folder = shlex.quote(str(plan.target))
    info(f"created {plan.target} from the {plan.template.name} template ({len(written)} files; "
         f"guide: {plan.template.guide})")
    if replaced:
        info(f"replaced {len(replaced)} file(s) that were in {plan.target} (--force): "
             f"{', '.join(p.as_posix() for p in replaced)}")
    info(f"model {plan.provider.model}: {plan.provider.key_status()}")
    info(f"its tests: cd {folder} && {_runnable('python')} -m pytest")
    info("start it:")
    out.print(safe_text(start_command(plan.target), limit=None), soft_wrap=True)
