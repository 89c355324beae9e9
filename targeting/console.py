"""Progress reporting for long steps: one line per step on standard error, with its duration."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Prints ``[i/n] step ... done in 3.2 s`` lines, so a user sees where a long run is.

    Parameters
    ----------
    total : int
        Number of steps announced (only used for the ``[i/n]`` prefix).
    stream : file-like, optional
        Where to print; standard error by default so that ``--json`` output stays clean.
    enabled : bool
        False silences it (tests, ``--quiet``).
    """

    def __init__(self, total: int = 0, stream: TextIO | None = None, enabled: bool = True):
        self.total = total
        self.stream = stream
        self.enabled = enabled
        self.count = 0
        self.timings: dict[str, float] = {}

    def _print(self, text: str) -> None:
        if self.enabled:
            print(text, file=self.stream or sys.stderr, flush=True)

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        """Time one step and report it when it ends (or fails)."""
        self.count += 1
        prefix = f"[{self.count}/{self.total}] " if self.total else ""
        self._print(f"{prefix}{label} ...")
        start = time.perf_counter()
        try:
            yield
        except BaseException:
            self._print(f"{prefix}{label}: failed after {time.perf_counter() - start:.1f} s")
            raise
        elapsed = time.perf_counter() - start
        self.timings[label] = elapsed
        self._print(f"{prefix}{label}: done in {elapsed:.1f} s")

    def note(self, text: str) -> None:
        """Print a free-form progress line."""
        self._print(f"    {text}")
