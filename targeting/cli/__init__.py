"""The ``targeting`` command: thin handlers that parse, call one public function and print."""

from targeting.cli.main import main

__all__ = ["main"]
