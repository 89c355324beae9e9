"""Targeting metrics (DESIGN.md §4, evaluation protocol).

At a budget *k* (the share of households a programme can serve), S = the top-k households by score
and P = the truly extremely poor:

* exclusion error EE = 1 − |S∩P| / |P| (undercoverage),
* inclusion error IE = 1 − |S∩P| / |S| (leakage).

With sampling weights, |·| are sums of weights and S is the highest-scored households whose
cumulative weight reaches k of the total (a household is in S when the midpoint of its weight
falls within the budget). Ties in the score are broken by position (earlier rows first), so
results are deterministic.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

__all__ = [
    "GREATER_IS_BETTER",
    "HEADLINE_METRICS",
    "evaluate_scores",
    "expected_calibration_error",
    "greater_is_better",
    "group_error_ratios",
    "reliability_bins",
    "select_top",
    "targeting_curve",
    "targeting_errors",
]

HEADLINE_METRICS: list[str] = [
    "auc",
    "brier",
    "ece",
    "ee_at_true_share",
    "ie_at_true_share",
    "ee_at_10",
    "ee_at_20",
    "ee_at_40",
]
"""The metrics shown first wherever models are compared (tables, reports, MLflow views)."""

DEFAULT_BUDGETS: dict[str, float] = {"10": 0.10, "20": 0.20, "40": 0.40}

GREATER_IS_BETTER: dict[str, bool] = {
    # model quality (cross-validated; :func:`evaluate_scores`, the zoo table)
    "auc": True,
    "auc_fold_mean": True,
    "brier": False,
    "ece": False,
    "ece_before": False,
    "ece_after": False,
    "macro_f1": True,
    "macro_f1_4class": True,
    "ee_at_true_share": False,
    "ie_at_true_share": False,
    **{f"{kind}_at_{b}": False for kind in ("ee", "ie") for b in DEFAULT_BUDGETS},
    "seconds": False,
    # forecast scenarios (:meth:`targeting.forecast.stockflow.ForecastResult.summary`)
    "p_goal": True,
    "p_near_zero": True,
    "start_stock_median": False,
    "deadline_stock_median": False,
    **{f"end_q{q:02d}": False for q in (5, 10, 25, 50, 75, 90, 95)},
}
"""Whether a larger value of each reported metric is better (the one direction rule).

Also covered by :func:`greater_is_better`, without being listed: exclusion and inclusion errors
at any budget (``ee_at_*``, ``ie_at_*``: lower is better), the capacity a scenario needs
(``capacity_*``: lower is better) and every spread (``<metric>_sd``, ``<metric>_se``: a smaller
spread is better, whatever the metric's own direction). Descriptive figures (``true_share``,
``n_paths``, counts) have no direction and are not metrics to rank by.
"""

_SPREAD_SUFFIXES = ("_sd", "_se")
_LOWER_PREFIXES = ("ee_at_", "ie_at_", "capacity_")


def greater_is_better(name: str) -> bool:
    """Whether a larger value of the metric ``name`` is better.

    Parameters
    ----------
    name : str
        A reported metric (:data:`GREATER_IS_BETTER`, ``ee_at_*``, ``ie_at_*``, ``capacity_*``,
        or any of these with ``_sd``/``_se``).

    Returns
    -------
    bool

    Raises
    ------
    ValueError
        When ``name`` is not a metric with a direction.
    """
    if name in GREATER_IS_BETTER:
        return GREATER_IS_BETTER[name]
    if name.startswith(_LOWER_PREFIXES):
        return False
    for suffix in _SPREAD_SUFFIXES:
        base = name.removesuffix(suffix)
        if base != name and (base in GREATER_IS_BETTER or base.startswith(_LOWER_PREFIXES)):
            return False
    raise ValueError(
        f"{name!r} is not a metric with a direction; choose one of "
        f"{', '.join(sorted(GREATER_IS_BETTER))}, ee_at_<budget>, ie_at_<budget>, or a "
        "spread <metric>_sd"
    )


def _weights(sample_weight: Any, n: int) -> np.ndarray:
    if sample_weight is None:
        return np.ones(n)
    w = np.asarray(sample_weight, dtype=float)
    if w.shape != (n,):
        raise ValueError(f"sample_weight has shape {w.shape}, expected ({n},)")
    return w


def select_top(score: Any, budget: float, sample_weight: Any = None) -> np.ndarray:
    """Select the top ``budget`` share of households by score.

    Parameters
    ----------
    score : array-like of shape (n,)
        Higher = more likely extremely poor.
    budget : float
        Share of households (or of total weight) to select, in [0, 1].
    sample_weight : array-like of shape (n,), optional

    Returns
    -------
    numpy.ndarray of bool, shape (n,)
        Without weights exactly ``round(budget * n)`` households are selected; ties are broken
        by position (earlier first).
    """
    score = np.asarray(score, dtype=float)
    n = len(score)
    if not 0.0 <= budget <= 1.0:
        raise ValueError(f"budget must be in [0, 1], got {budget}")
    order = np.argsort(-score, kind="stable")
    selected = np.zeros(n, dtype=bool)
    if sample_weight is None:
        k = int(np.floor(budget * n + 0.5))
        selected[order[:k]] = True
        return selected
    w = _weights(sample_weight, n)[order]
    cum_mid = np.cumsum(w) - 0.5 * w
    selected[order[cum_mid < budget * w.sum()]] = True
    return selected


def targeting_errors(
    y_true: Any, score: Any, budget: float, sample_weight: Any = None
) -> tuple[float, float]:
    """Exclusion and inclusion errors when the top ``budget`` share by score is selected.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        1 = extremely poor.
    score : array-like of shape (n,)
    budget : float
        Share selected, in [0, 1].
    sample_weight : array-like, optional

    Returns
    -------
    (float, float)
        EE, IE. EE is NaN when nobody is poor, IE is NaN when nobody is selected.
    """
    y = np.asarray(y_true).astype(bool)
    w = _weights(sample_weight, len(y))
    selected = select_top(score, budget, sample_weight)
    hit = np.sum(w[selected & y])
    poor = np.sum(w[y])
    chosen = np.sum(w[selected])
    ee = 1.0 - hit / poor if poor > 0 else float("nan")
    ie = 1.0 - hit / chosen if chosen > 0 else float("nan")
    return float(ee), float(ie)


def reliability_bins(
    y_true: Any, p: Any, sample_weight: Any = None, n_bins: int = 10
) -> pd.DataFrame:
    """Reliability-diagram bins: mean predicted vs observed extreme share per probability bin.

    The one binning of the toolkit: :func:`expected_calibration_error`, the zoo's calibration
    table and the report's calibration curve all read these bins, so a curve and its ECE agree.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        0/1 outcomes.
    p : array-like of shape (n,)
        Predicted probabilities (clipped to [0, 1]).
    sample_weight : array-like of shape (n,), optional
        Sampling weights; bin means and bin weights are weighted.
    n_bins : int, default 10
        Equal-width bins on [0, 1]; bin ``b`` holds ``b / n_bins <= p < (b + 1) / n_bins`` (the
        last bin includes 1).

    Returns
    -------
    pandas.DataFrame
        ``bin, p_low, p_high, n, weight, p_mean, observed`` for every bin with positive weight,
        in bin order.
    """
    y = np.asarray(y_true, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    w = _weights(sample_weight, len(y))
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    rows = []
    for b in np.unique(bins):
        m = bins == b
        wb = w[m].sum()
        if wb <= 0:
            continue
        rows.append(
            {
                "bin": int(b),
                "p_low": b / n_bins,
                "p_high": (b + 1) / n_bins,
                "n": int(m.sum()),
                "weight": float(wb),
                "p_mean": float(np.average(p[m], weights=w[m])),
                "observed": float(np.average(y[m], weights=w[m])),
            }
        )
    columns = ["bin", "p_low", "p_high", "n", "weight", "p_mean", "observed"]
    return pd.DataFrame(rows, columns=columns)


def expected_calibration_error(
    y: Any, p: Any, n_bins: int = 10, sample_weight: Any = None
) -> float:
    """Expected calibration error over the equal-width bins of :func:`reliability_bins`.

    ECE = Σ_b (w_b / w) · |observed_b − p_mean_b| (weights are counts when unweighted).

    Parameters
    ----------
    y : array-like of shape (n,)
        0/1 outcomes.
    p : array-like of shape (n,)
        Predicted probabilities.
    n_bins : int, default 10
    sample_weight : array-like, optional

    Returns
    -------
    float
    """
    bins = reliability_bins(y, p, sample_weight=sample_weight, n_bins=n_bins)
    total = _weights(sample_weight, len(np.asarray(y))).sum()
    ece = 0.0
    for wb, observed, p_mean in bins[["weight", "observed", "p_mean"]].itertuples(index=False):
        ece += wb / total * abs(observed - p_mean)
    return float(ece)


def targeting_curve(
    y: Any, score: Any, n_points: int = 101, sample_weight: Any = None
) -> pd.DataFrame:
    """The targeting curve: share of the extremely poor found vs share of households selected.

    Parameters
    ----------
    y : array-like of shape (n,)
    score : array-like of shape (n,)
    n_points : int, default 101
        Budgets evaluated, evenly spaced in [0, 1].
    sample_weight : array-like, optional

    Returns
    -------
    pandas.DataFrame
        Columns ``share_selected``, ``share_found`` (1 − EE), ``exclusion_error``,
        ``inclusion_error``.
    """
    rows = []
    for budget in np.linspace(0.0, 1.0, n_points):
        ee, ie = targeting_errors(y, score, float(budget), sample_weight)
        rows.append(
            {
                "share_selected": float(budget),
                "share_found": 1.0 - ee,
                "exclusion_error": ee,
                "inclusion_error": ie,
            }
        )
    return pd.DataFrame(rows)


def evaluate_scores(
    y_true: Any, p: Any, budgets: dict[str, float] | None = None, sample_weight: Any = None
) -> dict[str, float]:
    """All headline metrics of a set of predicted probabilities.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        0/1 extreme label.
    p : array-like of shape (n,)
        P(extreme).
    budgets : dict, optional
        Name suffix to budget share, default ``{"10": 0.1, "20": 0.2, "40": 0.4}``; the true
        (weighted) extreme share is always added as ``true_share``.
    sample_weight : array-like, optional

    Returns
    -------
    dict
        ``auc, brier, ece, ee_at_true_share, ie_at_true_share, ee_at_10, ie_at_10, ee_at_20,
        ie_at_20, ee_at_40, ie_at_40`` (and ``true_share``). AUC is NaN when only one class is
        present.
    """
    y = np.asarray(y_true).astype(int)
    p = np.asarray(p, dtype=float)
    w = None if sample_weight is None else _weights(sample_weight, len(y))
    out: dict[str, float] = {}
    out["auc"] = (
        float(roc_auc_score(y, p, sample_weight=w)) if len(np.unique(y)) == 2 else float("nan")
    )
    out["brier"] = float(brier_score_loss(y, np.clip(p, 0, 1), sample_weight=w))
    out["ece"] = expected_calibration_error(y, p, sample_weight=w)
    true_share = float(np.average(y, weights=w))
    out["true_share"] = true_share
    all_budgets = {"true_share": true_share, **(DEFAULT_BUDGETS if budgets is None else budgets)}
    for name, budget in all_budgets.items():
        ee, ie = targeting_errors(y, p, budget, w)
        out[f"ee_at_{name}"] = ee
        out[f"ie_at_{name}"] = ie
    return out


def group_error_ratios(
    y: Any,
    p: Any,
    groups: pd.DataFrame,
    budget: float,
    sample_weight: Any = None,
) -> pd.DataFrame:
    """Exclusion error by group, as a ratio to the overall exclusion error.

    Selection is made once over everybody (the top ``budget`` share by score), then the EE of
    each group is the share of its extremely poor households not selected.

    Parameters
    ----------
    y : array-like of shape (n,)
    p : array-like of shape (n,)
    groups : pandas.DataFrame
        One column per grouping (e.g. kecamatan, head_female), aligned with ``y`` by position.
    budget : float
    sample_weight : array-like, optional

    Returns
    -------
    pandas.DataFrame
        Columns ``grouping``, ``group``, ``n``, ``n_poor``, ``ee``, ``ee_ratio`` (group EE /
        overall EE; NaN when the group has no poor or the overall EE is 0).
    """
    y = np.asarray(y).astype(bool)
    w = _weights(sample_weight, len(y))
    selected = select_top(p, budget, sample_weight)
    missed = y & ~selected
    overall = np.sum(w[missed]) / np.sum(w[y]) if np.sum(w[y]) > 0 else float("nan")
    rows = []
    for column in groups.columns:
        values = groups[column].to_numpy()
        for value in pd.unique(values):
            m = values == value
            poor = np.sum(w[m & y])
            ee = np.sum(w[m & missed]) / poor if poor > 0 else float("nan")
            ok = np.isfinite(overall) and overall > 0
            ratio = ee / overall if ok else float("nan")
            rows.append(
                {
                    "grouping": column,
                    "group": value,
                    "n": int(m.sum()),
                    "n_poor": int((m & y).sum()),
                    "ee": float(ee),
                    "ee_ratio": float(ratio),
                }
            )
    return pd.DataFrame(rows, columns=["grouping", "group", "n", "n_poor", "ee", "ee_ratio"])
