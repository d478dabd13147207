"""The pytest plugin (``pytest11`` entry point ``talon_contracts``): fixtures, markers, options.

One module per job, each a plugin of its own, registered by ``pytest_plugins`` below:

* ``settings``: options, ini settings, markers, their precedence (written there), what the modules
  keep on the config;
* ``fixtures``: ``talon_contract``, ``talon_sandbox``, ``talon_base_url``, ``talon_api_key``,
  ``talon_client`` (strict), ``talon_cassette``, ``talon_record_mode``, ``talon_traffic`` (any
  client's exchanges with the base URL, judged after the test), the markers' checks;
* ``recording``: what the plugin adds to pytest-recording, which records (cassette layout, options,
  ``vcr_config``, ``@pytest.mark.vcr``: pytest-recording's own), and the precedence of a cassette's
  configuration;
* ``coverage``: the operations the session's calls exercised, ``--talon-coverage-fail-under``;
* ``nextrelease``: ``--talon-next-contract``;
* ``collect``: cassettes collected as tests, one item per interaction.

Nothing of the toolkit is imported until a test asks for it: the plugin loads in every pytest run
of a project that installs the package (``tests/replay/pytest_plugin/test_startup.py``).
"""

from __future__ import annotations

from replay.pytest_plugin.coverage import OperationCoverage
from replay.pytest_plugin.settings import MARKERS, RECORD_MODES, setting

__all__ = ["MARKERS", "RECORD_MODES", "OperationCoverage", "setting"]

pytest_plugins = [
    "replay.pytest_plugin.settings",
    "replay.pytest_plugin.recording",
    "replay.pytest_plugin.fixtures",
    "replay.pytest_plugin.coverage",
    "replay.pytest_plugin.nextrelease",
    "replay.pytest_plugin.collect",
]
