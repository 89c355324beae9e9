"""``targeting forecast``: the monthly forecast toward zero under the spec's scenarios."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

from targeting.cli.common import DEFAULT_SPEC, Formatter, load_spec, print_json, table

__all__ = ["register"]


def _cmd_forecast(args: argparse.Namespace) -> int:
    # the pipeline and tracking import scikit-learn and statsmodels: imported when the command
    # runs, so that 'targeting --help' and argument errors answer at once
    from targeting.console import Progress
    from targeting.pipeline import forecast_experiment

    # command-line numbers are checked by the spec's own types, before any work
    spec = load_spec(args.spec).with_overrides(
        {
            "forecast.n_paths": args.n_paths,
            "seed": args.seed,
            "forecast.capacity_search.n_paths": args.capacity_paths,
        },
        {
            "forecast.n_paths": "--n-paths",
            "seed": "--seed",
            "forecast.capacity_search.n_paths": "--capacity-paths",
        },
    )
    n_scen = len(spec.forecast.scenarios or [1])
    ranking = {sc.model for sc in spec.forecast.scenarios if sc.model}
    steps = 5 + len(spec.models) * (args.model is None) + 2 * n_scen + len(ranking)
    steps += int(args.calibrate) + int(not args.no_tracking)
    progress = Progress(total=steps, enabled=not args.quiet)
    run = forecast_experiment(
        spec,
        output=args.output,
        model=args.model,
        tracking_uri=args.tracking_uri,
        calibrate=args.calibrate,
        progress=progress,
    )
    tracking: dict[str, Any] = {}
    if not args.no_tracking:
        from targeting.tracking.forecast import log_forecast

        with progress.step("Logging to MLflow (parent run, a nested run per scenario)"):
            tracking = log_forecast(run, tracking_uri=args.tracking_uri)
    summary = run.summary()
    summary["mlflow"] = tracking
    if args.json:
        print_json(summary)
        return 0
    _print(run, tracking)
    return 0


def _print(run: Any, tracking: dict[str, Any]) -> None:
    s = run.summary()
    print(
        f"\nForecast {s['experiment']} (seed {s['seed']}, {s['n_paths']:,} paths per scenario, "
        f"data vintage {s['data_vintage']}, scored by {s['scoring_model']}: "
        f"{s['scoring_model_how']})"
    )
    print(
        f"expected unreached extreme-poor households at the start: {s['start_stock_expected']:,.0f}"
    )
    t = run.table.copy()
    t["P(goal)"] = [f"{p:.3f} ± {e:.3f}" for p, e in zip(t["p_goal"], t["p_goal_se"], strict=True)]
    t["P(near zero)"] = [
        f"{p:.3f} ± {e:.3f}" for p, e in zip(t["p_near_zero"], t["p_near_zero_se"], strict=True)
    ]
    t["median goal month"] = t["median_goal_month"].fillna("beyond horizon")
    cols = [
        "scenario",
        "model",
        "P(goal)",
        "P(near zero)",
        "median goal month",
        "deadline_stock_median",
        "end_q05",
        "end_q50",
        "end_q95",
    ]
    print(
        f"\nPer scenario (goal: city stock <= tolerance in {t['deadline'].iloc[0]}; "
        "near zero: <= 5 % of the start):"
    )
    print(table(t[[c for c in cols if c in t]], floatfmt="{:,.0f}"))
    cap = pd.DataFrame(run.capacity)
    cap["needed"] = [
        f"unreachable ≤ {m:g}" if pd.isna(v) else f"{v:g}"
        for v, m in zip(cap["value"], cap["max_value"], strict=True)
    ]
    wide = cap.pivot_table(
        index="scenario",
        columns=["goal", "parameter"],
        values="needed",
        aggfunc="first",
        sort=False,
    )
    wide.columns = [f"{g}: {p}" for g, p in wide.columns]
    print(
        f"\nCapacity for a {cap['target_p'].iloc[0]:.0%} chance "
        f"(search under CRN, {cap['n_paths'].iloc[0]:,} paths):"
    )
    print(wide.reset_index().to_string(index=False))
    print(f"\nTornado ({run.scenarios[0].name}, metric {run.tornado_metric}):")
    print(table(run.tornado[["parameter", "low", "high", "value_low", "value_high", "swing"]]))
    if run.calibration is not None:
        print("\nCalibration to Kota Serang 2023 (rejection ABC; posterior quantiles):")
        print(table(run.calibration.table()))
        for note in run.calibration.notes:
            print(f"  note: {note}")
    if tracking:
        print(f"\nMLflow run {tracking['run_id']} in {tracking['tracking_uri']}")
    print(f"\nOutputs in {Path(next(iter(run.outputs.values()))).parent}/")


def register(sub: Any) -> None:
    """Add the ``forecast`` sub-command to the parser's sub-parsers."""
    p = sub.add_parser(
        "forecast",
        help="forecast the unreached stock toward zero under the spec's scenarios",
        formatter_class=Formatter,
        description=(
            "Score the registry, then simulate month by month the unreached extreme-poor "
            "households under every scenario of the spec's forecast: block (common random "
            "numbers), with P(goal) and its Monte Carlo error, the median goal month, the "
            "capacity needed for an 80 % chance, a tornado of the uncertain parameters and, "
            "with --calibrate, their calibration to Kota Serang 2023 (rejection ABC)."
        ),
        epilog=(
            "Examples:\n  targeting forecast experiments/serang-2026.yaml --json\n"
            "  targeting forecast experiments/serang-2026-scenarios.yaml --calibrate\n"
            "  targeting forecast --model models:/serang-2026-pmt@champion --n-paths 5000"
        ),
    )
    p.add_argument(
        "spec", nargs="?", default=DEFAULT_SPEC, help=f"experiment spec (default {DEFAULT_SPEC})"
    )
    p.add_argument("--n-paths", type=int, help="Monte Carlo paths per scenario (default from spec)")
    p.add_argument("--seed", type=int, help="seed of the common random numbers (default spec seed)")
    p.add_argument(
        "--model",
        help="scoring model: a models/ name (no CV), or models:/serang-2026-pmt@champion; "
        "default: the cross-validated champion of the spec's models",
    )
    p.add_argument(
        "--capacity-paths", type=int, help="paths per capacity-search and tornado evaluation"
    )
    p.add_argument(
        "--calibrate", action="store_true", help="also calibrate the rates to Kota Serang 2023"
    )
    p.add_argument("--output", help="output folder (default outputs/<experiment name>)")
    p.add_argument("--tracking-uri", help="MLflow tracking URI (default sqlite:///mlflow.db)")
    p.add_argument("--no-tracking", action="store_true", help="do not log to MLflow")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(handler=_cmd_forecast)
