"""``targeting report``: re-render the planner's report of a tracked cycle run."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from targeting.cli.common import Formatter, print_json

__all__ = ["register"]


def _fail(message: str) -> int:
    print(f"targeting report: {message}", file=sys.stderr)
    return 2


def _cmd_report(args: argparse.Namespace) -> int:
    # imported on use, so that 'targeting --help' answers without loading them
    from targeting.feedback.progress import read_progress
    from targeting.report.render import render_report, write_report

    if args.data:
        path = Path(args.data)
        if not path.is_file():
            return _fail(f"no report data file {str(path)!r}; pass a report_data.json")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            return _fail(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})")
    else:
        from targeting.tracking.report import ReportNotFoundError, load_report_data

        try:
            data = load_report_data(args.run, args.experiment, args.tracking_uri)
        except ReportNotFoundError as exc:
            return _fail(str(exc))
    if not isinstance(data, dict) or "headline" not in data or "meta" not in data:
        return _fail(
            "the report data lack the 'headline' and 'meta' sections; is it a report_data.json?"
        )
    experiment = str(data["meta"].get("experiment", "report"))
    state = Path(args.state) if args.state else Path("outputs") / experiment
    progress = read_progress(state)
    if progress is not None:
        data["progress"] = progress
    output = Path(args.output) if args.output else state / f"report_{args.lang}.html"
    write_report(output, render_report(data, lang=args.lang))
    payload: dict[str, Any] = {
        "report": str(output),
        "run_id": data.get("run_id"),
        "experiment": experiment,
        "lang": args.lang,
        "outcomes_ingested": (progress or {}).get("outcomes", 0),
    }
    if args.json:
        print_json(payload)
    else:
        print(f"Report of run {payload['run_id'] or '(untracked)'} written to {output}")
    return 0


def register(sub: Any) -> None:
    """Add the ``report`` sub-command to the parser's sub-parsers."""
    report = sub.add_parser(
        "report",
        help="re-render the planner's HTML report of a cycle run from MLflow",
        formatter_class=Formatter,
        description=(
            "Render the planner's one-page HTML report (aggregates only, opens offline) from the\n"
            "report data that 'targeting run' logged to MLflow. Progress is refreshed from the\n"
            "state folder's outcomes_ledger.parquet when outcomes have been ingested."
        ),
        epilog=(
            "Examples:\n"
            "  targeting report                      # latest cycle run, Bahasa Indonesia\n"
            "  targeting report 3f2a9c... --lang en --output report_en.html\n"
            "  targeting report --experiment serang-2026 --json"
        ),
    )
    report.add_argument("run", nargs="?", help="parent (cycle) run id; default the latest one")
    report.add_argument("--experiment", help="take the latest cycle run of this experiment")
    report.add_argument("--data", help="render a local report_data.json instead of reading MLflow")
    report.add_argument(
        "--lang", choices=["id", "en"], default="id", help="language (default id: Bahasa Indonesia)"
    )
    report.add_argument("--output", help="HTML file to write (default <state>/report_<lang>.html)")
    report.add_argument(
        "--state",
        help="folder with plan.csv and outcomes_ledger.parquet (default outputs/<experiment>)",
    )
    report.add_argument("--tracking-uri", help="MLflow tracking URI (default sqlite:///mlflow.db)")
    report.add_argument("--json", action="store_true", help="print the result as one JSON object")
    report.set_defaults(handler=_cmd_report)
