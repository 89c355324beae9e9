"""Is the plan right about the unreached? Stock, interval, expected finds and ECE across seeds.

Run: ``python benchmarks/unreached_bias.py --seeds 10 [--first-seed 2026] [--model ols]
[--selection unreached] [--calibration-cv 5] [--calibrate]``.

For each seed of synthetic Kota Serang (default size, 206,600 households) the default
experiment's steps are run for one model spec (``--model``, default ``ols``, the champion of
``experiments/serang-2026.yaml``; the zoo's champion search is left out to keep a seed to a few
minutes), once without selection (``before``: P(extreme | proxies) on the whole survey, the
behaviour before issue 12) and once with it (``after``: ``--selection``, default the plan's):

* grouped 5-fold CV on the survey (kelurahan folds), out-of-fold predictions;
* fit on the whole survey, score the registry, the first plan (default capacity:
  67 operators x 2 visits x 20 workdays, kecamatan pools, allocation by expected finds);
* the estimated unreached extreme-poor stock (sum of P over the eligible unreached) and its 90 %
  interval (:func:`targeting.evaluation.stock.unreached_stock`) against the truth;
* the first plan's expected finds (sum of P over the planned visits) against the true number
  of extremely poor households among them;
* ECE of the out-of-fold predictions on the unreached survey households (weighted).

It prints one row per seed and variant and the summary: mean relative error of the stock and
of the expected finds, how many intervals cover the truth, mean ECE. The acceptance targets of
issue 12: stock error within ±3 %, coverage in >= 8 of 10, expected finds within ±3 %,
ECE <= 0.02.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from targeting.config.experiment import load_experiment_spec
from targeting.data import schema
from targeting.data.synthetic import generate_city
from targeting.evaluation.metrics import expected_calibration_error
from targeting.evaluation.stock import plan_finds, unreached_stock
from targeting.pipeline import SurveyArrays, cross_validate_spec, fit_spec, selection_method
from targeting.plan.ranking import PlanCapacity, build_plan
from targeting.pmt.build import load_specs
from targeting.pmt.scoring import assign_desil
from targeting.pmt.selection import DEFAULT_SELECTION


def one_seed(seed: int, variant: str, args: argparse.Namespace, city, model_spec) -> dict:
    overrides: dict[str, object] = {
        "seed": seed,
        "evaluation.selection": "none" if variant == "before" else args.selection,
    }
    if args.calibrate:
        overrides["evaluation.calibrate"] = True
    if args.calibration_cv is not None:
        overrides["evaluation.selection_calibration_cv"] = args.calibration_cv
    if args.calibration_map is not None:
        overrides["evaluation.selection_calibration_map"] = args.calibration_map
    if args.locality is not None:
        overrides["evaluation.selection_calibration_locality"] = args.locality or None
    spec = load_experiment_spec("experiments/serang-2026.yaml").with_overrides(overrides)
    survey, registry, truth = city.survey, city.registry, city.truth
    arrays = SurveyArrays.from_survey(schema.validate_survey(survey).valid, spec)
    cv = cross_validate_spec(model_spec, arrays, spec)
    model = fit_spec(model_spec, arrays, spec)
    p = model.predict_proba(registry[schema.MODEL_COLUMNS])[:, 1]
    ids = registry["household_id"].astype(str)
    scores = pd.DataFrame(
        {"p_extreme": p, "p_low": p, "p_high": p, "desil": assign_desil(p)},
        index=pd.Index(ids.to_numpy(), name="household_id"),
    )
    eligible = ~schema.is_reached(registry) & (registry["verification_status"] == "unverified")
    extreme = truth.set_index("household_id")["extreme"].reindex(ids).to_numpy(dtype=bool)
    true_stock = int(extreme[eligible.to_numpy()].sum())
    oof = cv.oof[cv.oof["repeat"] == 0]
    oof = oof[~arrays.reached[oof["row"].to_numpy()]]
    rows = oof["row"].to_numpy()
    w = arrays.weight[rows]
    y = oof["label"].to_numpy(dtype=float)
    q = oof["p_extreme"].to_numpy(dtype=float)
    stock = unreached_stock(p[eligible.to_numpy()], y, q, w, arrays.groups[rows])
    plan = build_plan(registry, scores, PlanCapacity())
    planned = plan.plan["household_id"].astype(str)
    truth_by_id = pd.Series(extreme, index=ids.to_numpy())
    true_finds = int(truth_by_id.reindex(planned).sum())
    expected_finds = float(plan.plan["p_extreme"].sum())
    finds = plan_finds(plan.plan["p_extreme"], y, q, w, arrays.groups[rows])
    return {
        "seed": seed,
        "variant": variant,
        "selection": selection_method(spec, arrays) or "none",
        "stock_true": true_stock,
        "stock_est": stock.estimate,
        "stock_low": stock.low,
        "stock_high": stock.high,
        "stock_rel_err": stock.estimate / true_stock - 1,
        "covers": bool(stock.low <= true_stock <= stock.high),
        "finds_true": true_finds,
        "finds_expected": expected_finds,
        "finds_rel_err": expected_finds / true_finds - 1,
        "finds_low": finds.low,
        "finds_high": finds.high,
        "finds_covers": bool(finds.low <= true_finds <= finds.high),
        "ece_unreached": expected_calibration_error(y, q, sample_weight=w),
        "sum_pred_over_obs_unreached": float(np.sum(w * q) / np.sum(w * y)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds")
    parser.add_argument("--first-seed", type=int, default=2026)
    parser.add_argument("--model", default="ols")
    parser.add_argument("--selection", default=DEFAULT_SELECTION)
    parser.add_argument("--calibrate", action="store_true", help="Platt-recalibrate the model")
    parser.add_argument(
        "--calibration-cv",
        type=int,
        default=None,
        help="folds of the cross-fitted beta recalibration (default: the plan's; 0 = off)",
    )
    parser.add_argument(
        "--calibration-map",
        choices=["residual", "beta"],
        default=None,
        help="the cross-fitted recalibration map (default: the plan's)",
    )
    parser.add_argument(
        "--locality",
        type=float,
        default=None,
        help="kernel width of the local residual map (default: the plan's; 0 = one distribution)",
    )
    parser.add_argument(
        "--seed-list", type=int, nargs="+", default=None, help="these seeds instead of a range"
    )
    parser.add_argument("--variants", nargs="+", default=["before", "after"])
    parser.add_argument(
        "--features",
        default=None,
        help="feature set instead of the model's own (e.g. full_no_location: no kecamatan)",
    )
    args = parser.parse_args()
    model_spec = load_specs("models", names=[args.model])[0]
    if args.features is not None:
        model_spec = dataclasses.replace(model_spec, feature_set=args.features)
    rows = []
    seeds = args.seed_list or list(range(args.first_seed, args.first_seed + args.seeds))
    for seed in seeds:
        city = generate_city(seed=seed)
        for variant in args.variants:
            t0 = time.perf_counter()
            with threadpool_limits(1):
                row = one_seed(seed, variant, args, city, model_spec)
            rows.append(row)
            print(
                f"seed {seed} {variant:6s} stock {row['stock_est']:7.0f} "
                f"[{row['stock_low']:.0f}, {row['stock_high']:.0f}] vs {row['stock_true']} "
                f"({row['stock_rel_err']:+.1%}, covers {row['covers']}); finds "
                f"{row['finds_expected']:.0f} [{row['finds_low']:.0f}, {row['finds_high']:.0f}] "
                f"vs {row['finds_true']} ({row['finds_rel_err']:+.1%}, covers "
                f"{row['finds_covers']}); ECE {row['ece_unreached']:.4f}  "
                f"[{time.perf_counter() - t0:.0f} s]",
                flush=True,
            )
    table = pd.DataFrame(rows)
    summary = table.groupby("variant", sort=False).agg(
        seeds=("seed", "size"),
        stock_mean_rel_err=("stock_rel_err", "mean"),
        stock_sd_rel_err=("stock_rel_err", "std"),
        covers=("covers", "sum"),
        finds_mean_rel_err=("finds_rel_err", "mean"),
        finds_sd_rel_err=("finds_rel_err", "std"),
        finds_covers=("finds_covers", "sum"),
        finds_true_mean=("finds_true", "mean"),
        ece_unreached_mean=("ece_unreached", "mean"),
    )
    print()
    print(
        f"model {args.model} (features {model_spec.feature_set}), selection {args.selection}, "
        f"map {args.calibration_map or 'default'} "
        f"(locality {'default' if args.locality is None else args.locality}), calibration_cv "
        f"{'default' if args.calibration_cv is None else args.calibration_cv}"
        f"{', Platt-recalibrated' if args.calibrate else ''}; seeds "
        f"{seeds}"
    )
    print(summary.round(4).to_string())


if __name__ == "__main__":
    main()
