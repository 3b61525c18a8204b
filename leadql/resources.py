"""Where LeadQL's own files are: the stdlib and the examples.

An installed wheel carries them inside the package (`leadql/stdlib`, `leadql/examples`); a source
checkout (an editable install) keeps them at the top of the repository.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"LeadQL's {name}/ folder is missing from this installation")


def stdlib_path() -> Path:
    return _find("stdlib")


def examples_path() -> Path:
    return _find("examples")
