"""The README's two set-up commands stay true: CI runs exactly the documented test command."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _bash_blocks() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S)]


def test_ci_runs_the_readme_test_command() -> None:
    test_command = next(b for b in _bash_blocks() if "pytest" in b and "venv" in b)
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines()


def test_run_command_uses_the_default_spec() -> None:
    run_command = next(b for b in _bash_blocks() if "targeting run" in b)
    assert "experiments/serang-2026.yaml" in run_command
    assert (REPO / "experiments" / "serang-2026.yaml").exists()
