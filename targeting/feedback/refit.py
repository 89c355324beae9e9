"""Recalibrate a PMT model on verified field outcomes and re-score the registry (no MLflow here).

``targeting refit`` calls :func:`targeting.pipeline.refit_experiment`, which loads the spec's
data and the working state and calls :func:`recalibrate_on_outcomes`; the command then logs the
result with :func:`targeting.tracking.feedback.log_refit`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from targeting.data import schema
from targeting.data.city import DEFAULT_LINE
from targeting.data.eligibility import eligible_for_ranking
from targeting.data.synthetic import generate_city
from targeting.evaluation.stock import unreached_stock
from targeting.feedback import ingest as feedback
from targeting.feedback.rounds import DEFAULT_SUPPORT, field_labels, model_input, refit_on_labels
from targeting.pmt.calibration import clipped_logit
from targeting.pmt.recalibrated import RecalibratedPMT
from targeting.pmt.scoring import attach_desil_cutpoints, score_households

__all__ = [
    "STOCK_LEVEL",
    "RefitResult",
    "model_count_interval",
    "recalibrate_on_outcomes",
    "stock_interval",
    "survey_level_sd_log",
    "synthetic_input_example",
]


STOCK_LEVEL = 0.90
"""Coverage of the interval of the unreached stock after a refit."""


@dataclass
class RefitResult:
    """A recalibration on verified outcomes (aggregates only, apart from the state's scores).

    Attributes
    ----------
    model : RecalibratedPMT
        The recalibrated model.
    metrics : dict
        Label counts, realised vs predicted hit rate and the calibration line before and after
        (in-sample), the recalibration's intercept and slope, and the expected unreached
        extreme-poor stock after recalibration with its 90 % interval
        (:func:`stock_interval`).
    scores : pandas.DataFrame
        The registry re-scored (index ``household_id``): p_extreme, p_low, p_high, desil.
    params : dict
        What was done: method, group offsets, base model, slope fitted, prior strengths.
    input_example : pandas.DataFrame
        Five synthetic rows of what the model takes (for logging; never registry rows).
    group_column : str or None
    """

    model: RecalibratedPMT
    metrics: dict[str, Any]
    scores: pd.DataFrame
    params: dict[str, Any]
    input_example: pd.DataFrame
    group_column: str | None

    def stock(self) -> dict[str, float]:
        """The expected unreached extreme-poor stock after the refit, as the fields of
        :class:`~targeting.evaluation.stock.StockEstimate` (what a run's forecast starts from).

        ``sd_log`` is the standard deviation of the log-normal interval of
        :func:`stock_interval` (at :data:`STOCK_LEVEL`, so it is recovered exactly from the
        interval's top), ``survey_ratio`` the survey model's level check among the survey's
        unreached (:func:`survey_level_sd_log`).
        """
        estimate = float(self.metrics["expected_unreached_extreme_after"])
        high = float(self.metrics["expected_unreached_extreme_after_high"])
        z = float(norm.ppf(0.5 + STOCK_LEVEL / 2))
        sd_log = float(np.log(high / estimate)) / z if estimate > 0 and high > 0 else 0.0
        return {
            "estimate": estimate,
            "low": float(self.metrics["expected_unreached_extreme_after_low"]),
            "high": high,
            "sd_log": sd_log,
            "level": STOCK_LEVEL,
            "survey_ratio": float(self.metrics.get("survey_level_ratio", float("nan"))),
        }

    def expected_count(self, X: pd.DataFrame, seed: int = 0) -> tuple[float, float, float]:
        """The expected extreme-poor count among ``X``'s households (e.g. a plan's visits) under
        the recalibrated model, with its 90 % interval, computed as the stock's
        (:func:`model_count_interval`).

        Parameters
        ----------
        X : pandas.DataFrame
            What the model takes (:func:`~targeting.feedback.rounds.model_input`).
        seed : int, default 0

        Returns
        -------
        tuple of float
            ``(estimate, low, high)``.
        """
        level_sd = float(self.metrics.get("survey_level_sd_log", 0.0))
        return model_count_interval(self.model, X, level_sd, seed)

    def learnt_from(self) -> str:
        """What the model learnt from, in words: "recalibrated on N verified unreached
        households (E extreme)"."""
        return (
            f"recalibrated on {int(self.metrics['n_labels']):,} verified unreached households "
            f"({int(self.metrics['n_labels_extreme']):,} extreme)"
        )


def synthetic_input_example(seed: int, group_column: str | None = None) -> pd.DataFrame:
    """Five synthetic rows of the model inputs (and the group column), never registry rows."""
    city = generate_city(n_households=2_000, seed=seed + 1, survey_fraction=0.05)
    cols = list(schema.MODEL_COLUMNS) + ([group_column] if group_column else [])
    return city.survey[cols].head(5).reset_index(drop=True)


def stock_interval(
    model: Any,
    X: pd.DataFrame,
    n_draws: int = 100,
    seed: int = 0,
    level: float = 0.90,
    chunk: int = 20_000,
    level_sd_log: float = 0.0,
    unchecked: np.ndarray | None = None,
) -> tuple[float, float, float]:
    """The expected extreme-poor count among ``X``'s households, with an interval.

    The count is ``Σ p``; its uncertainty combines the model's parameter uncertainty (the
    spread of ``Σ p`` over ``model.proba_draws``: the base model's coefficients and the
    recalibration's Laplace covariance), the level of the households no field label checks
    (``level_sd_log`` × their ``Σ p``) and the households' own randomness (``Σ p(1 − p)``:
    the truth is one draw). The interval is log-normal, as the stock's before any visit
    (:func:`targeting.evaluation.stock.unreached_stock`), so it stays positive.

    Parameters
    ----------
    model : estimator
        With ``predict_proba``; ``proba_draws`` when it has one (else only the households'
        randomness counts).
    X : pandas.DataFrame
        What the model takes, one row per household counted.
    n_draws : int, default 100
    seed : int, default 0
    level : float, default 0.90
    chunk : int, default 20000
        Rows per batch (memory: ``chunk × n_draws`` floats).
    level_sd_log : float, default 0
        Relative uncertainty of the level of the households no field label checks (the survey
        model's level, :func:`survey_level_sd_log`); it scales their part of the count.
    unchecked : numpy.ndarray of bool, optional
        Which rows of ``X`` ``level_sd_log`` applies to (default: all).

    Returns
    -------
    tuple of float
        ``(estimate, low, high)``.
    """
    total, binom, outside = 0.0, 0.0, 0.0
    sums = np.zeros(max(int(n_draws), 0))
    mask = np.ones(len(X), dtype=bool) if unchecked is None else np.asarray(unchecked, bool)
    rng = np.random.default_rng([int(seed), 0x57C0])
    draws_ok = hasattr(model, "proba_draws") and n_draws > 1
    for start in range(0, len(X), chunk):
        part = X.iloc[start : start + chunk]
        p = model.predict_proba(part)[:, 1]
        total += float(p.sum())
        outside += float(p[mask[start : start + chunk]].sum())
        binom += float((p * (1 - p)).sum())
        if draws_ok:
            sums += model.proba_draws(part, n_draws, rng).sum(axis=0)
    if total <= 0:
        return total, total, total
    var = binom + (float(np.var(sums, ddof=1)) if draws_ok else 0.0)
    var += (float(level_sd_log) * outside) ** 2
    sd_log = float(np.sqrt(var)) / total
    z = float(norm.ppf(0.5 + level / 2))
    return total, total * float(np.exp(-z * sd_log)), total * float(np.exp(z * sd_log))


def model_count_interval(
    model: RecalibratedPMT, X: pd.DataFrame, level_sd_log: float, seed: int = 0
) -> tuple[float, float, float]:
    """The expected extreme-poor count among ``X``'s households under a recalibrated model, with
    its :data:`STOCK_LEVEL` interval (:func:`stock_interval`): the survey's level uncertainty
    counts for the households below the labels' range, which no field label checks.

    Parameters
    ----------
    model : RecalibratedPMT
    X : pandas.DataFrame
        What the model takes.
    level_sd_log : float
        :func:`survey_level_sd_log`'s ``sd_log`` (0 without a survey).
    seed : int, default 0

    Returns
    -------
    tuple of float
        ``(estimate, low, high)``.
    """
    z = clipped_logit(model.base_proba(X))
    return stock_interval(
        model,
        X,
        n_draws=100,
        seed=seed,
        level=STOCK_LEVEL,
        level_sd_log=level_sd_log,
        unchecked=z < model.support_range_[0],
    )


def survey_level_sd_log(
    base: Any, survey: pd.DataFrame, line: float = DEFAULT_LINE
) -> tuple[float, float]:
    """How well the survey pins the level of ``base`` among the unreached.

    The ratio of observed to predicted extreme-poor households among the survey's unreached
    (weighted; the base model's own predictions), with its linearised variance over kelurahan
    clusters, as :func:`targeting.evaluation.stock.unreached_stock` computes it before any
    visit: the level of the survey model is only as sure as the few hundred extreme-poor
    unreached survey households that set it.

    Parameters
    ----------
    base : estimator
        The survey model (P(extreme | proxies, not reached)).
    survey : pandas.DataFrame
        Proxies, ``consumption_pc``, ``weight``, ``kelurahan`` and the receipt columns.
    line : float

    Returns
    -------
    tuple of float
        ``(ratio, sd_log)``; ``(nan, 0)`` without receipt columns or unreached households.
    """
    reached = schema.survey_reached(survey)
    if reached is None or reached.all():
        return float("nan"), 0.0
    unreached = survey.loc[~reached]
    y = (unreached["consumption_pc"].to_numpy(dtype=float) < line).astype(float)
    q = base.predict_proba(unreached[schema.MODEL_COLUMNS])[:, 1]
    w = unreached["weight"].to_numpy(dtype=float)
    est = unreached_stock(np.ones(1), y, q, w, unreached["kelurahan"].astype(str).to_numpy())
    # unreached_stock's sd_log adds the draw of one household (p = 1 has none): the level's only
    return est.survey_ratio, est.sd_log


def recalibrate_on_outcomes(
    base: Any,
    registry: pd.DataFrame,
    ledger: pd.DataFrame,
    base_label: str,
    method: str = "platt",
    group_column: str | None = "kelurahan",
    n_boot: int = 200,
    seed: int = 0,
    survey: pd.DataFrame | None = None,
    support: str = DEFAULT_SUPPORT,
    line: float = DEFAULT_LINE,
) -> RefitResult:
    """Recalibrate ``base`` on the verified households of the ledger and re-score the registry.

    Parameters
    ----------
    base : estimator
        The model to recalibrate; a :class:`RecalibratedPMT` is unwrapped to its base first
        (recalibrations do not stack).
    registry : pandas.DataFrame
        The validated registry (proxies, status).
    ledger : pandas.DataFrame
        The outcomes ledger of the working state.
    base_label : str
        How the base model was obtained (a model URI, or "<name> fitted on the survey").
    method : {"platt", "intercept"}
    group_column : str or None, default "kelurahan"
        Column of shrunk group offsets; None for one map for the city.
    n_boot : int, default 200
        Interval draws when re-scoring.
    seed : int, default 0
    survey : pandas.DataFrame, optional
        The survey (proxies, ``weight`` and the group column): the recalibrated model ranks
        differently, so its desil cut-points are computed again on it. Without it the model
        keeps none and desils rank the registry among itself. With ``consumption_pc`` and a
        ``group_column``, its area effects inform the offsets (``survey`` of
        :func:`~targeting.feedback.rounds.refit_on_labels`).
    support : {"visited", "everywhere"}, default "visited"
        Where the recalibration applies (:func:`targeting.feedback.rounds.refit_on_labels`):
        the verified households come from the top of the ranking, so by default the map fades
        back to the base model below their range instead of extrapolating to the bulk.
    line : float, default the city profile's extreme line
        The survey's line (for the level uncertainty of the bulk, with ``survey``).

    Returns
    -------
    RefitResult

    Raises
    ------
    ValueError
        If the verified households are all of one class.
    """
    if isinstance(base, RecalibratedPMT):
        base = base.base_
    registry = feedback.apply_ledger(registry, ledger)
    model = refit_on_labels(
        base, registry, method=method, group_column=group_column, support=support, survey=survey
    )
    if model is None:
        raise ValueError(
            "the verified unreached households are all of one class: at least one "
            "verified_extreme and one verified_not_extreme are needed to recalibrate"
        )
    if survey is not None:
        attach_desil_cutpoints(
            model, model_input(survey, group_column), survey["weight"].to_numpy(dtype=float)
        )
    labels = field_labels(registry)
    y = labels["label"].to_numpy(dtype=float)
    p_before = base.predict_proba(labels[schema.MODEL_COLUMNS])[:, 1]
    p_after = model.predict_proba(model_input(labels, group_column))[:, 1]
    a0, b0 = feedback.calibration_line(p_before, y)
    a1, b1 = feedback.calibration_line(p_after, y)
    metrics: dict[str, Any] = {
        "n_labels": len(y),
        "n_labels_extreme": int(y.sum()),
        "realised_hit_rate": float(y.mean()),
        "predicted_hit_rate_before": float(p_before.mean()),
        "predicted_hit_rate_after": float(p_after.mean()),
        "calibration_intercept_before": a0,
        "calibration_slope_before": b0,
        "calibration_intercept_after": a1,
        "calibration_slope_after": b1,
        "recalibration_intercept": float(model.coef_[0]),
        "recalibration_slope": float(model.coef_[1]),
    }
    scores = score_households(model, model_input(registry, group_column), n_boot=n_boot, seed=seed)
    scores.index = pd.Index(registry["household_id"].astype(str).to_numpy(), name="household_id")
    eligible = eligible_for_ranking(registry).to_numpy()
    X_eligible = model_input(registry.loc[eligible], group_column)
    # households below the labels' range keep (most of) the survey model's level, which no
    # field label has checked: its uncertainty is the survey's
    level_ratio, level_sd = (
        survey_level_sd_log(base, survey, line) if survey is not None else (float("nan"), 0.0)
    )
    stock, low, high = model_count_interval(model, X_eligible, level_sd, seed)
    metrics["survey_level_ratio"] = level_ratio
    metrics["survey_level_sd_log"] = level_sd
    metrics["expected_unreached_extreme_after"] = stock
    metrics["expected_unreached_extreme_after_low"] = low
    metrics["expected_unreached_extreme_after_high"] = high
    params = {
        "method": method,
        "group_offsets": group_column is not None,
        "base": base_label,
        "slope_fitted": model.slope_fitted_,
        "prior_strength": model.prior_strength,
        "group_strength": model.group_strength_,
        "group_covariate_coef": model.group_covariate_coef_,
        "feature_strength": model.feature_strength_,
        "support": model.support,
        "support_low": float(model.support_range_[0]),
        "support_high": float(model.support_range_[1]),
    }
    return RefitResult(
        model=model,
        metrics=metrics,
        scores=scores,
        params=params,
        input_example=synthetic_input_example(seed, group_column),
        group_column=group_column,
    )
