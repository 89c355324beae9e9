"""One module per sub-command of ``targeting``; each exposes ``register(subparsers)``.

To add a command, write ``targeting/commands/<name>.py`` with a ``register`` function and add
its name to :data:`COMMANDS`.
"""

COMMANDS: list[str] = ["run", "synth", "score", "doctor"]
"""Sub-command modules, in the order ``targeting --help`` lists them."""
