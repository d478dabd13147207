"""The shape of the tree (tools/layout.py), held: no import cycle, no private name imported across
modules, no module over ~600 lines and no function over ~60 without a written reason."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

import layout


@pytest.fixture(scope="module")
def modules() -> dict[str, layout.Module]:
    return layout.scan()


def test_no_import_cycle(modules: dict[str, layout.Module]) -> None:
    assert layout.cycles(modules) == []


def test_no_private_name_is_imported_across_modules(modules: dict[str, layout.Module]) -> None:
    assert layout.private_imports(modules) == []


def test_no_module_is_over_600_lines(modules: dict[str, layout.Module]) -> None:
    assert layout.long_modules(modules) == []


def test_no_function_is_over_60_lines_without_a_reason(modules: dict[str, layout.Module]) -> None:
    assert layout.long_functions(modules) == []


def test_the_measure_sees_what_it_must(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cycle through a function-level import, a private import, a long function with and without
    a reason: the checks above would fail on each."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.b import _hidden\n")
    body = "\n".join(f"    x{n} = {n}" for n in range(61))
    (package / "b.py").write_text(
        "def f() -> None:\n    from pkg import a\n\n\n"
        f"def _hidden() -> None:\n{body}\n\n\n"
        f"# long: one flat table, clearer whole\ndef table() -> None:\n{body}\n"
    )
    monkeypatch.setattr(layout, "ROOT", tmp_path)
    found = layout.scan(["pkg"])
    assert layout.cycles(found) == [["pkg.a", "pkg.b"]]
    assert layout.private_imports(found) == ["pkg.a imports _hidden from pkg.b"]
    assert [name for name, _ in layout.long_functions(found)] == ["pkg.b._hidden"]
    assert [name for name, _ in layout.long_functions(found, reasoned=True)] == ["pkg.b.table"]
