"""Audit-sample design estimate on synthetic Serang: bias, interval width and coverage by round.

For each seed of the city: fit the champion (ols) on the survey, run ``simulate_rounds`` with an
audit sample of ``--share`` of every plan's visits, and compare the design estimate of the
unreached extreme-poor stock with the truth, at each round's start (that round's audit only) and
after each round (all rounds so far combined, finds subtracted). Also prints the model's
``Σ p_extreme`` at each round's start, the predicted vs realised hit rate and the true hit rate
with vs without feedback.

Run (full city, default capacity, 3 rounds):

    PYTHONPATH=. python benchmarks/audit_design.py --seeds 1 2 3 --rounds 3 --out a.csv

and ``--from-csv a.csv b.csv`` prints the tables of earlier runs' rows together (seeds run in two
processes side by side).

The field simulator's default error is an assessment error near the line (``--assessment-sd``,
default 0.04; ``0`` records the truth); ``--misclassified`` adds a uniform error on every visit
(default 0; the former default 5 % inflated the design estimate several times over). The design
estimate targets the *recorded* stock; the table compares it with the *true* one. Per round the
summary also gives the predicted vs realised hit rate (predicted / realised − 1, and how many
seeds are within ±10 %) and the true hit rate with vs without feedback (mean of the per-seed
ratios, and the ratio of the mean rates).

The refit is ``refit_on_labels``'s default: kelurahan offsets shrunk by empirical Bayes
(``--group-strength auto``; a number fixes the prior precision, 100 was the former default),
with the survey's kelurahan effects on log consumption as their covariate (off with
``--no-survey-effects``), acting above the base model's floor of transitory poverty, and
proxy terms that reorder households within a kelurahan (``--feature-strength auto``, their
prior precision by empirical Bayes; ``none`` turns them off, a number fixes it).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from targeting.data import schema
from targeting.data.synthetic import DEFAULT_ASSESSMENT_SD, generate_city
from targeting.feedback.rounds import (
    DEFAULT_FADE_OFFSETS,
    DEFAULT_FEATURE_STRENGTH,
    DEFAULT_GROUP_STRENGTH,
    DESIGN_STOCK_COLUMNS,
    fit_champion,
    simulate_rounds,
)
from targeting.plan.ranking import PlanCapacity


def _strength(value: str) -> float | str:
    return value if value == "auto" else float(value)


def one_seed(args: argparse.Namespace, seed: int) -> pd.DataFrame:
    city = generate_city(n_households=args.households, seed=seed)
    registry = schema.validate_registry(city.registry, mode="quarantine").valid
    survey = schema.validate_survey(city.survey, mode="strict").valid
    base = fit_champion(survey, "ols", seed=seed)
    result = simulate_rounds(
        registry,
        city.truth,
        base,
        PlanCapacity(),
        rounds=args.rounds,
        seed=seed,
        audit_share=args.share,
        support=args.support,
        refit_params={
            "knots": tuple(args.knots),
            "fade_offsets": args.fade_offsets,
            "support_quantile": args.support_quantile,
            "group_strength": _strength(args.group_strength),
            "feature_strength": (
                None if args.feature_strength == "none" else _strength(args.feature_strength)
            ),
            # None: the offsets learn from the field labels alone
            **({"group_covariate": None} if args.no_survey_effects else {}),
        },
        survey=survey,
        simulator_params={
            "p_misclassified": args.misclassified,
            "assessment_sd": args.assessment_sd,
        },
    )
    return result.table.assign(seed=seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--households", type=int, default=206_600)
    parser.add_argument("--share", type=float, default=0.05)
    parser.add_argument("--misclassified", type=float, default=0.0)
    parser.add_argument("--assessment-sd", type=float, default=DEFAULT_ASSESSMENT_SD)
    parser.add_argument("--support", choices=["visited", "everywhere"], default="visited")
    parser.add_argument(
        "--knots", type=float, nargs="*", default=[], help="hinge knots (label quantiles)"
    )
    parser.add_argument("--support-quantile", type=float, default=0.05)
    parser.add_argument(
        "--group-strength",
        default=str(DEFAULT_GROUP_STRENGTH),
        help="precision of the kelurahan offsets' prior, or 'auto' (empirical Bayes, default)",
    )
    parser.add_argument(
        "--feature-strength",
        default=str(DEFAULT_FEATURE_STRENGTH).lower(),
        help="precision of the proxy terms' prior, 'auto' (empirical Bayes, default) or 'none'",
    )
    parser.add_argument(
        "--no-survey-effects",
        action="store_true",
        help="the refit does not use the survey's kelurahan effects as the offsets' covariate",
    )
    # the refit's default (DEFAULT_FADE_OFFSETS) fades the offsets again since the proxy terms;
    # --keep-offsets is the default of the third session, both run benchmarks/README.md's commands
    offsets = parser.add_mutually_exclusive_group()
    offsets.add_argument(
        "--fade-offsets",
        dest="fade_offsets",
        action="store_true",
        default=DEFAULT_FADE_OFFSETS,
        help="offsets and proxy terms fade below the labels' range with the map (default)",
    )
    offsets.add_argument(
        "--keep-offsets",
        dest="fade_offsets",
        action="store_false",
        help="kelurahan offsets and proxy terms apply to the whole kelurahan (third session)",
    )
    parser.add_argument("--out", help="CSV to write the per-round rows to after every seed")
    parser.add_argument(
        "--from-csv",
        nargs="+",
        help="summarise the rows of earlier --out CSVs (e.g. two processes' seeds) without running",
    )
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="also print the tables as benchmarks/README.md has them",
    )
    args = parser.parse_args()
    if args.from_csv:
        # Seeds are run in separate processes to use both cores; the summary needs them together.
        frame = pd.concat([pd.read_csv(path) for path in args.from_csv], ignore_index=True)
        frame = frame.sort_values(["seed", "round"], ignore_index=True)
    else:
        tables = []
        for seed in args.seeds:
            t0 = time.perf_counter()
            tables.append(one_seed(args, seed))
            print(f"seed {seed}: {time.perf_counter() - t0:.0f} s", flush=True)
            if args.out:
                pd.concat(tables, ignore_index=True).to_csv(args.out, index=False)
        frame = pd.concat(tables, ignore_index=True)
    frame["covered_at_start"] = (
        frame["design_low_at_start"] <= frame["unreached_extreme_at_start"]
    ) & (frame["unreached_extreme_at_start"] <= frame["design_high_at_start"])
    frame["covered_after"] = (frame["design_low_after"] <= frame["unreached_extreme_after"]) & (
        frame["unreached_extreme_after"] <= frame["design_high_after"]
    )
    frame["rel_error_after"] = frame["design_estimate_after"] / frame["unreached_extreme_after"] - 1
    frame["rel_error_model_start"] = (
        frame["model_estimate_at_start"] / frame["unreached_extreme_at_start"] - 1
    )
    frame["width_after"] = frame["design_high_after"] - frame["design_low_after"]
    frame["finds_ratio"] = frame["true_hit_rate"] / frame["true_hit_rate_without_feedback"]
    frame["hit_rate_error"] = frame["predicted_hit_rate"] / frame["realised_hit_rate"] - 1
    frame["hit_rate_within_10pct"] = frame["hit_rate_error"].abs() <= 0.10
    cols = [
        "seed",
        "round",
        *DESIGN_STOCK_COLUMNS,
        "predicted_hit_rate",
        "realised_hit_rate",
        "true_hit_rate",
        "true_hit_rate_without_feedback",
    ]
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(frame[cols].round(3).to_string(index=False))
        summary = frame.groupby("round").agg(
            seeds=("seed", "size"),
            covered_at_start=("covered_at_start", "sum"),
            covered_after=("covered_after", "sum"),
            mean_rel_error_after=("rel_error_after", "mean"),
            mean_width_after=("width_after", "mean"),
            mean_rel_error_model_start=("rel_error_model_start", "mean"),
            finds_ratio_vs_no_feedback=("finds_ratio", "mean"),
            hit_rate_error_mean=("hit_rate_error", "mean"),
            hit_rate_error_min=("hit_rate_error", "min"),
            hit_rate_error_max=("hit_rate_error", "max"),
            hit_rate_within_10pct=("hit_rate_within_10pct", "sum"),
            model_after_refit_rel_error=("rel_error_model_start", "mean"),
        )
        pooled = frame.groupby("round")[["true_hit_rate", "true_hit_rate_without_feedback"]].mean()
        summary["finds_ratio_pooled"] = (
            pooled["true_hit_rate"] / pooled["true_hit_rate_without_feedback"]
        )
        if args.from_csv:
            print(f"\nrows of {', '.join(args.from_csv)}:")
        else:
            print(
                f"\nshare {args.share}, assessment sd {args.assessment_sd}, uniform "
                f"misclassification {args.misclassified}, refit support {args.support}:"
            )
        print(summary.round(3).to_string())
    print("mean |rel error| after:", float(np.abs(frame["rel_error_after"]).mean()))
    if args.markdown:
        print(markdown_tables(frame, summary))


def _n(value: float) -> str:
    return f"{value:,.0f}"


def markdown_tables(frame: pd.DataFrame, summary: pd.DataFrame) -> str:
    """The per-seed and per-round tables of ``benchmarks/README.md``, from the rows and summary."""
    lines = [
        "| seed | round | true stock at start | model Σp at start | design at start (90 %) "
        "| true stock after | combined design after (90 %) | predicted / realised hit rate "
        "| true hit rate with / without feedback |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in frame.itertuples():
        lines.append(
            f"| {row.seed} | {row.round} | {_n(row.unreached_extreme_at_start)} "
            f"| {_n(row.model_estimate_at_start)} | {_n(row.design_estimate_at_start)} "
            f"({_n(row.design_low_at_start)}–{_n(row.design_high_at_start)}) "
            f"| {_n(row.unreached_extreme_after)} | {_n(row.design_estimate_after)} "
            f"({_n(row.design_low_after)}–{_n(row.design_high_after)}) "
            f"| {row.predicted_hit_rate:.3f} / {row.realised_hit_rate:.3f} "
            f"| {row.true_hit_rate:.3f} / {row.true_hit_rate_without_feedback:.3f} |"
        )
    lines += [
        "",
        "| round | seeds | design covers truth at start | design covers truth after "
        "| mean rel. error of design after | mean width after | model Σp rel. error at start "
        "| predicted / realised − 1: mean (min … max) | within ±10 % "
        "| true hit rate with / without feedback: mean ratio (ratio of means) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r, s in summary.iterrows():
        # iterrows turns the counts into floats
        n, start, after, within = (
            int(s[c])
            for c in ("seeds", "covered_at_start", "covered_after", "hit_rate_within_10pct")
        )
        lines.append(
            f"| {r} | {n} | {start} / {n} | {after} / {n} "
            f"| {s.mean_rel_error_after:+.2f} | {_n(s.mean_width_after)} "
            f"| {s.mean_rel_error_model_start:+.2f} "
            f"| {s.hit_rate_error_mean:+.2f} ({s.hit_rate_error_min:+.2f} … "
            f"{s.hit_rate_error_max:+.2f}) | {within} / {n} "
            f"| {s.finds_ratio_vs_no_feedback:.2f} ({s.finds_ratio_pooled:.2f}) |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
