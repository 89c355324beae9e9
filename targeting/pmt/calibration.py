"""Calibration of P(extreme) on held-out areas inside the training data.

:class:`CalibratedPMT` wraps any PMT estimator (consumption or label model). At fit time it holds
out a share of the training *areas* (or households, when no groups are given), fits the estimator
on the rest, learns a monotone map from the raw probability to the observed extreme rate on the
held-out part, then refits the estimator on all training rows and keeps the map. Platt scaling on
the log-odds (two parameters) is the default: the extreme share is small (a few per cent), so a
held-out set has few positives, and isotonic regression overfits them.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.special import expit, logit
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit, StratifiedShuffleSplit
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from targeting.pmt.classifiers import binary_classes
from targeting.pmt.linear import mvn_factor

__all__ = [
    "CalibratedPMT",
    "PlattCalibrator",
    "clipped_logit",
    "fit_penalised_logit",
    "fit_platt",
]

_EPS = 1e-4


def clipped_logit(p: np.ndarray) -> np.ndarray:
    """Log-odds of probabilities clipped to [1e-4, 1 − 1e-4] (±9.2), so exact 0 and 1 from tree
    models stay finite and do not dominate a fit on the log-odds."""
    return logit(np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS))


def fit_penalised_logit(
    design: np.ndarray,
    y: np.ndarray,
    offset: np.ndarray,
    prior_mean: np.ndarray,
    prior_precision: np.ndarray,
    sample_weight: np.ndarray | None = None,
    max_iter: int = 100,
) -> tuple[np.ndarray, np.ndarray]:
    """Maximise a Gaussian-penalised logistic likelihood by Newton steps with step halving.

    Parameters
    ----------
    design : numpy.ndarray of shape (n, k)
    y : numpy.ndarray of shape (n,)
        0/1 labels.
    offset : numpy.ndarray of shape (n,)
        Fixed part of the linear predictor.
    prior_mean, prior_precision : numpy.ndarray of shape (k,)
        Independent Gaussian prior per coefficient (precision > 0 keeps the fit finite).
    sample_weight : numpy.ndarray of shape (n,), optional
    max_iter : int, default 100

    Returns
    -------
    coef : numpy.ndarray of shape (k,)
    cov : numpy.ndarray of shape (k, k)
        Inverse of the penalised negative Hessian at the optimum (Laplace covariance).
    """
    w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    prec = np.asarray(prior_precision, dtype=float)
    mean = np.asarray(prior_mean, dtype=float)

    def objective(b: np.ndarray) -> float:
        eta = offset + design @ b
        nll = np.sum(w * (np.logaddexp(0.0, eta) - y * eta))
        return float(nll + 0.5 * np.sum(prec * (b - mean) ** 2))

    beta = mean.copy()
    current = objective(beta)
    for _ in range(max_iter):
        p = expit(offset + design @ beta)
        grad = design.T @ (w * (y - p)) - prec * (beta - mean)
        hess = (design * (w * p * (1 - p))[:, None]).T @ design + np.diag(prec)
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while t > 1e-8 and objective(beta + t * step) > current:
            t /= 2
        beta = beta + t * step
        new = objective(beta)
        done = abs(current - new) < 1e-10 * max(1.0, abs(current))
        current = new
        if done:
            break
    p = expit(offset + design @ beta)
    hess = (design * (w * p * (1 - p))[:, None]).T @ design + np.diag(prec)
    return beta, np.linalg.inv(hess)


PLATT_PRIOR_PRECISION = 1.0
"""Precision of the Platt fit's Gaussian prior on each of its two parameters (see
:func:`fit_platt`)."""


def fit_platt(score: Any, y: Any, sample_weight: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Fit the Platt map P(y = 1) = expit(a + b · score): the toolkit's one Platt fit.

    Penalty (one for every caller): independent Gaussian priors a ~ N(0, 1) and b ~ N(1, 1)
    (precision :data:`PLATT_PRIOR_PRECISION`), i.e. a unit ridge toward the identity map on the
    log-odds, with the sample weights rescaled to mean 1 so that the prior weighs as much as one
    household per parameter whatever the scale of the weights. It keeps the fit finite under
    separation and matters only when the data hold a handful of positives. The fit is weighted
    maximum likelihood by Newton steps with step halving (:func:`fit_penalised_logit`).

    Parameters
    ----------
    score : array-like of shape (n,)
        The score to map, on a log-odds-like scale: :func:`clipped_logit` of a raw probability
        (calibration, the ensemble) or a scorecard's total points.
    y : array-like of shape (n,)
        0/1 outcomes.
    sample_weight : array-like of shape (n,), optional

    Returns
    -------
    coef : numpy.ndarray of shape (2,)
        ``(a, b)``.
    cov : numpy.ndarray of shape (2, 2)
        Inverse of the penalised negative Hessian at the optimum (Laplace covariance), for
        drawing ``(a, b)`` in intervals.
    """
    z = np.asarray(score, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.ones_like(z) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    return fit_penalised_logit(
        np.column_stack([np.ones_like(z), z]),
        y,
        offset=np.zeros_like(z),
        prior_mean=np.array([0.0, 1.0]),
        prior_precision=np.full(2, PLATT_PRIOR_PRECISION),
        sample_weight=w * (len(w) / w.sum()),
    )


class PlattCalibrator:
    """P = expit(a + b · logit(p_raw)), fitted by weighted maximum likelihood (Newton steps).

    Raw probabilities are clipped to [1e-4, 1 − 1e-4] (log-odds ±9.2) so exact zeros from tree
    models do not dominate; the fit and its penalty are :func:`fit_platt`'s.
    ``cov_`` is the inverse Hessian, used to draw calibration parameters for intervals.
    """

    def fit(self, p_raw: Any, y: Any, sample_weight: Any = None) -> PlattCalibrator:
        self.coef_, self.cov_ = fit_platt(clipped_logit(p_raw), y, sample_weight)
        return self

    def transform(self, p_raw: Any) -> np.ndarray:
        return expit(self.coef_[0] + self.coef_[1] * clipped_logit(p_raw))

    def transform_draws(self, p_raw: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Map a (n, n_draws) array of raw probabilities, drawing (a, b) once per column."""
        n_draws = p_raw.shape[1]
        draws = self.coef_[:, None] + mvn_factor(self.cov_) @ rng.standard_normal((2, n_draws))
        return expit(draws[0] + draws[1] * clipped_logit(p_raw))


class IsotonicCalibrator:
    """Isotonic map from raw probability to observed rate (no parameter draws)."""

    def fit(self, p_raw: Any, y: Any, sample_weight: Any = None) -> IsotonicCalibrator:
        self.model_ = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        self.model_.fit(np.asarray(p_raw, dtype=float), np.asarray(y, dtype=float), sample_weight)
        return self

    def transform(self, p_raw: Any) -> np.ndarray:
        return self.model_.predict(np.asarray(p_raw, dtype=float).ravel()).reshape(np.shape(p_raw))

    def transform_draws(self, p_raw: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.transform(p_raw)


_CALIBRATORS: dict[str, type[PlattCalibrator] | type[IsotonicCalibrator]] = {
    "platt": PlattCalibrator,
    "isotonic": IsotonicCalibrator,
}


class CalibratedPMT(ClassifierMixin, BaseEstimator):
    """A PMT estimator whose P(extreme) is recalibrated on held-out training areas.

    Parameters
    ----------
    estimator : estimator
        A PMT estimator with ``target_kind`` and ``predict_proba`` (column 1 = P(extreme)).
    method : {"platt", "isotonic"}, default "platt"
    holdout : float, default 0.25
        Share of training areas (households without groups) held out to learn the map.
    refit : bool, default True
        Refit the estimator on all training rows after learning the map (otherwise keep the
        model fitted without the held-out part: half the cost, a little less data).
    random_state : int or None, default 0

    Attributes
    ----------
    estimator_ : estimator
        The fitted estimator.
    calibrator_ : PlattCalibrator or IsotonicCalibrator
    classes_ : numpy.ndarray
        ``[0, 1]`` (1 = extreme poor).
    """

    def __init__(
        self,
        estimator: Any,
        method: str = "platt",
        holdout: float = 0.25,
        refit: bool = True,
        random_state: int | None = 0,
    ):
        self.estimator = estimator
        self.method = method
        self.holdout = holdout
        self.refit = refit
        self.random_state = random_state

    @property
    def target_kind(self) -> str:
        """The wrapped estimator's target: ``"consumption"`` or ``"label"``."""
        return self.estimator.target_kind

    @property
    def line(self) -> float:
        """The wrapped consumption estimator's poverty line.

        A wrapper that takes consumption as its target is itself wrapped (selection-aware
        estimation labels the survey with the line), so it answers for its estimator.
        """
        return float(self.estimator.line)

    def _label(self, y: np.ndarray) -> np.ndarray:
        if self.target_kind == "consumption":
            return (np.asarray(y, dtype=float) < self.line).astype(int)
        y = np.asarray(y)
        classes = np.unique(y)
        return (y == classes[-1]).astype(int)

    def _split(self, label: np.ndarray, groups: Any) -> tuple[np.ndarray, np.ndarray]:
        dummy = np.zeros(len(label))
        if groups is not None and len(np.unique(groups)) >= 4:
            splitter = GroupShuffleSplit(1, test_size=self.holdout, random_state=self.random_state)
            return next(splitter.split(dummy, label, groups))
        if np.bincount(label, minlength=2).min() >= 2:
            splitter = StratifiedShuffleSplit(
                1, test_size=self.holdout, random_state=self.random_state
            )
            return next(splitter.split(dummy, label))
        splitter = ShuffleSplit(1, test_size=self.holdout, random_state=self.random_state)
        return next(splitter.split(dummy))

    def fit(self, X: Any, y: Any, sample_weight: Any = None, groups: Any = None) -> CalibratedPMT:
        """Fit the estimator and the calibration map.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Consumption (IDR) for consumption models, the 0/1 label for label models.
        sample_weight : array-like, optional
        groups : array-like, optional
            Areas; the held-out part is whole areas when given.

        Returns
        -------
        self
        """
        if self.method not in _CALIBRATORS:
            raise ValueError(f"method must be one of {sorted(_CALIBRATORS)}, got {self.method!r}")
        self._check_X(X, reset=True)
        y = column_or_1d(y, warn=True)
        if self.target_kind == "label":
            self.classes_, encoded = binary_classes(y)
            label = encoded.astype(int)
        else:
            self.classes_ = np.array([0, 1])
            label = self._label(y)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        train, held = self._split(label, None if groups is None else np.asarray(groups))

        def take(obj: Any, idx: np.ndarray) -> Any:
            return obj.iloc[idx] if hasattr(obj, "iloc") else np.asarray(obj)[idx]

        inner = clone(self.estimator)
        inner.fit(take(X, train), y[train], sample_weight=None if w is None else w[train])
        p_held = inner.predict_proba(take(X, held))[:, 1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.calibrator_ = _CALIBRATORS[self.method]().fit(
                p_held, label[held], None if w is None else w[held]
            )
        if self.refit:
            self.estimator_ = clone(self.estimator).fit(X, y, sample_weight=w)
        else:
            self.estimator_ = inner
        return self

    def predict_proba_raw(self, X: Any) -> np.ndarray:
        """P(extreme) of the wrapped estimator before calibration, shape (n_samples,)."""
        check_is_fitted(self)
        self._check_X(X, reset=False)
        return self.estimator_.predict_proba(X)[:, 1]

    def _check_X(self, X: Any, reset: bool) -> None:
        """Set or check n_features_in_/feature_names_in_; the data itself goes to the estimator
        unchanged (so a DataFrame keeps its column names)."""
        if hasattr(X, "iloc"):
            validate_data(self, X, reset=reset, skip_check_array=True)
        else:
            allow_nan = self.__sklearn_tags__().input_tags.allow_nan
            validate_data(
                self, X, reset=reset, ensure_all_finite="allow-nan" if allow_nan else True
            )

    def predict_proba(self, X: Any) -> np.ndarray:
        """Calibrated probability of each class; column 1 is P(extreme poor).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray of shape (n_samples, 2)
        """
        raw = self.predict_proba_raw(X)
        p = self.calibrator_.transform(raw)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """Predict the positive class (1 = extreme poor) when the calibrated P exceeds 0.5."""
        p = self.predict_proba(X)[:, 1]
        return self.classes_[(p > 0.5).astype(int)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        base = self.estimator.__sklearn_tags__()
        tags.input_tags.allow_nan = base.input_tags.allow_nan
        return tags

    def proba_draws(self, X: Any, n_draws: int, random_state: Any = None) -> np.ndarray:
        """Draw calibrated P(extreme): model parameter draws (when the estimator has them)
        mapped through calibration-parameter draws (Platt).

        Returns
        -------
        numpy.ndarray of shape (n_samples, n_draws)
        """
        check_is_fitted(self)
        rng = np.random.default_rng(random_state)
        if hasattr(self.estimator_, "proba_draws"):
            raw = self.estimator_.proba_draws(X, n_draws, rng)
        else:
            raw = np.repeat(self.predict_proba_raw(X)[:, None], n_draws, axis=1)
        return self.calibrator_.transform_draws(raw, rng)

    def predict_consumption(self, X: Any) -> np.ndarray:
        """Consumption per capita (IDR) of a consumption model (uncalibrated)."""
        check_is_fitted(self)
        return self.estimator_.predict_consumption(X)

    def summary(self, **kwargs: Any) -> Any:
        """The wrapped estimator's statsmodels summary."""
        check_is_fitted(self)
        return self.estimator_.summary(**kwargs)
