"""Measure the shape of the source tree: import cycles, private names imported across modules,
long modules and long functions.

`python tools/layout.py` prints the figures; `tests/test_layout.py` holds the tree to them. A
function may run past the limit when the comment line right above its `def` (or its first
decorator) starts with `# long:` and gives the reason.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("contracts", "replay")
MODULE_LIMIT = 600
FUNCTION_LIMIT = 60
REASON_MARK = "# long:"


@dataclass(slots=True)
class Module:
    name: str
    path: Path
    lines: int
    imports: set[str] = field(default_factory=set)
    private_imports: list[tuple[str, str]] = field(default_factory=list)
    functions: list[tuple[str, int, bool]] = field(default_factory=list)  # (qualname, lines, reasoned)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(current: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = current.split(".")
    if not is_package:
        base = base[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _functions(tree: ast.Module, source: list[str]) -> Iterator[tuple[str, int, bool]]:
    def walk(node: ast.AST, prefix: str) -> Iterator[tuple[str, int, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([child.lineno] + [d.lineno for d in child.decorator_list])
                above = source[first - 2].strip() if first >= 2 else ""
                length = (child.end_lineno or child.lineno) - child.lineno + 1
                yield f"{prefix}{child.name}", length, above.startswith(REASON_MARK)
                yield from walk(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, f"{prefix}{child.name}.")

    yield from walk(tree, "")


def scan(packages: Iterable[str] = PACKAGES) -> dict[str, Module]:
    modules: dict[str, Module] = {}
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = module_name(path)
            text = path.read_text(encoding="utf-8")
            tree = ast.parse(text)
            module = Module(name, path, len(text.splitlines()))
            is_package = path.name == "__init__.py"
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    module.imports.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom):
                    target = _resolve(name, is_package, node)
                    module.imports.add(target)
                    for alias in node.names:
                        module.imports.add(f"{target}.{alias.name}")
                        if alias.name.startswith("_") and not alias.name.startswith("__"):
                            module.private_imports.append((target, alias.name))
            module.functions = list(_functions(tree, text.splitlines()))
            modules[name] = module
    for module in modules.values():
        # `from a import b` names module a.b when it exists, else a name inside a.
        module.imports = {i for i in module.imports if i in modules and i != module.name}
    return modules


def cycles(modules: dict[str, Module]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        on_stack.add(name)
        for target in sorted(modules[name].imports):
            if target.startswith(f"{name}."):
                continue  # a package importing its own submodule is not a cycle
            if target not in index:
                visit(target)
                low[name] = min(low[name], low[target])
            elif target in on_stack:
                low[name] = min(low[name], index[target])
        if low[name] == index[name]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == name:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for name in sorted(modules):
        if name not in index:
            visit(name)
    return found


def private_imports(modules: dict[str, Module]) -> list[str]:
    return [
        f"{module.name} imports {name} from {target}"
        for module in modules.values()
        for target, name in module.private_imports
        if target != module.name
    ]


def long_modules(modules: dict[str, Module], limit: int = MODULE_LIMIT) -> list[tuple[str, int]]:
    return sorted(((m.name, m.lines) for m in modules.values() if m.lines > limit), key=lambda x: -x[1])


def long_functions(
    modules: dict[str, Module], limit: int = FUNCTION_LIMIT, *, reasoned: bool = False
) -> list[tuple[str, int]]:
    return sorted(
        (
            (f"{m.name}.{qualname}", length)
            for m in modules.values()
            for qualname, length, has_reason in m.functions
            if length > limit and has_reason == reasoned
        ),
        key=lambda x: -x[1],
    )


def main() -> int:
    modules = scan()
    print(f"{len(modules)} modules, {sum(m.lines for m in modules.values())} lines")
    print(f"import cycles: {len(found := cycles(modules))}")
    for component in found:
        print("  " + " <-> ".join(component))
    print(f"private names imported across modules: {len(private := private_imports(modules))}")
    for line in private:
        print("  " + line)
    print(f"modules over {MODULE_LIMIT} lines: {len(big := long_modules(modules))}")
    for name, lines in big:
        print(f"  {name}: {lines}")
    print(f"functions over {FUNCTION_LIMIT} lines: {len(longs := long_functions(modules))}")
    for name, lines in longs:
        print(f"  {name}: {lines}")
    reasoned = long_functions(modules, reasoned=True)
    print(f"  ... and {len(reasoned)} more with a written reason")
    for name, lines in reasoned:
        print(f"  {name}: {lines} (reasoned)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
