"""``targeting compare``: an experiment's models and scenarios side by side, from MLflow."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from targeting.cli.common import Formatter, print_json, table
from targeting.data.io import json_records

__all__ = ["register"]

_SHOWN_MODEL = ["model", "role", "auc", "brier", "ece", "ee_at_true_share", "ie_at_true_share"]
_SHOWN_SCENARIO = [
    "scenario",
    "p_goal",
    "p_near_zero",
    "median_goal_month",
    "deadline_stock_median",
    "end_q50",
]


def _fail(message: str) -> int:
    print(f"targeting compare: {message}", file=sys.stderr)
    return 2


def _cmd_compare(args: argparse.Namespace) -> int:
    # imported on use, so that 'targeting --help' answers without loading them
    from targeting.tracking.compare import compare_cycle, sort_table
    from targeting.tracking.report import ReportNotFoundError

    try:
        found = compare_cycle(args.experiment, run_id=args.run, tracking_uri=args.tracking_uri)
    except ReportNotFoundError as exc:
        return _fail(str(exc))
    models, scenarios = found["models"], found["scenarios"]
    if args.sort:
        from targeting.evaluation.metrics import greater_is_better

        def ranked(column: str) -> bool:
            try:
                greater_is_better(column)
            except ValueError:
                return False
            return True

        if not ranked(args.sort) or (args.sort not in models and args.sort not in scenarios):
            known = sorted(c for c in {*models.columns, *scenarios.columns} if ranked(c))
            return _fail(f"no metric {args.sort!r} in this run; choose one of {', '.join(known)}")
        if args.sort in models:
            models = sort_table(models, args.sort)
        if args.sort in scenarios:
            scenarios = sort_table(scenarios, args.sort)
    if args.csv:
        both = pd.concat(
            [
                models.rename(columns={"model": "name"}).assign(kind="model"),
                scenarios.rename(columns={"scenario": "name"}).assign(kind="scenario"),
            ],
            ignore_index=True,
        )
        lead = ["kind", "name"]
        both = both[lead + [c for c in both.columns if c not in lead]]
        from targeting.data.io import write_table

        write_table(both, Path(args.csv))
    if args.json:
        print_json(
            {
                "experiment": found["experiment"],
                "run_id": found["run_id"],
                "champion": found["champion"],
                "primary_metric": found["primary_metric"],
                "sort": args.sort,
                "models": json_records(models),
                "scenarios": json_records(scenarios),
                **({"csv": str(args.csv)} if args.csv else {}),
            }
        )
        return 0
    print(
        f"Experiment {found['experiment']}, cycle run {found['run_id']} "
        f"(champion {found['champion']} by {found['primary_metric']})"
    )
    wide = args.all
    print("\nModels (grouped cross-validation, pooled out-of-fold):")
    print(table(models if wide else models[[c for c in _SHOWN_MODEL if c in models]]))
    print("\nScenarios (forecast of unreached extreme-poor households):")
    print(table(scenarios if wide else scenarios[[c for c in _SHOWN_SCENARIO if c in scenarios]]))
    if args.csv:
        print(f"\nBoth tables written to {args.csv}")
    return 0


def register(sub: Any) -> None:
    """Add the ``compare`` sub-command to the parser's sub-parsers."""
    compare = sub.add_parser(
        "compare",
        help="compare an experiment's models and scenarios side by side (from MLflow)",
        formatter_class=Formatter,
        description=(
            "Read one cycle run's nested model and scenario runs from MLflow and print them\n"
            "side by side (default: the experiment's latest cycle run)."
        ),
        epilog=(
            "Examples:\n"
            "  targeting compare serang-2026 --sort ee_at_true_share\n"
            "  targeting compare serang-2026 --run 3f2a9c... --json\n"
            "  targeting compare serang-2026 --csv comparison.csv"
        ),
    )
    compare.add_argument("experiment", help="experiment name (the spec's name:)")
    compare.add_argument("--run", help="parent (cycle) run id; default the latest one")
    compare.add_argument(
        "--sort",
        metavar="METRIC",
        help="sort best first by METRIC (auc, p_goal, p_near_zero descend; others ascend)",
    )
    compare.add_argument("--all", action="store_true", help="print every metric and parameter")
    compare.add_argument("--csv", metavar="FILE", help="also write both tables to one CSV")
    compare.add_argument("--tracking-uri", help="MLflow tracking URI (default sqlite:///mlflow.db)")
    compare.add_argument("--json", action="store_true", help="print the tables as one JSON object")
    compare.set_defaults(handler=_cmd_compare)
