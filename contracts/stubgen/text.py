"""Writing stub source the way ``ruff format`` writes it, so the generated file needs no formatter.

The rules are the few the stub uses: a definition on one line when it fits in 110 columns,
otherwise one item a line with a trailing comma (which the formatter keeps, a "magic" trailing
comma); double-quoted strings; imports grouped and sorted as ruff's isort rules want them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

__all__ = ["LINE_LENGTH", "Imports", "bracketed", "docstring", "quoted"]

LINE_LENGTH = 110
INDENT = "    "


def quoted(text: str) -> str:
    """A double-quoted Python string literal (``repr`` picks single quotes)."""
    body = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{body}"'


def bracketed(head: str, items: list[str], tail: str, indent: str = "") -> list[str]:
    """``head(item, item)tail`` on one line if it fits, else exploded with a trailing comma."""
    line = f"{indent}{head}{', '.join(items)}{tail}"
    if len(line) <= LINE_LENGTH or not items:
        return [line]
    inner = indent + INDENT
    return [f"{indent}{head}", *(f"{inner}{item}," for item in items), f"{indent}{tail.lstrip()}"]


def docstring(text: str, indent: str) -> list[str]:
    """A docstring as the formatter leaves it: one line, or a summary, the rest and the quotes."""
    text = text.strip().replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    lines = [line.rstrip() for line in text.splitlines()]
    if len(lines) == 1:
        closing = " " if lines[0].endswith('"') else ""  # """say "x" """: no four quotes in a row
        return [f'{indent}"""{lines[0]}{closing}"""']
    body = [f"{indent}{line}" if line else "" for line in lines[1:]]
    return [f'{indent}"""{lines[0]}', *body, f'{indent}"""']


@dataclass(slots=True)
class Imports:
    """The imports a stub needs, rendered in ruff's isort order (sections, then plain before from)."""

    plain: set[tuple[str, str | None]] = field(default_factory=set)  # (module, alias)
    names: dict[str, set[tuple[str, str | None]]] = field(default_factory=dict)  # module -> (name, alias)

    def module(self, module: str, alias: str | None = None) -> None:
        self.plain.add((module, alias))

    def name(self, module: str, name: str, alias: str | None = None) -> None:
        self.names.setdefault(module, set()).add((name, alias))

    def render(self) -> list[str]:
        sections: dict[int, list[str]] = {}
        for module, alias in sorted(self.plain, key=lambda item: (item[0].lower(), item[1] or "")):
            line = f"import {module}" + (f" as {alias}" if alias else "")
            sections.setdefault(_section(module), []).append(line)
        for module in sorted(self.names, key=_module_key):
            names = sorted(self.names[module], key=lambda item: (_name_key(item[0]), item[1] or ""))
            items = [name + (f" as {alias}" if alias else "") for name, alias in names]
            line = f"from {module} import {', '.join(items)}"
            lines = [line] if len(line) <= LINE_LENGTH else bracketed(f"from {module} import (", items, ")")
            sections.setdefault(_section(module), []).extend(lines)
        out: list[str] = []
        for key in sorted(sections):
            out += [*([""] if out else []), *sections[key]]
        return out


def _section(module: str) -> int:
    """isort's sections: standard library, third party, this package (relative imports)."""
    if module.startswith("."):
        return 3
    return 0 if module.split(".")[0] in sys.stdlib_module_names else 1


def _module_key(module: str) -> tuple[int, str]:
    # ruff sorts relative imports furthest first: "from .. import" before "from . import"
    dots = len(module) - len(module.lstrip("."))
    return (-dots, module.lower())


def _name_key(name: str) -> tuple[int, str]:
    # ruff's order-by-type: CONSTANTS, then Classes, then functions and modules
    if name.isupper() and len(name) > 1:
        return (0, name)
    return (1 if name[:1].isupper() else 2, name.lower())
