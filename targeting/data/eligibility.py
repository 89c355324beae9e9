"""Who may be planned: the one definition of *reached* and *eligible for ranking* (DESIGN.md §3).

*Reached* means ``receives_pkh or receives_bpnt`` (cash or food assistance). *Eligible for
ranking* means not reached, ``verification_status`` "unverified" once the status text is
normalised (surrounding spaces and capitals ignored), so that a registry exported as
``" Unverified"`` plans the same households as a clean one, and not held out of the pool: the
optional ``pool_hold`` column (set from the outcomes ledger by the working state, see
:func:`targeting.feedback.ingest.pool_holds`) is empty.
"""

from __future__ import annotations

import pandas as pd

__all__ = [
    "POOL_HOLD",
    "UNVERIFIED",
    "eligible_for_ranking",
    "is_reached",
    "is_verified",
    "normalise_status",
    "pool_hold",
]

UNVERIFIED = "unverified"
"""The verification status of a household nobody has visited conclusively."""

POOL_HOLD = "pool_hold"
"""The optional registry column holding why an unverified household is out of the pool for now
(``retry_later``, ``attempts_exhausted``; empty: in the pool)."""


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


def is_verified(frame: pd.DataFrame) -> pd.Series:
    """Whether each household's normalised ``verification_status`` is other than "unverified".

    Parameters
    ----------
    frame : pandas.DataFrame
        A validated registry (``verification_status``).

    Returns
    -------
    pandas.Series of bool
    """
    return normalise_status(frame["verification_status"]) != UNVERIFIED


def pool_hold(frame: pd.DataFrame) -> pd.Series:
    """The ``pool_hold`` reason of each household: empty text when it is in the pool.

    Parameters
    ----------
    frame : pandas.DataFrame
        A registry, with or without the optional ``pool_hold`` column.

    Returns
    -------
    pandas.Series of str
        Indexed like ``frame``; all empty when the column is absent.
    """
    if POOL_HOLD not in frame.columns:
        return pd.Series("", index=frame.index, dtype=object)
    return frame[POOL_HOLD].astype("string").fillna("").str.strip().astype(object)


def eligible_for_ranking(frame: pd.DataFrame) -> pd.Series:
    """Whether each household may be ranked and planned: not reached, unverified and not held.

    Parameters
    ----------
    frame : pandas.DataFrame
        A validated registry (``receives_pkh``, ``receives_bpnt``, ``verification_status``,
        optionally ``pool_hold``).

    Returns
    -------
    pandas.Series of bool
    """
    return ~is_reached(frame) & ~is_verified(frame) & (pool_hold(frame) == "")
