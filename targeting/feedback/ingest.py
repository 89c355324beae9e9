"""Verification outcomes in: registry status, realised hit rates, labels for recalibration.

Rules (DESIGN.md §3, "Verification outcomes"):

* A *visit* is one household on one date. The ledger holds one row per visit.
* Ingesting a row equal to the ledger's (same result and operator, operator names compared by
  :func:`~targeting.data.schema.normalise_operator`) adds nothing: ingesting a file twice, or
  re-exported with other date formatting or operator case, changes nothing.
* The operators' notes are free text (often a name or an address: "Ibu S. pindah ke Jl. ...").
  They stay in the workbook, a personal-data file; the ledger, part of the working state,
  keeps its ``notes`` column empty.
* A row for a visit already in the ledger with another result (or operator) is a
  *correction*: it supersedes the ledger's row, and the superseded row is kept in the audit
  trail (``superseded`` of :class:`IngestResult`).
* Two different results for one household on one day *in the same file* are a conflict: the
  file is refused with the rows named, never resolved silently.
* A household's status follows its latest conclusive visit: ``extreme_poor`` →
  ``verified_extreme``, ``not_extreme_poor`` → ``verified_not_extreme``. ``not_found``,
  ``refused`` and ``moved`` are not conclusive; the household stays ``unverified`` and the visit
  counts as an attempt (see :func:`pool_holds` for when it returns to the plan).
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
    "AUDIT_COLUMNS",
    "LEDGER_COLUMNS",
    "MAX_ATTEMPTS",
    "RETRY_AFTER_DAYS",
    "IngestResult",
    "apply_ledger",
    "calibration_line",
    "hit_rate_summary",
    "hit_rate_table",
    "ingest_outcomes",
    "pool_holds",
    "verified_labels",
    "wilson_interval",
]

LEDGER_COLUMNS = ["household_id", "visit_date", "operator", "result", "notes"]
AUDIT_COLUMNS = [*LEDGER_COLUMNS, "superseded_by_result", "superseded_on"]
_VISIT = ["household_id", "visit_date"]
_KEY = ["household_id", "visit_date", "operator", "result"]
_CONCLUSIVE = {"extreme_poor": "verified_extreme", "not_extreme_poor": "verified_not_extreme"}
RETRY_AFTER_DAYS = 14
"""A household not found, refused or moved returns to the pool this many days after the visit."""
MAX_ATTEMPTS = 3
"""After this many inconclusive visits a household leaves the pool (``attempts_exhausted``)."""


@dataclass
class IngestResult:
    """What one ingestion did.

    Attributes
    ----------
    registry : pandas.DataFrame
        The registry with ``verification_status`` updated.
    ledger : pandas.DataFrame
        One row per visit ever ingested (the latest correction of each), sorted.
    new_rows : int
        Visits that were not in the ledger before.
    duplicate_rows : int
        Rows equal to the ledger's (ignored).
    status_changes : int
        Registry households whose status changed.
    superseded : pandas.DataFrame
        Ledger rows replaced by a correction in this ingestion (:data:`AUDIT_COLUMNS`).
    """

    registry: pd.DataFrame
    ledger: pd.DataFrame
    new_rows: int
    duplicate_rows: int
    status_changes: int
    superseded: pd.DataFrame | None = None


def _conflicts(checked: pd.DataFrame) -> None:
    """Refuse a file with two different results for one household on one day."""
    distinct = checked.drop_duplicates(["household_id", "visit_date", "result"])
    clash = distinct.duplicated(_VISIT, keep=False)
    if not clash.any():
        return
    keys = distinct.loc[clash, _VISIT].drop_duplicates()
    # the input's own row numbers (validate_outcomes keeps a 0..n-1 index)
    positions = checked.reset_index().merge(keys, on=_VISIT, how="inner")["index"].to_numpy()
    raise schema.DataValidationError(
        "outcomes",
        [
            schema.Problem(
                column="result",
                rows=tuple(int(p) + 1 for p in sorted(positions)),
                values=tuple("<hidden>" for _ in positions),
                expected="one result per household and visit date (the rows give different "
                "results for one household on one day; keep the right one and ingest again)",
            )
        ],
        n_rows=len(checked),
    )


def ingest_outcomes(
    registry: pd.DataFrame,
    outcomes: pd.DataFrame,
    ledger: pd.DataFrame | None = None,
    dates: str = "dmy",
    today: object = None,
    ingested_on: str = "",
) -> IngestResult:
    """Validate outcomes, merge them into the ledger and update the registry's status.

    The whole file is validated before anything changes (the caller writes nothing on error).

    Parameters
    ----------
    registry : pandas.DataFrame
        A validated registry (or the state's status table).
    outcomes : pandas.DataFrame
        The field file (DESIGN.md §3): household_id, visit_date, operator, result, optional notes.
    ledger : pandas.DataFrame, optional
        Outcomes ingested before.
    dates : {"dmy", "iso"}
        How typed visit dates are read (:func:`targeting.data.schema.parse_visit_dates`).
    today : date-like, optional
        Visit dates after it are rejected (none by default, for simulated rounds).
    ingested_on : str
        Recorded in the audit trail of superseded rows.

    Returns
    -------
    IngestResult

    Raises
    ------
    targeting.data.schema.DataValidationError
        If any row is malformed, names a household that is not in the registry, or conflicts
        with another row of the file.
    """
    checked = schema.validate_outcomes(
        outcomes, known_ids=registry["household_id"], dates=dates, today=today
    )
    # notes are free text that can name people: never copied into the working state
    checked["notes"] = ""
    checked = checked[LEDGER_COLUMNS].astype(object)
    _conflicts(checked)
    checked = checked.drop_duplicates(_VISIT, keep="last")
    previous = (
        _normalised_ledger(ledger)
        if ledger is not None and len(ledger)
        else pd.DataFrame(columns=LEDGER_COLUMNS, dtype=object)
    )
    joined = checked.merge(previous, on=_VISIT, how="left", suffixes=("", "_old"), indicator=True)
    known = (joined["_merge"] == "both").to_numpy()
    same = known & np.all(
        [
            (joined[c].astype(str) == joined[f"{c}_old"].astype(str)).to_numpy()
            for c in ("operator", "result", "notes")
        ],
        axis=0,
    )
    changed = known & ~same
    replaced = joined.loc[changed]
    superseded = pd.DataFrame(
        {
            **{c: replaced[c].to_numpy(dtype=object) for c in _VISIT},
            **{c: replaced[f"{c}_old"].to_numpy(dtype=object) for c in LEDGER_COLUMNS[2:]},
            "superseded_by_result": replaced["result"].to_numpy(dtype=object),
            "superseded_on": ingested_on,
        },
        columns=AUDIT_COLUMNS,
    )
    incoming = checked.loc[~same]
    keep_previous = ~previous.set_index(_VISIT).index.isin(incoming.set_index(_VISIT).index)
    merged = pd.concat([previous.loc[keep_previous], incoming], ignore_index=True)
    merged = merged.sort_values(_KEY, kind="mergesort").reset_index(drop=True)
    updated = apply_ledger(registry, merged)
    changes = int((updated["verification_status"] != registry["verification_status"]).sum())
    return IngestResult(
        registry=updated,
        ledger=merged[LEDGER_COLUMNS],
        new_rows=int((~known).sum()),
        duplicate_rows=int(same.sum()),
        status_changes=changes,
        superseded=superseded,
    )


def _normalised_ledger(ledger: pd.DataFrame) -> pd.DataFrame:
    """A stored ledger in the current form: one row per visit, operators normalised.

    Ledgers written before one-row-per-visit may hold two rows for one visit; the row that
    sorts last by result is kept, as the old status rule did.
    """
    frame = ledger.reindex(columns=LEDGER_COLUMNS).fillna("").astype(str).astype(object)
    frame["notes"] = ""  # a ledger written before notes were left out: compared without them
    frame["operator"] = frame["operator"].map(schema.normalise_operator).astype(object)
    frame = frame.sort_values(_KEY, kind="mergesort").drop_duplicates(_VISIT, keep="last")
    return frame.reset_index(drop=True)


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
    mapped = updated["household_id"].astype(str).map(status)
    updated["verification_status"] = mapped.fillna(updated["verification_status"]).astype(object)
    return updated


def pool_holds(
    ledger: pd.DataFrame | None,
    start_date: str,
    retry_after_days: int = RETRY_AFTER_DAYS,
    max_attempts: int = MAX_ATTEMPTS,
) -> pd.Series:
    """Households visited without a conclusive result that stay out of the next plan, and why.

    The rule: an inconclusive visit (not found, refused, moved) is an attempt. The household
    returns to the pool ``retry_after_days`` after its last attempt; after ``max_attempts``
    attempts it leaves the pool (``attempts_exhausted``: the office decides, e.g. from a newer
    address). A conclusive visit at any time ends the question (the household is verified).

    Parameters
    ----------
    ledger : pandas.DataFrame or None
    start_date : str
        First day of the plan being made (``YYYY-MM-DD``).
    retry_after_days, max_attempts : int

    Returns
    -------
    pandas.Series
        Index ``household_id``; value ``"retry_later"`` or ``"attempts_exhausted"``.
    """
    if ledger is None or not len(ledger):
        return pd.Series(dtype=object, name="hold")
    frame = ledger[["household_id", "visit_date", "result"]].astype(str)
    conclusive = set(frame.loc[frame["result"].isin(list(_CONCLUSIVE)), "household_id"])
    open_visits = frame[~frame["household_id"].isin(conclusive)]
    if open_visits.empty:
        return pd.Series(dtype=object, name="hold")
    per = open_visits.groupby("household_id").agg(
        attempts=("visit_date", "nunique"), last=("visit_date", "max")
    )
    wait = pd.to_datetime(start_date) - pd.to_datetime(per["last"])
    hold = pd.Series("", index=per.index, dtype=object, name="hold")
    hold[wait < pd.Timedelta(days=retry_after_days)] = "retry_later"
    hold[per["attempts"] >= max_attempts] = "attempts_exhausted"
    return hold[hold != ""].sort_index()


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
    # desil 10 after 9, not after 1: numbers (as read from plan.csv, text) in numeric order
    as_number = pd.to_numeric(table[by], errors="coerce")
    if as_number.notna().all():
        table = table.iloc[np.argsort(as_number.to_numpy(), kind="stable")].reset_index(drop=True)
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
