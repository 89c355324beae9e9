"""``targeting run``: the whole cycle of an experiment spec."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from targeting.cli.common import DEFAULT_SPEC, Formatter, load_spec, print_json, table

__all__ = ["register"]


def _cmd_run(args: argparse.Namespace) -> int:
    # imported on use, so that 'targeting --help' answers without loading them
    from targeting.console import Progress

    # command-line numbers are checked by the spec's own types, and every problem of the spec
    # and its model specs fails here, before any data is read; the spec is checked before the
    # pipeline (scikit-learn, statsmodels) is imported, so a typo answers in a second
    spec = load_spec(args.spec).with_overrides(
        {"forecast.n_paths": args.n_paths}, {"forecast.n_paths": "--n-paths"}
    )
    from targeting.pmt.registry import load_specs

    # the model specs against their estimators (a parameter typo), before the whole pipeline
    load_specs(names=spec.models, spec_path=spec.path)
    from targeting.pipeline import check_experiment

    check_experiment(spec)
    tracking_uri = args.tracking_uri
    if not args.no_tracking:
        from targeting import tracking as tracking_module
        from targeting.tracking.connectivity import check_reachable, offline_uri

        # fail in seconds, before any work, when a tracking server is named but not there
        tracking_uri = (
            offline_uri()
            if args.offline
            else (tracking_uri or tracking_module.default_tracking_uri())
        )
        check_reachable(tracking_uri)
    from targeting.data.outputs import RUN_DROPS, OutputSet
    from targeting.pipeline import output_dir

    # load, one CV per model, fit, score, plan, forecast, capacity search, write, report,
    # and the MLflow logging when tracking
    steps = 8 + len(spec.models) + (0 if args.no_tracking else 1)
    progress = Progress(total=steps, enabled=not args.quiet)
    with OutputSet(output_dir(spec, args.output), drop=RUN_DROPS) as outset:
        result, tracking = _run_in(outset, spec, args, progress, tracking_uri)
        outset.commit()
    summary = result.summary()
    summary["mlflow"] = tracking
    if args.json:
        print_json(summary)
        return 0
    _print_summary(result, tracking)
    return 0


def _run_in(
    outset: Any, spec: Any, args: argparse.Namespace, progress: Any, tracking_uri: str | None
) -> tuple[Any, dict[str, Any]]:
    """The cycle, its MLflow logging and its report, all written into one output set."""
    from targeting.pipeline import run_cycle

    result = run_cycle(
        spec,
        output=args.output,
        progress=progress,
        n_paths=args.n_paths,
        state=args.state,
        fresh=args.fresh,
        start=args.start,
        staging=outset,
    )
    tracking: dict[str, Any] = {}
    if args.no_tracking:
        _write_report(outset, result, args, tracking, progress)
        return result, tracking
    from targeting import tracking as tracking_module

    with progress.step("Logging to MLflow (runs, metrics, plots, champion model)"):
        tracking = tracking_module.log_cycle(
            result, tracking_uri=tracking_uri, promote_models=False
        )
    try:
        _write_report(outset, result, args, tracking, progress)
        # @champion moves only once everything of the run is logged, the report included
        tracking_module.promote(tracking)
    except BaseException:
        tracking_module.mark_failed(tracking["run_id"], tracking["tracking_uri"])
        raise
    return result, tracking


def _write_report(
    outset: Any, result: Any, args: argparse.Namespace, tracking: dict[str, Any], progress: Any
) -> None:
    """Write the planner's report into the output set and attach it to the MLflow run."""
    from targeting.report.data import build_report_data, write_report_data
    from targeting.report.render import render_report, write_report

    with progress.step("Writing the planner's report"):
        report_data = build_report_data(result, run_id=tracking.get("run_id"))
        out_dir = outset.staging
        data_path = write_report_data(out_dir / "report_data.json", report_data)
        report_path = write_report(
            out_dir / f"report_{args.lang}.html", render_report(report_data, lang=args.lang)
        )
        result.outputs["report_data"] = outset.final(data_path)
        result.outputs["report"] = outset.final(report_path)
        if tracking:
            _log_public_report(result, report_data, report_path, tracking, args.lang)


def _log_public_report(
    result: Any, data: dict[str, Any], report_path: Path, tracking: dict[str, Any], lang: str
) -> None:
    """Attach the report to the MLflow run, area names the city profile does not list replaced
    by their pseudonyms (then the HTML is rendered again from the pseudonymised data); the local
    report keeps the names a planner reads."""
    import tempfile

    from targeting.report.render import render_report, write_report
    from targeting.tracking import area_pseudonyms
    from targeting.tracking.report import log_report

    areas = area_pseudonyms(result.registry_status, result.plan.plan)
    if not areas.mapping:
        log_report(tracking["run_id"], data, report_path, tracking["tracking_uri"])
        return
    public = areas.json(data)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_report(Path(tmp) / report_path.name, render_report(public, lang=lang))
        log_report(tracking["run_id"], public, path, tracking["tracking_uri"])


def _print_summary(result: Any, tracking: dict[str, Any]) -> None:
    # imported on use, so that 'targeting --help' answers without loading them
    from targeting.evaluation.metrics import HEADLINE_METRICS

    spec = result.spec
    print(f"\nExperiment {spec.name} (seed {spec.seed}, spec {spec.spec_hash})")
    print(
        f"\nPMT models, grouped {spec.evaluation.n_splits}-fold CV by "
        f"{spec.evaluation.group} (pooled out-of-fold):"
    )
    cols = [c for c in ["model", *HEADLINE_METRICS] if c in result.model_table]
    print(table(result.model_table[cols]))
    print(
        f"champion by {spec.primary_metric}: {result.champion}"
        + (f"; challenger: {result.challenger}" if result.challenger else "")
    )
    learning = getattr(result, "field_learning", None) or {}
    if learning:
        stock = result.unreached_stock
        print(
            f"the plan's model: {result.champion} {learning['description']}; unreached "
            f"extreme-poor {stock['estimate']:,.0f} (90 % {stock['low']:,.0f}–"
            f"{stock['high']:,.0f}; the survey model alone "
            f"{learning['survey_only_stock']['estimate']:,.0f})"
        )
    plan = result.plan.summary()
    print("\nVerification plan:")
    for key, value in plan.items():
        if isinstance(value, float):
            print(f"  {key}: {value:,.3f}" if abs(value) < 10 else f"  {key}: {value:,.1f}")
        else:
            print(f"  {key}: {value}")
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
    if counts.get("left_registry"):
        print(
            f"  {counts['left_registry']:,} household(s) of the previous registry are no longer in "
            "it (left_registry.csv; their recorded visits stay in the ledger)"
        )
    print(
        f"Plan id {result.plan_id} ({result.cycle.get('first_visit_date')} to "
        f"{result.cycle.get('last_visit_date')}): ingest the filled verification_plan.xlsx of "
        "this plan with 'targeting ingest'."
    )
    print(
        "Personal data (names, NIKs, addresses) is only in plan.csv, verification_plan.xlsx and "
        "rejected.csv; store and destroy them by the rules."
    )
    forecast = result.forecast_table
    deadline = forecast["deadline"].iloc[0] if "deadline" in forecast and len(forecast) else ""
    print(
        f"\nForecast of unreached extreme-poor households, per scenario "
        f"(P(goal) = P(zero by {deadline}), ± its Monte Carlo error; all columns in "
        "forecast_summary.csv):"
    )
    shown = [
        c
        for c in [
            "scenario",
            "p_goal",
            "p_goal_se",
            "p_near_zero",
            "median_goal_month",
            "start_stock_median",
            "deadline_stock_median",
            "end_q05",
            "end_q95",
        ]
        if c in forecast
    ]
    frame = forecast[shown].copy()
    if "median_goal_month" in frame:
        month = frame["median_goal_month"].astype(object)
        frame["median_goal_month"] = month.where(month.notna(), "not by end")
    print(table(frame))
    if tracking:
        print(f"\nMLflow run {tracking['run_id']} in {tracking['tracking_uri']}")
        print(f"  champion model: models:/{tracking['model_name']}@champion")
    print(f"\nOutputs in {Path(result.outputs['summary']).parent}/:")
    for key, path in sorted(result.outputs.items()):
        print(f"  {key}: {path}")


def register(sub: Any) -> None:
    """Add the ``run`` sub-command to the parser's sub-parsers."""
    run = sub.add_parser(
        "run",
        help="run the whole cycle (survey → PMT → plan → forecast → MLflow)",
        formatter_class=Formatter,
        description="Run the whole cycle of an experiment spec and log it to MLflow.",
        epilog="Example:\n  targeting run experiments/serang-2026.yaml --json",
    )
    run.add_argument(
        "spec", nargs="?", default=DEFAULT_SPEC, help=f"experiment spec (default {DEFAULT_SPEC})"
    )
    run.add_argument("--output", help="local output folder (default outputs/<experiment name>)")
    run.add_argument(
        "--state",
        help="working state to continue from (default: the output folder): verified households "
        "are not planned again; see README 'The monthly cycle'",
    )
    run.add_argument(
        "--fresh",
        action="store_true",
        help="ignore the working state and plan as if nobody had been visited",
    )
    run.add_argument(
        "--start",
        help="first plan day YYYY-MM-DD (default: the day after the last plan once its results "
        "were ingested, else plan.start_date)",
    )
    run.add_argument("--tracking-uri", help="MLflow tracking URI (default sqlite:///mlflow.db)")
    run.add_argument(
        "--n-paths", type=int, help="Monte Carlo paths per scenario (default from spec)"
    )
    run.add_argument("--no-tracking", action="store_true", help="do not log to MLflow")
    run.add_argument(
        "--offline",
        action="store_true",
        help="record in the local store sqlite:///mlflow.db, never a tracking server",
    )
    run.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    run.add_argument(
        "--lang", choices=["id", "en"], default="id", help="report language (default id)"
    )
    run.set_defaults(handler=_cmd_run)
