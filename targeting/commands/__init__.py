"""One module per sub-command of ``targeting``; each exposes ``register(subparsers)``.

To add a command, write ``targeting/commands/<name>.py`` with a ``register`` function; it is
found automatically. :data:`ORDER` sets the order in which ``targeting --help`` lists them.
"""

from __future__ import annotations

import pkgutil

ORDER: list[str] = [
    "run",
    "synth",
    "evaluate",
    "score",
    "plan",
    "ingest",
    "refit",
    "simulate_rounds",
    "forecast",
    "forecast_series",
    "compare",
    "report",
    "doctor",
]


def command_modules() -> list[str]:
    """Names of the sub-command modules, in help order (unlisted ones last, alphabetically)."""
    found = {m.name for m in pkgutil.iter_modules(__path__) if m.name != "common"}
    return [n for n in ORDER if n in found] + sorted(found - set(ORDER))
