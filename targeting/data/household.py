"""One row per household: the common form every survey adapter returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["HouseholdData"]


@dataclass
class HouseholdData:
    """One row per household: proxies, label and the columns needed to evaluate targeting.

    Attributes
    ----------
    name : str
        Data set name.
    X : pandas.DataFrame
        Proxy features, one row per household (never the label or ids).
    label : numpy.ndarray of int
        1 = extremely poor.
    groups : numpy.ndarray
        Area / group of each household (cross-validation grouping, robustness view).
    ids : numpy.ndarray
        Household ids (aligned with the rows of ``X``).
    weights : numpy.ndarray or None
        Sampling weights, when the source has them.
    group_columns : pandas.DataFrame
        Extra columns for group-disaggregated errors (e.g. region, urban, female_head).
    target4 : numpy.ndarray or None
        A richer ordinal label when available (Costa Rica: 1 extreme … 4 not vulnerable).
    notes : dict
        Counts and decisions made while loading (dropped households, ...).
    consumption : numpy.ndarray or None
        Consumption per capita when the label is defined by a consumption line (then the
        consumption models of the zoo can run).
    line : float or None
        That line.
    """

    name: str
    X: pd.DataFrame
    label: np.ndarray
    groups: np.ndarray
    ids: np.ndarray
    weights: np.ndarray | None = None
    group_columns: pd.DataFrame = field(default_factory=pd.DataFrame)
    target4: np.ndarray | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    consumption: np.ndarray | None = None
    line: float | None = None

    @property
    def hh_id(self) -> np.ndarray:
        """Alias of :attr:`ids` (household ids)."""
        return self.ids

    @property
    def y(self) -> np.ndarray:
        """Alias of :attr:`label`."""
        return self.label

    def __len__(self) -> int:
        return len(self.X)
