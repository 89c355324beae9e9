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
* An uncalibrated linear model (OLS, poverty-weighted, quantile, logit) needs no simulation:
  under normal coefficients its linear prediction is normal, and P is monotone in it, so the
  interval's ends are P at the prediction's exact quantiles (``proba_interval``): what the
  draws approximate, without their Monte Carlo noise, at the cost of one matrix product.
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

from targeting.pmt.plain import desil_from_cuts

__all__ = [
    "DESIL_ATTRIBUTE",
    "assign_desil",
    "attach_desil_cutpoints",
    "desil_cutpoints",
    "score_features",
    "score_households",
]

DESIL_ATTRIBUTE = "desil_cutpoints_"
"""Name of the attribute a fitted model carries its desil cut-points in (set at fit time)."""


def desil_cutpoints(p_extreme: Any, sample_weight: Any = None) -> np.ndarray:
    """The nine P(extreme) thresholds that split a weighted population into desils.

    DTSEN's desil 1 is the poorest tenth of the population; here "poorest" is "highest
    P(extreme)". The thresholds are computed once, when the model is fitted, from the survey's
    weighted distribution of P(extreme) (the survey represents the population), and stored with
    the model, so that a registry scored whole, in batches or on Spark partitions gets the same
    desil for the same household.

    Parameters
    ----------
    p_extreme : array-like of shape (n,)
        P(extreme) of the survey households.
    sample_weight : array-like of shape (n,), optional
        Survey weights (equal weights when not given).

    Returns
    -------
    numpy.ndarray of float, shape (9,)
        Non-increasing: ``cut[k-1]`` is the P(extreme) above which lies the weighted share k/10.
    """
    p = np.asarray(p_extreme, dtype=float)
    if p.size == 0:
        raise ValueError("desil cut-points need at least one scored survey household")
    w = np.ones_like(p) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    order = np.argsort(-p, kind="stable")
    p_sorted, cum = p[order], np.cumsum(w[order])
    share = cum / cum[-1]
    # the k-th cut is the smallest P among the households that make up the top k/10 by weight
    idx = np.searchsorted(share, np.arange(1, 10) / 10.0, side="left")
    return p_sorted[np.minimum(idx, p.size - 1)]


def assign_desil(p_extreme: Any, cutpoints: Any = None) -> np.ndarray:
    """Desil 1-10 of each household (1 = poorest, i.e. highest P(extreme)).

    Parameters
    ----------
    p_extreme : array-like of shape (n,)
    cutpoints : array-like of shape (9,), optional
        The model's fixed cut-points (:func:`desil_cutpoints`): a household with
        ``p >= cut[k-1]`` is in desil k or poorer. Without them the scored households are ranked
        among themselves (ties by position), which is right only when they are the whole
        population, never for a batch.

    Returns
    -------
    numpy.ndarray of int, shape (n,)
    """
    p = np.asarray(p_extreme, dtype=float)
    if cutpoints is not None:
        return desil_from_cuts(p, cutpoints)
    n = len(p)
    order = np.argsort(-p, kind="stable")
    desil = np.empty(n, dtype=int)
    desil[order] = np.arange(n) * 10 // max(n, 1) + 1
    return desil


def attach_desil_cutpoints(model: Any, X: Any, sample_weight: Any = None) -> Any:
    """Store on a fitted model the desil cut-points of its predictions on ``X`` (the survey).

    Returns
    -------
    The same model, with the attribute :data:`DESIL_ATTRIBUTE` set.
    """
    p = np.asarray(model.predict_proba(X))[:, 1]
    setattr(model, DESIL_ATTRIBUTE, desil_cutpoints(p, sample_weight))
    return model


def score_households(
    model: Any,
    X: pd.DataFrame,
    alpha: float = 0.2,
    n_boot: int = 200,
    seed: int = 0,
    chunk_size: int = 50_000,
    desil_cuts: Any = None,
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
    desil_cuts : array-like of shape (9,), optional
        Desil cut-points; default the model's own (set when it was fitted). A model without
        them ranks the scored households among themselves, with a warning.

    Returns
    -------
    pandas.DataFrame
        Columns ``p_extreme``, ``p_low``, ``p_high``, ``desil``; index aligned to ``X``.
    """
    if isinstance(model, Pipeline):
        transform, final = model[:-1], model.steps[-1][1]
    else:
        transform, final = None, model
    _warn_without_interval(final, n_boot)
    if desil_cuts is None:
        desil_cuts = getattr(model, DESIL_ATTRIBUTE, None)
    _warn_without_cuts(desil_cuts)
    n = len(X)
    parts = []
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        part = X.iloc[start:stop] if hasattr(X, "iloc") else X[start:stop]
        Xt = transform.transform(part) if transform is not None else part
        parts.append(_score_matrix(final, Xt, alpha=alpha, n_boot=n_boot, seed=seed))
    scores = {
        key: np.concatenate([p[key] for p in parts]) if parts else np.empty(0)
        for key in ("p_extreme", "p_low", "p_high")
    }
    scores["desil"] = assign_desil(scores["p_extreme"], desil_cuts)
    index = X.index if hasattr(X, "index") else pd.RangeIndex(n)
    return pd.DataFrame(scores, index=index)


def _warn_without_interval(final: Any, n_boot: int) -> None:
    if not hasattr(final, "proba_draws") and n_boot > 0:
        warnings.warn(
            f"{type(final).__name__} has no parameter draws and no calibration: the interval "
            "has zero width",
            UserWarning,
            stacklevel=3,
        )


def _warn_without_cuts(desil_cuts: Any) -> None:
    if desil_cuts is None:
        warnings.warn(
            "the model carries no desil cut-points (it was fitted before they were stored): "
            "desils rank these households among themselves; refit it with 'targeting run'",
            UserWarning,
            stacklevel=3,
        )


def _score_matrix(
    final: Any, Xt: Any, alpha: float, n_boot: int, seed: int
) -> dict[str, np.ndarray]:
    """Scores of one chunk of features: the final estimator's P and its interval."""
    exact = hasattr(final, "proba_interval") and n_boot > 0
    can_draw = hasattr(final, "proba_draws") and n_boot > 0
    p = np.asarray(final.predict_proba(Xt))[:, 1]
    if exact:
        low, high = final.proba_interval(Xt, alpha)
    elif can_draw:
        # the generator is re-seeded per chunk: an interval does not depend on the chunking
        draws = final.proba_draws(Xt, n_boot, seed)
        low, high = np.quantile(draws, [alpha / 2, 1 - alpha / 2], axis=1)
    else:
        low, high = p, p
    # the point estimate lies inside its interval even when draws are skewed
    return {
        "p_extreme": p,
        "p_low": np.minimum(low, p),
        "p_high": np.maximum(high, p),
    }


def score_features(
    model: Any, Xt: np.ndarray, alpha: float = 0.2, n_boot: int = 200, seed: int = 0
) -> dict[str, np.ndarray]:
    """Score households from their feature matrix (the pipeline's transformer already applied).

    What :func:`score_households` does per chunk, for a caller that builds the features itself
    (the numeric path, :mod:`targeting.pmt.compiled`): same P, interval, seeds and desil.

    Parameters
    ----------
    model : sklearn.pipeline.Pipeline or estimator
        The fitted pipeline (its final estimator scores; its desil cut-points are used).
    Xt : numpy.ndarray of shape (n, n_features)
        Features as the pipeline's transformer gives them.
    alpha, n_boot, seed
        As :func:`score_households`.

    Returns
    -------
    dict of str to numpy.ndarray
        ``p_extreme``, ``p_low``, ``p_high``, ``desil``.
    """
    final = model.steps[-1][1] if isinstance(model, Pipeline) else model
    cuts = getattr(model, DESIL_ATTRIBUTE, None)
    _warn_without_interval(final, n_boot)
    _warn_without_cuts(cuts)
    scores = _score_matrix(final, Xt, alpha=alpha, n_boot=n_boot, seed=seed)
    scores["desil"] = assign_desil(scores["p_extreme"], cuts)
    return scores
