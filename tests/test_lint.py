"""The code base stays clean under the project's ruff settings (pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from .conftest import ROOT


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff") or str(ROOT / ".venv" / "bin" / "ruff")
    if not shutil.which(ruff):
        pytest.skip("ruff is not installed (it comes with the dev extra)")
    done = subprocess.run(
        [ruff, "check", "leadql", "tests", "bench", "examples"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_python_version_floor_is_declared() -> None:
    assert sys.version_info >= (3, 10)
