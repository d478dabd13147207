"""What the plugin costs a project that installs talon-contracts and has no Talon tests: it loads in
every pytest run (the ``pytest11`` entry point), so it imports nothing of the toolkit until a test
asks for it. Measured with ``python -X importtime -c "import pytest; ..."`` importing its modules
after pytest (bytecode written; under pytest itself the output capture loses those lines): 2.1-3.0 ms
for the plugin's seven modules, 3.1-3.8 ms for pytest-recording's plugin, which it records through;
before, the first collected file imported the cassette readers (~270 ms)."""

from __future__ import annotations

import json

import pytest

_SPY = """
import json, sys

def pytest_sessionfinish(session):
    ours = sorted(m for m in sys.modules if m.split(".")[0] in ("replay", "contracts"))
    with open("modules.json", "w") as out:
        json.dump(ours, out)
"""


def test_a_run_without_talon_tests_imports_only_the_plugin(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(_SPY)
    pytester.makepyfile(test_shop="def test_cart():\n    assert 1 + 1 == 2\n")
    pytester.makefile(".yaml", settings="a: 1\n")  # a YAML file of the project's own, collected past
    (pytester.path / "data").mkdir()
    (pytester.path / "data" / "fixtures.json").write_text("{}")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", ".")
    result.assert_outcomes(passed=1)
    from replay.pytest_plugin import pytest_plugins

    assert json.loads((pytester.path / "modules.json").read_text()) == sorted(
        ["replay", "replay.pytest_plugin", *pytest_plugins]
    )  # the plugin's own modules, and nothing of the toolkit
    assert "talon-contracts coverage" not in result.stdout.str()  # nothing to say: nothing of ours ran
