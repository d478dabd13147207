"""Where the two documents of a diff come from: files, or ``REV:path`` read from git.

A document is loaded through the tolerant loader (quirks become :class:`~contracts.errors.LoadIssue`
warnings), optionally with an overlay. What the loader tolerates elsewhere cannot be tolerated in a
diff: a local ``$ref`` that points at nothing, or at itself through other refs only, would make
the schema behind it compare as "anything", so the diff stops with one line that names the file,
the line and the reference.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from ..documents import Document, join_pointer, parse_document, read_document
from ..errors import ContractLoadError
from ..schema import follow_refs
from ..spec import Contract, load_spec

__all__ = ["check_refs", "git_parts", "load_side", "read_source"]

# "REV:path": a revision (no whitespace, not a drive letter) and a path inside it
_GIT_SPEC = re.compile(r"(?P<rev>[^\s:][^\s:]+|[^\s:]):(?P<path>[^:].*)")
_GIT_TIMEOUT = 30.0


def git_parts(spec: str) -> tuple[str, str] | None:
    """(revision, path) when ``spec`` names a file in git rather than an existing file, else None."""
    if Path(spec).is_file():
        return None
    found = _GIT_SPEC.fullmatch(spec)
    if found is None or (len(found["rev"]) == 1 and found["path"][:1] in ("\\", "/")):  # C:\x, C:/x
        return None
    return found["rev"], found["path"]


def read_source(spec: str) -> Document:
    """The document named by ``spec``: a file path, or ``REV:path`` (``HEAD~3:contracts/openapi/x.yaml``).

    An existing file wins over the git reading, so a file whose name has a colon still works.
    """
    parts = git_parts(spec)
    if parts is None:
        return read_document(spec)  # also the usual "no such file" error
    revision, path = parts
    if revision.startswith("-"):  # would reach git as an option (--output=...)
        raise ContractLoadError("no such file, and a git revision cannot start with '-'", source=spec)
    return _from_git(spec, revision, path)


def _from_git(spec: str, revision: str, path: str) -> Document:
    try:
        done = subprocess.run(["git", "show", f"{revision}:{path}"], capture_output=True, timeout=_GIT_TIMEOUT,
                              check=False)  # fmt: skip
    except FileNotFoundError:
        raise ContractLoadError(f"{spec!r} is neither a file nor readable from git (git is not installed)",
                                source=spec) from None  # fmt: skip
    except subprocess.TimeoutExpired:
        raise ContractLoadError(f"git show did not answer within {_GIT_TIMEOUT:.0f} s", source=spec) from None
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = why[-1] if why else f"git exited with {done.returncode}"
        raise ContractLoadError(f"no such file, and git cannot read it: {reason.removeprefix('fatal: ')}",
                                source=spec) from None  # fmt: skip
    return parse_document(done.stdout, source=spec)


#: Values, not schemas or objects: a "$ref" key inside them is data (an example of a JSON Schema ...).
_LITERALS = frozenset({"example", "examples", "default", "enum", "const"})


def check_refs(contract: Contract) -> None:
    """Raise :class:`ContractLoadError` for the first local ``$ref`` that points at nothing or only at refs
    that lead back to it."""
    data = contract.data
    stack: list[tuple[str, object]] = [("", data)]
    while stack:
        pointer, node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#"):
                _, problem = follow_refs(data, node)
                if problem is not None:
                    raise ContractLoadError(problem, source=contract.source, pointer=pointer,
                                            line=contract.document.line_of(pointer))  # fmt: skip
            stack.extend(
                (join_pointer(pointer, k), v)
                for k, v in node.items()
                if isinstance(v, (dict, list)) and k not in _LITERALS and not str(k).startswith("x-")
            )
        elif isinstance(node, list):
            stack.extend(
                (join_pointer(pointer, i), v) for i, v in enumerate(node) if isinstance(v, (dict, list))
            )


def load_side(spec: str, overlay: str | Path | None = None) -> Contract:
    """One side of a diff: read, overlay applied, loaded tolerantly, its references checked."""
    contract = load_spec(read_source(spec), overlay=overlay, warn=False)
    check_refs(contract)
    return contract
