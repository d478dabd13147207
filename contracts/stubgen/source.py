"""A module's public API read from its source, as stub text: what ``client.py`` itself declares.

Read with :mod:`ast`, not by importing: a stub states what the source says, so a new public name,
a changed signature or a new attribute of ``client.py`` reaches the stub at the next
regeneration, and the test that compares the two fails until then. What is rendered: ``__all__``,
public module-level names, public classes (decorators, bases, docstrings, fields, the public
attributes their methods assign, public and dunder methods) and public functions; bodies become
``...``, and a default is kept when it is a plain literal (``None``, ``3``, ``"off"``).

Nothing is inferred: a public name whose type the source does not write (``self.x = f()``, a
module-level ``log = getLogger()``) is an error that asks for an annotation, rather than a stub
that guesses.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from .text import INDENT, Imports, bracketed, docstring, quoted

__all__ = ["PublicApi", "StubSourceError", "public_api"]


class StubSourceError(ValueError):
    """The source declares a public name the stub cannot state without guessing."""


@dataclass(slots=True)
class PublicApi:
    docstring: str | None
    blocks: list[list[str]]  # one per top-level definition, in source order
    imports: Imports = field(default_factory=Imports)


def public_api(
    source: str,
    *,
    omit: Mapping[str, Sequence[str]] | None = None,
    extra: Mapping[str, Sequence[str]] | None = None,
) -> PublicApi:
    """The public API of ``source``. ``omit``: class -> members left out of the stub; ``extra``:
    class -> member lines (already indented) added at the end of its body."""
    tree = ast.parse(source)
    api = PublicApi(ast.get_docstring(tree, clean=True), [])
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and _public(node.name):
            api.blocks.append(_class(node, (omit or {}).get(node.name, ()), (extra or {}).get(node.name, ())))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _public(node.name):
            api.blocks.append(_function(node, ""))
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            api.blocks += [[line] for line in _module_names(node)]
    _keep_used_imports(tree, api)
    return api


def _public(name: str) -> bool:
    return not name.startswith("_") or (name.startswith("__") and name.endswith("__"))


def _module_names(node: ast.Assign | ast.AnnAssign) -> Iterator[str]:
    if isinstance(node, ast.AnnAssign):
        if isinstance(node.target, ast.Name) and _public(node.target.id):
            yield f"{node.target.id}: {ast.unparse(node.annotation)}"
        return
    for target in node.targets:
        if not isinstance(target, ast.Name) or not _public(target.id):
            continue
        if target.id == "__all__":
            names = [
                quoted(e.value)
                for e in getattr(node.value, "elts", [])
                if isinstance(e, ast.Constant) and isinstance(e.value, str)
            ]
            yield "\n".join(bracketed("__all__ = [", names, "]"))
        else:
            yield f"{target.id}: {_literal_type(node.value, target.id)}"


def _literal_type(value: ast.expr, name: str) -> str:
    """The type of a literal value (a constant, or a tuple of constants of one type)."""
    if isinstance(value, ast.Constant) and not isinstance(value.value, bytes | complex):
        return type(value.value).__name__ if value.value is not None else "None"
    if isinstance(value, ast.Tuple) and value.elts and all(isinstance(e, ast.Constant) for e in value.elts):
        kinds = {_literal_type(e, name) for e in value.elts}
        if len(kinds) == 1:
            return f"tuple[{kinds.pop()}, ...]"
    raise StubSourceError(f"{name} = {ast.unparse(value)[:60]}: write its type (an annotation)")


def _class(node: ast.ClassDef, omit: Sequence[str], extra: Sequence[str]) -> list[str]:
    lines = [f"@{ast.unparse(d)}" for d in node.decorator_list]
    bases = [ast.unparse(b) for b in node.bases] + [ast.unparse(k) for k in node.keywords]
    lines.append(f"class {node.name}({', '.join(bases)}):" if bases else f"class {node.name}:")
    body: list[str] = []
    doc = ast.get_docstring(node, clean=True)
    if doc:
        body += docstring(doc, INDENT)
    declared = set()
    for child in node.body:
        if (
            isinstance(child, ast.AnnAssign)
            and isinstance(child.target, ast.Name)
            and _public(child.target.id)
        ):
            declared.add(child.target.id)
            body.append(f"{INDENT}{child.target.id}: {ast.unparse(child.annotation)}{_field_default(child)}")
        elif isinstance(child, ast.Assign):
            body += [f"{INDENT}{line}" for line in _module_names(child)]
    is_dataclass = any("dataclass" in ast.unparse(d) for d in node.decorator_list)
    for name, annotation in _instance_attributes(node, declared):
        if is_dataclass:  # a class-level annotation would make it a field of __init__
            raise StubSourceError(f"{node.name}.{name}: a dataclass attribute must be a field")
        body.append(f"{INDENT}{name}: {annotation}")
    methods = [child for child in node.body if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)]
    for method in methods:
        if _public(method.name) and method.name not in omit:
            body += _function(method, INDENT)
    body += extra
    if doc and len(body) > len(docstring(doc, INDENT)):
        body.insert(len(docstring(doc, INDENT)), "")  # the formatter's blank line after a class docstring
    return lines + (body or [f"{INDENT}..."])


def _field_default(node: ast.AnnAssign) -> str:
    """`` = default`` for a class-level field: the literal, ``...``, or nothing when it has none."""
    value = node.value
    if value is None:
        return ""
    if isinstance(value, ast.Call) and ast.unparse(value.func) in ("field", "dataclasses.field"):
        keys = {k.arg for k in value.keywords}
        if not keys & {"default", "default_factory"}:
            return ""  # field(repr=False): no default, still required by __init__
    return f" = {_default(value)}"


def _instance_attributes(node: ast.ClassDef, declared: set[str]) -> Iterator[tuple[str, str]]:
    """Public ``self.x`` assigned in the methods, with the annotation written at the assignment."""
    seen = set(declared)
    for method in node.body:
        if not isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for stmt in ast.walk(method):
            targets: list[tuple[ast.expr, ast.expr | None]] = []
            if isinstance(stmt, ast.AnnAssign):
                targets = [(stmt.target, stmt.annotation)]
            elif isinstance(stmt, ast.Assign | ast.AugAssign):
                targets = [
                    (t, None) for t in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target])
                ]
            for target, annotation in targets:
                if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)):
                    continue
                if target.value.id != "self" or not _public(target.attr) or target.attr in seen:
                    continue
                if annotation is None:
                    raise StubSourceError(
                        f"{node.name}.{target.attr} is assigned without a type: annotate it where it is "
                        f"first assigned (self.{target.attr}: T = ...) or in the class body"
                    )
                seen.add(target.attr)
                yield target.attr, ast.unparse(annotation)


def _function(node: ast.FunctionDef | ast.AsyncFunctionDef, indent: str) -> list[str]:
    lines = [f"{indent}@{ast.unparse(d)}" for d in node.decorator_list]
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    doc = ast.get_docstring(node, clean=True)
    tail = f"){returns}:" + ("" if doc else " ...")
    lines += bracketed(f"{prefix} {node.name}(", parameters(node.args), tail, indent)
    if doc:
        lines += docstring(doc, indent + INDENT)
    return lines


def parameters(args: ast.arguments) -> list[str]:
    """The parameters as written, ``/`` and ``*`` included, defaults as :func:`_default` keeps them."""
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults += args.defaults
    out = []
    for index, (arg, default) in enumerate(zip(positional, defaults, strict=True)):
        out.append(_parameter(arg, default))
        if index == len(args.posonlyargs) - 1:
            out.append("/")
    if args.vararg is not None:
        out.append("*" + _parameter(args.vararg, None))
    elif args.kwonlyargs:
        out.append("*")
    out += [_parameter(arg, default) for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True)]
    if args.kwarg is not None:
        out.append("**" + _parameter(args.kwarg, None))
    return out


def _parameter(arg: ast.arg, default: ast.expr | None) -> str:
    if arg.annotation is None:
        return arg.arg + (f"={_default(default)}" if default is not None else "")
    text = f"{arg.arg}: {ast.unparse(arg.annotation)}"
    return text + (f" = {_default(default)}" if default is not None else "")


def _default(value: ast.expr) -> str:
    """A plain literal as written, anything else ``...`` (flake8-pyi's rule for stub defaults)."""
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.USub):
        inner = _default(value.operand)
        return "..." if inner == "..." else f"-{inner}"
    if isinstance(value, ast.Constant):
        if isinstance(value.value, str):
            return quoted(value.value) if len(value.value) <= 50 else "..."
        if value.value is None or isinstance(value.value, bool | int | float):
            return repr(value.value)
    return "..."


def _keep_used_imports(tree: ast.Module, api: PublicApi) -> None:
    """The source's top-level imports of the names the rendered blocks use."""
    used = {
        n.id for block in api.blocks for n in ast.walk(ast.parse("\n".join(block))) if isinstance(n, ast.Name)
    }
    for node in tree.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if (alias.asname or alias.name.split(".")[0]) in used:
                    api.imports.module(alias.name, alias.asname)
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            module = "." * node.level + (node.module or "")
            for alias in node.names:
                if (alias.asname or alias.name) in used:
                    api.imports.name(module, alias.name, alias.asname)
