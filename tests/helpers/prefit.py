"""A prefit base model for tests of models that wrap one (recalibration on field labels)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin


class StoredProbability(ClassifierMixin, BaseEstimator):
    """A 'fitted' base model returning the probability stored in column ``p``."""

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def fit(self, X, y):  # pragma: no cover - never called (prefit)
        return self

    def predict_proba(self, X):
        p = X["p"].to_numpy(dtype=float)
        return np.column_stack([1 - p, p])
