"""Who may be planned: the one definition of *reached* and *eligible for ranking* (DESIGN.md §3).

*Reached* means ``receives_pkh or receives_bpnt`` (cash or food assistance). *Eligible for
ranking* means not reached and ``verification_status`` "unverified" once the status text is
normalised (surrounding spaces and capitals ignored), so that a registry exported as
``" Unverified"`` plans the same households as a clean one.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["UNVERIFIED", "eligible_for_ranking", "is_reached", "normalise_status"]

UNVERIFIED = "unverified"
"""The verification status of a household nobody has visited conclusively."""


def normalise_status(series: pd.Series) -> pd.Series:
    """Verification status as canonical text: stripped and lower case.

    Parameters
    ----------
    series : pandas.Series
        ``verification_status`` values.

    Returns
    -------
    pandas.Series of str
    """
    return series.astype(str).str.strip().str.lower()


def is_reached(frame: pd.DataFrame) -> pd.Series:
    """Whether each household is *reached* (cash or food assistance: PKH or BPNT).

    Parameters
    ----------
    frame : pandas.DataFrame
        A validated registry (``receives_pkh``, ``receives_bpnt``).

    Returns
    -------
    pandas.Series of bool
    """
    return frame["receives_pkh"].astype(bool) | frame["receives_bpnt"].astype(bool)


def eligible_for_ranking(frame: pd.DataFrame) -> pd.Series:
    """Whether each household may be ranked and planned: not reached and still unverified.

    Parameters
    ----------
    frame : pandas.DataFrame
        A validated registry (``receives_pkh``, ``receives_bpnt``, ``verification_status``).

    Returns
    -------
    pandas.Series of bool
    """
    return ~is_reached(frame) & (normalise_status(frame["verification_status"]) == UNVERIFIED)
