"""Helpers for end-to-end tests: a small copy of the default spec, and the CLI run in-process."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import REPO


def small_spec(
    folder: Path, name: str, edit: Callable[[dict[str, Any]], None] | None = None
) -> tuple[Path, dict[str, Any]]:
    """Write a copy of ``experiments/serang-2026.yaml`` named ``name`` under
    ``folder/experiments/`` (``models/`` symlinked beside it, as in the repository).

    ``edit`` changes the raw spec in place before it is written (sizes, models, data source).
    Returns the spec's path and the raw dict.
    """
    raw = yaml.safe_load((REPO / "experiments" / "serang-2026.yaml").read_text())
    raw["name"] = name
    if edit is not None:
        edit(raw)
    (folder / "experiments").mkdir(parents=True, exist_ok=True)
    spec = folder / "experiments" / f"{name}.yaml"
    spec.write_text(yaml.safe_dump(raw))
    if not (folder / "models").exists():
        os.symlink(REPO / "models", folder / "models")
    return spec, raw


def quick_cycle(raw: dict[str, Any]) -> None:
    """Make a spec's cycle quick (for ``small_spec``'s ``edit``): vintage 2026-07, the ols model
    with 3 folds, 6 operators x 10 workdays, 40 forecast paths from 2026-07, one scenario."""
    raw["data"]["vintage"] = "2026-07"
    raw["models"] = ["ols"]
    raw["evaluation"]["n_splits"] = 3
    raw["plan"].update({"operators": 6, "workdays": 10})
    raw["forecast"]["n_paths"] = 40
    raw["forecast"]["defaults"]["start"] = "2026-07"
    raw["forecast"]["scenarios"] = [{"name": "baseline"}]


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """Run ``targeting ARGV`` in-process; return (exit code, stdout, stderr)."""
    from targeting.cli.main import main

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(argv)
    return code, stdout.getvalue(), stderr.getvalue()
