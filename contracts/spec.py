"""Loading an OpenAPI 3.0/3.1 contract and indexing its operations.

``load_spec`` takes a path or a dict (YAML or JSON), applies an optional overlay, inlines
external ``$ref``s, repairs what it can of the vendor's quirks (each repair is a
:class:`~contracts.errors.LoadIssue`, also emitted as a :class:`~contracts.errors.ContractWarning`)
and returns a :class:`Contract`: operations by id and by (method, concrete path). The operations
themselves are records of :mod:`contracts.model`, read from the document by
:mod:`contracts.indexing`.

``load_contract`` is the project's default contract: the vendor's v7.0.0 facts plus our
overlay, both shipped in ``contracts/openapi/``.
"""

from __future__ import annotations

import copy
import difflib
import functools
import re
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from .documents import AliasBudget, Document, ExcessiveAliases, join_pointer, read_document
from .errors import ContractLoadError, ContractWarning, UnknownOperation, short_text
from .http import plain_url_parts
from .indexing import OperationReader
from .model import Match, Operation
from .overlay import ActionResult, Overlay, load_overlay, run_overlay
from .schema import HTTP_METHODS, SchemaCompiler, repair_schema_quirks, resolve_pointer
from .validation import Validator

# Match lives in contracts.model; it is named here too because callers of Contract.match meet it here.
__all__ = ["DEFAULT_OVERLAY", "DEFAULT_VENDOR_CONTRACT", "Contract", "Match", "load_contract", "load_spec"]

OPENAPI_DIR = Path(__file__).with_name("openapi")
DEFAULT_VENDOR_CONTRACT = OPENAPI_DIR / "talon-integration-v7.0.0.yaml"
DEFAULT_OVERLAY = OPENAPI_DIR / "talon-overlay.yaml"


def _unquote(value: str) -> str:
    return unquote(value) if "%" in value else value


@dataclass(slots=True)
class _Route:
    template: str
    pattern: str  # "^..." with the parameters as groups p0, p1 ...
    names: tuple[str, ...]
    specificity: tuple[int, int]
    operations: dict[str, Operation] = field(default_factory=dict)
    # compiled on first use: most routes are only ever matched through the combined regex, and
    # compiling two per route took 0.6 ms each, 20 s of loading 16,000 operations
    compiled: tuple[re.Pattern[str], re.Pattern[str]] | None = None

    @property
    def regex(self) -> re.Pattern[str]:
        return self._compiled()[0]

    @property
    def suffix(self) -> re.Pattern[str]:
        """The template at the end of a longer path (behind a proxy prefix)."""
        return self._compiled()[1]

    def _compiled(self) -> tuple[re.Pattern[str], re.Pattern[str]]:
        if self.compiled is None:
            self.compiled = (re.compile(self.pattern + "$"), re.compile(self.pattern[1:] + "/?$"))
        return self.compiled


# --------------------------------------------------------------------------- contract


class Contract:
    """An indexed, validated-as-far-as-possible OpenAPI document."""

    def __init__(
        self,
        document: Document,
        overlay: Overlay | None = None,
        overlay_results: list[ActionResult] | None = None,
    ) -> None:
        self.document = document
        self.overlay = overlay
        #: what each overlay action did to the vendor document (applied, unmatched, redundant)
        self.overlay_results = overlay_results or []
        data = document.data
        self.data: dict[str, Any] = data
        self.source = document.source
        self.openapi_version = str(data.get("openapi", "3.0.0"))
        info = data.get("info") if isinstance(data.get("info"), dict) else {}
        self.title = str(info.get("title", ""))
        self.version = str(info.get("version", ""))
        self._reader = OperationReader(document)
        components = data.get("components") if isinstance(data.get("components"), dict) else {}
        schemes = components.get("securitySchemes")
        self.security_schemes: dict[str, dict[str, Any]] = {}
        for name, scheme in schemes.items() if isinstance(schemes, dict) else ():
            pointer = join_pointer("/components/securitySchemes", name)
            scheme = self._reader.deref(scheme, pointer)
            if isinstance(scheme, dict):
                self.security_schemes[name] = scheme
            elif scheme is not None:
                self.document.issue(pointer, "a security scheme must be a mapping; ignored")
        self.base_path = self._base_path()
        self.operations: dict[str, Operation] = {}
        self._by_python_name: dict[str, Operation] = {}
        self._routes: dict[int, list[_Route]] = {}
        self._by_template: dict[str, _Route] = {}
        #: per segment count, one regex: every route's pattern as an alternative, in ``_routes``
        #: order (so the first alternative that matches is the route the loop would find first)
        self._combined: dict[int, list[tuple[re.Pattern[str], dict[int, _Route]]]] = {}
        self._route_of: dict[str, _Route] = {}
        self._index_operations()
        self.compiler = SchemaCompiler(data, self.openapi_version)
        self._validator: Validator | None = None

    def __repr__(self) -> str:
        return f"<Contract {self.title!r} {self.version or '?'} from {self.source}: {len(self.operations)} operations>"

    @property
    def issues(self) -> list[Any]:
        return self.document.issues

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.operations.values())

    def __len__(self) -> int:
        return len(self.operations)

    # -- lookups

    def operation(self, operation_id: str | Operation) -> Operation:
        """The operation with this id (or the Python spelling of it)."""
        if isinstance(operation_id, Operation):
            return operation_id
        op = self.operations.get(operation_id) or self._by_python_name.get(operation_id)
        if op is not None:
            return op
        candidates = list(self.operations) + list(self._by_python_name)
        close = difflib.get_close_matches(operation_id, candidates, n=3, cutoff=0.6)
        raise UnknownOperation(
            f"the contract has no operation {operation_id!r} ({len(self.operations)} operations are known)",
            operation_id=operation_id,
            suggestions=close,
        )

    def find(self, method: str, url: str) -> Match | None:
        """The operation serving ``method url`` (url: path or full URL; query ignored), or None."""
        try:
            return self.match(method, url)
        except UnknownOperation:
            return None

    def match(self, method: str, url: str) -> Match:
        """Like :meth:`find`, but raises :class:`UnknownOperation` explaining the near miss."""
        quick = plain_url_parts(url)
        path = quick[0] if quick is not None else None
        if path is None:
            try:
                path = urlsplit(url).path or "/"
            except ValueError as exc:  # "http://[::1/x": not a URL at all
                raise UnknownOperation(f"{url!r} is not a valid URL: {exc}") from None
        if self.base_path and (path == self.base_path or path.startswith(self.base_path + "/")):
            path = path[len(self.base_path) :] or "/"
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        method = method.upper()
        segments = path.count("/")
        for regex, by_group in self._combined.get(segments, ()):
            # one regex instead of one per route; the route loop below explains the misses
            found = regex.match(path)
            if found is None:
                continue
            at = found.lastindex or 0
            first = by_group[at]
            op = first.operations.get(method)
            if op is not None:
                if not first.names:
                    return Match(op, {})
                values = found.groups()[at : at + len(first.names)]
                if "%" in path:
                    values = tuple(_unquote(value) for value in values)
                return Match(op, dict(zip(first.names, values, strict=True)))
            break  # the first route that fits lacks the method: the loop below says so
        same_path: list[_Route] = []
        for route in self._routes.get(segments, ()):
            found = route.regex.match(path)
            if found is None:
                continue
            op = route.operations.get(method)
            if op is not None:
                params = {
                    name: _unquote(value) for name, value in zip(route.names, found.groups(), strict=True)
                }
                return Match(op, params)
            same_path.append(route)
        if same_path:
            allowed = sorted({m for route in same_path for m in route.operations})
            raise UnknownOperation(
                f"{short_text(method, 20)} {short_text(path)}: the path matches {same_path[0].template} but the contract documents "
                f"only {', '.join(allowed)} there",
                method=method,
                path=path,
            )
        close = self._nearest(method, path)
        raise UnknownOperation(
            f"no operation of the contract matches {short_text(method, 20)} {short_text(path)}",
            method=method,
            path=path,
            suggestions=close,
        )

    def path_params(self, operation: str | Operation, url: str) -> dict[str, str] | None:
        """The path parameters of ``url`` read with ``operation``'s template, or None if it does not fit.

        Unlike :meth:`match`, a prefix before the template (a proxy or gateway base path) is allowed.
        """
        route = self._route_of[self.operation(operation).operation_id]
        path = urlsplit(url).path or "/"
        found = route.regex.match(path) or route.suffix.search(path)
        if found is None:
            return None
        return {name: unquote(found.group(f"p{i}")) for i, name in enumerate(route.names)}

    def _nearest(self, method: str, path: str) -> list[str]:
        """Up to three documented operations that look like ``method path`` (for error messages)."""
        # Each segment cut to 64 characters and the path to 512: SequenceMatcher is quadratic, and one
        # 200 KB URL took 5-10 s here (a sandbox's only worker stalled 1-2 s by a 16 KB path); no
        # template segment is longer than 40 characters, so the suggestions are the same.
        segments = [segment[:64] for segment in path[:512].split("/")]
        wanted = f"{method[:16]} {'/'.join(segments)}"
        scored = []
        for routes in self._routes.values():
            for route in routes:
                template_segments = route.template.split("/")
                if len(template_segments) == len(segments):  # compare with the parameters filled in
                    filled = "/".join(
                        seg if "{" in tpl else tpl
                        for seg, tpl in zip(segments, template_segments, strict=True)
                    )
                else:
                    filled = route.template
                for m in route.operations:
                    ratio = difflib.SequenceMatcher(None, wanted, f"{m} {filled}").ratio()
                    scored.append((ratio, f"{m} {route.template}"))
        scored.sort(key=lambda item: item[0], reverse=True)
        return [name for ratio, name in scored[:3] if ratio >= 0.6]

    def validator(self) -> Validator:
        """The contract's shared validator (compiled schemas are cached on it)."""
        if self._validator is None:
            self._validator = Validator(self)
        return self._validator

    # -- building

    def _base_path(self) -> str:
        servers = self.data.get("servers")
        if isinstance(servers, list) and servers and isinstance(servers[0], dict):
            url = str(servers[0].get("url", ""))
            variables = servers[0].get("variables")
            known = variables if isinstance(variables, dict) else {}

            def value(found: re.Match[str]) -> str:  # a variable's default; only the path matters here
                variable = known.get(found.group(1))
                default = variable.get("default") if isinstance(variable, dict) else None
                return (
                    str(default) if isinstance(default, (str, int)) and not isinstance(default, bool) else "x"
                )

            return urlsplit(re.sub(r"{([^}]*)}", value, url)).path.rstrip("/")
        return ""

    def schema_top(self, schema: Any) -> dict[str, Any]:
        """The schema object itself, with top-level ``$ref`` chains followed (nested refs stay)."""
        return self._reader.schema_top(schema)

    def _index_operations(self) -> None:
        paths = self.data.get("paths")
        if not isinstance(paths, dict):
            if paths is not None:
                self.document.issue("/paths", "'paths' is not a mapping; no operations")
            return
        global_security = self.data.get("security", [])
        reader = self._reader
        for template, item in paths.items():
            item_pointer = join_pointer("/paths", template)
            if not isinstance(template, str) or not template.startswith("/"):
                self.document.issue(item_pointer, "a path must start with '/'; ignored")
                continue
            item = reader.deref(item, item_pointer)
            if not isinstance(item, dict):
                continue
            shared = reader.parameters(item, item_pointer)
            route = self._route(template)
            for method in HTTP_METHODS:
                raw_op = item.get(method)
                if raw_op is None:
                    continue
                op_pointer = join_pointer(item_pointer, method)
                if not isinstance(raw_op, dict):
                    self.document.issue(op_pointer, "an operation must be a mapping; ignored")
                    continue
                op = reader.operation(
                    template, method, raw_op, op_pointer, shared, global_security, self.operations
                )
                route.operations[op.method] = op
                self._route_of[op.operation_id] = route
                self.operations[op.operation_id] = op
                self._by_python_name.setdefault(op.python_name, op)
        for segments, routes in self._routes.items():
            routes.sort(key=lambda r: r.specificity, reverse=True)
            self._combined[segments] = _combined(routes)

    def _route(self, template: str) -> _Route:
        # by template in a dict: a scan of the routes made so far was quadratic (16,000 operations
        # loaded in 22 s, 100,000 in ~174 s)
        known = self._by_template.get(template)
        if known is not None:
            return known
        names: list[str] = []
        pattern = "^"
        literal = 0
        for piece in re.split(r"({[^}]+})", template):
            if piece.startswith("{") and piece.endswith("}"):
                pattern += f"(?P<p{len(names)}>[^/]+)"
                names.append(piece[1:-1])
            else:
                pattern += re.escape(piece)
                literal += len(piece)
        route = _Route(template, pattern, tuple(names), (literal, -len(names)))
        self._routes.setdefault(template.count("/"), []).append(route)
        self._by_template[template] = route
        return route


#: Routes per combined regex. Compiling one alternation of 16,000 routes took 7.4 s (re's parser is
#: super-linear in it); chunks of this many compile in time linear in the routes, and the 28
#: operations of the Integration API still need one regex per segment count.
_CHUNK = 256


def _combined(routes: list[_Route]) -> list[tuple[re.Pattern[str], dict[int, _Route]]]:
    """Regexes for ``routes``, tried in order: each route's pattern (parameters as plain groups) in
    a group of its own; ``lastindex`` of a match (the outer group closes last) names the route."""
    chunks = []
    for start in range(0, len(routes), _CHUNK):
        alternatives, by_group, group = [], {}, 1
        for route in routes[start : start + _CHUNK]:
            alternatives.append("(" + re.sub(r"\(\?P<p\d+>", "(", route.pattern[1:]) + ")")
            by_group[group] = route
            group += 1 + len(route.names)
        chunks.append((re.compile("(?:" + "|".join(alternatives) + ")$"), by_group))
    return chunks


# --------------------------------------------------------------------------- loading


def _has_external_refs(data: Any) -> bool:
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                return True
            stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (dict, list)))
    return False


def _spend(inlined: AliasBudget, doc: Document, pointer: str) -> None:
    try:
        inlined.spend(1)
    except ExcessiveAliases:
        raise ContractLoadError(
            f"external $refs bring in more than {inlined.limit:,} values; refused",
            source=doc.source, line=doc.line_of(pointer),
        ) from None  # fmt: skip


def _inline_external_refs(doc: Document) -> None:
    """Replace ``$ref``s to other files by the content they point at (recursively, cycle-safe)."""
    if not _has_external_refs(doc.data):
        return  # the usual case; the rebuild below costs 0.1 s for a whole vendor document, the look 20 ms
    cache: dict[Path, Document] = {}
    # What external $refs bring in is bounded like YAML aliases (1.2 s to refuse ten refs to a file of ten refs
    # ..., six deep): they would otherwise inline an exponential copy. Each file read is bounded by read_document.
    inlined = AliasBudget()

    def load(path: Path) -> Document:
        if path not in cache:
            cache[path] = read_document(path)
        return cache[path]

    def visit(
        node: Any, base: Path | None, root: Any, pointer: str, stack: tuple[str, ...], external: bool
    ) -> Any:
        if external:
            _spend(inlined, doc, pointer)
        if isinstance(node, list):
            return [
                visit(v, base, root, join_pointer(pointer, i), stack, external) for i, v in enumerate(node)
            ]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and (external or not ref.startswith("#")):
            file_part, _, fragment = ref.partition("#")
            if file_part.startswith(("http://", "https://")):
                doc.issue(
                    pointer,
                    f"remote $ref {ref!r} is not fetched (offline); replaced by an unconstrained schema",
                )
                return {}
            if file_part and base is None:
                doc.issue(
                    pointer, f"relative $ref {ref!r} in a document without a location; replaced by {{}}"
                )
                return {}
            try:
                if file_part:
                    target_doc = load((base / file_part).resolve())  # type: ignore[operator]
                    target_root, target_base = target_doc.data, target_doc.base_dir
                else:
                    target_root, target_base = root, base
                key = f"{target_base}|{file_part}#{fragment}"
                if key in stack:
                    doc.issue(pointer, f"circular external $ref {ref!r}; replaced by {{}}")
                    return {}
                target = resolve_pointer(target_root, fragment)
            except ContractLoadError as exc:
                doc.issue(pointer, f"$ref {ref!r} cannot be read ({exc}); replaced by {{}}")
                return {}
            except KeyError:
                doc.issue(pointer, f"$ref {ref!r} points at nothing; replaced by {{}}")
                return {}
            return visit(copy.deepcopy(target), target_base, target_root, pointer, (*stack, key), True)
        return {k: visit(v, base, root, join_pointer(pointer, k), stack, external) for k, v in node.items()}

    doc.data = visit(doc.data, doc.base_dir, doc.data, "", (), False)


def _emit(issues: list[Any]) -> None:
    for issue in issues:
        warnings.warn(ContractWarning(issue), stacklevel=3)


def load_spec(
    source: str | Path | Mapping[str, Any] | Document,
    *,
    overlay: str | Path | Mapping[str, Any] | Overlay | None = None,
    warn: bool = True,
) -> Contract:
    """Load an OpenAPI 3.0 or 3.1 document (a path to YAML/JSON, a dict, or a parsed Document).

    Quirks are tolerated and recorded in ``contract.issues`` (and emitted as
    :class:`ContractWarning` unless ``warn=False``); a document that cannot be used at all
    raises :class:`ContractLoadError`.
    """
    if isinstance(source, Document):
        doc = source  # parsed already (text read from git, say); loading changes it in place
    elif isinstance(source, Mapping):
        doc = Document(data=copy.deepcopy(dict(source)), source="<dict>")
    else:
        doc = read_document(source)
    data = doc.data
    if not isinstance(data, dict):
        raise ContractLoadError("an OpenAPI document must be a mapping at the top level", source=doc.source)
    if "swagger" in data and "openapi" not in data:
        raise ContractLoadError(
            f"Swagger {data['swagger']} documents are not supported; convert to OpenAPI 3 first",
            source=doc.source,
        )
    version = data.get("openapi")
    if isinstance(version, (int, float)) and not isinstance(version, bool):
        doc.issue("/openapi", f"'openapi' is the number {version!r}; read as the string {str(version)!r}")
        version = data["openapi"] = str(version)
    if not isinstance(version, str) or not re.match(r"^3\.[01]\.", version + "."):
        doc.issue("/openapi", f"'openapi' is {version!r}, not 3.0.x or 3.1.x; read as 3.0")
        data["openapi"] = "3.0.3"
    if "paths" not in data and "webhooks" not in data:
        raise ContractLoadError("the document has no 'paths'; is it an OpenAPI document?", source=doc.source)
    overlay_obj = None
    results: list[ActionResult] = []
    if overlay is not None:
        overlay_obj = (
            overlay
            if isinstance(overlay, Overlay)
            else load_overlay(dict(overlay) if isinstance(overlay, Mapping) else overlay)
        )
        results = run_overlay(doc, overlay_obj)
    _inline_external_refs(doc)
    repair_schema_quirks(doc)
    contract = Contract(doc, overlay_obj, results)
    if warn:
        _emit(doc.issues)
    return contract


@functools.lru_cache(maxsize=8)
def _cached_default(vendor: str, overlay: str | None) -> Contract:
    return load_spec(vendor, overlay=overlay)


def load_contract(vendor: str | Path | None = None, *, overlay: str | Path | bool | None = True) -> Contract:
    """The project's contract: vendor facts (v7.0.0 by default) with our overlay applied.

    ``overlay=True`` applies the shipped overlay, ``False``/``None`` none, a path that file.
    Contracts from files are cached per (vendor, overlay): treat them as read-only.
    """
    vendor_path = str(Path(vendor).resolve()) if vendor is not None else str(DEFAULT_VENDOR_CONTRACT)
    if overlay is True:
        overlay_path: str | None = str(DEFAULT_OVERLAY)
    elif overlay is False or overlay is None:
        overlay_path = None
    else:
        overlay_path = str(Path(overlay).resolve())
    return _cached_default(vendor_path, overlay_path)
