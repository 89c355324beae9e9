"""How many of the truly unreached extreme-poor households does each visit order find?

Run: ``python benchmarks/plan_yield.py [--households 206600] [--seed 2026]``.

On synthetic Kota Serang (with its truth), every order below is turned into a 40-workday plan
with the default capacity (67 operators x 2 visits/day, operators pooled per kecamatan, one
kelurahan per operator-day; :func:`targeting.plan.ranking.build_plan`), and the first 10, 20 and 40
workdays are read off the plan. A household is *found* when it is visited, truly extremely poor
and the visit is completed: the field simulator's ``not_found``, ``refused`` and ``moved`` visits
(9 % of visits, :class:`~.synthetic.FieldOutcomeSimulator` defaults) find nobody. The share
is of the truly unreached extreme-poor households at the start (not reached, unverified).

Orders:

* ``random``: households in random order (random scores; operators still go one kelurahan a day);
* ``geographic``: kelurahan by their estimated poverty rate from the survey (weighted share below
  the line), households in random order within;
* ``baseline``: scikit-learn ``HistGradientBoostingClassifier`` (default parameters) on the raw
  proxies, categories ordinal-encoded, fitted on the survey's extreme label, no calibration;
* ``champion``: the ``ols`` spec (the champion of ``experiments/serang-2026.yaml`` by
  ``ee_at_true_share`` in the lead's runs; chosen here without re-running the CV);
* ``champion+2 rounds``: the champion recalibrated (:class:`targeting.pmt.recalibrated.
  RecalibratedPMT`, kelurahan offsets) on the verified outcomes of two simulated 20-workday
  feedback rounds (:func:`~.rounds.simulate_rounds`), then planning the *same* starting
  registry, so every order faces the same households;
* ``oracle``: the truth (extreme first): the physical limit of the capacity.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from targeting.data import schema
from targeting.data.synthetic import FieldOutcomeSimulator, generate_city
from targeting.feedback import rounds as loop
from targeting.plan.ranking import PlanCapacity, build_plan
from targeting.pmt.scoring import assign_desil

DAYS = (10, 20, 40)


def _frame(ids: pd.Series, p: np.ndarray) -> pd.DataFrame:
    p = np.asarray(p, dtype=float)
    return pd.DataFrame(
        {"p_extreme": p, "p_low": p, "p_high": p, "desil": assign_desil(p)},
        index=pd.Index(ids.astype(str).to_numpy(), name="household_id"),
    )


def baseline_model(survey: pd.DataFrame, line: float, seed: int):
    """HistGradientBoostingClassifier (defaults) on ordinal-encoded raw proxies."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OrdinalEncoder

    X = survey[schema.PROXY_COLUMNS]
    categorical = [c for c in X.columns if X[c].dtype == object or str(X[c].dtype) == "category"]
    numeric = [c for c in X.columns if c not in categorical]
    encode = ColumnTransformer(
        [
            (
                "cat",
                OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                categorical,
            ),
            ("num", "passthrough", numeric),
        ]
    )
    model = Pipeline(
        [("encode", encode), ("hgb", HistGradientBoostingClassifier(random_state=seed))]
    )
    y = (survey["consumption_pc"].to_numpy(dtype=float) < line).astype(int)
    return model.fit(X.astype({c: float for c in numeric}), y)


def run(n_households: int = 206_600, seed: int = 2026, line: float = 400_000.0) -> pd.DataFrame:
    """Measure the share found per order and horizon; returns one row per order."""
    rng = np.random.default_rng(seed)
    city = generate_city(n_households=n_households, seed=seed, extreme_line=line)
    registry = schema.validate_registry(city.registry, mode="quarantine").valid
    survey = schema.validate_survey(city.survey, mode="strict").valid
    ids = registry["household_id"].astype(str)
    extreme = city.truth.assign(household_id=city.truth["household_id"].astype(str))
    extreme = extreme.set_index("household_id")["extreme"].astype(bool)
    eligible = ~schema.is_reached(registry) & (registry["verification_status"] == "unverified")
    stock = int(extreme.reindex(ids[eligible]).sum())

    # orders ------------------------------------------------------------------------------
    u = rng.random(len(registry))
    rate = (
        survey.assign(
            poor=(survey["consumption_pc"] < line) * survey["weight"],
        )
        .groupby("kelurahan")
        .apply(lambda g: g["poor"].sum() / g["weight"].sum(), include_groups=False)
    )
    geo = registry["kelurahan"].map(rate).fillna(rate.mean()).to_numpy() + 1e-6 * u
    champion = loop.fit_champion(survey, "ols", seed=seed, line=line)
    baseline = baseline_model(survey, line, seed)
    X = registry[schema.PROXY_COLUMNS]
    numeric = [c for c in X.columns if X[c].dtype != object and str(X[c].dtype) != "category"]
    scores = {
        "random": _frame(ids, u),
        "geographic": _frame(ids, geo),
        "baseline (HGB, raw)": _frame(
            ids, baseline.predict_proba(X.astype({c: float for c in numeric}))[:, 1]
        ),
        "champion (ols)": loop.fast_scores(champion, registry),
    }
    rounds = loop.simulate_rounds(
        registry, city.truth, champion, PlanCapacity(workdays=20), rounds=2, seed=seed
    )
    scores["champion + 2 feedback rounds"] = loop.fast_scores(rounds.model, registry)
    scores["oracle (truth)"] = _frame(ids, extreme.reindex(ids).to_numpy(dtype=float) + 1e-6 * u)

    # plans and finds ---------------------------------------------------------------------
    capacity = PlanCapacity(workdays=max(DAYS))
    simulator = FieldOutcomeSimulator(city.truth, seed=seed)
    rows = []
    for name, frame in scores.items():
        plan = build_plan(registry, frame, capacity).plan
        outcomes = simulator.respond(plan)
        completed = ~outcomes["result"].isin(["not_found", "refused", "moved"]).to_numpy()
        found = extreme.reindex(plan["household_id"].astype(str)).to_numpy(dtype=bool) & completed
        row = {"order": name}
        for d in DAYS:
            within = plan["workday"].to_numpy() <= d
            row[f"visits_{d}d"] = int(within.sum())
            row[f"found_{d}d"] = int((found & within).sum())
            row[f"share_{d}d"] = (found & within).sum() / stock
        rows.append(row)
    table = pd.DataFrame(rows)
    table.attrs["stock"] = stock
    table.attrs["feedback_rounds"] = rounds.table
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=206_600)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    start = time.perf_counter()
    table = run(args.households, args.seed)
    stock = table.attrs["stock"]
    print(
        f"Synthetic Serang, {args.households:,} households (seed {args.seed}): {stock:,} truly "
        "unreached extreme-poor households; 67 operators x 2 visits/day, kecamatan pools.\n"
        "Found = visited within the first N workdays, truly extreme and the visit completed "
        "(not_found/refused/moved find nobody).\n"
    )
    shown = table[["order"] + [f"{k}_{d}d" for d in DAYS for k in ("found", "share")]].copy()
    for d in DAYS:
        shown[f"share_{d}d"] = shown[f"share_{d}d"].map("{:.1%}".format)
    print(shown.to_string(index=False))
    by = table.set_index("order")
    champ = by.loc["champion (ols)"]
    print("\nRatios of the share found (champion = ols):")
    for d in DAYS:
        key = f"share_{d}d"
        print(
            f"  {d:>2} workdays: champion/random {champ[key] / by.loc['random', key]:.2f}, "
            f"champion/geographic {champ[key] / by.loc['geographic', key]:.2f}, "
            f"champion/oracle {champ[key] / by.loc['oracle (truth)', key]:.2f}, "
            f"(champion+2 rounds)/champion "
            f"{by.loc['champion + 2 feedback rounds', key] / champ[key]:.2f}"
        )
    ok = (
        champ["share_20d"] >= 4 * by.loc["random", "share_20d"]
        and champ["share_20d"] >= 1.5 * by.loc["geographic", "share_20d"]
    )
    print(
        "\nAcceptance (20 workdays: champion >= 4x random and >= 1.5x geographic): "
        + ("met" if ok else "NOT met")
    )
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
