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


def _refuse(message: str) -> None:
    from targeting.data.io import InputFileError

    raise InputFileError(message)


def _read_outcomes(path: str, cycle: dict[str, Any] | None) -> tuple[Any, Any, int]:
    """The outcomes of a filled workbook or a CSV/Parquet/Excel table, checked against the plan.

    Returns the outcomes, the workbook rows of each (or None for a table) and the blank rows.
    """
    from targeting.data.io import read_table
    from targeting.plan.workbook import is_plan_workbook, read_plan_workbook

    current = (cycle or {}).get("plan_id")
    found: str | None
    if is_plan_workbook(path):
        filled = read_plan_workbook(path)
        found, frame, blank = filled.plan_id, filled.outcomes, filled.blank_rows
    else:
        frame, blank = read_table(path), 0
        ids = (
            frame["plan_id"].astype("string").str.strip().dropna().unique()
            if "plan_id" in frame
            else []
        )
        if len(ids) > 1:
            _refuse(
                f"{path} mixes rows of {len(ids)} plans (column plan_id); ingest one plan's rows"
            )
        found = str(ids[0]) if len(ids) else None
    if current and found is not None and found != current:
        earlier = (cycle or {}).get("earlier_plan_ids", [])
        whose = "an earlier plan" if found in earlier else "another plan or state folder"
        _refuse(
            f"{path} belongs to {whose} (plan id {found or 'missing'}), not to the current plan "
            f"{current}; type the results into the current plan's verification_plan.xlsx "
            "(nothing was written)"
        )
    where = frame[["sheet", "row"]] if "sheet" in frame else None
    return frame.drop(columns=["sheet", "row"], errors="ignore"), where, blank


def _with_sheet_rows(exc: Any, where: Any) -> Any:
    """The validation error with the workbook's sheet and row numbers instead of list rows."""
    from targeting.data import schema

    problems = []
    for p in exc.problems:
        if not p.rows:
            problems.append(p)
            continue
        picked = where.iloc[[r - 1 for r in p.rows]]
        for sheet, part in picked.groupby("sheet", sort=True):
            problems.append(
                schema.Problem(
                    column=f"{p.column} (sheet {sheet})",
                    rows=tuple(int(r) for r in part["row"]),
                    values=tuple("<hidden>" for _ in range(len(part))),
                    expected=p.expected,
                )
            )
    return schema.DataValidationError("filled workbook", problems, n_rows=exc.n_rows)


def _cmd_ingest(args: argparse.Namespace) -> int:
    # imported on use, so that 'targeting --help' answers without loading them
    import datetime as dt

    import pandas as pd

    from targeting.data import schema, state
    from targeting.data.io import json_records, read_table
    from targeting.data.outputs import OutputSet
    from targeting.feedback import ingest as feedback
    from targeting.feedback.design_estimate import estimate_from_state, model_stock

    folder = state_folder(args)
    cycle = state.read_cycle(folder)
    if cycle is None and not (folder / state.PLAN_FILE).exists():
        _refuse(
            f"no plan in the state folder {folder} (cycle.json and plan.csv are missing); run "
            "'targeting run' first or pass --state (nothing was written)"
        )
    # the state is read, checked and replaced under the folder's lock, as one set
    with OutputSet(folder) as outset:
        cycle = state.read_cycle(folder)
        if args.registry:
            checked = schema.validate_registry(read_table(args.registry), mode="quarantine")
            cols = [c for c in state.STATUS_COLUMNS if c in checked.valid]
            status = checked.valid[cols].copy()
        else:
            status = state.read_status(folder)
        ledger = state.read_ledger(folder)
        outcomes, where, blank_rows = _read_outcomes(args.outcomes, cycle)
        today = dt.date.today()
        try:
            result = feedback.ingest_outcomes(
                status, outcomes, ledger, dates=args.dates, today=today, ingested_on=str(today)
            )
        except schema.DataValidationError as exc:
            if where is None:
                raise
            raise _with_sheet_rows(exc, where) from None
        # everything is read and checked before the first write
        predictions = state.read_predictions(folder)
        target = outset.staging
        audit = state.read_audit(folder)
        superseded = result.superseded if result.superseded is not None else pd.DataFrame()
        if len(superseded):
            audit = (
                superseded if audit is None else pd.concat([audit, superseded], ignore_index=True)
            )
        state.write_ledger(result.ledger, target)
        if audit is not None:
            state.write_audit(audit, target)
        state.write_status(result.registry, target)
        if cycle is not None and (result.new_rows or len(superseded)) and not cycle.get("ingested"):
            state.write_cycle({**cycle, "ingested": True}, target)
        outset.commit()
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
        "superseded_rows": len(superseded),
        "blank_rows": blank_rows,
        "plan_id": (cycle or {}).get("plan_id"),
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
        f"{result.duplicate_rows:,} already in the ledger, {len(superseded):,} correction(s) "
        f"superseding an earlier entry (kept in {state.AUDIT_FILE}); "
        f"{result.status_changes:,} household status change(s). Ledger: {len(result.ledger):,} "
        "visits."
        + (f" {blank_rows:,} planned household(s) have no result yet." if blank_rows else "")
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
            "Read the filled verification workbook (or an outcomes table: household_id, "
            "visit_date, operator, result[, notes]; result codes in Bahasa Indonesia or English), "
            "check it belongs to the state's current plan, validate every row before writing "
            "anything, add it to the ledger (one row per household and visit date: a file "
            "ingested twice changes nothing; a changed result supersedes the earlier one, kept in "
            "the audit trail; two results for one household on one day are refused), update "
            "each household's verification status and report the realised hit rate against the "
            "plan's prediction per kelurahan, desil and operator."
        ),
        epilog="Example:\n  targeting ingest outputs/serang-2026/verification_plan.xlsx\n"
        "  targeting ingest outcomes_2025-11.csv --state outputs/serang-2026\n"
        "  targeting ingest outcomes.csv --registry registry.csv --json",
    )
    ingest.add_argument(
        "outcomes",
        help="the filled verification_plan.xlsx, or an outcomes table (.csv, .parquet, .xlsx)",
    )
    ingest.add_argument(
        "--dates",
        choices=["dmy", "iso"],
        default="dmy",
        help="how typed visit dates are read: dmy = dd/mm/yyyy as typed in Indonesia (ISO "
        "yyyy-mm-dd also accepted), iso = yyyy-mm-dd only; Excel date cells are dates either way",
    )
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
