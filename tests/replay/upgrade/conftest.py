from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).parents[2] / "fixtures"
CASSETTES = Path(__file__).parents[3] / "cassettes"
