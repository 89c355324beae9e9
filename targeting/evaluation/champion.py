"""Champion choice: the one rule that picks the best model of a comparison table.

``targeting run``, ``targeting forecast`` and ``targeting evaluate`` all choose their champion
here, by the metric's direction in :data:`~targeting.evaluation.metrics.GREATER_IS_BETTER`.
"""

from __future__ import annotations

import pandas as pd

from targeting.evaluation.metrics import greater_is_better

__all__ = ["rank_models", "select_champion"]


def rank_models(table: pd.DataFrame, metric: str) -> list[str]:
    """Model names best first by ``metric``; ties (and missing values, last) by model name.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per model, with a ``model`` column and the metric as a column.
    metric : str
        A metric with a direction (:func:`~targeting.evaluation.metrics.greater_is_better`).

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        When ``metric`` is not a column of ``table`` or has no direction, or the table has no
        model.
    """
    if metric not in table.columns:
        shown = ", ".join(c for c in table.columns if c != "model")
        raise ValueError(
            f"primary metric {metric!r} is not a reported metric; choose one of {shown}"
        )
    if "model" not in table.columns or table.empty:
        raise ValueError("the comparison table has no model rows; evaluate at least one model")
    ascending = not greater_is_better(metric)
    frame = pd.DataFrame(
        {
            "value": pd.to_numeric(table[metric], errors="coerce"),
            "model": table["model"].astype(str),
        }
    )
    ordered = frame.sort_values(
        ["value", "model"], ascending=[ascending, True], na_position="last", kind="mergesort"
    )
    return ordered["model"].tolist()


def select_champion(table: pd.DataFrame, metric: str) -> str:
    """The best model of ``table`` by ``metric`` (ties broken by model name).

    Parameters
    ----------
    table : pandas.DataFrame
        One row per model, with a ``model`` column and the metric as a column.
    metric : str
        E.g. ``ee_at_true_share`` (lower is better) or ``auc`` (higher is better).

    Returns
    -------
    str

    Raises
    ------
    ValueError
        As :func:`rank_models`.
    """
    return rank_models(table, metric)[0]
