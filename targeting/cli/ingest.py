"""``targeting ingest``: record verification outcomes and compare realised with predicted."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from targeting.cli.common import DEFAULT_SPEC, Formatter, load_spec, print_json, table

__all__ = ["register", "state_folder"]


def state_folder(args: argparse.Namespace) -> Path:
    """The state folder: ``--state``, else the spec's output folder (``outputs/<name>``)."""
    if getattr(args, "state", None):
        return Path(args.state)
    # imported on use, so that 'targeting --help' answers without loading them
    from targeting.pipeline import output_dir

    return output_dir(load_spec(args.spec))


def _cmd_ingest(args: argparse.Namespace) -> int:
    # imported on use, so that 'targeting --help' answers without loading them
    from targeting.data import schema, state
    from targeting.data.io import json_records, read_table
    from targeting.feedback import ingest as feedback
    from targeting.feedback.design_estimate import estimate_from_state, model_stock

    folder = state_folder(args)
    if args.registry:
        checked = schema.validate_registry(read_table(args.registry), mode="quarantine")
        cols = [c for c in state.STATUS_COLUMNS if c in checked.valid]
        status = checked.valid[cols].copy()
    else:
        status = state.read_status(folder)
    ledger = state.read_ledger(folder)
    outcomes = read_table(args.outcomes)
    result = feedback.ingest_outcomes(status, outcomes, ledger)
    state.write_status(result.registry, folder)
    state.write_ledger(result.ledger, folder)
    predictions = state.read_predictions(folder)
    summary = feedback.hit_rate_summary(result.ledger, predictions)
    tables = {
        by: feedback.hit_rate_table(result.ledger, predictions, by=by, alpha=args.alpha)
        for by in ("kelurahan", "desil", "operator")
    }
    design = estimate_from_state(
        folder, result.ledger, model_estimate=model_stock(result.registry, predictions)
    )
    counts = result.registry["verification_status"].value_counts().sort_index()
    flagged = {
        by: [str(v) for v in t.loc[t["flagged"], by]] if len(t) else [] for by, t in tables.items()
    }
    payload = {
        "state": str(folder),
        "outcome_rows": len(outcomes),
        "new_rows": result.new_rows,
        "duplicate_rows": result.duplicate_rows,
        "status_changes": result.status_changes,
        "ledger_rows": len(result.ledger),
        "verification_status": {str(k): int(v) for k, v in counts.items()},
        "hit_rate": summary,
        "flagged": flagged,
        "by_kelurahan": json_records(tables["kelurahan"]),
        "by_desil": json_records(tables["desil"]),
        "by_operator": json_records(tables["operator"]),
        "design_estimate": design.summary() if design is not None else None,
    }
    if args.json:
        print_json(payload)
        return 0
    print(
        f"Ingested {len(outcomes):,} outcome rows into {folder}: {result.new_rows:,} new, "
        f"{result.duplicate_rows:,} already in the ledger; {result.status_changes:,} household "
        f"status change(s). Ledger: {len(result.ledger):,} rows."
    )
    print(
        f"Realised hit rate {summary['realised_hit_rate']:.3f} "
        f"(90% {summary['realised_low']:.3f}-{summary['realised_high']:.3f}) over "
        f"{summary['conclusive']:,} conclusive visits; "
        f"predicted {summary['predicted_hit_rate']:.3f}; "
        f"calibration intercept {summary['calibration_intercept']:.2f}, "
        f"slope {summary['calibration_slope']:.2f}"
    )
    if design is not None:
        flag = " (model OUTSIDE the design interval)" if design.model_outside else ""
        print(
            f"Unreached extreme-poor now: audit-sample (design) estimate {design.estimate:,.0f} "
            f"({design.level:.0%} {design.low:,.0f}-{design.high:,.0f}, {design.rounds} round(s));"
            f" model estimate {design.model_estimate:,.0f}{flag}"
        )
    cols = ["visits", "conclusive", "finds", "realised", "low", "high", "predicted", "flagged"]
    for by in ("desil", "kelurahan"):
        t = tables[by]
        if len(t):
            print(f"\nRealised vs predicted hit rate per {by} (90% Wilson interval):")
            print(table(t[[by, *cols]]))
    for by, names in flagged.items():
        if names:
            print(f"\n{by} deviating beyond chance (Holm, alpha {args.alpha}): {', '.join(names)}")
    if not any(flagged.values()):
        print(
            f"\nNo kelurahan, desil or operator deviates beyond chance (Holm, alpha {args.alpha})."
        )
    return 0


def register(sub: Any) -> None:
    """Add the ``ingest`` sub-command to the parser's sub-parsers."""
    ingest = sub.add_parser(
        "ingest",
        help="record verification outcomes; realised vs predicted hit rates",
        formatter_class=Formatter,
        description=(
            "Validate a field outcomes file (household_id, visit_date, operator, result[, notes]),"
            " add it to the state folder's ledger (idempotent: a file ingested twice changes "
            "nothing), update each household's verification status and report the realised hit "
            "rate against the plan's prediction per kelurahan, desil and operator, flagging those "
            "that deviate beyond chance."
        ),
        epilog="Example:\n  targeting ingest outcomes_2025-11.csv --state outputs/serang-2026\n"
        "  targeting ingest outcomes.csv --registry registry.csv --json",
    )
    ingest.add_argument("outcomes", help="outcomes file (.csv, .parquet or .xlsx)")
    ingest.add_argument(
        "--spec",
        default=DEFAULT_SPEC,
        help=f"experiment spec naming the state (default {DEFAULT_SPEC})",
    )
    ingest.add_argument("--state", help="state folder (default outputs/<experiment name>)")
    ingest.add_argument(
        "--registry",
        help="registry file to start from (its verification_status); default the state's "
        "registry_status.parquet",
    )
    ingest.add_argument(
        "--alpha", type=float, default=0.05, help="family-wise error of the deviation flags"
    )
    ingest.add_argument("--json", action="store_true", help="print the report as one JSON object")
    ingest.set_defaults(handler=_cmd_ingest)
