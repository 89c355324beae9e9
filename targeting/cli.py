"""The ``targeting`` command.

Each sub-command prints a readable summary (tables) or, with ``--json``, the same summary as one
JSON object on standard output; progress goes to standard error. Errors are one clear message
with the fix; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["main"]

DEFAULT_SPEC = "experiments/serang-2026.yaml"


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def _print_json(payload: dict[str, Any]) -> None:
    print(json.dumps(payload, indent=2, sort_keys=True, default=str, ensure_ascii=False))


def _table(frame: pd.DataFrame, floatfmt: str = "{:.3f}") -> str:
    shown = frame.copy()
    for column in shown.columns:
        if pd.api.types.is_float_dtype(shown[column]):
            shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else floatfmt.format(v))
    return shown.to_string(index=False)


# --- run --------------------------------------------------------------------------------------


def _cmd_run(args: argparse.Namespace) -> int:
    from targeting.cycle import run_cycle
    from targeting.progress import Progress
    from targeting.spec import load_experiment_spec

    spec = load_experiment_spec(args.spec)
    progress = Progress(total=8 + len(spec.models), enabled=not args.quiet)
    result = run_cycle(spec, output=args.output, progress=progress, n_paths=args.n_paths)
    tracking: dict[str, Any] = {}
    if not args.no_tracking:
        from targeting import tracking as tracking_module

        with progress.step("Logging to MLflow (runs, metrics, plots, champion model)"):
            tracking = tracking_module.log_cycle(result, tracking_uri=args.tracking_uri)
    from targeting.report import render_report, write_report

    with progress.step("Writing the planner's report"):
        report_path = write_report(
            Path(result.outputs["summary"]).parent / f"report_{args.lang}.html",
            render_report(
                result, result.registry_status, lang=args.lang, run_id=tracking.get("run_id")
            ),
        )
        result.outputs["report"] = report_path
        if tracking:
            tracking_module.attach_artifact(
                tracking["run_id"], report_path, tracking["tracking_uri"]
            )
    summary = result.summary()
    summary["mlflow"] = tracking
    if args.json:
        _print_json(summary)
        return 0
    _print_run_summary(result, tracking)
    return 0


def _print_run_summary(result: Any, tracking: dict[str, Any]) -> None:
    spec = result.spec
    print(f"\nExperiment {spec.name} (seed {spec.seed}, spec {spec.spec_hash})")
    print(
        f"\nPMT models, grouped {spec.evaluation.get('n_splits', 5)}-fold CV by "
        f"{spec.evaluation.get('group', 'kelurahan')} (pooled out-of-fold):"
    )
    cols = [
        c
        for c in [
            "model",
            "auc",
            "brier",
            "ece",
            "ee_at_true_share",
            "ie_at_true_share",
            "ee_at_10",
            "ee_at_20",
            "ee_at_40",
        ]
        if c in result.model_table
    ]
    print(_table(result.model_table[cols]))
    print(
        f"champion by {spec.primary_metric}: {result.champion}"
        + (f"; challenger: {result.challenger}" if result.challenger else "")
    )
    plan = result.plan.summary()
    print("\nVerification plan:")
    for key, value in plan.items():
        print(f"  {key}: {value:,.1f}" if isinstance(value, float) else f"  {key}: {value}")
    if result.plan_truth_check:
        t = result.plan_truth_check
        print(
            f"  synthetic truth: {t['planned_true_finds']:,} truly extreme-poor among the planned "
            f"visits (expected {t['planned_expected_finds']:,.0f}); "
            f"{t['true_unreached_extreme']:,} truly unreached extreme-poor in the registry"
        )
    counts = result.counts
    print(
        f"\nAccounting: {counts['households_in_registry']:,} registry households = "
        f"{counts['planned']:,} planned + {counts['not_ranked']:,} not ranked "
        f"({', '.join(f'{k} {v:,}' for k, v in counts['not_ranked_by_reason'].items())})"
    )
    print("\nForecast of unreached extreme-poor households, per scenario:")
    print(_table(result.forecast_table))
    if tracking:
        print(f"\nMLflow run {tracking['run_id']} in {tracking['tracking_uri']}")
        print("  champion model: models:/targeting-pmt@champion")
    print(f"\nOutputs in {Path(result.outputs['summary']).parent}/:")
    for key, path in sorted(result.outputs.items()):
        print(f"  {key}: {path}")


# --- synth ------------------------------------------------------------------------------------


def _cmd_synth(args: argparse.Namespace) -> int:
    from targeting.synth import calibration_summary, generate_city, write_city

    city = generate_city(n_households=args.households, seed=args.seed)
    paths = {} if args.no_write else write_city(city, Path(args.output))
    payload: dict[str, Any] = {
        "households": len(city.registry),
        "survey_households": len(city.survey),
        "seed": args.seed,
        "outputs": {k: str(v) for k, v in paths.items()},
    }
    table = calibration_summary(city) if args.summary else None
    if table is not None:
        payload["calibration"] = json.loads(table.to_json(orient="records"))
        payload["all_within_10pct"] = bool(table["within_10pct"].all())
    if args.json:
        _print_json(payload)
        return 0
    print(
        f"Synthetic Kota Serang: {len(city.registry):,} households, "
        f"survey of {len(city.survey):,} (seed {args.seed})"
    )
    for key, path in paths.items():
        print(f"  {key}: {path}")
    if table is not None:
        print("\nCalibration against DESIGN.md §7:")
        print(_table(table))
    return 0


# --- score ------------------------------------------------------------------------------------


def _cmd_score(args: argparse.Namespace) -> int:
    from targeting import schema
    from targeting import tracking as tracking_module
    from targeting.io import read_table, write_table
    from targeting.pmt.interval import score_households
    from targeting.privacy import drop_pii

    raw = read_table(args.registry)
    checked = schema.validate_registry(raw, mode=args.mode)
    model = tracking_module.load_model(args.model, tracking_uri=args.tracking_uri)
    scores = score_households(model, checked.valid[schema.PROXY_COLUMNS], seed=args.seed)
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
        _print_json(payload)
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


# --- doctor -----------------------------------------------------------------------------------


def _cmd_doctor(args: argparse.Namespace) -> int:
    from targeting.doctor import run_checks

    checks = run_checks(tracking_uri=args.tracking_uri)
    healthy = all(c["ok"] or not c["required"] for c in checks)
    if args.json:
        _print_json({"healthy": healthy, "checks": checks})
    else:
        for c in checks:
            mark = "ok " if c["ok"] else ("FAIL" if c["required"] else "warn")
            print(f"[{mark}] {c['check']}: {c['detail']}")
            if not c["ok"] and c.get("fix"):
                print(f"       fix: {c['fix']}")
        print("\nhealthy" if healthy else "\nNOT healthy: fix the FAIL lines above")
    return 0 if healthy else 1


# --- parser -----------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="targeting",
        description="PMT models, verification plans and forecasts toward zero extreme poverty.",
        formatter_class=_Formatter,
        epilog="Example:\n  targeting run experiments/serang-2026.yaml\n"
        "Run 'targeting COMMAND --help' for a command's options.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run the whole cycle (survey → PMT → plan → forecast → MLflow)",
        formatter_class=_Formatter,
        description="Run the whole cycle of an experiment spec and log it to MLflow.",
        epilog="Example:\n  targeting run experiments/serang-2026.yaml --json",
    )
    run.add_argument(
        "spec", nargs="?", default=DEFAULT_SPEC, help=f"experiment spec (default {DEFAULT_SPEC})"
    )
    run.add_argument("--output", help="local output folder (default outputs/<experiment name>)")
    run.add_argument("--tracking-uri", help="MLflow tracking URI (default sqlite:///mlflow.db)")
    run.add_argument(
        "--n-paths", type=int, help="Monte Carlo paths per scenario (default from spec)"
    )
    run.add_argument("--no-tracking", action="store_true", help="do not log to MLflow")
    run.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    run.add_argument(
        "--lang", choices=["id", "en"], default="id", help="report language (default id)"
    )
    run.set_defaults(handler=_cmd_run)

    synth = sub.add_parser(
        "synth",
        help="generate synthetic Kota Serang (survey, registry, truth)",
        formatter_class=_Formatter,
        description="Generate the synthetic city of DESIGN.md §7 as Parquet files.",
        epilog="Example:\n  targeting synth --summary\n"
        "  targeting synth --households 20000 --seed 7 --output data/small",
    )
    synth.add_argument(
        "--households", type=int, default=206_600, help="number of households (default 206600)"
    )
    synth.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    synth.add_argument("--output", default="data/synthetic", help="folder for the Parquet files")
    synth.add_argument(
        "--summary",
        action="store_true",
        help="print each calibration target beside the generated value",
    )
    synth.add_argument(
        "--no-write", action="store_true", help="do not write files (with --summary)"
    )
    synth.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    synth.set_defaults(handler=_cmd_synth)

    score = sub.add_parser(
        "score",
        help="score a registry with a logged model (P(extreme), interval, desil)",
        formatter_class=_Formatter,
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

    doctor = sub.add_parser(
        "doctor",
        help="check the installation, the tracking store and the data files",
        formatter_class=_Formatter,
        description="Check that everything the toolkit needs is in place, and say what is wrong.",
        epilog="Example:\n  targeting doctor",
    )
    doctor.add_argument("--tracking-uri", help="MLflow tracking URI (default sqlite:///mlflow.db)")
    doctor.add_argument("--json", action="store_true", help="print the checks as one JSON object")
    doctor.set_defaults(handler=_cmd_doctor)
    return parser


def _known_errors() -> tuple[type[BaseException], ...]:
    from targeting.io import InputFileError
    from targeting.schema import DataValidationError
    from targeting.spec import SpecError

    return (DataValidationError, SpecError, InputFileError)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``targeting`` command; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
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
        print(f"targeting {args.command}: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        if args.debug:
            traceback.print_exc()
        else:
            print(
                f"targeting {args.command}: {type(exc).__name__}: {exc}\n"
                "(run again with --debug for the traceback)",
                file=sys.stderr,
            )
        return 1


if __name__ == "__main__":
    sys.exit(main())
