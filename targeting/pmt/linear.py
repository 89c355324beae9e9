"""Linear PMT models of log consumption per capita (DESIGN.md §4).

* :class:`LogConsumptionOLS`: the classic PMT (Grosh & Baker 1995): OLS (WLS with sampling weights)
  of log consumption on proxies; P(extreme) = Φ((log z − ŷ)/σ̂).
* :class:`QuantilePMT`: quantile regression at a low quantile (Brown, Ravallion & van de Walle
  2018); P(extreme) from the empirical distribution of the training residuals.
* :class:`PovertyWeightedPMT`: WLS with weights concentrated near the line (Brown et al. 2018's
  "poverty-weighted" least squares), so the fit is best where the targeting decision is made.

All three keep statsmodels results with ``remove_data()``: no training rows are stored, but the
coefficients, their covariance and ``summary()`` remain.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import statsmodels.api as sm
from scipy.special import ndtr, ndtri
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from targeting.data.city import DEFAULT_LINE

__all__ = [
    "LogConsumptionBase",
    "LogConsumptionOLS",
    "PovertyWeightedPMT",
    "QuantilePMT",
    "linear_predictor_draws",
    "linear_predictor_interval",
    "mvn_factor",
]

_GRID = np.linspace(0.0, 1.0, 201)


def _design(X: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones(X.shape[0]), X])


def _normalised_weights(sample_weight: Any, X: np.ndarray) -> np.ndarray:
    w = _check_sample_weight(sample_weight, X, dtype=float, ensure_non_negative=True)
    total = w.sum()
    if total <= 0:
        raise ValueError("sample_weight must have a positive sum")
    return w * (len(w) / total)


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray, probs: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    cum = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(probs, cum, v)


def mvn_factor(cov: np.ndarray) -> np.ndarray:
    """A square root of a (possibly singular) covariance matrix, for drawing coefficients."""
    vals, vecs = np.linalg.eigh((cov + cov.T) / 2)
    # the symmetric square root is unique, unlike an eigenvector basis of a singular matrix,
    # so the draws do not depend on how many BLAS threads computed the decomposition
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T


def linear_predictor_draws(
    X: np.ndarray,
    intercept: float,
    coef: np.ndarray,
    cov_factor: np.ndarray,
    n_draws: int,
    random_state: Any = None,
) -> np.ndarray:
    """Linear predictor ``X @ beta + b0`` under coefficients drawn from N(estimate, cov).

    ``cov_factor`` is a square root of the covariance of ``[intercept, *coef]``
    (:func:`mvn_factor`). Returns an array of shape (n_samples, n_draws).
    """
    rng = np.random.default_rng(random_state)
    params = np.concatenate([[intercept], coef])
    draws = params[:, None] + cov_factor @ rng.standard_normal((len(params), n_draws))
    return X @ draws[1:] + draws[0]


def linear_predictor_interval(
    X: np.ndarray, intercept: float, coef: np.ndarray, cov_factor: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """Central ``1 − alpha`` interval of ``X @ beta + b0`` when beta ~ N(estimate, cov).

    The exact counterpart of the quantiles of :func:`linear_predictor_draws`: under normal
    coefficients the linear predictor of a household is normal with variance
    ``[1, x] cov [1, x]'``, so its quantiles need no simulation (and carry no Monte Carlo noise).
    ``cov_factor`` is a square root F of the covariance (F F' = cov).

    Returns
    -------
    (low, high) : tuple of numpy.ndarray of shape (n_samples,)
    """
    mean = X @ coef + intercept
    rows = X @ cov_factor[1:] + cov_factor[0]
    se = np.sqrt(np.einsum("ij,ij->i", rows, rows))
    z = float(ndtri(1.0 - alpha / 2.0))
    return mean - z * se, mean + z * se


class LogConsumptionBase(RegressorMixin, BaseEstimator):
    """Shared behaviour: log-consumption target, consumption and probability predictions."""

    target_kind = "consumption"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = True
        return tags

    def _validate_fit(self, X: Any, y: Any, sample_weight: Any) -> tuple[np.ndarray, ...]:
        X, y = validate_data(self, X, y, y_numeric=True, dtype=float)
        y = np.asarray(y, dtype=float)
        if np.any(~np.isfinite(y)) or np.any(y <= 0):
            raise ValueError("consumption (y) must be finite and > 0 (IDR per person per month)")
        w = _normalised_weights(sample_weight, X)
        return X, np.log(y), w

    def _linear(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=float)
        return X @ self.coef_ + self.intercept_

    def predict(self, X: Any) -> np.ndarray:
        """Predict log consumption per capita.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray of shape (n_samples,)
        """
        return self._linear(X)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """R² of the log-consumption prediction against log(y).

        ``predict`` is on the log scale, so the score compares like with like.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Consumption per capita (IDR, > 0).
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        float
        """
        return float(
            r2_score(
                np.log(np.asarray(y, dtype=float)), self.predict(X), sample_weight=sample_weight
            )
        )

    def predict_consumption(self, X: Any) -> np.ndarray:
        """Predict consumption per capita in IDR (``exp`` of the log prediction).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray of shape (n_samples,)
        """
        return np.exp(self.predict(X))

    def _p_below(self, gap: np.ndarray) -> np.ndarray:
        """P(log consumption < log line) given ``gap = log line − linear prediction``."""
        # ndtr is what norm.cdf computes, without its per-call argument handling (hot path)
        return ndtr(gap / self.sigma_)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probability of extreme poverty.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray of shape (n_samples, 2)
            Column 1 is P(consumption < line), column 0 its complement.
        """
        p = self._p_below(np.log(self.line) - self._linear(X))
        return np.column_stack([1.0 - p, p])


class _LinearLogConsumption(LogConsumptionBase):
    """Linear models: coefficient draws and a statsmodels summary."""

    def proba_draws(self, X: Any, n_draws: int, random_state: Any = None) -> np.ndarray:
        """Draw P(extreme) under parameter uncertainty.

        Coefficients are drawn from their asymptotic normal distribution (the statsmodels
        covariance); the residual distribution is held at its estimate.

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
        linear = linear_predictor_draws(
            X, self.intercept_, self.coef_, self._cov_factor_, n_draws, random_state
        )
        return self._p_below(np.log(self.line) - linear)

    def proba_interval(self, X: Any, alpha: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
        """Exact central ``1 − alpha`` interval of P(extreme) under coefficient uncertainty.

        P is a decreasing function of the linear prediction, whose distribution under the
        coefficients' normal law is normal: the interval's ends are P at the prediction's
        quantiles (what :meth:`proba_draws` approximates by simulation).

        Returns
        -------
        (p_low, p_high) : tuple of numpy.ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=float)
        low, high = linear_predictor_interval(
            X, self.intercept_, self.coef_, self._cov_factor_, alpha
        )
        log_line = np.log(self.line)
        return self._p_below(log_line - high), self._p_below(log_line - low)

    def summary(self) -> Any:
        """Return the statsmodels summary of the fit (feature names when known).

        The summary is built at fit time, before ``remove_data()`` drops the training rows.

        Returns
        -------
        statsmodels.iolib.summary.Summary
        """
        check_is_fitted(self)
        return self.summary_

    def _xnames(self) -> list[str]:
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            names = [f"x{i}" for i in range(self.n_features_in_)]
        return ["const", *map(str, names)]

    def _store(self, results: Any) -> None:
        params = np.asarray(results.params, dtype=float)
        self.intercept_ = float(params[0])
        self.coef_ = params[1:]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cov = np.asarray(results.cov_params(), dtype=float)
        cov = np.where(np.isfinite(cov), cov, 0.0)
        self.cov_params_ = cov
        self._cov_factor_ = mvn_factor(cov)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                self.summary_ = results.summary(xname=self._xnames(), yname="log_consumption_pc")
            except Exception:  # a degenerate fit (e.g. one row) has no summary statistics
                self.summary_ = None
        results.remove_data()
        self.results_ = results


def _wls(log_y: np.ndarray, Z: np.ndarray, w: np.ndarray) -> tuple[Any, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = sm.WLS(log_y, Z, weights=w).fit()
    resid = log_y - Z @ np.asarray(results.params)
    dof = max(len(log_y) - int(results.df_model) - 1, 1)
    sigma = float(np.sqrt(np.sum(w * resid**2) / dof))
    return results, max(sigma, 1e-6)


class LogConsumptionOLS(_LinearLogConsumption):
    """Classic PMT: OLS (WLS with sampling weights) of log consumption per capita on proxies.

    Parameters
    ----------
    line : float, default DEFAULT_LINE (the city profile's extreme line)
        Extreme-poverty line, IDR per person per month.

    Attributes
    ----------
    coef_, intercept_ : numpy.ndarray, float
        Coefficients on the log scale.
    sigma_ : float
        Residual standard deviation (weighted), the σ̂ of P = Φ((log z − ŷ)/σ̂).
    cov_params_ : numpy.ndarray
        Covariance of (intercept, coefficients).
    results_ : statsmodels RegressionResults
        With ``remove_data()`` applied.
    """

    def __init__(self, line: float = DEFAULT_LINE):
        self.line = line

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LogConsumptionOLS:
        """Fit log(y) on X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Consumption per capita (IDR, > 0).
        sample_weight : array-like of shape (n_samples,), optional
            Sampling weights (normalised to mean 1; WLS).

        Returns
        -------
        self
        """
        X, log_y, w = self._validate_fit(X, y, sample_weight)
        results, self.sigma_ = _wls(log_y, _design(X), w)
        self._store(results)
        return self


class PovertyWeightedPMT(_LinearLogConsumption):
    """Poverty-weighted least squares (Brown, Ravallion & van de Walle 2018).

    Each household's weight is its sampling weight times
    ``floor + exp(-0.5 * ((log y − log line) / bandwidth) ** 2)``, so that households near the
    line dominate the fit; σ̂ is the weighted residual standard deviation under the same weights.

    Parameters
    ----------
    line : float, default DEFAULT_LINE (the city profile's extreme line)
    bandwidth : float, default 0.5
        Kernel width on the log-consumption scale (0.5 ≈ a factor of 1.6 either side).
    floor : float, default 0.1
        Minimum relative weight, so far-from-line households still anchor the fit.
    """

    def __init__(self, line: float = DEFAULT_LINE, bandwidth: float = 0.5, floor: float = 0.1):
        self.line = line
        self.bandwidth = bandwidth
        self.floor = floor

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> PovertyWeightedPMT:
        """Fit the poverty-weighted regression of log(y) on X.

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
        kernel = self.floor + np.exp(-0.5 * ((log_y - np.log(self.line)) / self.bandwidth) ** 2)
        w = w * kernel
        w = w * (len(w) / w.sum())
        results, self.sigma_ = _wls(log_y, _design(X), w)
        self._store(results)
        return self


class QuantilePMT(_LinearLogConsumption):
    """Quantile regression of log consumption at a low quantile (Brown et al. 2018).

    P(extreme) = F̂(log line − ŷ), with F̂ the (weighted) empirical distribution of the training
    residuals, stored as 201 quantiles only (no training rows kept).

    Parameters
    ----------
    line : float, default DEFAULT_LINE (the city profile's extreme line)
    quantile : float, default 0.2
    max_iter : int, default 1000
        Iterations of statsmodels' IRLS solver.

    Notes
    -----
    Sampling weights enter exactly: the check loss is positively homogeneous, so weighted quantile
    regression equals quantile regression of (w·y) on (w·X).
    """

    def __init__(self, line: float = DEFAULT_LINE, quantile: float = 0.2, max_iter: int = 1000):
        self.line = line
        self.quantile = quantile
        self.max_iter = max_iter

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> QuantilePMT:
        """Fit the quantile regression of log(y) on X.

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
        if not 0.0 < self.quantile < 1.0:
            raise ValueError(f"quantile must be in (0, 1), got {self.quantile}")
        X, log_y, w = self._validate_fit(X, y, sample_weight)
        Z = _design(X)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = sm.QuantReg(w * log_y, w[:, None] * Z).fit(
                q=self.quantile, max_iter=self.max_iter
            )
        resid = log_y - Z @ np.asarray(results.params)
        self.residual_quantiles_ = _weighted_quantiles(resid, w, _GRID)
        self.sigma_ = float(np.sqrt(np.average(resid**2, weights=w)))
        self.n_iter_ = int(getattr(results, "iterations", 1) or 1)
        self._store(results)
        return self

    def _p_below(self, gap: np.ndarray) -> np.ndarray:
        q = self.residual_quantiles_
        # np.interp needs increasing x; ties in q (discrete residuals) are harmless.
        return np.interp(gap, q, _GRID, left=0.0, right=1.0)
