"""The sub-commands of ``targeting``, in the order ``targeting --help`` lists them.

Each name is a module ``targeting/cli/<name>.py`` exposing ``register(subparsers)``; to add a
command, write that module and add its name here (this list is the one owner of the order).
"""

from __future__ import annotations

COMMANDS: tuple[str, ...] = (
    "run",
    "synth",
    "evaluate",
    "score",
    "ingest",
    "refit",
    "simulate_rounds",
    "forecast",
    "forecast_series",
    "compare",
    "report",
    "doctor",
)


def command_modules() -> list[str]:
    """Module names (under :mod:`targeting.cli`) of the sub-commands, in help order."""
    return list(COMMANDS)
