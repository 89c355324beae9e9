"""Programme progress from verification outcomes: realised vs predicted hit rate (aggregates only).

The report and ``targeting report`` read progress here, through the working state's one reading
of the ledger and the predictions (:func:`targeting.data.state.read_outcomes`), so the report
agrees with ``targeting ingest``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from targeting.data.io import json_records
from targeting.data.state import read_outcomes
from targeting.feedback.ingest import hit_rate_table

__all__ = ["progress_from_ledger", "read_progress"]

_COLUMNS = ["visits", "conclusive", "finds", "realised", "low", "high", "predicted", "flagged"]


def progress_from_ledger(ledger: pd.DataFrame, predictions: pd.DataFrame) -> dict[str, Any]:
    """Realised vs predicted hit rate, overall and by kelurahan (aggregates only).

    Parameters
    ----------
    ledger : pandas.DataFrame
        Ingested verification outcomes (``household_id``, ``visit_date``, ``operator``,
        ``result``).
    predictions : pandas.DataFrame
        ``household_id``, ``kelurahan`` and ``p_extreme`` as predicted when the plan was made.

    Returns
    -------
    dict
        ``outcomes`` (ledger rows), ``overall`` (one record) and ``by_kelurahan`` (records):
        visits, conclusive, finds, realised, low, high, predicted, flagged.
    """
    keep = ["household_id", "kelurahan", "p_extreme"]
    preds = predictions[[c for c in keep if c in predictions]].drop_duplicates("household_id")
    preds = preds.assign(household_id=preds["household_id"].astype(str))
    ledger = ledger.assign(household_id=ledger["household_id"].astype(str))
    overall = hit_rate_table(ledger, preds.assign(area="all"), by="area")
    by_kel = (
        hit_rate_table(ledger, preds, by="kelurahan") if "kelurahan" in preds else pd.DataFrame()
    )
    return {
        "outcomes": len(ledger),
        "overall": json_records(overall[[c for c in _COLUMNS if c in overall]])[:1],
        "by_kelurahan": json_records(by_kel[["kelurahan", *[c for c in _COLUMNS if c in by_kel]]])
        if len(by_kel)
        else [],
    }


def read_progress(folder: str | Path | None) -> dict[str, Any] | None:
    """Progress of a state folder, or None before any outcome is ingested.

    Parameters
    ----------
    folder : path-like or None
        The state folder (``outputs/<experiment>``): its outcomes ledger, compared with the
        plan's predictions (the current scores for households not in the plan).

    Returns
    -------
    dict or None
        As :func:`progress_from_ledger`.
    """
    found = read_outcomes(folder)
    if found is None:
        return None
    return progress_from_ledger(*found)
