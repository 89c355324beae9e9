"""Quantile regression forest of log consumption (McBride & Nichols 2018; DESIGN.md §4).

The forest estimates the whole conditional distribution of log consumption given the proxies;
P(extreme) is the share of that distribution below the log line, read off a grid of 199 predicted
conditional quantiles (0.5 %-99.5 %), so no normality or constant variance is assumed.
(``quantile_ranks`` of quantile-forest 1.4 was not used: on this data it returned coarse, mostly
zero ranks.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from quantile_forest import RandomForestQuantileRegressor
from sklearn.utils.validation import check_is_fitted, validate_data

from targeting.data.city import DEFAULT_LINE
from targeting.pmt.linear import LogConsumptionBase

__all__ = ["ForestPMT"]

_QUANTILES = np.linspace(0.005, 0.995, 199)


def _cdf_from_quantiles(Q: np.ndarray, z: float) -> np.ndarray:
    """P(Y <= z) per row by linear interpolation in a row-wise grid of conditional quantiles."""
    m = Q.shape[1]
    k = (Q <= z).sum(axis=1)
    lo = np.clip(k - 1, 0, m - 1)
    hi = np.clip(k, 0, m - 1)
    rows = np.arange(Q.shape[0])
    q_lo, q_hi = Q[rows, lo], Q[rows, hi]
    span = np.where(q_hi > q_lo, q_hi - q_lo, 1.0)
    frac = np.clip((z - q_lo) / span, 0.0, 1.0)
    p = _QUANTILES[lo] + frac * (_QUANTILES[hi] - _QUANTILES[lo])
    p = np.where(k == 0, 0.0, p)
    return np.where(k == m, 1.0, p)


class ForestPMT(LogConsumptionBase):
    """Quantile regression forest of log consumption per capita.

    Parameters
    ----------
    line : float, default DEFAULT_LINE (the city profile's extreme line)
    n_estimators : int, default 100
    min_samples_leaf : int, default 20
        Large leaves: each leaf is a local sample of the conditional distribution.
    max_features : float, default 0.33
    max_samples : float or None, default 0.5
        Bootstrap sample share per tree (smaller trees, faster, more diverse).
    random_state : int or None, default 0
    n_jobs : int or None, default 1

    Attributes
    ----------
    forest_ : quantile_forest.RandomForestQuantileRegressor
        Keeps the training targets in its leaves (needed for quantiles); the proxies are not kept.
    """

    def __init__(
        self,
        line: float = DEFAULT_LINE,
        n_estimators: int = 100,
        min_samples_leaf: int = 20,
        max_features: float = 0.33,
        max_samples: float | None = 0.5,
        random_state: int | None = 0,
        n_jobs: int | None = 1,
    ):
        self.line = line
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.max_samples = max_samples
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> ForestPMT:
        """Fit the forest on log(y).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Consumption per capita (IDR, > 0).
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        X, log_y, w = self._validate_fit(X, y, sample_weight)
        self.forest_ = RandomForestQuantileRegressor(
            n_estimators=self.n_estimators,
            min_samples_leaf=self.min_samples_leaf,
            max_features=self.max_features,
            max_samples=self.max_samples,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        )
        self.forest_.fit(X, log_y, sample_weight=None if sample_weight is None else w)
        return self

    def _linear(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=float)
        return np.asarray(self.forest_.predict(X, quantiles=0.5), dtype=float).ravel()

    def predict(self, X: Any) -> np.ndarray:
        """Predict the conditional median of log consumption per capita."""
        return self._linear(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """P(consumption < line) = the forest's conditional CDF at the log line.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray of shape (n_samples, 2)
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=float)
        Q = np.asarray(self.forest_.predict(X, quantiles=list(_QUANTILES)), dtype=float)
        p = _cdf_from_quantiles(np.sort(Q, axis=1), np.log(self.line))
        return np.column_stack([1.0 - p, p])
