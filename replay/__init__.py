"""talon-contracts' replay side: cassettes, the replay engine, reports and the command line.

``replay`` builds on ``contracts``; ``contracts`` never imports ``replay``.
"""

from __future__ import annotations
