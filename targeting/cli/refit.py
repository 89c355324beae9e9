"""``targeting refit``: recalibrate the champion on verified outcomes and promote it."""

from __future__ import annotations

import argparse
from typing import Any

from targeting.cli.common import DEFAULT_SPEC, Formatter, load_spec, print_json
from targeting.cli.ingest import state_folder

__all__ = ["register"]


def _cmd_refit(args: argparse.Namespace) -> int:
    # the pipeline imports scikit-learn: imported when the command runs, so that
    # 'targeting --help' and argument errors answer at once
    from targeting.data.outputs import OutputSet
    from targeting.pipeline import refit_experiment
    from targeting.tracking import champion_uri

    spec = load_spec(args.spec)
    folder = state_folder(args)
    # scores.parquet is replaced under the state folder's lock, and only once the new model is
    # logged: a failed logging leaves the state as it was
    with OutputSet(folder) as outset:
        result = refit_experiment(
            spec,
            folder,
            model_uri=args.model or champion_uri(spec.name),
            fit=args.fit,
            registry=args.registry,
            method=args.method,
            group_offsets=not args.no_group_offsets,
            n_boot=args.n_boot,
            tracking_uri=args.tracking_uri,
            staging=outset,
        )
        tracking_out: dict[str, Any] = {}
        if not args.no_tracking:
            from targeting.tracking.feedback import log_refit

            tracking_out = log_refit(
                result.model,
                result.metrics,
                result.input_example,
                experiment=spec.name,
                tracking_uri=args.tracking_uri,
                params=result.params,
            )
        outset.commit()
    metrics = result.metrics
    payload = {"state": str(folder), "metrics": metrics, "mlflow": tracking_out}
    if args.json:
        print_json(payload)
        return 0
    print(
        f"Recalibrated {result.params['base']} on {metrics['n_labels']:,} verified households "
        f"({metrics['n_labels_extreme']:,} extremely poor; slope "
        f"{'fitted' if result.params['slope_fitted'] else 'fixed'})"
    )
    print(
        f"  realised hit rate {metrics['realised_hit_rate']:.3f}; predicted before "
        f"{metrics['predicted_hit_rate_before']:.3f}, "
        f"after {metrics['predicted_hit_rate_after']:.3f}"
    )
    print(
        "  calibration intercept/slope before "
        f"{metrics['calibration_intercept_before']:.2f}/{metrics['calibration_slope_before']:.2f}"
        f", after {metrics['calibration_intercept_after']:.2f}/"
        f"{metrics['calibration_slope_after']:.2f} (ideal 0/1; in-sample)"
    )
    print(
        f"  expected unreached extreme-poor after recalibration: "
        f"{metrics['expected_unreached_extreme_after']:,.0f} (90 % "
        f"{metrics['expected_unreached_extreme_after_low']:,.0f}–"
        f"{metrics['expected_unreached_extreme_after_high']:,.0f}); "
        f"scores -> {folder}/scores.parquet"
    )
    if tracking_out:
        print(
            f"  MLflow run {tracking_out['run_id']}: {tracking_out['model_name']} version "
            f"{tracking_out['champion_version']} is @champion"
            + (
                f" (previous @previous-champion: {tracking_out['previous_champion_version']})"
                if tracking_out.get("previous_champion_version")
                else ""
            )
        )
    return 0


def register(sub: Any) -> None:
    """Add the ``refit`` sub-command to the parser's sub-parsers."""
    refit = sub.add_parser(
        "refit",
        help="recalibrate the champion on verified outcomes and promote it in MLflow",
        formatter_class=Formatter,
        description=(
            "Use the verified outcomes in the state folder as labels: recalibrate the champion "
            "(logistic map of its log-odds with a prior toward the identity, plus shrunk "
            "kelurahan offsets), re-score the registry into scores.parquet, and register the "
            "new model as <experiment>-pmt@champion (the old one becomes @previous-champion)."
        ),
        epilog="Example:\n"
        "  targeting refit experiments/serang-2026.yaml --state outputs/serang-2026",
    )
    refit.add_argument(
        "spec", nargs="?", default=DEFAULT_SPEC, help=f"experiment spec (default {DEFAULT_SPEC})"
    )
    refit.add_argument("--state", help="state folder (default outputs/<experiment name>)")
    refit.add_argument(
        "--registry", help="registry file with the proxies (default: the spec's data)"
    )
    refit.add_argument(
        "--model",
        default=None,
        help="MLflow URI of the model to recalibrate (default models:/<experiment>-pmt@champion)",
    )
    refit.add_argument(
        "--fit", metavar="MODEL", help="instead of loading from MLflow, fit this model spec"
    )
    refit.add_argument("--method", choices=["platt", "intercept"], default="platt")
    refit.add_argument(
        "--no-group-offsets",
        action="store_true",
        help="one map for the city (no kelurahan offsets)",
    )
    refit.add_argument("--n-boot", type=int, default=200, help="interval draws when re-scoring")
    refit.add_argument("--tracking-uri", help="MLflow tracking URI (default sqlite:///mlflow.db)")
    refit.add_argument("--no-tracking", action="store_true", help="do not log to MLflow")
    refit.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    refit.set_defaults(handler=_cmd_refit)
