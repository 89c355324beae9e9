"""Costa Rica (issue 13): the candidates tried on the *tuning* fold seeds, to choose a model.

Everything chosen by looking at these numbers is chosen on fold seeds 0–4 (a subset of the tuning
seeds 0–99, :data:`targeting.evaluation.provenance.TUNING_SEEDS`) and reported once on seeds
100–102 by ``benchmarks/costa_rica_features.py``. Folds as in ``benchmarks/quality.py``:
stratified 5-fold over households (``StratifiedGroupKFold`` with one household per group,
labelled by its id; seed *s* for repeat *s*, the fold-*k* model seeded *s + k*); metrics on the
pooled out-of-fold scores of each seed, then the mean over seeds (AUC, EE at the true share, EE
at a 20 % budget).

Candidates are the ensemble's members alone and in combination (the ordinal score
``P(extreme) + near_weight · P(moderate)``, mean over members), member variants (class
weights, feature subsampling, other penalties, a cumulative-logit and an MLP member, an ordinal
regression), ``near_weight`` and a third-class weight, and three designs of the household
features:

* ``main``: the adapter of commit ``--base`` (the design the ensemble was tuned on);
* ``+new``: ``main`` plus the new member features of today's adapter, appended;
* ``+new-onehot``: ``+new`` without :data:`targeting.data.costa_rica.COLLAPSED_COLUMNS` (today's
  adapter's columns, in this order; the forest samples features by position, so the order is kept
  to reproduce the table exactly).

Out-of-fold class probabilities are cached in ``--cache`` (default
``/tmp/costa_rica_candidates``), so a rerun only fits what is missing. The full run fits about
20 candidates × 25 folds (long on a shared machine; ``--only`` picks a few).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import pickle
import sys
import warnings
from collections.abc import Callable
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from costa_rica_features import BASE_COMMIT, load_base_adapter  # noqa: E402

from targeting.data.costa_rica import COLLAPSED_COLUMNS, load_costa_rica  # noqa: E402
from targeting.evaluation.metrics import evaluate_scores  # noqa: E402

SEEDS = (0, 1, 2, 3, 4)

NEW_COLUMNS = (
    "cap_mincer", "cap_mincer_male", "cap_mincer_female", "edu_spouse", "edu_adult_sd",
    "n_wa_tertiary", "age_sd", "cap_mincer_pc", "cap_mincer_male_pc", "cap_mincer_female_pc",
    "pc_wa_tertiary", "pc_log_rent",
)  # fmt: skip
"""Today's adapter's new columns, in the order they were appended when the table was first made
(the forest samples features by position: another order gives other, equally valid, numbers)."""


def _signed_log(X: np.ndarray) -> np.ndarray:
    return np.sign(X) * np.log1p(np.abs(X))


def _logit(C: float, class_weight: str | None = None, log: bool = False) -> Callable[[int], Any]:
    def make(seed: int) -> Any:
        steps: list[tuple[str, Any]] = [("i", SimpleImputer(strategy="median", add_indicator=True))]
        if log:
            steps.append(("g", FunctionTransformer(_signed_log)))
        steps += [
            ("s", StandardScaler()),
            ("l", LogisticRegression(C=C, max_iter=5000, class_weight=class_weight)),
        ]
        return Pipeline(steps)

    return make


def _hgb(**kw: Any) -> Callable[[int], Any]:
    params = dict(
        learning_rate=0.06, max_iter=150, max_leaf_nodes=8, min_samples_leaf=30,
        l2_regularization=1.0, early_stopping=False,
    )  # fmt: skip
    params.update(kw)
    return lambda seed: HistGradientBoostingClassifier(random_state=seed, **params)


def _forest(cls: type = RandomForestClassifier, **kw: Any) -> Callable[[int], Any]:
    params = dict(
        n_estimators=300, min_samples_leaf=10, max_features=0.2,
        class_weight="balanced_subsample", n_jobs=1,
    )  # fmt: skip
    params.update(kw)
    return lambda seed: Pipeline(
        [("i", SimpleImputer(strategy="median")), ("f", cls(random_state=seed, **params))]
    )


class _NegativeRegression:
    """An ordinal regression of the 4-level Target; the score is minus the prediction."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def fit(self, X: Any, y: Any) -> _NegativeRegression:
        self.model.fit(X, y)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        return -self.model.predict(X)[:, None]


class _CumulativeLogit:
    """Two cumulative binary logits, P(T ≤ 1) and P(T ≤ 2), turned into class probabilities."""

    def __init__(self, C: float) -> None:
        self.C = C

    def fit(self, X: Any, t: Any) -> _CumulativeLogit:
        t = np.asarray(t)
        self.m1 = _logit(self.C)(0).fit(X, (t <= 1).astype(int))
        self.m2 = _logit(self.C)(0).fit(X, (t <= 2).astype(int))
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        p1 = self.m1.predict_proba(X)[:, 1]
        p2 = np.maximum(self.m2.predict_proba(X)[:, 1], p1)
        return np.column_stack([p1, p2 - p1, 1 - p2, np.zeros_like(p1)])


def _ridge(alpha: float) -> Callable[[int], Any]:
    return lambda seed: _NegativeRegression(
        Pipeline(
            [
                ("i", SimpleImputer(strategy="median", add_indicator=True)),
                ("s", StandardScaler()),
                ("r", Ridge(alpha=alpha)),
            ]
        )
    )


def _mlp(alpha: float) -> Callable[[int], Any]:
    return lambda seed: Pipeline(
        [
            ("i", SimpleImputer(strategy="median", add_indicator=True)),
            ("s", StandardScaler()),
            (
                "m",
                MLPClassifier(
                    hidden_layer_sizes=(32,), alpha=alpha, max_iter=500, random_state=seed
                ),
            ),
        ]
    )


# name: (feature design, model factory); every model learns the 4-level Target
CANDIDATES: dict[str, tuple[str, Callable[[int], Any]]] = {
    "logit": ("main", _logit(0.003)),
    "boosting": ("main", _hgb()),
    "forest": ("main", _forest()),
    "logit C=0.001": ("main", _logit(0.001)),
    "logit C=0.01": ("main", _logit(0.01)),
    "logit balanced": ("main", _logit(0.003, class_weight="balanced")),
    "logit signed-log": ("main", _logit(0.003, log=True)),
    "cumulative logit": ("main", lambda seed: _CumulativeLogit(0.003)),
    "ridge on Target": ("main", _ridge(1000.0)),
    "boosting regression on Target": (
        "main",
        lambda seed: _NegativeRegression(
            HistGradientBoostingRegressor(
                learning_rate=0.05,
                max_iter=200,
                max_leaf_nodes=8,
                min_samples_leaf=30,
                l2_regularization=1.0,
                early_stopping=False,
                random_state=seed,
            )
        ),
    ),
    "boosting max_features=0.3": ("main", _hgb(max_features=0.3)),
    "boosting balanced": ("main", _hgb(class_weight="balanced")),
    "mlp": ("main", _mlp(10.0)),
    "logit +new": ("+new", _logit(0.003)),
    "boosting +new": ("+new", _hgb()),
    "forest +new": ("+new", _forest()),
    "logit +new-onehot": ("+new-onehot", _logit(0.003)),
    "boosting +new-onehot": ("+new-onehot", _hgb()),
    "forest +new-onehot": ("+new-onehot", _forest()),
}

COMBINATIONS: dict[str, tuple[str, ...]] = {
    "ensemble (main)": ("logit", "boosting", "forest"),
    "logit + forest": ("logit", "forest"),
    "logit + boosting": ("logit", "boosting"),
    "ensemble + mlp": ("logit", "boosting", "forest", "mlp"),
    "ensemble + cumulative logit": ("logit", "boosting", "forest", "cumulative logit"),
    "ensemble, logit C=0.001 added": ("logit", "boosting", "forest", "logit C=0.001"),
    "ensemble, boosting regression added": (
        "logit",
        "boosting",
        "forest",
        "boosting regression on Target",
    ),
    "ensemble, signed-log logit": ("logit signed-log", "boosting", "forest"),
    "ensemble, balanced logit": ("logit balanced", "boosting", "forest"),
    "ensemble +new": ("logit +new", "boosting +new", "forest +new"),
    "ensemble +new-onehot (chosen)": (
        "logit +new-onehot",
        "boosting +new-onehot",
        "forest +new-onehot",
    ),
}


def designs(base: str) -> dict[str, pd.DataFrame]:
    """The three feature designs, aligned on the same households."""
    main = load_base_adapter(base)
    today = load_costa_rica()
    if not np.array_equal(np.asarray(main.ids), np.asarray(today.ids)):
        raise ValueError("the two adapters do not give the same households in the same order")
    new = [c for c in today.X.columns if c not in main.X.columns]
    if sorted(new) != sorted(NEW_COLUMNS):
        raise ValueError(f"the adapters differ by {sorted(new)}, not by NEW_COLUMNS")
    plus = pd.concat([main.X, today.X[list(NEW_COLUMNS)]], axis=1)
    gone = {f"hh_{c}" for c in COLLAPSED_COLUMNS}
    return {"main": main.X, "+new": plus, "+new-onehot": plus.drop(columns=sorted(gone))}


def out_of_fold(
    make: Callable[[int], Any],
    X: pd.DataFrame,
    y: np.ndarray,
    t4: np.ndarray,
    ids: np.ndarray,
    seed: int,
) -> np.ndarray:
    """Out-of-fold class probabilities (or a one-column score) of one seed's 5 folds.

    The households' ids are the groups (``evaluate_zoo`` numbers them by position instead, and the
    splitter's shuffle depends on the group labels, so these are not ``evaluate_zoo``'s folds of
    the same seeds; both are tuning seeds).
    """
    groups = ids
    splitter = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=seed)
    out: np.ndarray | None = None
    for k, (train, test) in enumerate(splitter.split(np.zeros(len(y)), y, groups)):
        model = make(seed + k).fit(X.iloc[train], t4[train])
        proba = model.predict_proba(X.iloc[test])
        if out is None:
            out = np.zeros((len(y), proba.shape[1]))
        out[test] = proba
    assert out is not None
    return out


def score(proba: np.ndarray, near_weight: float, third: float = 0.0) -> np.ndarray:
    """The ordinal score of class probabilities (or a one-column score as is)."""
    if proba.shape[1] == 1:
        return proba[:, 0]
    return proba[:, 0] + near_weight * proba[:, 1] + third * proba[:, 2]


def summarise(scores: dict[int, np.ndarray], y: np.ndarray) -> tuple[float, float, float]:
    """Mean over seeds of AUC, EE at the true share and EE at 20 % of the pooled scores."""
    rows = [evaluate_scores(y, scores[s]) for s in SEEDS]
    return tuple(
        float(np.mean([r[k] for r in rows])) for k in ("auc", "ee_at_true_share", "ee_at_20")
    )  # type: ignore[return-value]


def main(argv: list[str] | None = None) -> int:
    """Fit the missing candidates and print the candidate table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=Path("/tmp/costa_rica_candidates"))
    ap.add_argument("--base", default=BASE_COMMIT)
    ap.add_argument("--only", nargs="*", default=None, help="candidate names to fit")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    args.cache.mkdir(parents=True, exist_ok=True)
    today = load_costa_rica()
    y, t4 = np.asarray(today.label), np.asarray(today.target4)
    ids = np.asarray(today.ids)
    X = designs(args.base)
    names = list(CANDIDATES) if args.only is None else args.only
    proba: dict[str, dict[int, np.ndarray]] = {}
    for name in names:
        design, make = CANDIDATES[name]
        file = args.cache / (name.replace(" ", "_").replace("=", "") + ".pkl")
        store = pickle.loads(file.read_bytes()) if file.is_file() else {}
        for seed in SEEDS:
            if seed not in store:
                store[seed] = out_of_fold(make, X[design], y, t4, ids, seed)
                file.write_bytes(pickle.dumps(store))
        proba[name] = store
        print(f"fitted {name}", file=sys.stderr, flush=True)

    rows = []
    for name in names:
        auc, ee, ee20 = summarise({s: score(proba[name][s], 0.35) for s in SEEDS}, y)
        rows.append((name, CANDIDATES[name][0], auc, ee, ee20))
    for combo, members in COMBINATIONS.items():
        if all(m in proba for m in members):
            mean = {s: np.mean([score(proba[m][s], 0.35) for m in members], axis=0) for s in SEEDS}
            auc, ee, ee20 = summarise(mean, y)
            rows.append((combo, "mean of " + ", ".join(members), auc, ee, ee20))
    members = ("logit", "boosting", "forest")
    if all(m in proba for m in members):
        for nw, third in product((0.0, 0.2, 0.35, 0.5, 0.75, 1.0), (0.0, 0.1, 0.25)):
            mean = {
                s: np.mean([score(proba[m][s], nw, third) for m in members], axis=0) for s in SEEDS
            }
            auc, ee, ee20 = summarise(mean, y)
            rows.append((f"ensemble (main), near_weight {nw}, third {third}", "", auc, ee, ee20))
    print("| candidate | design / members | AUC | EE@share | EE@20 |")
    print("|---|---|---:|---:|---:|")
    for name, what, auc, ee, ee20 in rows:
        print(f"| {name} | {what} | {auc:.4f} | {ee:.4f} | {ee20:.4f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
