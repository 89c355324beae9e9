"""A prefit base model for tests of models that wrap one (recalibration on field labels)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin


class StoredProbability(ClassifierMixin, BaseEstimator):
    """A 'fitted' base model returning the probability stored in one column of ``X``.

    Parameters
    ----------
    column : str or int, default "p"
        The column's name in a DataFrame, or its position in an array.
    """

    def __init__(self, column: str | int = "p"):
        self.column = column

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def fit(self, X, y):  # pragma: no cover - never called (prefit)
        return self

    def predict_proba(self, X):
        if isinstance(self.column, str):
            p = X[self.column].to_numpy(dtype=float)
        else:
            p = np.asarray(X)[:, self.column].astype(float)
        return np.column_stack([1 - p, p])
