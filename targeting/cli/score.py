"""``targeting score``: score a registry with a logged model."""

from __future__ import annotations

import argparse
from typing import Any

from targeting.cli.common import Formatter, print_json

__all__ = ["register"]


def _cmd_score(args: argparse.Namespace) -> int:
    # the pipeline imports scikit-learn: imported when the command runs, so that
    # 'targeting --help' and argument errors answer at once
    from targeting.pipeline import score_registry

    result = score_registry(
        args.registry,
        args.output,
        model_uri=args.model,
        tracking_uri=args.tracking_uri,
        mode=args.mode,
        seed=args.seed,
    )
    scores, rejected = result.scores, result.rejected
    payload = {
        "households_in_file": result.households_in_file,
        "scored": len(scores),
        "rejected": len(rejected),
        "model": args.model,
        "output": str(args.output),
        "mean_p_extreme": float(scores["p_extreme"].mean()) if len(scores) else None,
    }
    if args.json:
        print_json(payload)
    else:
        print(
            f"Scored {len(scores):,} of {result.households_in_file:,} households with "
            f"{args.model} -> {args.output}"
            + (f" ({len(rejected):,} rejected rows in rejected.csv)" if len(rejected) else "")
        )
    return 0


def register(sub: Any) -> None:
    """Add the ``score`` sub-command to the parser's sub-parsers."""
    score = sub.add_parser(
        "score",
        help="score a registry with a logged model (P(extreme), interval, desil)",
        formatter_class=Formatter,
        description="Score every valid registry household; invalid rows go to rejected.csv.",
        epilog="Example:\n  targeting score registry.csv --output scores.csv",
    )
    score.add_argument("registry", help="registry file (.csv, .parquet or .xlsx)")
    score.add_argument(
        "--model",
        default="models:/targeting-pmt@champion",
        help="MLflow model URI (default champion)",
    )
    score.add_argument("--output", default="scores.csv", help="where to write the scores")
    score.add_argument("--tracking-uri", help="MLflow tracking URI (default sqlite:///mlflow.db)")
    score.add_argument("--mode", choices=["quarantine", "strict"], default="quarantine")
    score.add_argument("--seed", type=int, default=2026, help="seed of the interval simulation")
    score.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    score.set_defaults(handler=_cmd_score)
