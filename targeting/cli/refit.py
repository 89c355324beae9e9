"""``targeting refit``: recalibrate the champion on verified outcomes and promote it."""

from __future__ import annotations

import argparse
from typing import Any

from targeting.cli.common import DEFAULT_SPEC, Formatter, print_json
from targeting.cli.ingest import state_folder

__all__ = ["register"]


def _input_example(seed: int, group_column: str | None):
    """Five synthetic rows of what the recalibrated model takes (never registry rows)."""
    from targeting.data import schema
    from targeting.data.synthetic import generate_city

    city = generate_city(n_households=2_000, seed=seed + 1, survey_fraction=0.05)
    cols = list(schema.PROXY_COLUMNS) + ([group_column] if group_column else [])
    return city.survey[cols].head(5).reset_index(drop=True)


def _cmd_refit(args: argparse.Namespace) -> int:
    import numpy as np

    from targeting.config.experiment import load_experiment_spec
    from targeting.data import schema, state
    from targeting.data.eligibility import eligible_for_ranking
    from targeting.data.io import read_table
    from targeting.feedback import ingest as feedback
    from targeting.feedback import rounds as loop
    from targeting.pipeline import load_cycle_data
    from targeting.pmt.recalibrated import RecalibratedPMT
    from targeting.pmt.scoring import score_households

    spec = load_experiment_spec(args.spec)
    folder = state_folder(args)
    ledger = state.read_ledger(folder)
    if ledger is None or not len(ledger):
        raise ValueError(f"no outcomes ingested in {folder}: run 'targeting ingest' first")
    survey = None
    if args.registry:
        registry = schema.validate_registry(read_table(args.registry), mode="quarantine").valid
    else:
        data = load_cycle_data(spec)
        registry, survey = data.registry, data.survey
    registry = feedback.apply_ledger(registry.drop(columns=[], errors="ignore"), ledger)
    if args.fit:
        if survey is None:
            survey = load_cycle_data(spec).survey
        base = loop.fit_champion(survey, args.fit, seed=spec.seed, line=spec.extreme_line)
        base_label = f"{args.fit} fitted on the survey"
    else:
        from targeting import tracking

        base = tracking.load_model(args.model, tracking_uri=args.tracking_uri)
        base_label = args.model
    if isinstance(base, RecalibratedPMT):  # recalibrations do not stack: start from the survey fit
        base = base.base_
    group = None if args.no_group_offsets else "kelurahan"
    model = loop.refit_on_labels(base, registry, method=args.method, group_column=group)
    if model is None:
        raise ValueError(
            "the verified households are all of one class: at least one verified_extreme and "
            "one verified_not_extreme are needed to recalibrate"
        )
    labels = feedback.verified_labels(registry)
    y = labels["label"].to_numpy(dtype=float)
    p_before = base.predict_proba(labels[schema.PROXY_COLUMNS])[:, 1]
    p_after = model.predict_proba(loop.model_input(labels, group))[:, 1]
    a0, b0 = feedback.calibration_line(p_before, y)
    a1, b1 = feedback.calibration_line(p_after, y)
    metrics = {
        "n_labels": len(y),
        "n_labels_extreme": int(y.sum()),
        "realised_hit_rate": float(y.mean()),
        "predicted_hit_rate_before": float(p_before.mean()),
        "predicted_hit_rate_after": float(p_after.mean()),
        "calibration_intercept_before": a0,
        "calibration_slope_before": b0,
        "calibration_intercept_after": a1,
        "calibration_slope_after": b1,
        "recalibration_intercept": float(model.coef_[0]),
        "recalibration_slope": float(model.coef_[1]),
    }
    scores = score_households(
        model, loop.model_input(registry, group), n_boot=args.n_boot, seed=spec.seed
    )
    scores.index = registry["household_id"].astype(str).to_numpy()
    scores.index.name = "household_id"
    state.write_scores(scores, folder)
    eligible = eligible_for_ranking(registry)
    metrics["expected_unreached_extreme_after"] = float(
        np.nansum(scores["p_extreme"].to_numpy()[eligible.to_numpy()])
    )
    tracking_out: dict[str, Any] = {}
    if not args.no_tracking:
        from targeting.tracking.feedback import log_refit

        tracking_out = log_refit(
            model,
            metrics,
            _input_example(spec.seed, group),
            experiment=spec.name,
            tracking_uri=args.tracking_uri,
            params={
                "method": args.method,
                "group_offsets": group is not None,
                "base": base_label,
                "slope_fitted": model.slope_fitted_,
                "prior_strength": model.prior_strength,
                "group_strength": model.group_strength,
            },
        )
    payload = {"state": str(folder), "metrics": metrics, "mlflow": tracking_out}
    if args.json:
        print_json(payload)
        return 0
    print(
        f"Recalibrated {base_label} on {len(y):,} verified households "
        f"({int(y.sum()):,} extremely poor; slope {'fitted' if model.slope_fitted_ else 'fixed'})"
    )
    print(
        f"  realised hit rate {metrics['realised_hit_rate']:.3f}; predicted before "
        f"{metrics['predicted_hit_rate_before']:.3f}, "
        f"after {metrics['predicted_hit_rate_after']:.3f}"
    )
    print(
        f"  calibration intercept/slope before {a0:.2f}/{b0:.2f}, after {a1:.2f}/{b1:.2f} "
        "(ideal 0/1; in-sample)"
    )
    print(
        f"  expected unreached extreme-poor after recalibration: "
        f"{metrics['expected_unreached_extreme_after']:,.0f}; scores -> {folder}/scores.parquet"
    )
    if tracking_out:
        print(
            f"  MLflow run {tracking_out['run_id']}: targeting-pmt version "
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
            "new model as targeting-pmt@champion (the old one becomes @previous-champion)."
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
        default="models:/targeting-pmt@champion",
        help="MLflow URI of the model to recalibrate (default the champion)",
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
