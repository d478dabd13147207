"""``talon-contracts convert``: a capture (vcrpy, schemathesis, HAR or JSON Lines) to a redacted cassette."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from contracts import TalonContractsError
from replay.cli.common import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, ToolFailure

if TYPE_CHECKING:
    from replay.cassettes.model import Interaction

__all__ = ["convert"]

_SUFFIX_FORMATS = {".har": "har", ".jsonl": "jsonl", ".ndjson": "jsonl"}


@click.command()
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["vcr", "jsonl", "har"]), default=None,
              help="Output format. Default: by TARGET's suffix: har for .har, jsonl for .jsonl/.ndjson, else vcr.")  # fmt: skip
@click.option("--api-key", envvar="TALON_API_KEY", default=None,
              help="The key used while capturing: refused wherever it still appears (or TALON_API_KEY).")  # fmt: skip
@click.option("--redact-path", "paths", multiple=True, help="Another JSON path to pseudonymise (RFC 9535).")
@click.option("--redaction-salt", "salt", envvar="TALON_REDACTION_SALT", default=None,
              help="Secret key for pseudonyms (or TALON_REDACTION_SALT): the same key gives the same pseudonyms, "
                   "run after run. Default: a random key per run (pseudonyms differ between runs).")  # fmt: skip
def convert(
    source: Path, target: Path, fmt: str | None, api_key: str | None, paths: tuple[str, ...], salt: str | None
) -> None:
    """Convert a capture (vcrpy, schemathesis, HAR or JSON Lines) to a redacted cassette.

    A HAR export from a browser holds the real Authorization header: it is redacted on the way,
    and nothing is written if a credential would survive. Exit 0 when everything was converted,
    2 when parts of SOURCE could not be read (the rest is written, unless TARGET exists: a failed
    conversion never replaces it) or nothing could be written, 130 when interrupted (nothing written).
    """
    from replay.cassettes import read_interactions
    from replay.cassettes.model import ReadProblem
    from replay.recording.redaction import DEFAULT_PATHS, RedactionRules, Redactor, save

    fmt = fmt or _SUFFIX_FORMATS.get(target.suffix.lower(), "vcr")
    try:
        rules = RedactionRules(json_paths=DEFAULT_PATHS + paths)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if os.path.realpath(source) == os.path.realpath(target):  # Path.resolve raises on a symlink loop
        raise click.UsageError("SOURCE and TARGET are the same file")
    problems: list[ReadProblem] = []
    existed = target.exists()

    def interactions() -> Iterator[Interaction]:
        for item in read_interactions(source):
            if isinstance(item, ReadProblem):
                problems.append(item)
                click.echo(f"unreadable: {item}", err=True)
            else:
                yield item
        if problems and existed:  # a failed conversion never replaces what is there (written atomically)
            raise _Kept(f"{len(problems)} part(s) of {source} could not be read; {target} is kept as it was")

    redactor = Redactor(rules, salt.encode()) if salt else Redactor(rules)
    try:
        count = save(target, interactions(), api_key=api_key, redactor=redactor, fmt=fmt)
    except _Kept as exc:
        raise ToolFailure(f"nothing written: {exc}") from None
    except (TalonContractsError, OSError) as exc:  # a credential would be written; an unwritable target
        raise ToolFailure(f"nothing written: {exc}") from None
    except KeyboardInterrupt:  # the temporary file is gone, the target untouched
        click.echo(
            f"interrupted: nothing written{f'; {target} is kept as it was' if existed else ''}", err=True
        )
        sys.exit(EXIT_INTERRUPTED)
    click.echo(f"{count} interaction(s) -> {target} [{fmt}]", err=True)
    if problems:
        click.echo(f"{len(problems)} part(s) of {source} could not be read", err=True)
    sys.exit(EXIT_ERROR if problems else EXIT_OK)


class _Kept(Exception):
    """Raised while writing, to abort it: the target stays as it was."""
