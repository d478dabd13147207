"""The root of ``talon-contracts``: the entry point's error handling, the version, and the commands it
imports only when they run."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from replay.cli import main


def test_main_turns_unexpected_errors_into_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import replay.cli.validate

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(replay.cli.validate, "load_spec", boom)
    monkeypatch.delenv("TALON_CONTRACTS_DEBUG", raising=False)
    with pytest.raises(SystemExit) as info:
        main(["validate"])
    assert info.value.code == 2
    assert "internal error: RuntimeError: kaboom" in capsys.readouterr().err


def test_console_script_runs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert "0.1.0" in capsys.readouterr().out


def _imported_after(*args: str) -> set[str]:
    """The replay modules a fresh interpreter has imported after ``talon-contracts ARGS``."""
    code = ("import sys\nfrom replay.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print(' '.join(m for m in sys.modules if m.startswith('replay')), file=sys.stderr)")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    return set(done.stderr.split())


def test_help_and_validate_do_not_import_the_engine_or_other_commands() -> None:
    listed = _imported_after("--help")
    assert not {m for m in listed if m.startswith(("replay.engine", "replay.cli."))} - {"replay.cli.common"}
    validated = _imported_after("validate")
    assert "replay.cli.validate" in validated and not any(m.startswith("replay.engine") for m in validated)
    assert "replay.engine" in _imported_after("replay", "--help")


def test_help_lists_each_command_as_its_own_help_would() -> None:
    import click

    from replay.cli import COMMANDS, cli

    ctx = click.Context(cli)
    for name, (_, _, summary) in COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None
        for limit in (30, 45, 80, 200):
            assert click.Command(name, help=summary).get_short_help_str(limit) == command.get_short_help_str(
                limit
            )
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0 and all(f"  {name}  " in result.stdout for name in COMMANDS)


def test_python_dash_m_runs_the_command() -> None:
    done = subprocess.run([sys.executable, "-m", "replay.cli", "--version"], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0 and "0.1.0" in done.stdout
