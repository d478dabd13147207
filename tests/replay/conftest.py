from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from contracts.documents import read_document
from contracts.overlay import load_overlay, run_overlay
from contracts.spec import DEFAULT_VENDOR_CONTRACT

FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.fixture(scope="session")
def next_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The vendor v7.0.0 document with the breaking changes of specdiff/next-release.overlay.yaml, as a file."""
    doc = read_document(DEFAULT_VENDOR_CONTRACT)
    run_overlay(doc, load_overlay(FIXTURES / "specdiff" / "next-release.overlay.yaml"))
    path = tmp_path_factory.mktemp("next") / "talon-next.yaml"
    path.write_text(yaml.safe_dump(doc.data, sort_keys=False))
    return path
