"""``targeting score``: score a registry with a logged model."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from targeting.cli.common import Formatter, print_json

__all__ = ["register"]


def _cmd_score(args: argparse.Namespace) -> int:
    from targeting import tracking as tracking_module
    from targeting.data import schema
    from targeting.data.io import read_table, write_table
    from targeting.data.privacy import drop_pii
    from targeting.pmt.scoring import score_households

    raw = read_table(args.registry)
    checked = schema.validate_registry(raw, mode=args.mode)
    model = tracking_module.load_model(args.model, tracking_uri=args.tracking_uri)
    # a model recalibrated on field outcomes also takes the area column (kelurahan offsets)
    columns = [str(c) for c in getattr(model, "feature_names_in_", schema.PROXY_COLUMNS)]
    leaked = sorted(set(columns) & set(schema.PII_COLUMNS))
    if leaked:
        raise ValueError(f"model {args.model} takes personal-data columns {leaked}; refusing")
    missing = [c for c in columns if c not in checked.valid]
    if missing:
        raise ValueError(f"model {args.model} needs column(s) {missing} that the registry lacks")
    scores = score_households(model, checked.valid[columns], seed=args.seed)
    scores.insert(0, "household_id", checked.valid["household_id"].to_numpy())
    write_table(drop_pii(scores), args.output)
    if len(checked.rejected):
        write_table(checked.rejected, Path(args.output).with_name("rejected.csv"))
    payload = {
        "households_in_file": len(raw),
        "scored": len(scores),
        "rejected": len(checked.rejected),
        "model": args.model,
        "output": str(args.output),
        "mean_p_extreme": float(scores["p_extreme"].mean()) if len(scores) else None,
    }
    if args.json:
        print_json(payload)
    else:
        print(
            f"Scored {len(scores):,} of {len(raw):,} households with {args.model} -> {args.output}"
            + (
                f" ({len(checked.rejected):,} rejected rows in rejected.csv)"
                if len(checked.rejected)
                else ""
            )
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
