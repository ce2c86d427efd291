"""The ``lumos-studio new`` wizard: name, template, provider; it returns a ``ProjectPlan``.

It only asks: the command writes the files, so the wizard and ``--yes`` make the same project.
Typed text reaches the screen through ``display.safe_text``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Input, Label, RadioButton, RadioSet, Select, Static

from lumos_studio.display import safe_text
from lumos_studio.new.project import (
    AGENTS_FILE,
    ProjectPlan,
    existing_files,
    name_problem,
    target_problem,
)
from lumos_studio.new.providers import SCRIPTED, ProviderChoice, provider_choice, provider_names
from lumos_studio.new.templates import TEMPLATES
from lumos_studio.ui.key_order import OrderedKeys


def _provider_label(name: str) -> str:
    choice = provider_choice(name)
    if name == SCRIPTED:
        return "scripted — offline, no key (a stand-in model)"
    key = f", key in {choice.key_env}" if choice.key_env else ", no key"
    return f"{name} — {choice.model_name}{key}"


class NewProjectWizard(OrderedKeys[ProjectPlan | None]):
    """Asks for a new project's name, template and model provider."""

    TITLE = "Lumos Studio — new project"
    CSS = """
    Screen { align: center top; }
    #form { width: 100%; max-width: 100; height: 1fr; padding: 0 2; }
    .question { margin-top: 1; text-style: bold; }
    #name { width: 40; }
    #template { width: 100%; }
    #provider { width: 60; }
    .problem { color: $error; }
    .fine { color: $success; }
    #key-status, #target { margin-left: 1; }
    #buttons { height: 3; width: 100%; max-width: 100; padding: 0 2; }
    #buttons Button { margin-right: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "create", "Create"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(
        self,
        *,
        name: str = "",
        template: str = "chatbot",
        provider: str = SCRIPTED,
        model_name: str | None = None,
        directory: Path | None = None,
        force: bool = False,
    ) -> None:
        super().__init__()
        self._initial = (name, template, provider)
        self._model_name = model_name
        self._directory = directory
        self._force = force

    def compose(self) -> ComposeResult:
        name, template, provider = self._initial
        with VerticalScroll(id="form"):
            yield Label("Project name", classes="question")
            yield Input(value=name, placeholder="my-agent", id="name")
            yield Static(id="name-problem", classes="problem")
            yield Label("Template", classes="question")
            with RadioSet(id="template"):
                for t in TEMPLATES.values():
                    yield RadioButton(f"{t.name}: {t.summary}", value=t.name == template,
                                      name=t.name)
            yield Label("Model provider", classes="question")
            yield Select([(_provider_label(p), p) for p in provider_names()], value=provider,
                         allow_blank=False, id="provider")
            yield Static(id="key-status")
            yield Static(id="target")
        with Horizontal(id="buttons"):
            yield Button("Create", variant="primary", id="create")
            yield Button("Cancel", id="cancel")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()
        self._refresh()

    # What is chosen

    @property
    def project_name(self) -> str:
        return self.query_one("#name", Input).value.strip()

    @property
    def template(self) -> str:
        pressed = self.query_one("#template", RadioSet).pressed_button
        return pressed.name if pressed is not None and pressed.name else "chatbot"

    @property
    def provider(self) -> ProviderChoice:
        value = self.query_one("#provider", Select).value
        name = value if isinstance(value, str) else SCRIPTED
        return provider_choice(name, self._model_name)

    def _target(self) -> Path:
        return self._directory or Path(self.project_name)

    def _problem(self) -> str | None:
        return name_problem(self.project_name) or target_problem(self._target(), self._force)

    # Keeping the notes beside the fields current

    def _refresh(self) -> None:
        if not self.is_running:  # a change still queued as the wizard closes: its fields go
            return
        problem = self._problem() if self.project_name else None
        self.query_one("#name-problem", Static).update(safe_text(problem or "", limit=None))
        provider = self.provider
        key = self.query_one("#key-status", Static)
        missing = bool(provider.key_env and provider.key_required and not provider.key_set)
        key.set_class(missing, "problem")
        key.set_class(not missing, "fine")
        key.update(safe_text(f"{'!' if missing else '✓'} {provider.key_status()}", limit=None))
        target = self.query_one("#target", Static)
        if self.project_name and problem is None:
            files = f"{AGENTS_FILE}, tests/, README.md, pyproject.toml, .env.example"
            plan = ProjectPlan(self.project_name, TEMPLATES[self.template], provider,
                               self._target())
            replaced = ", ".join(p.as_posix() for p in existing_files(plan))
            replacing = f"; replaces {replaced} (--force)" if replaced else ""
            target.update(safe_text(f"Writes {self._target()}/: {files}{replacing}", limit=None))
        else:
            target.update("")

    def on_input_changed(self, event: Input.Changed) -> None:
        self._refresh()

    def on_select_changed(self, event: Select.Changed) -> None:
        self._refresh()

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        self._refresh()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_create()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "create":
            self.action_create()
        else:
            self.action_cancel()

    # Leaving

    def action_create(self) -> None:
        problem = self._problem()
        if problem:
            self.query_one("#name-problem", Static).update(safe_text(problem, limit=None))
            self.query_one("#name", Input).focus()
            return
        self.exit(ProjectPlan(self.project_name, TEMPLATES[self.template], self.provider,
                              self._target()))

    def action_cancel(self) -> None:
        self.exit(None)
