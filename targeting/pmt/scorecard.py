"""A points scorecard readable on paper (PPI-style scorecards, Schreiner; DESIGN.md §4).

Each proxy is cut into a few levels (its categories, its values when it has few, or quantile bins
when it has many), a penalised logit is fitted on the level indicators, and each level's
coefficient becomes whole points: within a proxy the lowest-risk level gets 0, and the points are
scaled so the highest possible total is ``total_points`` (100). **More points = poorer.** The
probability of extreme poverty is a logistic calibration of the total, so an enumerator can add
points on paper and read the probability from a short table.
"""

from __future__ import annotations

import warnings
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from targeting.data.schema import ORDERED_PROXIES
from targeting.pmt.calibration import fit_platt
from targeting.pmt.classifiers import BinaryPMT, binary_classes
from targeting.pmt.linear import mvn_factor

__all__ = ["ScorecardPMT"]


def _fmt(x: float) -> str:
    return f"{x:g}" if abs(x) >= 0.01 or x == 0 else f"{x:.3g}"


class ScorecardPMT(BinaryPMT):
    """Integer points per proxy value, from a penalised logit; P from the calibrated total.

    Parameters
    ----------
    C : float, default 0.1
        Inverse L2 penalty of the logit on level indicators (shrinks rare levels toward 0).
    n_bins : int, default 4
        Quantile bins for proxies with many values.
    max_levels : int, default 6
        Proxies with at most this many distinct values keep one level per value.
    total_points : int, default 100
        The highest possible total.

    Attributes
    ----------
    variables_ : list of dict
        One entry per proxy: name, kind, columns, cut points, labels and points.
    calibration_ : numpy.ndarray
        (a, b) of P = expit(a + b · total), by :func:`~targeting.pmt.calibration.fit_platt`.
    """

    def __init__(
        self, C: float = 0.1, n_bins: int = 4, max_levels: int = 6, total_points: int = 100
    ):
        self.C = C
        self.n_bins = n_bins
        self.max_levels = max_levels
        self.total_points = total_points

    # --- structure ---------------------------------------------------------------------------

    def _build_variables(self, X: np.ndarray, names: list[str]) -> list[dict[str, Any]]:
        variables: list[dict[str, Any]] = []
        groups: dict[str, list[int]] = {}
        for j, name in enumerate(names):
            if "=" in name:
                groups.setdefault(name.split("=", 1)[0], []).append(j)
                continue
            col = X[:, j]
            values = np.unique(col[np.isfinite(col)])
            if len(values) == 0:
                values = np.array([0.0])
            if len(values) <= self.max_levels:
                cuts = (values[:-1] + values[1:]) / 2
                if name in ORDERED_PROXIES and np.allclose(values, np.round(values)):
                    levels = ORDERED_PROXIES[name]
                    labels = [levels[int(v)] if 0 <= v < len(levels) else _fmt(v) for v in values]
                elif set(values.tolist()) <= {0.0, 1.0} and len(values) == 2:
                    labels = ["no", "yes"]
                else:
                    labels = [_fmt(v) for v in values]
            else:
                probs = np.linspace(0, 1, self.n_bins + 1)[1:-1]
                cuts = np.unique(np.quantile(col[np.isfinite(col)], probs))
                labels = [f"< {_fmt(cuts[0])}"]
                labels += [f"{_fmt(a)} to < {_fmt(b)}" for a, b in pairwise(cuts)]
                labels += [f">= {_fmt(cuts[-1])}"]
            variables.append(
                {"name": name, "kind": "binned", "columns": [j], "cuts": cuts, "labels": labels}
            )
        for name, cols in groups.items():
            labels = [names[j].split("=", 1)[1] for j in cols] + ["other"]
            variables.append({"name": name, "kind": "onehot", "columns": cols, "labels": labels})
        return variables

    @staticmethod
    def _levels(var: dict[str, Any], X: np.ndarray) -> np.ndarray:
        if var["kind"] == "binned":
            col = np.nan_to_num(X[:, var["columns"][0]], nan=0.0)
            return np.searchsorted(var["cuts"], col, side="right")
        block = X[:, var["columns"]]
        level = np.argmax(block, axis=1)
        return np.where(block.max(axis=1) > 0.5, level, len(var["columns"]))

    def _design(self, X: np.ndarray) -> np.ndarray:
        parts = []
        for var in self.variables_:
            lev = self._levels(var, X)
            parts.append(np.eye(len(var["labels"]))[lev])
        return np.hstack(parts)

    # --- fitting -----------------------------------------------------------------------------

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> ScorecardPMT:
        """Fit the level logit, derive the points and calibrate the total.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Proxy features; one-hot columns named ``proxy=value`` are read as one proxy.
        y : array-like of shape (n_samples,)
            Binary label.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, dtype=float)
        self.classes_, t = binary_classes(y)
        w = _check_sample_weight(sample_weight, X, dtype=float, ensure_non_negative=True)
        w = w * (len(w) / w.sum())
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            names = [f"x{i}" for i in range(X.shape[1])]
        names = [str(n) for n in names]
        self.variables_ = self._build_variables(X, names)
        D = self._design(X)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            logit = LogisticRegression(C=self.C, max_iter=2000).fit(D, t, sample_weight=w)
        coef = logit.coef_.ravel()
        start = 0
        raw = []
        for var in self.variables_:
            k = len(var["labels"])
            c = coef[start : start + k]
            raw.append(c - c.min())
            start += k
        span = sum(r.max() for r in raw)
        scale = self.total_points / span if span > 0 else 0.0
        for var, r in zip(self.variables_, raw, strict=True):
            var["points"] = np.round(r * scale).astype(int)
        total = self.total_score(X).astype(float)
        self.calibration_, cov = fit_platt(total, t, w)
        self._cov_factor_ = mvn_factor(cov)
        return self

    def proba_draws(self, X: Any, n_draws: int, random_state: Any = None) -> np.ndarray:
        """Draw P(extreme) with the calibration (a, b) from its Laplace approximation.

        The points themselves are fixed (they are the published scorecard).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        n_draws : int
        random_state : int, numpy.random.Generator or None

        Returns
        -------
        numpy.ndarray of shape (n_samples, n_draws)
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=float)
        rng = np.random.default_rng(random_state)
        ab = self.calibration_[:, None] + self._cov_factor_ @ rng.standard_normal((2, n_draws))
        total = self.total_score(X).astype(float)
        return expit(ab[0] + np.outer(total, ab[1]))

    def total_score(self, X: Any) -> np.ndarray:
        """Total points of each household (higher = poorer).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray of int, shape (n_samples,)
        """
        check_is_fitted(self, "variables_")
        X = np.asarray(X, dtype=float)
        total = np.zeros(X.shape[0], dtype=int)
        for var in self.variables_:
            total += var["points"][self._levels(var, X)]
        return total

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probability of each class from the calibrated total points.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray of shape (n_samples, 2)
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=float)
        p = expit(self.calibration_[0] + self.calibration_[1] * self.total_score(X))
        return np.column_stack([1.0 - p, p])

    def points_table(self) -> pd.DataFrame:
        """The scorecard: one row per proxy level.

        Returns
        -------
        pandas.DataFrame
            Columns ``proxy``, ``value``, ``points``.
        """
        check_is_fitted(self)
        rows = [
            {"proxy": var["name"], "value": label, "points": int(points)}
            for var in self.variables_
            for label, points in zip(var["labels"], var["points"], strict=True)
        ]
        return pd.DataFrame(rows, columns=["proxy", "value", "points"])

    def probability_table(self, step: int = 5) -> pd.DataFrame:
        """Total points to P(extreme), for reading on paper.

        Parameters
        ----------
        step : int, default 5

        Returns
        -------
        pandas.DataFrame
            Columns ``total_points``, ``p_extreme``.
        """
        check_is_fitted(self)
        totals = np.arange(0, self.total_points + 1, step)
        p = expit(self.calibration_[0] + self.calibration_[1] * totals)
        return pd.DataFrame({"total_points": totals, "p_extreme": p})
