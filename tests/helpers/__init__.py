"""Shared test helpers, importable from any test folder as ``tests.helpers.<module>``.

``cli`` (a small spec and the CLI run in-process), ``frames`` (Serang-schema frames) and
``defects`` (registry defects and their expected rejections). The repository root is on
``sys.path`` through pytest's ``pythonpath`` setting in ``pyproject.toml``.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
"""The repository root (README.md, experiments/, models/)."""
