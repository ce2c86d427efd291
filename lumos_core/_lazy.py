"""Names a package exports but imports only when first asked for (PEP 562 module ``__getattr__``).

A package's ``__init__`` keeps the usual ``from … import …`` lines under ``TYPE_CHECKING`` (so type
checkers and editors see every name) and a map of each name to its module; its ``__getattr__``
calls ``load_export``. Importing one light module of the package then no longer loads the rest.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any


def load_export(namespace: dict[str, Any], exports: Mapping[str, str], name: str) -> object:
    """Import ``name`` from the module ``exports`` names for it, and keep it in ``namespace`` (the
    package's globals) so the next lookup is an ordinary attribute."""
    module = exports.get(name)
    if module is None:
        raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    namespace[name] = value
    return value
