"""``targeting score``: score a registry file of any size with a logged model."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from targeting.cli.common import Formatter, print_json

__all__ = ["register"]


def _cmd_score(args: argparse.Namespace) -> int:
    # imported when the command runs, so that 'targeting --help' and argument errors answer at
    # once; not through targeting.pipeline, which imports the whole cycle (scikit-learn,
    # statsmodels): a cached linear champion scores without them
    from targeting.tracking import champion_uri
    from targeting.tracking.scoring import score_registry

    model_uri = args.model or champion_uri(args.experiment)
    if args.engine == "local":
        from targeting.pmt.streaming import reuse_freed_memory

        reuse_freed_memory()  # this process streams the file: batches reuse freed memory

    def progress(done: int, scored: int, seconds: float) -> None:
        if not args.json:
            rate = done / seconds if seconds > 0 else 0.0
            print(
                f"  {done:,} households read, {scored:,} scored ({rate:,.0f} rows/s)",
                file=sys.stderr,
            )

    payload = score_registry(
        args.registry,
        args.output,
        model_uri=model_uri,
        tracking_uri=args.tracking_uri,
        mode=args.mode,
        seed=args.seed,
        batch_rows=args.batch_rows,
        engine=args.engine,
        progress=progress,
    )
    if args.json:
        print_json(payload)
    else:
        rejected = payload["rejected"]
        print(
            f"Scored {payload['scored']:,} of {payload['households_in_file']:,} households with "
            f"{model_uri} -> {args.output}"
            + (f" ({rejected:,} rejected rows in {payload['rejected_output']})" if rejected else "")
        )
    return 0


def register(sub: Any) -> None:
    """Add the ``score`` sub-command to the parser's sub-parsers."""
    score = sub.add_parser(
        "score",
        help="score a registry with a logged model (P(extreme), interval, desil)",
        formatter_class=Formatter,
        description=(
            "Score every valid registry household in batches (memory bounded by the batch, "
            "not the file); invalid rows go to rejected.<csv|parquet> beside the output."
        ),
        epilog=(
            "Examples:\n  targeting score registry.parquet --output scores.parquet\n"
            "  targeting score registry.parquet --output scores/ --engine spark"
        ),
    )
    score.add_argument("registry", help="registry file (.parquet, .csv or .xlsx)")
    score.add_argument(
        "--model", default=None, help="MLflow model URI (default: the experiment's champion)"
    )
    score.add_argument(
        "--experiment",
        default="serang-2026",
        help="experiment whose champion scores (models:/<experiment>-pmt@champion)",
    )
    score.add_argument(
        "--output", default="scores.csv", help="scores file (.csv or .parquet; a folder for Spark)"
    )
    score.add_argument("--tracking-uri", help="MLflow tracking URI (default sqlite:///mlflow.db)")
    score.add_argument("--mode", choices=["quarantine", "strict"], default="quarantine")
    score.add_argument("--seed", type=int, default=2026, help="seed of the interval simulation")
    score.add_argument(
        "--batch-rows", type=int, default=100_000, help="households per batch (memory bound)"
    )
    score.add_argument(
        "--engine",
        choices=["local", "spark"],
        default="local",
        help="local (one machine, streaming) or spark (needs the [spark] extra and Java)",
    )
    score.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    score.set_defaults(handler=_cmd_score)
