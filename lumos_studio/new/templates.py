"""The project templates ``lumos-studio new`` knows, each a folder under ``templates/``.

A template is its folder (files ending ``.tmpl`` are filled in, ``dot-`` becomes ``.``) plus the
shared ``_common`` folder (pyproject.toml, .env.example, .gitignore). Adding one is a folder
and an entry in ``TEMPLATES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Final


@dataclass(frozen=True, slots=True)
class Template:
    """One kind of project: its name, a line saying what it is, and the guide in docs/."""

    name: str
    summary: str
    guide: str

    @property
    def folder(self) -> Traversable:
        return files("lumos_studio.new") / "templates" / self.name


COMMON: Final = "_common"

TEMPLATES: Final[dict[str, Template]] = {
    t.name: t
    for t in (
        Template("chatbot", "an agent with tools and memory",
                 "docs/templates/chatbot.md"),
        Template("rag", "answers from a folder of documents (samples included)",
                 "docs/templates/rag.md"),
        Template("workflow", "drafts, waits for a person to approve, then publishes",
                 "docs/templates/workflow.md"),
        Template("evaluated", "an agent scored on a dataset of cases, also as a test",
                 "docs/templates/evaluated.md"),
    )
}


def common_folder() -> Traversable:
    return files("lumos_studio.new") / "templates" / COMMON
