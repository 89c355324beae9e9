"""Direct classifiers of the extreme-poverty label (DESIGN.md §4).

* :class:`LogitPMT`: penalised logistic regression on the 0/1 extreme label; a statsmodels GLM
  (binomial) summary of the unpenalised fit is kept for reading (``remove_data`` applied).
* :class:`BoostingPMT`: histogram gradient boosting with conservative regularisation. Features
  that are entirely missing in a training set are dropped for that fit with a warning
  (scikit-learn 1.9's histogram boosting crashes on them, DESIGN.md §9).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import statsmodels.api as sm
from scipy.linalg import qr
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from targeting.pmt.linear import linear_predictor_draws, linear_predictor_interval, mvn_factor

__all__ = ["BinaryPMT", "BoostingPMT", "LogitPMT", "binary_classes", "kept_features"]


def binary_classes(y: Any) -> tuple[np.ndarray, np.ndarray]:
    """The two classes of a binary label and the label encoded 0.0/1.0 (the larger class is 1).

    Raises ValueError, in scikit-learn's wording, for a label with one class or more than two.
    """
    check_classification_targets(y)
    y_type = type_of_target(y, input_name="y", raise_unknown=True)
    if y_type not in ("binary", "multiclass"):
        raise ValueError(
            f"Only binary classification is supported. The type of the target is {y_type}."
        )
    classes, encoded = np.unique(y, return_inverse=True)
    if len(classes) == 1:
        raise ValueError(
            "a PMT classifier needs 2 classes (extreme poor or not); the data has 1 class"
        )
    if len(classes) > 2:
        raise ValueError(
            f"Only binary classification is supported. The type of the target is {y_type}."
        )
    return classes, encoded.astype(float)


def kept_features(estimator: BaseEstimator, X: np.ndarray) -> np.ndarray:
    """Indices of the columns to fit on: those not missing in every training row.

    scikit-learn 1.9's histogram boosting crashes on an entirely missing feature (DESIGN §9);
    such a feature is dropped for this fit, with a warning that names it.
    """
    all_missing = np.isnan(X).all(axis=0)
    if all_missing.any():
        names = getattr(estimator, "feature_names_in_", None)
        dropped = np.flatnonzero(all_missing)
        shown = [str(names[i]) if names is not None else f"x{i}" for i in dropped]
        warnings.warn(
            f"{type(estimator).__name__}: dropping {len(dropped)} feature(s) missing in every "
            "training row: " + ", ".join(shown),
            UserWarning,
            stacklevel=3,
        )
    return np.flatnonzero(~all_missing)


class BinaryPMT(ClassifierMixin, BaseEstimator):
    """Base of the binary PMT classifiers: ``predict`` from ``predict_proba`` and the tags."""

    target_kind = "label"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def predict(self, X: Any) -> np.ndarray:
        """Predict the class (the positive class when P > 0.5).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray of shape (n_samples,)
        """
        p = self.predict_proba(X)[:, 1]
        return self.classes_[(p > 0.5).astype(int)]


class LogitPMT(BinaryPMT):
    """Penalised logistic regression of the extreme-poverty label on proxies.

    Parameters
    ----------
    C : float, default 1.0
        Inverse L2 penalty (scikit-learn convention; sampling weights are normalised to mean 1,
        so C does not depend on their scale).
    class_weight : dict, "balanced" or None
    max_iter : int, default 1000
    summary_stats : bool, default True
        Also fit an unpenalised statsmodels binomial GLM for :meth:`summary` (skipped silently
        when it fails, e.g. under separation).

    Attributes
    ----------
    classes_ : numpy.ndarray
    coef_, intercept_ : numpy.ndarray, float
    cov_params_ : numpy.ndarray
        Laplace approximation of the covariance of (intercept, coefficients) of the penalised fit.
    summary_ : statsmodels Summary or None
    """

    def __init__(
        self,
        C: float = 1.0,
        class_weight: Any = None,
        max_iter: int = 1000,
        summary_stats: bool = True,
    ):
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.summary_stats = summary_stats

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LogitPMT:
        """Fit the logistic regression.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Binary label; the larger class value (1 = extreme poor) is the positive class.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, dtype=float)
        self.classes_, t = binary_classes(y)
        w = _check_sample_weight(sample_weight, X, dtype=float, ensure_non_negative=True)
        w = w * (len(w) / w.sum())
        model = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=self.max_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, t, sample_weight=w)
        self.coef_ = model.coef_.ravel().astype(float)
        self.intercept_ = float(model.intercept_[0])
        self.n_iter_ = int(np.max(model.n_iter_))
        Z = np.column_stack([np.ones(len(X)), X])
        p = expit(Z[:, 1:] @ self.coef_ + self.intercept_)
        hessian = (Z * (w * p * (1 - p))[:, None]).T @ Z
        hessian[1:, 1:] += np.eye(X.shape[1]) / self.C
        self.cov_params_ = np.linalg.pinv(hessian)
        self._cov_factor_ = mvn_factor(self.cov_params_)
        self.summary_ = None
        if self.summary_stats and X.shape[1] < 200:
            self.summary_ = self._glm_summary(Z, t, w)
        return self

    def _glm_summary(self, Z: np.ndarray, t: np.ndarray, w: np.ndarray) -> Any:
        """Unpenalised binomial GLM on a full-rank subset of the columns (pivoted QR)."""
        names = getattr(self, "feature_names_in_", None)
        names = [
            "const",
            *(map(str, names) if names is not None else (f"x{i}" for i in range(Z.shape[1] - 1))),
        ]
        try:
            _, r, piv = qr(Z, mode="economic", pivoting=True)
            diag = np.abs(np.diag(r))
            rank = int(np.sum(diag > 1e-8 * diag[0]))
            keep = np.sort(piv[:rank])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                results = sm.GLM(t, Z[:, keep], family=sm.families.Binomial(), var_weights=w).fit()
                return results.summary(xname=[names[i] for i in keep], yname="extreme_poor")
        except Exception:  # separation, degenerate data: the summary is optional
            return None

    def decision_function(self, X: Any) -> np.ndarray:
        """Return the log-odds of the positive class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=float)
        return X @ self.coef_ + self.intercept_

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probability of each class; column 1 is P(extreme poor).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray of shape (n_samples, 2)
        """
        p = expit(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def proba_draws(self, X: Any, n_draws: int, random_state: Any = None) -> np.ndarray:
        """Draw P(extreme) with coefficients from their Laplace (normal) approximation.

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
        return expit(
            linear_predictor_draws(
                X, self.intercept_, self.coef_, self._cov_factor_, n_draws, random_state
            )
        )

    def proba_interval(self, X: Any, alpha: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
        """Exact central ``1 − alpha`` interval of P(extreme) under the Laplace approximation.

        P is increasing in the linear predictor, which is normal under normal coefficients, so
        the interval's ends are the logistic of its quantiles (no simulation needed).

        Returns
        -------
        (p_low, p_high) : tuple of numpy.ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=float)
        low, high = linear_predictor_interval(
            X, self.intercept_, self.coef_, self._cov_factor_, alpha
        )
        return expit(low), expit(high)

    def summary(self) -> Any:
        """Return the statsmodels summary of the unpenalised binomial GLM.

        Fitted at fit time on a full-rank subset of the columns (collinear one-hot levels are
        left out); no training rows are kept.

        Returns
        -------
        statsmodels.iolib.summary.Summary

        Raises
        ------
        RuntimeError
            If the GLM could not be fitted (``summary_stats=False``, separation, ...).
        """
        check_is_fitted(self)
        if self.summary_ is None:
            raise RuntimeError("no statsmodels summary: the unpenalised GLM was not fitted")
        return self.summary_


class BoostingPMT(BinaryPMT):
    """Histogram gradient-boosted trees on the extreme label, regularised for small surveys.

    Parameters
    ----------
    learning_rate : float, default 0.05
    max_iter : int, default 200
    max_leaf_nodes : int, default 15
    min_samples_leaf : int, default 40
    l2_regularization : float, default 1.0
    max_features : float, default 0.8
        Share of features considered at each split (decorrelates trees).
    early_stopping : bool or "auto", default "auto"
        Early stopping on a 10 % validation split (scikit-learn's "auto": above 10,000 rows).
    random_state : int or None, default 0

    Attributes
    ----------
    classes_ : numpy.ndarray
    kept_features_ : numpy.ndarray of int
        The input columns used (those not entirely missing in training).
    model_ : sklearn.ensemble.HistGradientBoostingClassifier
    """

    def __init__(
        self,
        learning_rate: float = 0.05,
        max_iter: int = 200,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 40,
        l2_regularization: float = 1.0,
        max_features: float = 0.8,
        early_stopping: bool | str = "auto",
        random_state: int | None = 0,
    ):
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.max_features = max_features
        self.early_stopping = early_stopping
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> BoostingPMT:
        """Fit the boosted trees, dropping features that are entirely missing (with a warning).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            May contain NaN.
        y : array-like of shape (n_samples,)
            Binary label.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, dtype=float, ensure_all_finite="allow-nan")
        self.classes_, t = binary_classes(y)
        self.kept_features_ = kept_features(self, X)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=float)
        self.model_ = HistGradientBoostingClassifier(
            learning_rate=self.learning_rate,
            max_iter=self.max_iter,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            max_features=self.max_features,
            early_stopping=self.early_stopping,
            random_state=self.random_state,
        )
        self.model_.fit(X[:, self.kept_features_], t, sample_weight=sample_weight)
        self.n_iter_ = int(self.model_.n_iter_)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probability of each class; column 1 is P(extreme poor).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray of shape (n_samples, 2)
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=float, ensure_all_finite="allow-nan")
        return self.model_.predict_proba(X[:, self.kept_features_])
