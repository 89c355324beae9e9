"""The ``targeting`` command.

Each sub-command prints a readable summary (tables) or, with ``--json``, the same summary as one
JSON object on standard output; progress goes to standard error. Errors are one clear message
with the fix; ``--debug`` shows the traceback. Sub-commands live in :mod:`targeting.cli.handlers`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Callable, Sequence

import targeting
from targeting.cli.common import Formatter
from targeting.cli.handlers import command_modules

__all__ = ["main"]


def _parser(commands: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command's parser, with every sub-command or only those of ``commands`` (module
    names): building a sub-command's options can import what its defaults come from."""
    parser = argparse.ArgumentParser(
        prog="targeting",
        description="PMT models, verification plans and forecasts toward zero extreme poverty.",
        formatter_class=Formatter,
        epilog="Example:\n  targeting run experiments/serang-2026.yaml\n"
        "Run 'targeting COMMAND --help' for a command's options.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"targeting {targeting.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in command_modules():
        if commands is None or name in commands:
            importlib.import_module(f"targeting.cli.{name}").register(sub)
    return parser


def _named_command(argv: Sequence[str]) -> list[str] | None:
    """The sub-command module a command line names, or None (help, a typo: every command)."""
    words = [a for a in argv if not a.startswith("-")]
    if not words or argv[0].startswith("-"):
        return None
    name = words[0].replace("-", "_")
    return [name] if name in command_modules() else None


_KNOWN_ERRORS: tuple[tuple[str, str], ...] = (
    ("targeting.config.errors", "SpecError"),
    ("targeting.data.adapters", "DataSpecError"),
    ("targeting.data.io", "InputFileError"),
    ("targeting.data.outputs", "OutputFolderBusyError"),
    ("targeting.data.schema", "DataValidationError"),
    ("targeting.tracking.connectivity", "TrackingStoreFullError"),
    ("targeting.tracking.connectivity", "TrackingUnreachableError"),
    ("targeting.tracking.report", "ReportNotFoundError"),
)
"""Errors that are the user's to fix: one sentence, no traceback (module, class name)."""


def _known_errors() -> tuple[type[BaseException], ...]:
    # an error can only come from a module that was imported: looking them up in sys.modules
    # keeps a spec typo from importing scikit-learn and mlflow just to print its message
    return tuple(
        getattr(sys.modules[module], name)
        for module, name in _KNOWN_ERRORS
        if module in sys.modules and hasattr(sys.modules[module], name)
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``targeting`` command; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # only the named sub-command's options are built ('targeting score' starts without the
    # spec types and other commands' imports); help and mistakes get the whole parser
    parser = _parser(_named_command([a for a in argv if a != "--debug"]))
    # --debug is accepted anywhere on the line, not only before the command
    debug = "--debug" in argv
    args = parser.parse_args([a for a in argv if a != "--debug"])
    args.debug = debug
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        print(
            "targeting: interrupted; outputs already written are complete (writes are atomic)",
            file=sys.stderr,
        )
        return 130
    except _known_errors() as exc:
        if args.debug:
            traceback.print_exc()
        print(f"targeting {args.command}: {_masked(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:
        if args.debug:
            traceback.print_exc()
        else:
            print(
                f"targeting {args.command}: {type(exc).__name__}: {_masked(exc)}\n"
                "(run again with --debug for the traceback)",
                file=sys.stderr,
            )
        return 1


def _masked(exc: BaseException) -> str:
    """The error's message with NIK-shaped digit runs masked: an error raised by a library
    (pandas, MLflow) can quote the value it failed on, and that value can be a NIK."""
    from targeting.data.schema import mask_digit_runs

    return mask_digit_runs(str(exc))


if __name__ == "__main__":
    sys.exit(main())
