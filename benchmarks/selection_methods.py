"""Which way of estimating P(extreme | proxies, not reached) is right about the unreached?

Run: ``python benchmarks/selection_methods.py [--seeds 101 102] [--models ols logit boosting]``.

For each seed of synthetic Kota Serang (survey with programme receipt), each model spec is
cross-validated (5 folds grouped by kelurahan, the experiment's protocol) without selection
(``none``: P(extreme | proxies) on all households, today's default) and with each method of
:class:`targeting.pmt.selection.SelectionAwarePMT`. The out-of-fold predictions are scored on the
**unreached survey households only** (the population the plan ranks), with the survey weights:
AUC, exclusion error at the true share, ECE, and the ratio of the weighted sum of predictions to
the weighted number of extremely poor (1 = right level). Rows are means over seeds.

The default method of the plan was chosen on seeds 101 and 102, which
``benchmarks/unreached_bias.py`` (seeds 2026...) does not report.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from targeting.data import schema
from targeting.data.synthetic import generate_city
from targeting.evaluation.cv import grouped_cross_validate
from targeting.evaluation.metrics import evaluate_scores
from targeting.pmt.build import load_specs
from targeting.pmt.selection import SELECTION_METHODS

LINE = 400_000.0


def unreached_metrics(oof: pd.DataFrame, weight: np.ndarray) -> dict[str, float]:
    """Headline metrics of out-of-fold predictions on the unreached rows (first repeat)."""
    part = oof[(oof["repeat"] == oof["repeat"].min()) & ~oof["reached"]]
    w = weight[part["row"].to_numpy()]
    y = part["label"].to_numpy()
    p = part["p_extreme"].to_numpy()
    m = evaluate_scores(y, p, sample_weight=w)
    return {
        "auc": m["auc"],
        "ee_at_true_share": m["ee_at_true_share"],
        "ece": m["ece"],
        "sum_pred_over_obs": float(np.sum(w * p) / np.sum(w * y)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[101, 102])
    parser.add_argument("--models", nargs="+", default=["ols", "logit", "boosting"])
    parser.add_argument("--households", type=int, default=206_600)
    args = parser.parse_args()
    specs = load_specs("models", names=args.models)
    rows = []
    for seed in args.seeds:
        survey = generate_city(n_households=args.households, seed=seed).survey
        reached = schema.survey_reached(survey)
        consumption = survey["consumption_pc"].to_numpy(dtype=float)
        label = (consumption < LINE).astype(int)
        weight = survey["weight"].to_numpy(dtype=float)
        for spec in specs:
            for method in ("none", *SELECTION_METHODS):
                cv = grouped_cross_validate(
                    spec,
                    survey[schema.MODEL_COLUMNS],
                    label,
                    survey["kelurahan"].to_numpy(),
                    consumption=consumption,
                    sample_weight=weight,
                    seed=seed,
                    line=LINE,
                    reached=reached,
                    selection=None if method == "none" else method,
                )
                row = {"seed": seed, "model": spec.name, "method": method}
                row.update(unreached_metrics(cv.oof, weight))
                rows.append(row)
                print(
                    f"seed {seed} {spec.name:9s} {method:9s} "
                    + " ".join(f"{k} {v:.3f}" for k, v in row.items() if isinstance(v, float)),
                    flush=True,
                )
    table = pd.DataFrame(rows).groupby(["model", "method"], sort=False).mean(numeric_only=True)
    print()
    print(f"Grouped 5-fold CV on unreached survey households, mean over seeds {args.seeds}:")
    print(table.drop(columns="seed").round(3).to_string())


if __name__ == "__main__":
    main()
