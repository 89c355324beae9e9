"""mypy runs clean on the package (issue 10), so the README's ``pytest`` command checks types too.

mypy reads its settings from ``[tool.mypy]`` in pyproject.toml (the pydantic plugin, and the
third-party packages that ship no type information).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# the folder that holds pyproject.toml, wherever this file sits under tests/
REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())


def test_mypy_is_clean_on_the_package() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "targeting"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, f"mypy found type errors:\n{run.stdout}{run.stderr}"
