"""``talon-contracts replay export-test``: a standalone pytest test that replays selected interactions."""

from __future__ import annotations

from pathlib import Path

import click

from contracts.errors import TalonContractsError

__all__ = ["export_test_command"]


@click.command("export-test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--select", "selected", multiple=True,
              help="An interaction to check: FILE#INDEX (or INDEX with one cassette). Repeatable.")  # fmt: skip
@click.option("--from-report", "from_report", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Take the findings of a `replay --report json:PATH` file.")  # fmt: skip
@click.option("--no-setup", is_flag=True, help="Leave out the story's earlier interactions.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("test_replayed.py"),
              show_default=True, help="The pytest module to write.")  # fmt: skip
def export_test_command(paths: tuple[Path, ...], selected: tuple[str, ...], from_report: Path | None,
                        no_setup: bool, out: Path) -> None:  # fmt: skip
    """Write a standalone pytest test that replays selected interactions (and the story before them).

    The interactions are embedded in the test; it runs against TALON_BASE_URL/TALON_API_KEY when set,
    else an embedded sandbox, and fails with the differences when the API answers otherwise.
    Exit 0 when written, 2 on usage errors.
    """
    from replay.reporting.export import Selection, export_test, parse_selection, selection_from_report

    if not selected and from_report is None:
        raise click.UsageError("choose interactions with --select FILE#INDEX or --from-report REPORT.json")
    try:
        chosen = parse_selection(selected, str(paths[0]) if len(paths) == 1 else None)
        if from_report is not None:
            found = selection_from_report(from_report)
            merged = {k: chosen.by_file.get(k, frozenset()) | found.by_file.get(k, frozenset())
                      for k in {*chosen.by_file, *found.by_file}}  # fmt: skip
            chosen = Selection(merged)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--select/--from-report") from None
    if not chosen.by_file:
        raise click.UsageError(f"{from_report} holds no findings: nothing to export")
    try:
        count = export_test(chosen, out, context=not no_setup)
    except (TalonContractsError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{count} interaction(s) checked by {out}; run it with: pytest {out}", err=True)
