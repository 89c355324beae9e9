"""Verification outcomes in: registry status, realised hit rates, labels for recalibration.

Ingestion is idempotent: outcomes are kept in a ledger keyed by
``(household_id, visit_date, operator, result)``; ingesting a file twice adds nothing, so the
registry and every metric stay the same.

A household's status follows its latest conclusive visit: ``extreme_poor`` →
``verified_extreme``, ``not_extreme_poor`` → ``verified_not_extreme``. ``not_found``, ``refused``
and ``moved`` are not conclusive; the household stays ``unverified`` and is counted as an attempt.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from targeting.data import schema

__all__ = [
    "LEDGER_COLUMNS",
    "IngestResult",
    "calibration_line",
    "hit_rate_summary",
    "hit_rate_table",
    "ingest_outcomes",
    "verified_labels",
    "wilson_interval",
]

LEDGER_COLUMNS = ["household_id", "visit_date", "operator", "result", "notes"]
_KEY = ["household_id", "visit_date", "operator", "result"]
_CONCLUSIVE = {"extreme_poor": "verified_extreme", "not_extreme_poor": "verified_not_extreme"}


@dataclass
class IngestResult:
    """What one ingestion did.

    Attributes
    ----------
    registry : pandas.DataFrame
        The registry with ``verification_status`` updated.
    ledger : pandas.DataFrame
        Every outcome ever ingested (deduplicated, sorted).
    new_rows : int
        Outcome rows that were not in the ledger before.
    duplicate_rows : int
        Rows already in the ledger (ignored).
    status_changes : int
        Registry households whose status changed.
    """

    registry: pd.DataFrame
    ledger: pd.DataFrame
    new_rows: int
    duplicate_rows: int
    status_changes: int


def ingest_outcomes(
    registry: pd.DataFrame,
    outcomes: pd.DataFrame,
    ledger: pd.DataFrame | None = None,
) -> IngestResult:
    """Validate outcomes, add them to the ledger and update the registry's status.

    Parameters
    ----------
    registry : pandas.DataFrame
        A validated registry.
    outcomes : pandas.DataFrame
        The field file (DESIGN.md §3): household_id, visit_date, operator, result, optional notes.
    ledger : pandas.DataFrame, optional
        Outcomes ingested before.

    Returns
    -------
    IngestResult

    Raises
    ------
    targeting.data.schema.DataValidationError
        If any outcome row is malformed or names a household that is not in the registry.
    """
    checked = schema.validate_outcomes(outcomes, known_ids=registry["household_id"])
    if "notes" not in checked:
        checked["notes"] = ""
    checked["notes"] = checked["notes"].astype("string").fillna("").astype(object)
    checked = checked[LEDGER_COLUMNS]
    previous = (
        ledger[LEDGER_COLUMNS].astype(object)
        if ledger is not None and len(ledger)
        else pd.DataFrame(columns=LEDGER_COLUMNS)
    )
    combined = pd.concat([previous, checked.astype(object)], ignore_index=True)
    is_duplicate = combined.duplicated(subset=_KEY, keep="first")
    duplicates_in_new = int(is_duplicate.iloc[len(previous) :].sum())
    merged = combined.loc[~is_duplicate].sort_values(_KEY, kind="mergesort").reset_index(drop=True)
    updated = apply_ledger(registry, merged)
    changes = int((updated["verification_status"] != registry["verification_status"]).sum())
    return IngestResult(
        registry=updated,
        ledger=merged,
        new_rows=len(checked) - duplicates_in_new,
        duplicate_rows=duplicates_in_new,
        status_changes=changes,
    )


def apply_ledger(registry: pd.DataFrame, ledger: pd.DataFrame) -> pd.DataFrame:
    """Return the registry with each household's status set by its latest conclusive outcome.

    A pure function of (registry, ledger): applying the same ledger twice gives the same registry.
    """
    updated = registry.copy()
    conclusive = ledger[ledger["result"].isin(list(_CONCLUSIVE))]
    if conclusive.empty:
        return updated
    latest = (
        conclusive.sort_values(["household_id", "visit_date", "operator", "result"])
        .groupby("household_id", sort=False)["result"]
        .last()
    )
    status = latest.map(_CONCLUSIVE)
    mapped = updated["household_id"].map(status)
    updated["verification_status"] = mapped.fillna(updated["verification_status"]).astype(object)
    return updated


def wilson_interval(
    successes: np.ndarray, trials: np.ndarray, level: float = 0.9
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for binomial proportions (well behaved for small counts).

    statsmodels' ``proportion_confint(method="wilson")``; NaN where there are no trials.

    Parameters
    ----------
    successes, trials : numpy.ndarray
        Counts per group.
    level : float, default 0.9
        Coverage of the interval.

    Returns
    -------
    tuple of numpy.ndarray
        Lower and upper bounds.
    """
    successes = np.asarray(successes, dtype=float)
    trials = np.asarray(trials, dtype=float)
    some = trials > 0
    low = np.full(trials.shape, np.nan)
    high = np.full(trials.shape, np.nan)
    if some.any():
        low[some], high[some] = proportion_confint(
            successes[some], trials[some], alpha=1.0 - level, method="wilson"
        )
    return low, high


def hit_rate_table(
    ledger: pd.DataFrame,
    predictions: pd.DataFrame,
    by: str = "kelurahan",
    level: float = 0.9,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Realised vs predicted hit rate per group, with an interval and a flag beyond chance.

    Parameters
    ----------
    ledger : pandas.DataFrame
        Ingested outcomes.
    predictions : pandas.DataFrame
        Per household: ``household_id``, ``p_extreme`` (as predicted when the plan was made) and
        the grouping column (``kelurahan``, ``desil``, ``operator``...).
    by : str
        Grouping column; ``"operator"`` is taken from the ledger.
    level : float
        Level of the Wilson interval of the realised rate.
    alpha : float
        Family-wise error rate for the deviation flag (Holm's correction across groups).

    Returns
    -------
    pandas.DataFrame
        Per group: visits, conclusive, finds, realised, low, high, predicted, z, p_value, flagged.
        The test compares the finds with their Poisson-binomial distribution under the predicted
        probabilities (normal approximation), so a group is flagged only when its deviation is
        unlikely by chance after correcting for the number of groups.
    """
    latest = ledger.sort_values(_KEY).groupby("household_id", sort=False).last().reset_index()
    cols = ["household_id", "p_extreme"] + ([by] if by != "operator" and by in predictions else [])
    frame = latest.merge(predictions[cols], on="household_id", how="left")
    frame["conclusive"] = frame["result"].isin(list(_CONCLUSIVE))
    frame["find"] = frame["result"] == "extreme_poor"
    rows = []
    for key, group in frame.groupby(by, sort=True):
        conclusive = group[group["conclusive"]]
        n = len(conclusive)
        finds = int(conclusive["find"].sum())
        p = conclusive["p_extreme"].to_numpy(dtype=float)
        expected = float(np.nansum(p))
        variance = float(np.nansum(p * (1 - p)))
        z = (finds - expected) / np.sqrt(variance) if variance > 0 else 0.0
        rows.append(
            {
                by: key,
                "visits": len(group),
                "conclusive": n,
                "finds": finds,
                "realised": finds / n if n else np.nan,
                "predicted": expected / n if n else np.nan,
                "z": z,
                "p_value": float(2 * stats.norm.sf(abs(z))),
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    low, high = wilson_interval(table["finds"].to_numpy(), table["conclusive"].to_numpy(), level)
    table.insert(5, "low", low)
    table.insert(6, "high", high)
    table["flagged"] = multipletests(table["p_value"].to_numpy(), alpha=alpha, method="holm")[0]
    return table


def verified_labels(registry: pd.DataFrame) -> pd.DataFrame:
    """Households with a conclusive verification, as labels for recalibration.

    Returns
    -------
    pandas.DataFrame
        The verified registry rows plus ``label`` (1 = verified extremely poor).
    """
    verified = registry[registry["verification_status"].isin(list(_CONCLUSIVE.values()))].copy()
    verified["label"] = (verified["verification_status"] == "verified_extreme").astype(int)
    return verified


def calibration_line(p: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Calibration intercept and slope: the logistic fit ``y ~ a + b·logit(p)``.

    A well-calibrated ``p`` has ``a = 0`` and ``b = 1``; ``b < 1`` means over-confident
    (too extreme), ``a < 0`` over-predicting. A negligible ridge (precision 1e-6) keeps the fit
    finite under separation.

    Parameters
    ----------
    p : numpy.ndarray
        Predicted probabilities.
    y : numpy.ndarray
        0/1 outcomes.

    Returns
    -------
    tuple of float
        ``(intercept, slope)``; NaN when ``y`` has a single class.
    """
    from targeting.pmt.calibration import clipped_logit, fit_penalised_logit

    y = np.asarray(y, dtype=float)
    if len(y) == 0 or y.min() == y.max():
        return float("nan"), float("nan")
    z = clipped_logit(p)
    coef, _ = fit_penalised_logit(
        np.column_stack([np.ones_like(z), z]),
        y,
        np.zeros_like(z),
        np.array([0.0, 1.0]),
        np.array([1e-6, 1e-6]),
    )
    return float(coef[0]), float(coef[1])


def hit_rate_summary(ledger: pd.DataFrame, predictions: pd.DataFrame) -> dict[str, float]:
    """City-wide realised vs predicted hit rate of the conclusive visits.

    Parameters
    ----------
    ledger : pandas.DataFrame
        Ingested outcomes.
    predictions : pandas.DataFrame
        ``household_id``, ``p_extreme`` as predicted when the plan was made.

    Returns
    -------
    dict
        ``visits`` (households visited), ``conclusive``, ``finds``, ``realised_hit_rate``
        (with ``realised_low``/``realised_high``, 90 % Wilson), ``predicted_hit_rate``,
        ``calibration_intercept``, ``calibration_slope``.
    """
    latest = ledger.sort_values(_KEY).groupby("household_id", sort=False).last().reset_index()
    frame = latest.merge(predictions[["household_id", "p_extreme"]], on="household_id", how="left")
    conclusive = frame[frame["result"].isin(list(_CONCLUSIVE))]
    y = (conclusive["result"] == "extreme_poor").to_numpy(dtype=float)
    p = conclusive["p_extreme"].to_numpy(dtype=float)
    known = np.isfinite(p)
    n, finds = len(conclusive), int(y.sum())
    low, high = wilson_interval(np.array([finds]), np.array([n]))
    a, b = calibration_line(p[known], y[known])
    return {
        "visits": len(frame),
        "conclusive": int(n),
        "finds": finds,
        "realised_hit_rate": finds / n if n else float("nan"),
        "realised_low": float(low[0]),
        "realised_high": float(high[0]),
        "predicted_hit_rate": float(p[known].mean()) if known.any() else float("nan"),
        "calibration_intercept": a,
        "calibration_slope": b,
    }
