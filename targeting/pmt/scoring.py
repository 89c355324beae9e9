"""Scoring households: P(extreme), an interval, and the national desil (DESIGN.md §3 model output).

Interval method
---------------
The interval reflects *estimation* uncertainty in P(extreme) (how sure the model is of the
probability), not the household's own randomness (a probability already expresses that).

* Parametric models (OLS, poverty-weighted, quantile, logit, scorecard) draw their parameters
  ``n_boot`` times from the asymptotic normal distribution of the estimates (statsmodels covariance
  for the linear models, a Laplace approximation for the penalised logits) and recompute P for
  every household. This is the parametric bootstrap of the coefficients: one matrix product per
  chunk, so 200,000 households score in seconds, while refitting the model ``n_boot`` times would
  take minutes and need the training rows, which are not kept.
* When the model is recalibrated (:class:`~targeting.pmt.calibration.CalibratedPMT`), the Platt
  parameters are drawn too (from their Laplace approximation), and each model draw is mapped
  through a calibration draw. Models without parameter draws (boosting, forest) thus still get an
  interval: the uncertainty of their calibration, the cheap generic method.
* A model with neither gets a zero-width interval (``p_low == p_high == p_extreme``) and a
  warning.

The same draws are used for every chunk (the generator is re-seeded per chunk), so an interval
does not depend on the chunk size. ``p_low`` and ``p_high`` are the ``alpha/2`` and
``1 − alpha/2`` quantiles of the draws (an 80 % interval by default).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

__all__ = ["assign_desil", "score_households"]


def assign_desil(p_extreme: Any) -> np.ndarray:
    """Desil 1-10 by deciles of P(extreme) across the scored households (1 = poorest).

    Parameters
    ----------
    p_extreme : array-like of shape (n,)

    Returns
    -------
    numpy.ndarray of int, shape (n,)
        Households are ranked by descending P (ties by position); the first tenth is desil 1.
    """
    p = np.asarray(p_extreme, dtype=float)
    n = len(p)
    order = np.argsort(-p, kind="stable")
    desil = np.empty(n, dtype=int)
    desil[order] = np.arange(n) * 10 // max(n, 1) + 1
    return desil


def score_households(
    model: Any,
    X: pd.DataFrame,
    alpha: float = 0.2,
    n_boot: int = 200,
    seed: int = 0,
    chunk_size: int = 50_000,
) -> pd.DataFrame:
    """Score households: calibrated P(extreme), an interval and the desil.

    Parameters
    ----------
    model : sklearn.pipeline.Pipeline or estimator
        A fitted pipeline (``features`` + ``model``) or a bare fitted estimator.
    X : pandas.DataFrame
        Proxies of the households to score.
    alpha : float, default 0.2
        The interval is the central ``1 − alpha`` range of the draws.
    n_boot : int, default 200
        Number of parameter draws (0 gives a zero-width interval).
    seed : int, default 0
    chunk_size : int, default 50_000
        Rows transformed and scored at a time (bounded memory).

    Returns
    -------
    pandas.DataFrame
        Columns ``p_extreme``, ``p_low``, ``p_high``, ``desil``; index aligned to ``X``.
    """
    if isinstance(model, Pipeline):
        transform, final = model[:-1], model.steps[-1][1]
    else:
        transform, final = None, model
    can_draw = hasattr(final, "proba_draws") and n_boot > 0
    if not can_draw and n_boot > 0:
        warnings.warn(
            f"{type(final).__name__} has no parameter draws and no calibration: the interval "
            "has zero width",
            UserWarning,
            stacklevel=2,
        )
    n = len(X)
    p = np.empty(n)
    low = np.empty(n)
    high = np.empty(n)
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        part = X.iloc[start:stop] if hasattr(X, "iloc") else X[start:stop]
        Xt = transform.transform(part) if transform is not None else part
        p[start:stop] = final.predict_proba(Xt)[:, 1]
        if can_draw:
            draws = final.proba_draws(Xt, n_boot, seed)
            low[start:stop], high[start:stop] = np.quantile(
                draws, [alpha / 2, 1 - alpha / 2], axis=1
            )
        else:
            low[start:stop] = p[start:stop]
            high[start:stop] = p[start:stop]
    # the point estimate lies inside its interval even when draws are skewed
    low = np.minimum(low, p)
    high = np.maximum(high, p)
    index = X.index if hasattr(X, "index") else pd.RangeIndex(n)
    return pd.DataFrame(
        {"p_extreme": p, "p_low": low, "p_high": high, "desil": assign_desil(p)}, index=index
    )
