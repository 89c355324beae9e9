"""The unreached extreme-poor stock: the model's estimate, its interval, and its calibration.

The planner's headline number is the sum of P(extreme | proxies, not reached) over the eligible
unreached registry households. Its uncertainty comes mostly from the level of the model, which
the survey sets from a few hundred extremely poor unreached households; that level is checked on
the survey's unreached households by the ratio of observed to predicted (out-of-fold, weighted),
whose sampling variance is estimated by linearisation with areas (kelurahan) as clusters. The
household-level randomness of the registry (Σ p(1 − p)) is added, since the truth is one draw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import norm

from targeting.evaluation.metrics import expected_calibration_error, reliability_bins

__all__ = ["StockEstimate", "plan_finds", "unreached_calibration", "unreached_stock"]


@dataclass(frozen=True)
class StockEstimate:
    """The estimated unreached extreme-poor stock.

    Attributes
    ----------
    estimate : float
        Σ P(extreme | proxies, not reached) over the eligible unreached.
    low, high : float
        The ``level`` interval.
    sd_log : float
        Standard deviation of log(stock), the forecast's start-stock uncertainty.
    level : float
        Coverage of the interval (default 0.90).
    survey_ratio : float
        Observed / predicted extreme-poor among the survey's unreached (out-of-fold, weighted);
        1 when the model's level is right.
    """

    estimate: float
    low: float
    high: float
    sd_log: float
    level: float
    survey_ratio: float

    @classmethod
    def log_normal(
        cls, estimate: float, sd_log: float, level: float, survey_ratio: float
    ) -> StockEstimate:
        """The estimate with its log-normal interval at ``level`` (it stays positive)."""
        z = float(norm.ppf(0.5 + level / 2))
        return cls(
            estimate=estimate,
            low=estimate * float(np.exp(-z * sd_log)),
            high=estimate * float(np.exp(z * sd_log)),
            sd_log=sd_log,
            level=level,
            survey_ratio=survey_ratio,
        )

    def as_dict(self) -> dict[str, float]:
        """The fields as a JSON-ready dict."""
        return {
            "estimate": float(self.estimate),
            "low": float(self.low),
            "high": float(self.high),
            "sd_log": float(self.sd_log),
            "level": float(self.level),
            "survey_ratio": float(self.survey_ratio),
        }


def unreached_stock(
    p_registry: Any,
    survey_label: Any,
    survey_p_oof: Any,
    survey_weight: Any,
    survey_groups: Any,
    level: float = 0.90,
) -> StockEstimate:
    """Estimate the unreached extreme-poor stock with an interval.

    Parameters
    ----------
    p_registry : array-like
        P(extreme | proxies, not reached) of the eligible unreached registry households.
    survey_label, survey_p_oof, survey_weight, survey_groups : array-like
        The survey's *unreached* households: 0/1 label, out-of-fold prediction, weight, area.
    level : float, default 0.90

    Returns
    -------
    StockEstimate
    """
    p = np.asarray(p_registry, dtype=float)
    y = np.asarray(survey_label, dtype=float)
    q = np.asarray(survey_p_oof, dtype=float)
    w = np.asarray(survey_weight, dtype=float)
    groups = np.asarray(survey_groups)
    estimate = float(p.sum())
    predicted = float(np.sum(w * q))
    if predicted <= 0 or estimate <= 0:
        return StockEstimate(estimate, estimate, estimate, 0.0, level, float("nan"))
    ratio = float(np.sum(w * y) / predicted)
    # linearised variance of the ratio, clusters = areas (with the G / (G - 1) correction)
    resid = w * (y - ratio * q)
    _, inverse = np.unique(groups, return_inverse=True)
    totals = np.bincount(inverse, weights=resid)
    n_groups = len(totals)
    var_ratio = n_groups / max(n_groups - 1, 1) * float(np.sum(totals**2)) / predicted**2
    var_log_level = var_ratio / max(ratio, 1e-6) ** 2
    var_log_draw = float(np.sum(p * (1 - p))) / estimate**2
    sd_log = float(np.sqrt(var_log_level + var_log_draw))
    return StockEstimate.log_normal(estimate, sd_log, level, ratio)


def plan_finds(
    p_plan: Any,
    survey_label: Any,
    survey_p_oof: Any,
    survey_weight: Any,
    survey_groups: Any,
    level: float = 0.90,
    ranked: Any = None,
) -> StockEstimate:
    """Expected extreme-poor finds of a plan's visits, with an interval.

    The same estimator as :func:`unreached_stock`, with the level checked where the plan works:
    on the survey's unreached households whose out-of-fold P is at least the smallest P among
    the ranked visits (the top of the range, where a few dozen survey households set the
    level, so the interval is wider than the stock's). Visits outside the ranking (an audit
    sample, days it freed) have probabilities from the whole range: their part is checked on
    the whole survey, and the two parts' variances add.

    Parameters
    ----------
    p_plan : array-like
        P(extreme | proxies, not reached) of the planned visits.
    survey_label, survey_p_oof, survey_weight, survey_groups : array-like
        The survey's *unreached* households, as in :func:`unreached_stock`.
    level : float, default 0.90
    ranked : array-like of bool, optional
        Which visits the ranking chose (default: all).

    Returns
    -------
    StockEstimate
        ``estimate`` = Σ P over the visits; ``survey_ratio`` = observed / predicted among the
        survey households in the ranked visits' range (nan when there are none).
    """
    p = np.asarray(p_plan, dtype=float)
    chosen = np.ones(len(p), dtype=bool) if ranked is None else np.asarray(ranked, dtype=bool)
    y = np.asarray(survey_label, dtype=float)
    q = np.asarray(survey_p_oof, dtype=float)
    w = np.asarray(survey_weight, dtype=float)
    groups = np.asarray(survey_groups)

    def checked_from(lowest: float, part: np.ndarray) -> StockEstimate:
        top = q >= lowest
        return unreached_stock(part, y[top], q[top], w[top], groups[top], level=level)

    top = checked_from(float(p[chosen].min()) if chosen.any() else np.inf, p[chosen])
    if chosen.all():
        return top
    rest = checked_from(-np.inf, p[~chosen])
    estimate = top.estimate + rest.estimate
    if estimate <= 0:
        return StockEstimate(estimate, estimate, estimate, 0.0, level, top.survey_ratio)
    sd = np.hypot(top.estimate * top.sd_log, rest.estimate * rest.sd_log)
    return StockEstimate.log_normal(estimate, float(sd / estimate), level, top.survey_ratio)


def unreached_calibration(
    label: Any, p: Any, weight: Any = None, bins: int = 10, min_count: int = 5
) -> dict[str, Any]:
    """Calibration of predictions on the survey's unreached households.

    Parameters
    ----------
    label, p : array-like
        0/1 label and (out-of-fold) P(extreme | proxies, not reached).
    weight : array-like, optional
        Survey weights.
    bins : int, default 10
        Equal-width probability bins (:func:`~targeting.evaluation.metrics.reliability_bins`,
        the toolkit's one binning).
    min_count : int, default 5
        Bins with fewer households are left out of ``bins`` (too few to show), not of the ECE.

    Returns
    -------
    dict
        ``n`` (households), ``ece``, ``predicted`` and ``observed`` (weighted sums: expected and
        actual extreme-poor households represented), ``ratio`` (observed / predicted) and
        ``bins``: a list of ``{bin, low, high, n, predicted, observed}`` (weighted means).
    """
    y = np.asarray(label, dtype=float)
    q = np.asarray(p, dtype=float)
    w = np.ones_like(q) if weight is None else np.asarray(weight, dtype=float)
    table = reliability_bins(y, q, sample_weight=w, n_bins=bins)
    shown = table[table["n"] >= min_count]
    rows = [
        {
            "bin": int(r.bin),
            "low": float(r.p_low),
            "high": float(r.p_high),
            "n": int(r.n),
            "predicted": float(r.p_mean),
            "observed": float(r.observed),
        }
        for r in shown.itertuples(index=False)
    ]
    predicted = float(np.sum(w * q))
    observed = float(np.sum(w * y))
    return {
        "n": len(y),
        "ece": float(expected_calibration_error(y, q, n_bins=bins, sample_weight=w)),
        "predicted": predicted,
        "observed": observed,
        "ratio": observed / predicted if predicted > 0 else float("nan"),
        "bins": rows,
    }
