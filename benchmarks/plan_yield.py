"""How many of the truly unreached extreme-poor households does each visit order find?

Run: ``python benchmarks/plan_yield.py [--households 206600] [--seed 2026]
[--oracle-households 2000000]``.

On synthetic Kota Serang (with its truth), every order below is turned into a 40-workday plan
with the default capacity (67 operators x 2 visits/day, operators pooled per kecamatan, one
kelurahan per operator-day; :func:`targeting.plan.ranking.build_plan`), and the first 10, 20 and 40
workdays are read off the plan. A household is *found* when it is visited, truly extremely poor
and the visit is completed: the field simulator's ``not_found``, ``refused`` and ``moved`` visits
(9 % of visits, :class:`~.synthetic.FieldOutcomeSimulator` defaults) find nobody. The share
is of the truly unreached extreme-poor households at the start (not reached, unverified).

Orders:

* ``random``: households in random order (random scores; operators still go one kelurahan a day);
* ``geographic``: kelurahan by their *known* rate of extreme poverty among the eligible unreached
  (from the truth: the best a purely geographic targeting could know), households ordered
  within a kelurahan by the baseline model (so it is a real competitor);
* ``baseline``: scikit-learn ``HistGradientBoostingClassifier`` (default parameters) on the raw
  proxies, categories ordinal-encoded, fitted on the survey's extreme label, no calibration;
* ``champion``: the ``ols`` spec on its default features (the proxies and, since issue 12, the
  kecamatan; the champion of ``experiments/serang-2026.yaml`` by
  ``ee_at_true_share`` in the lead's runs; chosen here without re-running the CV), estimating
  P(extreme | proxies, not reached) as the plan does (selection-aware, fitted on the unreached
  survey households);
* ``champion, eligible allocation``: the same scores with operators spread over kecamatan in
  proportion to eligible households (the allocation before issue 12): the allocation change
  alone is the ratio of the two rows;
* ``reference (log consumption + kelurahan)``: :class:`KelurahanIndexReference`, the
  champion's model family (log consumption, linear in its inputs, empirical residuals) with one
  effect per kelurahan, fitted on the unreached of a 1,000,000-household survey of the same city
  (``--reference-households``): a stronger approximation of the best ranking the proxies and the
  location allow than the gradient-boosting oracle below (issue 12, fourth session);
* ``proxy oracle``: histogram gradient boosting fitted on a very large survey of the *same*
  city (``--oracle-households``, default 2,000,000 households, drawn in chunks with independent
  households: same kelurahan effects, intercepts and reach process), with the kelurahan as a
  feature, restricted to its unreached households: an approximation of the best ranking that
  the proxies and the household's location allow;
* ``champion+2 rounds``: the champion recalibrated (:class:`targeting.pmt.recalibrated.
  RecalibratedPMT`, kelurahan offsets) on the verified outcomes of two simulated 20-workday
  feedback rounds (:func:`~.rounds.simulate_rounds`), then planning the *same* starting
  registry, so every order faces the same households;
* ``oracle``: the truth (extreme first): the physical limit of the capacity.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from targeting.data import schema
from targeting.data.synthetic import FieldOutcomeSimulator, generate_city
from targeting.feedback import rounds as loop
from targeting.plan.ranking import PlanCapacity, build_plan
from targeting.pmt.scoring import assign_desil

DAYS = (10, 20, 40)
REFERENCE = "reference (log consumption + kelurahan)"


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


def unreached_survey_chunks(n_total: int, seed: int, line: float):
    """The unreached households of a very large survey of the same city, chunk by chunk.

    The survey is drawn in chunks of 206,600 households from the *same* synthetic city (seed
    ``seed``: same kelurahan effects, kecamatan intercepts and reach process) with independent
    households (``generate_city(..., survey_fraction=1, survey_seed=seed + 1000 + chunk)``)
    until ``n_total`` survey households are drawn.

    Yields
    ------
    tuple
        ``(unreached survey households of the chunk, survey households drawn so far)``.
    """
    drawn, chunk = 0, 0
    while drawn < n_total:
        city = generate_city(
            seed=seed, survey_fraction=1.0, survey_seed=seed + 1000 + chunk, extreme_line=line
        )
        survey = city.survey.head(n_total - drawn)
        drawn += len(survey)
        chunk += 1
        yield survey.loc[~schema.survey_reached(survey)], drawn
        del city, survey


class KelurahanIndexReference:
    """Log consumption on the champion's inputs and kelurahan effects, with empirical residuals.

    Fitted by least squares on the unreached households of a very large survey of the same city
    (:func:`unreached_survey_chunks`), P(extreme) is the share of its residuals below the line's
    margin: the champion's model family with its coefficients and every kelurahan's effect
    known to sampling error, about the best ranking of the unreached that the proxies and the
    location allow (gradient boosting and a logistic regression on the same households rank
    worse than the survey champion: they cannot hold the transitory shocks' floor).

    Parameters
    ----------
    preprocess : transformer
        The champion's fitted preprocessing (its pipeline without the last step).
    kelurahan : list of str
        The city's kelurahan (one effect each).
    line : float
        The extreme-poverty line.
    """

    group_column = "kelurahan"

    def __init__(self, preprocess: Any, kelurahan: list[str], line: float):
        self.preprocess = preprocess
        self.kelurahan = kelurahan
        self.line = line

    def _design(self, frame: pd.DataFrame) -> np.ndarray:
        inputs = np.asarray(self.preprocess.transform(frame[schema.MODEL_COLUMNS]), dtype=float)
        codes = pd.Categorical(frame["kelurahan"].astype(str), categories=self.kelurahan).codes
        if (codes < 0).any():
            raise ValueError("a household's kelurahan is not one of the city's")
        effects = np.zeros((len(frame), len(self.kelurahan)))
        effects[np.arange(len(frame)), codes] = 1.0
        return np.hstack([inputs, effects])

    def fit(self, n_total: int, seed: int) -> KelurahanIndexReference:
        """Fit on the unreached households of an ``n_total``-household survey of the city."""
        gram, moment, n, chunks = None, None, 0, []
        for unreached, _ in unreached_survey_chunks(n_total, seed, self.line):
            X = self._design(unreached)
            y = np.log(unreached["consumption_pc"].to_numpy(dtype=float))
            gram = X.T @ X if gram is None else gram + X.T @ X
            moment = X.T @ y if moment is None else moment + X.T @ y
            chunks.append((X, y))
            n += len(y)
        assert gram is not None and moment is not None
        self.coef_ = np.linalg.lstsq(gram, moment, rcond=None)[0]
        self.residuals_ = np.sort(np.concatenate([y - X @ self.coef_ for X, y in chunks]))
        self.n_unreached_ = n
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """P(extreme | inputs, kelurahan, unreached): the share of residuals below the line."""
        margin = np.log(self.line) - self._design(X) @ self.coef_
        p = np.searchsorted(self.residuals_, margin) / len(self.residuals_)
        p = np.clip(p, 1e-6, 1.0 - 1e-6)
        return np.column_stack([1.0 - p, p])


def proxy_oracle(n_total: int, seed: int, line: float, kelurahan: list[str]):
    """HistGradientBoosting on the unreached households of a large survey of the same city.

    The survey is :func:`unreached_survey_chunks`; the proxies are ordinal-encoded, the
    kelurahan is one more categorical feature (the plan knows where every household lives),
    and only the unreached are kept.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    parts, labels, drawn = [], [], 0
    for keep, so_far in unreached_survey_chunks(n_total, seed, line):
        parts.append(_encode(keep, kelurahan))
        labels.append((keep["consumption_pc"].to_numpy(dtype=float) < line).astype(np.int8))
        drawn = so_far
    X = np.vstack(parts)
    y = np.concatenate(labels)
    model = HistGradientBoostingClassifier(
        max_iter=500,
        learning_rate=0.1,
        max_leaf_nodes=63,
        min_samples_leaf=200,
        early_stopping=True,
        validation_fraction=0.1,
        random_state=seed,
        categorical_features=[*_CATEGORICAL_POSITIONS, len(schema.PROXY_COLUMNS)],
    )
    model.fit(X, y)
    model.n_survey_households_ = drawn
    model.n_unreached_ = len(y)
    return model


_CATEGORICAL_POSITIONS = [
    i
    for i, c in enumerate(schema.PROXY_COLUMNS)
    if c in schema.CATEGORICAL_PROXIES or c in schema.ORDERED_PROXIES
]


def _encode(X: pd.DataFrame, kelurahan: list[str] | None = None) -> np.ndarray:
    """Proxies as a float matrix: categories by their fixed vocabulary's codes; with
    ``kelurahan`` (the city's kelurahan names), the kelurahan's code as a last column."""
    width = len(schema.PROXY_COLUMNS) + (kelurahan is not None)
    out = np.empty((len(X), width), dtype=np.float32)
    for i, c in enumerate(schema.PROXY_COLUMNS):
        levels = schema.CATEGORICAL_PROXIES.get(c) or schema.ORDERED_PROXIES.get(c)
        if levels is not None:
            codes = pd.Categorical(X[c].astype(str), categories=list(levels)).codes
            out[:, i] = np.where(codes < 0, np.nan, codes)
        else:
            out[:, i] = X[c].to_numpy(dtype=float)
    if kelurahan is not None:
        codes = pd.Categorical(X["kelurahan"].astype(str), categories=kelurahan).codes
        out[:, -1] = np.where(codes < 0, np.nan, codes)
    return out


def run(
    n_households: int = 206_600,
    seed: int = 2026,
    line: float = 400_000.0,
    oracle_households: int = 2_000_000,
    reference_households: int = 1_000_000,
) -> pd.DataFrame:
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
    champion = loop.fit_champion(survey, "ols", seed=seed, line=line)
    before = loop.fit_champion(survey, "ols", seed=seed, line=line, selection=None)
    baseline = baseline_model(survey, line, seed)
    X = registry[schema.PROXY_COLUMNS]
    numeric = [c for c in X.columns if X[c].dtype != object and str(X[c].dtype) != "category"]
    p_baseline = baseline.predict_proba(X.astype({c: float for c in numeric}))[:, 1]
    # the known rate of extreme poverty among each kelurahan's eligible unreached (the truth)
    truly = extreme.reindex(ids).to_numpy(dtype=bool)
    kel = registry["kelurahan"].to_numpy()
    rate = pd.Series(truly[eligible.to_numpy()]).groupby(kel[eligible.to_numpy()]).mean()
    geo = pd.Series(kel).map(rate).fillna(0.0).to_numpy() + 1e-3 * p_baseline
    started = time.perf_counter()
    kelurahan = sorted(registry["kelurahan"].astype(str).unique())
    oracle = proxy_oracle(oracle_households, seed, line, kelurahan)
    oracle_seconds = time.perf_counter() - started
    scores = {
        "random": _frame(ids, u),
        "geographic": _frame(ids, np.minimum(geo, 1.0)),
        "baseline (HGB, raw)": _frame(ids, p_baseline),
        "champion before (all households)": loop.fast_scores(before, registry),
        "champion (ols)": loop.fast_scores(champion, registry),
        "proxy oracle": _frame(ids, oracle.predict_proba(_encode(registry, kelurahan))[:, 1]),
    }
    reference = KelurahanIndexReference(champion[:-1], kelurahan, line).fit(
        reference_households, seed
    )
    scores[REFERENCE] = _frame(ids, reference.predict_proba(registry)[:, 1])
    rounds = loop.simulate_rounds(
        registry,
        city.truth,
        champion,
        PlanCapacity(workdays=20),
        rounds=2,
        seed=seed,
        survey=survey,  # the refit's default: the survey's kelurahan effects as a covariate
    )
    scores["champion + 2 feedback rounds"] = loop.fast_scores(rounds.model, registry)
    scores["oracle (truth)"] = _frame(ids, extreme.reindex(ids).to_numpy(dtype=float) + 1e-6 * u)

    # plans and finds ---------------------------------------------------------------------
    capacity = PlanCapacity(workdays=max(DAYS))
    simulator = FieldOutcomeSimulator(city.truth, seed=seed)
    rows = []
    plans = {name: (frame, capacity) for name, frame in scores.items()}
    plans["champion, eligible allocation"] = (
        scores["champion (ols)"],
        dataclasses.replace(capacity, allocation="eligible"),
    )
    for name, (frame, cap) in plans.items():
        plan = build_plan(registry, frame, cap).plan
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
    table.attrs["oracle"] = (oracle.n_survey_households_, oracle.n_unreached_, oracle_seconds)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=206_600)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--oracle-households", type=int, default=2_000_000)
    parser.add_argument("--reference-households", type=int, default=1_000_000)
    args = parser.parse_args()
    start = time.perf_counter()
    with threadpool_limits(1):
        table = run(
            args.households,
            args.seed,
            oracle_households=args.oracle_households,
            reference_households=args.reference_households,
        )
    stock = table.attrs["stock"]
    n_survey, n_unreached, seconds = table.attrs["oracle"]
    print(
        f"Proxy oracle: HistGradientBoosting (proxies + kelurahan) on {n_unreached:,} "
        f"unreached of {n_survey:,} survey households of the same city (independent "
        f"households), {seconds:.0f} s."
    )
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
    print("\nRatios of the share found (champion = ols, selection-aware):")
    for d in DAYS:
        key = f"share_{d}d"
        print(
            f"  {d:>2} workdays: champion/proxy oracle "
            f"{champ[key] / by.loc['proxy oracle', key]:.2f}, "
            f"champion/reference {champ[key] / by.loc[REFERENCE, key]:.2f}, "
            f"champion/full oracle {champ[key] / by.loc['oracle (truth)', key]:.2f}, "
            f"champion/random {champ[key] / by.loc['random', key]:.2f}, "
            f"champion/geographic {champ[key] / by.loc['geographic', key]:.2f}, "
            f"allocation change alone (finds/eligible) "
            f"{champ[key] / by.loc['champion, eligible allocation', key]:.2f}, "
            f"selection-aware/before "
            f"{champ[key] / by.loc['champion before (all households)', key]:.2f}, "
            f"(champion+2 rounds)/champion "
            f"{by.loc['champion + 2 feedback rounds', key] / champ[key]:.2f}"
        )
    ok = champ["share_20d"] >= 0.90 * by.loc["proxy oracle", "share_20d"]
    print(
        "\nAcceptance (issue 12; 20 workdays, spec's pooling: champion >= 0.90 x proxy oracle): "
        + ("met" if ok else "NOT met")
    )
    # the gradient-boosting oracle ranks worse than a well-specified reference: the acceptance
    # is also read against the stronger of the two
    strong = champ["share_20d"] >= 0.90 * by.loc[REFERENCE, "share_20d"]
    print(
        "The same against the reference (log consumption + kelurahan): "
        + ("met" if strong else "NOT met")
    )
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
