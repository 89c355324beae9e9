"""How much can learning from visits gain? The refit beside a reference that knows more.

For each seed of synthetic Kota Serang, ``simulate_rounds`` runs twice on the same city, the same
champion (``ols``, selection-aware, fitted on the survey), the same field simulator and a 5 %
audit sample, as ``benchmarks/audit_design.py`` does:

* ``refit``: the default refit on the field labels (``refit_on_labels``);
* ``reference``: after each round, the next plans are scored by a model that *knows what the
  field labels can only estimate*: the same model family as the champion (log consumption per
  capita, linear in the champion's own inputs) plus one effect per kelurahan, fitted by least
  squares on the unreached households of a very large independent survey of the same city
  (``--reference-households``, default 1,000,000 survey households, ~880,000 unreached; same
  kelurahan effects, intercepts and reach process: :func:`plan_yield.unreached_survey_chunks`),
  with P(extreme) from the empirical distribution of its residuals (which holds the transitory
  shocks' floor). Its coefficients and kelurahan effects are known to sampling error, within
  the champion's model family. It is a reference, not an upper bound: another family could rank
  better, and the plan's routing constraints bind both runs. Gradient boosting and a logistic
  regression on the same inputs and households rank *worse* than the champion (they cannot
  hold the shocks' floor under a probit-like tail).

Both runs compare each round's plan with the plan the survey champion alone would make on the
same registry state (``true_hit_rate_without_feedback``); the ratio of true hit rates is the
gain of learning from visits (issue 12: round 3 ≥ 1.15).

Run: ``PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/feedback_reference.py --seeds 1 2 3 4 5
--out a.csv`` (and 6–10 in a second process), then ``--from-csv a.csv b.csv``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from plan_yield import KelurahanIndexReference  # the script's own folder is first on sys.path

from targeting.data import schema
from targeting.data.synthetic import generate_city
from targeting.feedback.rounds import fit_champion, simulate_rounds
from targeting.plan.ranking import PlanCapacity


def one_seed(seed: int, reference_households: int, share: float) -> pd.DataFrame:
    """Both runs of one seed, one row per (run, round)."""
    city = generate_city(seed=seed)
    registry = schema.validate_registry(city.registry, mode="quarantine").valid
    survey = schema.validate_survey(city.survey, mode="strict").valid
    base = fit_champion(survey, "ols", seed=seed)
    kelurahan = sorted(registry["kelurahan"].astype(str).unique())
    line = float(city.params["extreme_line"])
    reference = KelurahanIndexReference(base[:-1], kelurahan, line).fit(reference_households, seed)
    tables = []
    for name, learner in (("refit", None), ("reference", lambda _registry: reference)):
        result = simulate_rounds(
            registry,
            city.truth,
            base,
            PlanCapacity(),
            rounds=3,
            seed=seed,
            audit_share=share,
            survey=survey,
            learner=learner,
        )
        table = result.table[["round", "true_hit_rate", "true_hit_rate_without_feedback"]]
        tables.append(table.assign(seed=seed, run=name))
    return pd.concat(tables, ignore_index=True)


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per run and round: the mean of the per-seed gains, their range, and the pooled gain."""
    rows = rows.assign(gain=rows["true_hit_rate"] / rows["true_hit_rate_without_feedback"])
    by = rows.groupby(["round", "run"])
    out = by["gain"].agg(["mean", "min", "max", "size"])
    pooled = by["true_hit_rate"].mean() / by["true_hit_rate_without_feedback"].mean()
    out = out.assign(pooled=pooled).unstack("run")
    out.columns = [f"{run}_{stat}" for stat, run in out.columns]
    return out


def paired_gap(rows: pd.DataFrame, level: float = 0.90) -> pd.DataFrame:
    """Per round: the reference's gain minus the refit's, seed by seed, mean with a t interval."""
    from statsmodels.stats.weightstats import DescrStatsW

    gains = rows.assign(gain=rows["true_hit_rate"] / rows["true_hit_rate_without_feedback"])
    wide = gains.pivot_table(index=["round", "seed"], columns="run", values="gain")
    out = []
    for r, part in (wide["reference"] - wide["refit"]).groupby(level="round"):
        stats = DescrStatsW(part.to_numpy())
        low, high = stats.tconfint_mean(alpha=1 - level) if len(part) > 1 else (np.nan, np.nan)
        out.append({"round": r, "reference_minus_refit": stats.mean, "low": low, "high": high})
    return pd.DataFrame(out).set_index("round")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--reference-households", type=int, default=1_000_000)
    parser.add_argument("--share", type=float, default=0.05)
    parser.add_argument("--out", help="CSV of the per-round rows, written after every seed")
    parser.add_argument("--from-csv", nargs="+", help="summarise earlier --out CSVs")
    args = parser.parse_args()
    if args.from_csv:
        rows = pd.concat([pd.read_csv(path) for path in args.from_csv], ignore_index=True)
    else:
        parts = []
        for seed in args.seeds:
            started = time.perf_counter()
            parts.append(one_seed(seed, args.reference_households, args.share))
            print(f"seed {seed}: {time.perf_counter() - started:.0f} s", flush=True)
            if args.out:
                pd.concat(parts, ignore_index=True).to_csv(args.out, index=False)
        rows = pd.concat(parts, ignore_index=True)
    gains = rows.assign(gain=rows["true_hit_rate"] / rows["true_hit_rate_without_feedback"])
    print(gains.pivot_table(index=["seed"], columns=["run", "round"], values="gain").round(3))
    print()
    print(summary(rows).round(3).to_string())
    print("\nThe reference's gain minus the refit's, paired by seed (90 % t interval):")
    print(paired_gap(rows).round(3).to_string())


if __name__ == "__main__":
    main()
