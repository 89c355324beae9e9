"""``targeting evaluate``: compare the PMT zoo on one survey (a data spec or the synthetic city).

Cross-validates every model on the same folds (:func:`targeting.evaluation.zoo.evaluate_zoo`),
prints the comparison table, optionally writes the out-of-fold predictions (``--oof``) so that
every figure can be recomputed, and logs a parent run with a nested run per model to MLflow.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from targeting.cli.common import Formatter, print_json, table
from targeting.data.packaged import experiment_path
from targeting.evaluation.provenance import REPORT_SEED

__all__ = ["register"]

SHOWN = [
    "model", "auc", "auc_sd", "brier", "ece", "ece_before", "ee_at_true_share",
    "ee_at_true_share_sd", "ie_at_true_share", "ee_at_10", "ee_at_20", "ee_at_40", "ie_at_20",
    "seconds",
]  # fmt: skip


class _UsageError(Exception):
    """A problem with the command line or the named files (exit code 2)."""


def _load_data(args: argparse.Namespace) -> tuple[Any, bool]:
    """The data and whether they name an area (the sampling unit the folds are grouped by)."""
    if args.data_spec == "synthetic":
        # imported on use, so that 'targeting --help' answers without loading them
        from targeting.evaluation.zoo import synthetic_survey_data

        data = synthetic_survey_data(n_households=args.n_households, seed=args.city_seed)
        return data, True
    from targeting.data.adapters import DataSpecError, load_data_spec, load_dataset

    try:
        # experiments/data/costa-rica.yaml outside the checkout: the packaged copy
        spec = load_data_spec(experiment_path(args.data_spec))
        data = load_dataset(spec)
    except (DataSpecError, FileNotFoundError) as exc:
        raise _UsageError(str(exc)) from exc
    # an engineered adapter (Costa Rica) has regions, not a declared sampling area
    return data, bool(getattr(spec, "group_column", None)) and not getattr(spec, "adapter", None)


def _specs(args: argparse.Namespace) -> list[Any]:
    # imported on use, so that 'targeting --help' answers without loading them
    from targeting.pmt.registry import load_specs

    names = [n.strip() for n in args.models.split(",") if n.strip()] if args.models else None
    try:
        return load_specs(args.models_dir, names=names)
    except (KeyError, FileNotFoundError) as exc:
        raise _UsageError(str(exc).strip("'\"")) from exc


def _cmd_evaluate(args: argparse.Namespace) -> int:
    # imported on use, so that 'targeting --help' answers without loading them
    from targeting.console import Progress
    from targeting.evaluation.zoo import evaluate_zoo

    try:
        if args.repeats < 1 or args.folds < 2:
            raise _UsageError("--repeats must be >= 1 and --folds >= 2")
        specs = _specs(args)
        tracking_uri = args.tracking_uri
        if not args.no_tracking:
            from targeting import tracking as tracking_module
            from targeting.tracking.connectivity import check_reachable

            tracking_uri = tracking_uri or tracking_module.default_tracking_uri()
            check_reachable(tracking_uri)
        start = time.perf_counter()
        progress = Progress(enabled=not args.quiet)
        with progress.step(f"Loading {args.data_spec}"):
            data, has_area = _load_data(args)
        group_by = args.group_by or ("area" if has_area else "household")
        if group_by == "area" and not has_area:
            raise _UsageError(
                "--group-by area needs a data spec with group_column (the survey's area code); "
                "add group_column or use --group-by household"
            )
        result = evaluate_zoo(
            data,
            specs,
            n_splits=args.folds,
            n_repeats=args.repeats,
            seed=args.seed,
            # the grouping decided above (an engineered adapter's regions are not a sampling
            # area: Costa Rica used to be folded by its 6 regions while the output said households)
            group_by=group_by,
            stratify=args.stratify,
            progress=progress,
            primary_metric=args.primary_metric,
            n_jobs=args.jobs,
        )
    except (_UsageError, ValueError) as exc:
        print(f"targeting evaluate: {exc}", file=sys.stderr)
        return 2
    from targeting.evaluation.paired import paired_bootstrap, resampling_units
    from targeting.evaluation.provenance import tuning_notes

    seeds = list(range(args.seed, args.seed + args.repeats))
    tuning = tuning_notes(
        result.data_name, result.table["model"], seeds, group_by, nested=result.nested()
    )
    paired = None
    models = result.table["model"].tolist()
    references = [m for m in ("ols", "plain", "plain_raw") if m in models]
    if args.boot > 0 and references:
        with progress.step(f"Paired bootstrap by {group_by} ({args.boot} draws)"):
            units = resampling_units(result.oof["id"], data.ids, data.groups, group_by)
            paired = paired_bootstrap(result.oof, units, models, references, n_boot=args.boot)
    outputs: dict[str, str] = {}
    if args.oof:
        from targeting.data.io import atomic_path

        with atomic_path(args.oof) as tmp:
            result.oof.to_csv(tmp, index=False)
        outputs["oof"] = str(args.oof)
    tracking: dict[str, Any] = {}
    if not args.no_tracking:
        from targeting.tracking.evaluation import log_evaluation

        with progress.step("Logging to MLflow (parent run, a nested run per model)"):
            tracking = log_evaluation(
                result,
                args.experiment or f"evaluate-{result.data_name}",
                tracking_uri,
                paired=paired,
                tuning=tuning,
            )
    summary = result.summary()
    summary["folds"] = (
        f"grouped by area ({result.params['n_groups']} areas)"
        if group_by == "area"
        else "over households: optimistic (households of one area fall in both training and "
        "test folds; name group_column in the data spec to group by area)"
    )
    summary["paired"] = [] if paired is None else paired.to_dict(orient="records")
    summary["tuning"] = tuning
    summary["outputs"] = outputs
    summary["mlflow"] = tracking
    summary["seconds"] = round(time.perf_counter() - start, 1)
    if args.json:
        print_json(summary)
        return 0
    _print(result, summary)
    return 0


def _print(result: Any, summary: dict[str, Any]) -> None:
    from targeting.evaluation.metrics import greater_is_better

    p = result.params
    print(
        f"\n{result.data_name}: {p['n_households']:,} households, extreme share "
        f"{p['true_share']:.4f}{' (weighted)' if p['weighted'] else ''}; {p['n_repeats']} x "
        f"{p['n_splits']}-fold CV grouped by {p['group_by']} ({p['n_groups']:,} groups)"
        + (", stratified" if p["stratify"] else "")
    )
    print("(metrics on pooled out-of-fold predictions, mean over repeats; _sd across folds)\n")
    print(table(result.table[[c for c in SHOWN if c in result.table.columns]]))
    print(f"\nfolds: {summary['folds']}")
    if summary["paired"]:
        print(
            "\npaired bootstrap (model minus reference, mean over repeats, 95 % interval; "
            "AUC: + is better, EE: - is better):"
        )
        for r in summary["paired"]:
            print(
                f"  {r['model']:<18} vs {r['reference']:<6} {r['metric']:<17} "
                f"{r['difference']:+.3f} [{r['low']:+.3f}, {r['high']:+.3f}]"
            )
    for model, info in summary["tuning"].items():
        print(f"tuned: {model}: {info['settings']}; on {info['tuned_on']}: {info['verdict']}")
        if "inner" in info:
            print(f"nested: {model}: {info['inner']}")
    best = "highest" if greater_is_better(result.primary_metric) else "lowest"
    print(f"\nchampion: {result.champion} ({best} {result.primary_metric})")
    for name, reason in result.skipped.items():
        print(f"skipped {name}: {reason}")
    if "macro_f1_note" in result.notes:
        print(f"note: {result.notes['macro_f1_note']}")
    for key, path in summary["outputs"].items():
        print(f"{key}: {path}")
    if summary["mlflow"]:
        print(f"MLflow run {summary['mlflow']['run_id']} at {summary['mlflow']['tracking_uri']}")
    print(f"total {summary['seconds']:.0f} s")


def register(sub: Any) -> None:
    """Add the ``evaluate`` sub-command to the parser's sub-parsers."""
    from targeting.config.experiment import DEFAULT_N_REPEATS, DEFAULT_N_SPLITS, DEFAULT_STRATIFY

    cmd = sub.add_parser(
        "evaluate",
        help="compare the PMT models on a survey (cross-validated table, OOF file, MLflow)",
        formatter_class=Formatter,
        description=(
            "Cross-validate every model of the zoo on the same folds and print the comparison\n"
            "(AUC, Brier, ECE, exclusion/inclusion error at the true share and 10/20/40 %\n"
            "budgets, each with its spread across folds). Consumption models are skipped when\n"
            "the data have no consumption. Defaults (the protocol of 'targeting run'): all\n"
            "models of models/; 5-fold CV, 1 repeat, from seed 100; folds grouped by area\n"
            "(kelurahan for 'synthetic', the data spec's group_column otherwise), over\n"
            "households only with --group-by household (labelled optimistic). Each model gets a\n"
            "paired bootstrap interval of its AUC and EE difference against ols and plain, and\n"
            "the output says which settings were tuned on which folds. A model spec with a\n"
            "tune: grid (the ensemble's near_weight) is tuned by nested CV: each outer fold\n"
            "chooses by an inner CV on its own training rows, and a line per fold says which."
        ),
        epilog=(
            "Examples:\n"
            "  targeting evaluate --data-spec experiments/data/costa-rica.yaml --json\n"
            "  targeting evaluate --data-spec synthetic --models ols,logit,ensemble,plain\n"
            "  targeting evaluate --data-spec my-survey.yaml --group-by area --oof oof.csv"
        ),
    )
    cmd.add_argument(
        "--data-spec",
        required=True,
        metavar="FILE",
        help="a data spec YAML (see targeting.config.dataset), or 'synthetic' for the "
        "embedded synthetic Serang survey (consumption label, groups = kelurahan)",
    )
    cmd.add_argument("--models", help="comma-separated model names (default: every spec)")
    cmd.add_argument(
        "--models-dir",
        help="folder of model specs that override the packaged ones (default: models/ if present)",
    )
    cmd.add_argument(
        "--repeats",
        type=int,
        default=DEFAULT_N_REPEATS,
        help=f"CV repeats (default {DEFAULT_N_REPEATS})",
    )
    cmd.add_argument(
        "--folds",
        type=int,
        default=DEFAULT_N_SPLITS,
        help=f"folds per repeat (default {DEFAULT_N_SPLITS})",
    )
    cmd.add_argument(
        "--group-by",
        choices=["household", "area"],
        help="fold grouping (default: area whenever the data name one, i.e. a data spec's "
        "group_column or synthetic's kelurahan; household folds are optimistic)",
    )
    cmd.add_argument(
        "--seed",
        type=int,
        default=REPORT_SEED,
        help=f"CV seed, repeat r uses seed + r (default {REPORT_SEED}: disjoint from the fold "
        "seeds any model setting was tuned on)",
    )
    cmd.add_argument(
        "--boot",
        type=int,
        default=1000,
        help="paired bootstrap draws for the differences against ols and plain (0: none)",
    )
    cmd.add_argument(
        "--stratify",
        action="store_true",
        default=DEFAULT_STRATIFY,
        help="balance the extreme share across folds (groups are still never split)",
    )
    cmd.add_argument(
        "--jobs",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="parallel processes over model x repeat (default: 2, or 1 on a 1-core machine)",
    )
    cmd.add_argument(
        "--primary-metric",
        default="ee_at_true_share",
        help="champion criterion (default ee_at_true_share, lower is better)",
    )
    cmd.add_argument(
        "--oof", metavar="FILE", help="write the out-of-fold predictions (CSV) to FILE"
    )
    cmd.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    cmd.add_argument("--tracking-uri", help="MLflow tracking URI (default sqlite:///mlflow.db)")
    cmd.add_argument("--experiment", help="MLflow experiment (default evaluate-<data name>)")
    cmd.add_argument("--no-tracking", action="store_true", help="do not log to MLflow")
    cmd.add_argument("--quiet", action="store_true", help="no progress lines")
    cmd.add_argument(
        "--n-households",
        type=int,
        default=206_600,
        help="synthetic only: households of the generated city (default 206,600)",
    )
    cmd.add_argument("--city-seed", type=int, default=2026, help="synthetic only: generator seed")
    cmd.set_defaults(handler=_cmd_evaluate)
