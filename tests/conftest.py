from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Snapshot files are rewritten instead of compared when this is set (review the diff!).
UPDATE_GOLDEN = os.environ.get("LEADQL_UPDATE_GOLDEN") == "1"


@pytest.fixture
def ws():
    import leadql

    with leadql.connect() as workspace:
        yield workspace
