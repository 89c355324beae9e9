"""The working state of a verification programme between invocations (issue #4).

``targeting run`` plans; the field visits; ``targeting ingest`` records the outcomes;
``targeting refit`` recalibrates the champion; the next ``targeting run``/re-plan reads the
updated status. The state lives in one folder (default ``outputs/<experiment>/``) and holds no
personal data:

=============================  ===============================================================
``registry_status.parquet``    household_id, kecamatan, kelurahan, receives_pkh, receives_bpnt,
                               verification_status (updated by every ingestion)
``outcomes_ledger.parquet``    every outcome ever ingested (household_id, visit_date, operator,
                               result, notes), deduplicated
``scores.parquet``             household_id, p_extreme, p_low, p_high, desil of the current
                               champion (rewritten by ``refit``)
``plan.csv``                   the plan as written by ``targeting run`` (its ``p_extreme`` is
                               the prediction the realised hit rate is compared with); holds
                               names and NIKs when the registry has them (personal data)
``cycle.json``                 the current plan's id and period, and the ids of earlier plans;
                               ``ingest`` accepts only the current plan's workbook
``outcomes_audit.parquet``     ledger rows superseded by a later correction (audit trail)
``left_registry.csv``          households of the previous snapshot that the current registry
                               no longer has (id, last status), accounted for by the run
=============================  ===============================================================

``targeting run`` continues from this folder (``--fresh`` starts over): the ledger decides who is
verified, who waits to be visited again and who has had enough attempts
(:func:`targeting.feedback.ingest.pool_holds`); the next plan starts after the current one ends.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from targeting.data.io import InputFileError, read_table, write_json, write_table

__all__ = [
    "AUDIT_FILE",
    "CYCLE_FILE",
    "LEDGER_FILE",
    "PLAN_FILE",
    "SCORES_FILE",
    "STATUS_COLUMNS",
    "STATUS_FILE",
    "read_audit",
    "read_cycle",
    "read_ledger",
    "read_outcomes",
    "read_predictions",
    "read_scores",
    "read_status",
    "write_audit",
    "write_cycle",
    "write_ledger",
    "write_scores",
    "write_state",
    "write_status",
]

STATUS_FILE = "registry_status.parquet"
LEDGER_FILE = "outcomes_ledger.parquet"
SCORES_FILE = "scores.parquet"
PLAN_FILE = "plan.csv"
CYCLE_FILE = "cycle.json"
AUDIT_FILE = "outcomes_audit.parquet"
STATUS_COLUMNS = [
    "household_id",
    "kecamatan",
    "kelurahan",
    "receives_pkh",
    "receives_bpnt",
    "verification_status",
]
SCORE_COLUMNS = ["household_id", "p_extreme", "p_low", "p_high", "desil"]


def write_status(registry: pd.DataFrame, folder: str | Path) -> Path:
    """Write the status columns (no PII) of a registry into the state folder."""
    cols = [c for c in STATUS_COLUMNS if c in registry.columns]
    frame = registry[cols].reset_index(drop=True).copy()
    for c in ("household_id", "kecamatan", "kelurahan", "verification_status"):
        if c in frame:
            frame[c] = frame[c].astype(str)
    return write_table(frame, Path(folder) / STATUS_FILE)


def write_scores(scores: pd.DataFrame, folder: str | Path) -> Path:
    """Write scores (index or column ``household_id``) into the state folder."""
    frame = scores.reset_index() if "household_id" not in scores.columns else scores
    frame = frame[[c for c in SCORE_COLUMNS if c in frame.columns]].reset_index(drop=True)
    frame["household_id"] = frame["household_id"].astype(str)
    return write_table(frame, Path(folder) / SCORES_FILE)


def write_ledger(ledger: pd.DataFrame, folder: str | Path) -> Path:
    """Write the outcomes ledger into the state folder (dates as ``YYYY-MM-DD`` text)."""
    frame = ledger.copy()
    frame["visit_date"] = pd.to_datetime(frame["visit_date"]).dt.strftime("%Y-%m-%d")
    frame["notes"] = frame["notes"].fillna("")
    for c in frame.columns:
        frame[c] = frame[c].astype(str)
    return write_table(frame.reset_index(drop=True), Path(folder) / LEDGER_FILE)


def write_audit(audit: pd.DataFrame, folder: str | Path) -> Path:
    """Write the audit trail of superseded outcomes (all columns as text)."""
    frame = audit.copy()
    for c in frame.columns:
        frame[c] = frame[c].fillna("").astype(str)
    return write_table(frame.reset_index(drop=True), Path(folder) / AUDIT_FILE)


def read_audit(folder: str | Path) -> pd.DataFrame | None:
    """Read the audit trail of superseded outcomes, or None when nothing was corrected."""
    path = Path(folder) / AUDIT_FILE
    if not path.exists():
        return None
    return read_table(path).fillna("").astype(str).astype(object)


def write_cycle(cycle: dict[str, Any], folder: str | Path) -> Path:
    """Write ``cycle.json``: ``plan_id``, ``first_visit_date``, ``last_visit_date``,
    ``earlier_plan_ids`` (aggregates and ids only)."""
    return write_json(cycle, Path(folder) / CYCLE_FILE)


def read_cycle(folder: str | Path) -> dict[str, Any] | None:
    """Read ``cycle.json``, or None when the folder has no plan yet."""
    path = Path(folder) / CYCLE_FILE
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputFileError(
            f"{path} is damaged ({exc.__class__.__name__}); run 'targeting run --fresh' to start "
            "the state over, or restore the file from a backup"
        ) from exc


def write_state(result: Any, folder: str | Path | None = None) -> dict[str, Path]:
    """Write the working state of a cycle (status and scores) into its output folder.

    Parameters
    ----------
    result : targeting.pipeline.CycleResult
        Uses ``registry_status`` and ``scores``.
    folder : path-like, optional
        Default: the folder of ``result.outputs["summary"]``.

    Returns
    -------
    dict of str to pathlib.Path
        ``registry_status`` and ``scores``.
    """
    if folder is None:
        folder = Path(result.outputs["summary"]).parent
    return {
        "registry_status": write_status(result.registry_status, folder),
        "scores": write_scores(result.scores, folder),
    }


def _read(folder: str | Path, name: str, what: str) -> pd.DataFrame:
    path = Path(folder) / name
    if not path.exists():
        raise InputFileError(
            f"no {what} in the state folder {folder} ({name} is missing); run 'targeting run' "
            "first, or pass --state / --registry"
        )
    return read_table(path)


def read_status(folder: str | Path) -> pd.DataFrame:
    """Read ``registry_status.parquet`` (raises InputFileError with the fix when missing)."""
    frame = _read(folder, STATUS_FILE, "registry status")
    frame["household_id"] = frame["household_id"].astype(str)
    return frame


def read_ledger(folder: str | Path) -> pd.DataFrame | None:
    """Read the outcomes ledger, or None when nothing was ingested yet."""
    path = Path(folder) / LEDGER_FILE
    if not path.exists():
        return None
    frame = read_table(path)
    frame = frame.fillna("").astype(str).astype(object)
    return frame


def read_scores(folder: str | Path) -> pd.DataFrame | None:
    """Read ``scores.parquet`` (index ``household_id``), or None when absent."""
    path = Path(folder) / SCORES_FILE
    if not path.exists():
        return None
    frame = read_table(path)
    frame["household_id"] = frame["household_id"].astype(str)
    return frame.set_index("household_id")


def read_predictions(folder: str | Path) -> pd.DataFrame:
    """The predictions realised hit rates are compared with.

    The plan's ``p_extreme`` (as predicted when the plan was made) for planned households; the
    current scores for the others. Columns ``household_id, kelurahan, desil, p_extreme``.

    Raises
    ------
    targeting.data.io.InputFileError
        If the folder has neither ``plan.csv`` nor ``scores.parquet``.
    """
    parts = []
    plan_path = Path(folder) / PLAN_FILE
    if plan_path.exists():
        plan = read_table(plan_path)
        cols = [c for c in ["household_id", "kelurahan", "desil", "p_extreme"] if c in plan]
        parts.append(plan[cols].assign(household_id=lambda f: f["household_id"].astype(str)))
    scores = read_scores(folder)
    if scores is not None:
        frame = scores.reset_index()[["household_id", "desil", "p_extreme"]]
        status_path = Path(folder) / STATUS_FILE
        if status_path.exists():
            places = read_status(folder)[["household_id", "kelurahan"]]
            frame = frame.merge(places, on="household_id", how="left")
        parts.append(frame)
    if not parts:
        raise InputFileError(
            f"no predictions in the state folder {folder} (neither {PLAN_FILE} nor "
            f"{SCORES_FILE}); run 'targeting run' first or pass --state"
        )
    out = pd.concat(parts, ignore_index=True).drop_duplicates("household_id", keep="first")
    return out.reset_index(drop=True)


def read_outcomes(folder: str | Path | None) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The one reading of a state folder's progress inputs: the ledger and its predictions.

    Parameters
    ----------
    folder : path-like or None
        A state folder (``outputs/<experiment>``).

    Returns
    -------
    tuple of pandas.DataFrame, or None
        ``(ledger, predictions)`` as :func:`read_ledger` and :func:`read_predictions` read them;
        None when there is no folder, nothing was ingested yet, or the folder has neither
        ``plan.csv`` nor ``scores.parquet`` to compare the outcomes with.
    """
    if folder is None:
        return None
    ledger = read_ledger(folder)
    if ledger is None or not len(ledger):
        return None
    try:
        predictions = read_predictions(folder)
    except InputFileError:
        return None
    return ledger, predictions
