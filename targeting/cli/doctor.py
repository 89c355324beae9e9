"""``targeting doctor``: check the installation."""

from __future__ import annotations

import argparse
from typing import Any

from targeting.cli.common import Formatter, print_json

__all__ = ["register"]


def _cmd_doctor(args: argparse.Namespace) -> int:
    # imported on use, so that 'targeting --help' answers without loading them
    from targeting.cli.checks import run_checks

    checks = run_checks(tracking_uri=args.tracking_uri)
    healthy = all(c["ok"] or not c["required"] for c in checks)
    if args.json:
        print_json({"healthy": healthy, "checks": checks})
    else:
        for c in checks:
            mark = "ok " if c["ok"] else ("FAIL" if c["required"] else "warn")
            print(f"[{mark}] {c['check']}: {c['detail']}")
            if not c["ok"] and c.get("fix"):
                print(f"       fix: {c['fix']}")
        print("\nhealthy" if healthy else "\nNOT healthy: fix the FAIL lines above")
    return 0 if healthy else 1


def register(sub: Any) -> None:
    """Add the ``doctor`` sub-command to the parser's sub-parsers."""
    doctor = sub.add_parser(
        "doctor",
        help="check the installation, the tracking store and the data files",
        formatter_class=Formatter,
        description="Check that everything the toolkit needs is in place, and say what is wrong.",
        epilog="Example:\n  targeting doctor",
    )
    doctor.add_argument("--tracking-uri", help="MLflow tracking URI (default sqlite:///mlflow.db)")
    doctor.add_argument("--json", action="store_true", help="print the checks as one JSON object")
    doctor.set_defaults(handler=_cmd_doctor)
