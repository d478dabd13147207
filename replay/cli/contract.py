"""``talon-contracts contract``: the merged contract and the matching ``schemathesis.toml``, as files.

What ``st run`` (or any OpenAPI tool) needs from the package: the document the validator uses (the
vendor's facts with our overlay applied, external ``$ref``s inlined and quirks repaired) and
schemathesis' configuration (``contracts.fuzzing``: generation hints, relaxed checks with their
reasons, the credential from ``$TALON_API_KEY``). Both are written atomically.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from contracts.fuzzing import contract_format, contract_text, schemathesis_toml
from replay.cli.common import CONTRACT_OPTION, EXIT_OK, ToolFailure, open_contract

__all__ = ["contract"]

_FILE = click.Path(dir_okay=False, path_type=Path)


@click.command()
@CONTRACT_OPTION
@click.option("--output", "-o", type=_FILE, default=None,
              help="Write the merged contract here: YAML (.yaml, .yml) or JSON (.json), by the suffix.")  # fmt: skip
@click.option("--schemathesis-config", "config_path", type=_FILE, default=None,
              help="Write the matching schemathesis configuration here (schemathesis.toml).")  # fmt: skip
def contract(contract_path: Path | None, output: Path | None, config_path: Path | None) -> None:
    """Write the merged contract (vendor facts + our overlay) and the matching schemathesis.toml.

    The contract is the document the validator uses; the configuration holds the generation hints
    drawn from its examples and the checks relaxed for documented business rules, each with its
    reason, and reads the API key from $TALON_API_KEY. Then:

        TALON_API_KEY=... st --config-file schemathesis.toml run contract.yaml --url BASE_URL

    Exit 0 when the files are written, 2 on bad usage or a file that cannot be written.
    """
    if output is None and config_path is None:
        raise click.UsageError("nothing to write: give --output FILE, --schemathesis-config FILE or both")
    fmt = contract_format(output.name) if output is not None else None
    if output is not None and fmt is None:
        raise click.UsageError(
            f"--output {output}: name a .yaml, .yml or .json file (the suffix says the format)"
        )
    loaded = open_contract(contract_path)
    document = loaded.document.data
    # both texts are made before either file is written: a failure to build one leaves no half pair
    writes = []
    if output is not None and fmt is not None:
        writes.append((output, contract_text(document, fmt), f"{len(loaded)} operations"))
    if config_path is not None:
        writes.append((config_path, schemathesis_toml(document), "schemathesis configuration"))
    for path, text, what in writes:
        _write(path, text)
        click.echo(f"wrote {path} ({what})", err=True)
    sys.exit(EXIT_OK)


def _write(path: Path, text: str) -> None:
    from replay.cassettes import atomic_write

    try:
        with atomic_write(path) as stream:  # a temporary file beside it, renamed when complete
            stream.write(text.encode("utf-8"))
    except OSError as exc:
        raise ToolFailure(f"cannot write {path}: {exc.strerror or exc}") from None
