"""Paired bootstrap intervals of model differences on the same out-of-fold predictions.

Every model of a zoo comparison is cross-validated on the same folds, so two models' AUC and
exclusion error can be compared household by household. :func:`paired_bootstrap` resamples the
*sampling units* (areas when the folds are grouped by area, households otherwise) with
replacement, recomputes both models' metrics on the same resample for every CV repeat, and
reports the mean-over-repeats difference with a percentile interval. Resampling whole units keeps
the correlation of households of one area inside a draw, so the interval is not too narrow when
areas differ.

Within a draw, a unit drawn *m* times counts with weight *m* (times its survey weight when the
data are weighted), and the metrics use the weighted forms of
:mod:`targeting.evaluation.metrics` (weighted AUC; the top share of total weight selected at the
true weighted extreme share). The point estimate is computed on the data as they are, with
:func:`~targeting.evaluation.metrics.evaluate_scores`, so it matches the comparison table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from targeting.evaluation.metrics import evaluate_scores

__all__ = [
    "PAIRED_METRICS",
    "bootstrap_auc",
    "bootstrap_ee_at_share",
    "paired_bootstrap",
    "resampling_units",
]

PAIRED_METRICS: tuple[str, ...] = ("auc", "ee_at_true_share")
"""The metrics whose paired differences are bootstrapped."""


def bootstrap_auc(y: np.ndarray, score: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted ROC AUC for many weight vectors at once (ties count one half).

    Parameters
    ----------
    y : numpy.ndarray of shape (n,)
        0/1 labels.
    score : numpy.ndarray of shape (n,)
    weights : numpy.ndarray of shape (b, n)
        One weight vector per bootstrap draw (multiplicity × survey weight).

    Returns
    -------
    numpy.ndarray of shape (b,)
        NaN for a draw with no weight on one of the classes.
    """
    order = np.argsort(score, kind="stable")
    s = np.asarray(score, dtype=float)[order]
    yy = np.asarray(y, dtype=float)[order]
    w = np.asarray(weights, dtype=float)[:, order]
    # one block per tied score: a positive ranks above the negatives of lower blocks and half
    # of the negatives of its own block
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    pos = np.add.reduceat(w * yy, starts, axis=1)
    neg = np.add.reduceat(w * (1.0 - yy), starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg
    total_pos, total_neg = pos.sum(axis=1), neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (pos * (below + 0.5 * neg)).sum(axis=1) / (total_pos * total_neg)
    return np.where((total_pos > 0) & (total_neg > 0), auc, np.nan)


def bootstrap_ee_at_share(y: np.ndarray, score: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Exclusion error at the true (weighted) extreme share, for many weight vectors at once.

    Selection follows :func:`~targeting.evaluation.metrics.select_top` with weights: households
    in score order while the mid-point of their cumulative weight is below the budget.

    Parameters
    ----------
    y : numpy.ndarray of shape (n,)
    score : numpy.ndarray of shape (n,)
    weights : numpy.ndarray of shape (b, n)

    Returns
    -------
    numpy.ndarray of shape (b,)
        NaN for a draw with nobody extremely poor.
    """
    order = np.argsort(-np.asarray(score, dtype=float), kind="stable")
    yy = np.asarray(y, dtype=float)[order]
    w = np.asarray(weights, dtype=float)[:, order]
    total = w.sum(axis=1)
    poor = (w * yy).sum(axis=1)
    cum_mid = np.cumsum(w, axis=1) - 0.5 * w
    selected = cum_mid < poor[:, None]  # budget × total weight = the poor's weight
    hit = (w * yy * selected).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ee = 1.0 - hit / poor
    return np.where((poor > 0) & (total > 0), ee, np.nan)


_BOOT = {"auc": bootstrap_auc, "ee_at_true_share": bootstrap_ee_at_share}


def paired_bootstrap(
    oof: pd.DataFrame,
    units: Any,
    models: Sequence[str],
    references: Sequence[str],
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    chunk: int = 200,
) -> pd.DataFrame:
    """Paired bootstrap intervals of each model's AUC and EE difference against references.

    Parameters
    ----------
    oof : pandas.DataFrame
        The wide out-of-fold frame of :class:`~targeting.evaluation.zoo.ZooEvaluation`:
        ``repeat``, ``label``, optional ``weight`` and ``p_<model>`` per model; within a repeat
        every household appears once.
    units : array-like of shape (len(oof),)
        The resampling unit of each row (area code, or household id when folds are over
        households).
    models, references : sequence of str
        Models compared, and the models they are compared against (e.g. ``ols`` and the plain
        baseline); a pair of a model with itself is skipped, as is a reference not in ``oof``.
    n_boot : int, default 1000
        Bootstrap draws (the same draws for every pair and repeat, so intervals are paired).
    seed : int, default 0
    level : float, default 0.95
        Coverage of the percentile interval.
    chunk : int, default 200
        Draws processed at once (memory: ``chunk × len(oof)`` floats per array).

    Returns
    -------
    pandas.DataFrame
        One row per model, reference and metric: ``model``, ``reference``, ``metric``,
        ``difference`` (model − reference, mean over repeats), ``low``, ``high`` (percentile
        interval), ``p_worse`` (share of draws where the model is worse than the reference:
        lower AUC, higher EE), ``n_units``, ``n_boot``. For AUC a positive difference favours
        the model, for EE a negative one.

    Raises
    ------
    ValueError
        When ``units`` does not match ``oof`` or a model column is missing.
    """
    units = np.asarray(units)
    if len(units) != len(oof):
        raise ValueError(f"units has {len(units)} rows, the out-of-fold frame {len(oof)}")
    missing = [m for m in models if f"p_{m}" not in oof.columns]
    if missing:
        raise ValueError(f"no out-of-fold predictions for {missing}; evaluate those models first")
    refs = [r for r in references if f"p_{r}" in oof.columns]
    codes, unit_index = np.unique(units.astype(str), return_inverse=True)
    n_units = len(codes)
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n_units, np.full(n_units, 1.0 / n_units), size=n_boot).astype(float)
    repeats = sorted(oof["repeat"].unique().tolist())
    survey_w = oof["weight"].to_numpy(dtype=float) if "weight" in oof.columns else None
    pairs = [(m, r) for m in models for r in refs if m != r]
    # draws[(model, ref, metric)] = (n_boot,) differences averaged over repeats
    sums = {(m, r, k): np.zeros(n_boot) for m, r in pairs for k in PAIRED_METRICS}
    point: dict[tuple[str, str, str], list[float]] = {
        (m, r, k): [] for m, r in pairs for k in PAIRED_METRICS
    }
    for rep in repeats:
        mask = (oof["repeat"] == rep).to_numpy()
        y = oof.loc[mask, "label"].to_numpy(dtype=float)
        idx = unit_index[mask]
        sw = None if survey_w is None else survey_w[mask]
        names = sorted({m for pair in pairs for m in pair})
        scores = {m: oof.loc[mask, f"p_{m}"].to_numpy(dtype=float) for m in names}
        exact = {m: evaluate_scores(y, scores[m], sample_weight=sw) for m in names}
        for m, r in pairs:
            for k in PAIRED_METRICS:
                point[(m, r, k)].append(exact[m][k] - exact[r][k])
        for lo in range(0, n_boot, chunk):
            w = counts[lo : lo + chunk][:, idx]
            if sw is not None:
                w = w * sw[None, :]
            values = {(m, k): _BOOT[k](y, scores[m], w) for m in names for k in PAIRED_METRICS}
            for m, r in pairs:
                for k in PAIRED_METRICS:
                    sums[(m, r, k)][lo : lo + chunk] += values[(m, k)] - values[(r, k)]
    alpha = (1.0 - level) / 2.0
    rows = []
    for (m, r, k), total in sums.items():
        diffs = total / len(repeats)
        worse = diffs < 0 if k == "auc" else diffs > 0
        rows.append(
            {
                "model": m,
                "reference": r,
                "metric": k,
                "difference": float(np.mean(point[(m, r, k)])),
                "low": float(np.nanquantile(diffs, alpha)),
                "high": float(np.nanquantile(diffs, 1.0 - alpha)),
                "p_worse": float(np.mean(worse[~np.isnan(diffs)])),
                "n_units": int(n_units),
                "n_boot": int(n_boot),
            }
        )
    return pd.DataFrame(rows)


def resampling_units(ids: Any, data_ids: Any, data_groups: Any, group_by: str) -> np.ndarray:
    """The bootstrap unit of each out-of-fold row: its area, or the household itself.

    Parameters
    ----------
    ids : array-like
        Household id of each out-of-fold row (``ZooEvaluation.oof["id"]``).
    data_ids, data_groups : array-like
        The data's household ids and areas (``HouseholdData.ids``, ``HouseholdData.groups``).
    group_by : {"area", "household"}
        The fold grouping: areas are resampled when folds are grouped by area.

    Returns
    -------
    numpy.ndarray
    """
    ids = np.asarray(ids, dtype=object)
    if group_by != "area" or data_groups is None:
        return ids
    area = dict(zip(np.asarray(data_ids, dtype=object), np.asarray(data_groups), strict=True))
    return np.asarray([area[i] for i in ids], dtype=object)
