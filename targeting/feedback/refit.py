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

from targeting.data import schema
from targeting.data.eligibility import eligible_for_ranking
from targeting.data.synthetic import generate_city
from targeting.feedback import ingest as feedback
from targeting.feedback.rounds import model_input, refit_on_labels
from targeting.pmt.recalibrated import RecalibratedPMT
from targeting.pmt.scoring import attach_desil_cutpoints, score_households

__all__ = ["RefitResult", "recalibrate_on_outcomes", "synthetic_input_example"]


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
        extreme-poor stock after recalibration.
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


def synthetic_input_example(seed: int, group_column: str | None = None) -> pd.DataFrame:
    """Five synthetic rows of the proxies (and the group column), never registry rows."""
    city = generate_city(n_households=2_000, seed=seed + 1, survey_fraction=0.05)
    cols = list(schema.PROXY_COLUMNS) + ([group_column] if group_column else [])
    return city.survey[cols].head(5).reset_index(drop=True)


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
        keeps none and desils rank the registry among itself.

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
    model = refit_on_labels(base, registry, method=method, group_column=group_column)
    if model is None:
        raise ValueError(
            "the verified households are all of one class: at least one verified_extreme and "
            "one verified_not_extreme are needed to recalibrate"
        )
    if survey is not None:
        attach_desil_cutpoints(
            model, model_input(survey, group_column), survey["weight"].to_numpy(dtype=float)
        )
    labels = feedback.verified_labels(registry)
    y = labels["label"].to_numpy(dtype=float)
    p_before = base.predict_proba(labels[schema.PROXY_COLUMNS])[:, 1]
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
    eligible = eligible_for_ranking(registry)
    metrics["expected_unreached_extreme_after"] = float(
        np.nansum(scores["p_extreme"].to_numpy()[eligible.to_numpy()])
    )
    params = {
        "method": method,
        "group_offsets": group_column is not None,
        "base": base_label,
        "slope_fitted": model.slope_fitted_,
        "prior_strength": model.prior_strength,
        "group_strength": model.group_strength,
    }
    return RefitResult(
        model=model,
        metrics=metrics,
        scores=scores,
        params=params,
        input_example=synthetic_input_example(seed, group_column),
        group_column=group_column,
    )
