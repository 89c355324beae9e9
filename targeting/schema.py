"""Registry, survey and outcome contracts (DESIGN.md §3).

The column vocabularies here are the single source of truth for every other module: the synthetic
generator writes them, the feature pipeline encodes them, the validators check them.

Validation is vectorised and *lazy*: every problem in a frame is collected before anything is
reported, so that a registry export is fixed in one pass, not one error at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

__all__ = [
    "BOOL_PROXIES",
    "CATEGORICAL_PROXIES",
    "COUNT_PROXIES",
    "EDUCATION_LEVELS",
    "KECAMATAN_KELURAHAN_COUNTS",
    "NUMERIC_PROXIES",
    "ORDERED_PROXIES",
    "OUTCOME_RESULTS",
    "PII_COLUMNS",
    "PROGRAMME_COLUMNS",
    "PROXY_COLUMNS",
    "VERIFICATION_STATUSES",
    "DataValidationError",
    "Problem",
    "ValidationResult",
    "is_reached",
    "validate_outcomes",
    "validate_registry",
    "validate_survey",
]

# --- vocabularies -----------------------------------------------------------------------------

KECAMATAN_KELURAHAN_COUNTS: dict[str, int] = {
    "Serang": 12,
    "Kasemen": 10,
    "Walantaka": 14,
    "Curug": 10,
    "Cipocok Jaya": 8,
    "Taktakan": 13,
}
"""Kota Serang's six kecamatan and how many kelurahan each has (67 in all)."""

EDUCATION_LEVELS: list[str] = ["none", "primary", "junior", "senior", "tertiary"]

CATEGORICAL_PROXIES: dict[str, list[str]] = {
    "head_sector": ["none", "agriculture", "industry", "trade", "services", "informal"],
    "floor_material": ["earth", "bamboo_wood", "cement", "ceramic"],
    "wall_material": ["bamboo", "wood", "brick_unplastered", "brick_plastered"],
    "roof_material": ["thatch", "zinc", "tile", "concrete"],
    "tenure": ["own", "rent", "free", "other"],
    "water_source": ["unprotected", "protected_well", "piped", "bottled"],
    "sanitation": ["none", "shared", "private"],
    "cooking_fuel": ["wood", "kerosene", "lpg_3kg", "lpg_large", "electric"],
    "electricity": ["none", "pln_450va", "pln_900va", "pln_1300va_plus", "non_pln"],
}
"""Unordered categorical proxies and their allowed values."""

ORDERED_PROXIES: dict[str, list[str]] = {"head_education": EDUCATION_LEVELS}
"""Ordered categorical proxies, levels from lowest to highest."""

COUNT_PROXIES: list[str] = [
    "hh_size",
    "n_children_u5",
    "n_school_age",
    "n_elderly",
    "n_disabled",
    "n_workers",
    "head_age",
]
NUMERIC_PROXIES: list[str] = ["floor_area_m2"]
BOOL_PROXIES: list[str] = [
    "head_female",
    "head_works",
    "has_motorcycle",
    "has_car",
    "has_refrigerator",
    "has_ac",
    "has_smartphone",
    "has_gold",
    "has_land",
    "has_livestock",
]
PROXY_COLUMNS: list[str] = (
    COUNT_PROXIES
    + NUMERIC_PROXIES
    + BOOL_PROXIES
    + list(ORDERED_PROXIES)
    + list(CATEGORICAL_PROXIES)
)
"""Every proxy a PMT model may use, in a fixed order."""

PROGRAMME_COLUMNS: list[str] = ["receives_pkh", "receives_bpnt", "receives_pbi"]
VERIFICATION_STATUSES: list[str] = ["unverified", "verified_extreme", "verified_not_extreme"]
OUTCOME_RESULTS: list[str] = ["extreme_poor", "not_extreme_poor", "not_found", "refused", "moved"]

PII_COLUMNS: list[str] = ["nik_head", "head_name", "address", "phone"]
"""Columns that identify a person. They never leave the planner's machine."""

AREA_COLUMNS: list[str] = ["kecamatan", "kelurahan"]
OPTIONAL_AREA_COLUMNS: list[str] = ["rt", "rw"]

REGISTRY_COLUMNS: list[str] = (
    ["household_id"] + AREA_COLUMNS + PROXY_COLUMNS + PROGRAMME_COLUMNS + ["verification_status"]
)
"""Required registry columns (PII and RT/RW are optional)."""

SURVEY_COLUMNS: list[str] = (
    ["household_id"] + AREA_COLUMNS + PROXY_COLUMNS + ["consumption_pc", "weight"]
)
"""Required survey columns."""

OUTCOME_COLUMNS: list[str] = ["household_id", "visit_date", "operator", "result"]

_HOUSEHOLD_COUNT_LIMITED = ["n_children_u5", "n_school_age", "n_elderly", "n_disabled", "n_workers"]
_TRUE_STRINGS = {"true", "1", "yes", "ya", "y", "t"}
_FALSE_STRINGS = {"false", "0", "no", "tidak", "n", "f"}


def is_reached(frame: pd.DataFrame) -> pd.Series:
    """Return whether each household is *reached* (cash or food assistance: PKH or BPNT).

    Parameters
    ----------
    frame : pandas.DataFrame
        A validated registry.

    Returns
    -------
    pandas.Series of bool
    """
    return frame["receives_pkh"].astype(bool) | frame["receives_bpnt"].astype(bool)


# --- problems and results ---------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One defect found in one column of a set of rows."""

    column: str
    rows: tuple[int, ...]
    values: tuple[str, ...]
    expected: str

    def describe(self, max_rows: int = 5) -> str:
        """Return one readable sentence naming the column, the first rows and the fix."""
        shown = ", ".join(
            f"row {r} ({v!r})"
            for r, v in zip(self.rows[:max_rows], self.values[:max_rows], strict=False)
        )
        more = f" and {len(self.rows) - max_rows} more" if len(self.rows) > max_rows else ""
        return (
            f"column {self.column!r}: {len(self.rows)} bad value(s) at {shown}{more}; "
            f"expected {self.expected}"
        )


class DataValidationError(ValueError):
    """Raised when an input file does not meet its contract.

    Attributes
    ----------
    problems : list of Problem
        Every defect found (validation is lazy: all problems at once).
    what : str
        Which input was being validated ("registry", "survey", "outcomes").
    """

    def __init__(self, what: str, problems: list[Problem]):
        self.what = what
        self.problems = problems
        lines = [p.describe() for p in problems[:10]]
        more = f"\n  ... and {len(problems) - 10} more problem(s)" if len(problems) > 10 else ""
        super().__init__(
            f"The {what} does not meet its contract ({len(problems)} problem(s)); "
            "fix these and run again:\n  " + "\n  ".join(lines) + more
        )

    def to_frame(self, ids: pd.Series | None = None) -> pd.DataFrame:
        """Return one row per (row, column) defect, for writing beside the outputs."""
        records = []
        for p in self.problems:
            for r, v in zip(p.rows, p.values, strict=False):
                records.append({"row": r, "column": p.column, "value": v, "expected": p.expected})
        return pd.DataFrame(records, columns=["row", "column", "value", "expected"])


@dataclass
class ValidationResult:
    """A validated frame plus the rows that were set aside.

    Attributes
    ----------
    valid : pandas.DataFrame
        Rows that meet the contract, with canonical dtypes.
    rejected : pandas.DataFrame
        Rows that do not (quarantine mode), with columns ``row``, ``household_id`` and ``reason``.
        Row numbers are 1-based data rows (the header is row 0), as a spreadsheet user counts.
    problems : list of Problem
        Every defect found.
    """

    valid: pd.DataFrame
    rejected: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)


# --- checks -----------------------------------------------------------------------------------


class _Collector:
    """Accumulates problems and the positions of bad rows."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self.problems: list[Problem] = []
        self.bad = np.zeros(len(frame), dtype=bool)
        self.reasons: dict[int, list[str]] = {}

    def flag(self, column: str, mask: np.ndarray, expected: str) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        pos = np.flatnonzero(mask)
        values = (
            self.frame[column].iloc[pos] if column in self.frame else pd.Series([""] * len(pos))
        )
        self.problems.append(
            Problem(
                column=column,
                rows=tuple(int(p) + 1 for p in pos),
                values=tuple(str(v) for v in values),
                expected=expected,
            )
        )
        self.bad |= mask
        for p in pos:
            self.reasons.setdefault(int(p), []).append(f"{column}: expected {expected}")

    def missing_column(self, column: str, expected: str) -> None:
        self.problems.append(
            Problem(column=column, rows=(), values=(), expected=f"a column {column!r} ({expected})")
        )


def _as_bool(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Parse booleans written as bool, 0/1 or true/false/ya/tidak; return values and bad mask."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype(bool), np.zeros(len(series), dtype=bool)
    text = series.astype("string").str.strip().str.lower()
    is_true = text.isin(_TRUE_STRINGS).fillna(False).to_numpy(dtype=bool)
    is_false = text.isin(_FALSE_STRINGS).fillna(False).to_numpy(dtype=bool)
    bad = ~(is_true | is_false)
    return pd.Series(is_true, index=series.index), bad


def _as_number(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Parse numbers (a ``,`` decimal is accepted); return float values and a not-a-number mask."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.astype(float)
    else:
        text = series.astype("string").str.strip().str.replace(",", ".", regex=False)
        values = pd.to_numeric(text, errors="coerce").astype(float)
    bad = ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
    return values, bad


def _as_text(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    text = series.astype("string").str.strip()
    bad = (text.isna() | (text == "")).to_numpy(dtype=bool)
    return text.fillna("").astype(object), bad


def _check_proxies(frame: pd.DataFrame, out: dict[str, pd.Series], col: _Collector) -> None:
    for name in COUNT_PROXIES:
        if name not in frame:
            col.missing_column(name, "whole number")
            continue
        values, bad = _as_number(frame[name])
        v = values.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            not_int = ~bad & (np.abs(v - np.round(v)) > 1e-9)
            if name == "hh_size":
                out_of_range, expected = ~bad & (v < 1), "a whole number >= 1"
            elif name == "head_age":
                out_of_range, expected = (
                    ~bad & ((v < 15) | (v > 110)),
                    "a whole number from 15 to 110",
                )
            else:
                out_of_range, expected = ~bad & (v < 0), "a whole number >= 0"
        col.flag(name, bad | not_int | out_of_range, expected)
        out[name] = pd.Series(
            np.where(np.isfinite(v), np.round(v), 0).astype(np.int64), index=frame.index
        )
    if "hh_size" in out:
        for name in _HOUSEHOLD_COUNT_LIMITED:
            if name in out:
                col.flag(
                    name,
                    (out[name] > out["hh_size"]).to_numpy(),
                    "at most hh_size (a member count cannot exceed the household size)",
                )
    for name in NUMERIC_PROXIES:
        if name not in frame:
            col.missing_column(name, "number > 0")
            continue
        values, bad = _as_number(frame[name])
        v = values.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            col.flag(name, bad | (~bad & (v <= 0)), "a number > 0 (square metres)")
        out[name] = pd.Series(np.where(np.isfinite(v), v, np.nan), index=frame.index)
    for name in BOOL_PROXIES:
        if name not in frame:
            col.missing_column(name, "true/false")
            continue
        values, bad = _as_bool(frame[name])
        col.flag(name, bad, "true/false (or 1/0, ya/tidak)")
        out[name] = values
    for name, levels in {**ORDERED_PROXIES, **CATEGORICAL_PROXIES}.items():
        if name not in frame:
            col.missing_column(name, "one of " + ", ".join(levels))
            continue
        text = frame[name].astype("string").str.strip().str.lower()
        bad = ~text.isin(levels).fillna(False).to_numpy(dtype=bool)
        col.flag(name, bad, "one of " + ", ".join(levels))
        out[name] = text.fillna("").astype(object)


def _check_ids_and_areas(frame: pd.DataFrame, out: dict[str, pd.Series], col: _Collector) -> None:
    if "household_id" not in frame:
        col.missing_column("household_id", "a unique pseudonymous id per household")
    else:
        ids, bad = _as_text(frame["household_id"])
        col.flag("household_id", bad, "a non-empty household id")
        dup = ids.duplicated(keep=False).to_numpy() & ~bad
        col.flag("household_id", dup, "a unique id (this id appears on more than one row)")
        out["household_id"] = ids
    for name in AREA_COLUMNS:
        if name not in frame:
            col.missing_column(name, "area name")
            continue
        text, bad = _as_text(frame[name])
        col.flag(name, bad, f"a non-empty {name} name")
        out[name] = text


def _check_nik(frame: pd.DataFrame, out: dict[str, pd.Series], col: _Collector) -> None:
    if "nik_head" not in frame:
        return
    text = frame["nik_head"].astype("string").str.strip()
    present = ~(text.isna() | (text == "")).to_numpy(dtype=bool)
    well_formed = text.str.fullmatch(r"\d{16}").fillna(False).to_numpy(dtype=bool)
    province = pd.to_numeric(text.str[:2], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        plausible_region = (province >= 11) & (province <= 99)
    col.flag(
        "nik_head",
        present & ~(well_formed & plausible_region),
        "16 digits starting with a province code 11-99 (Kota Serang: 3673...)",
    )
    dup = text.duplicated(keep=False).fillna(False).to_numpy(dtype=bool) & present & well_formed
    col.flag("nik_head", dup, "a unique NIK (this NIK heads more than one household)")
    out["nik_head"] = text.fillna("").astype(object)


def _finish(
    what: str,
    frame: pd.DataFrame,
    out: dict[str, pd.Series],
    col: _Collector,
    mode: Literal["strict", "quarantine"],
    keep_columns: list[str],
) -> ValidationResult:
    missing_columns = [p for p in col.problems if not p.rows]
    if missing_columns or (mode == "strict" and col.problems):
        raise DataValidationError(what, col.problems)
    clean = frame.copy()
    for name, series in out.items():
        clean[name] = series
    clean = clean[
        [c for c in keep_columns if c in clean] + [c for c in clean if c not in keep_columns]
    ]
    bad = col.bad
    rows = np.flatnonzero(bad)
    ids = clean["household_id"].to_numpy()[rows] if "household_id" in clean else rows.astype(str)
    rejected = pd.DataFrame(
        {
            "row": rows + 1,
            "household_id": ids,
            "reason": ["; ".join(col.reasons[int(r)]) for r in rows],
        }
    )
    return ValidationResult(
        valid=clean.loc[~bad].reset_index(drop=True), rejected=rejected, problems=col.problems
    )


def validate_registry(
    frame: pd.DataFrame, mode: Literal["strict", "quarantine"] = "quarantine"
) -> ValidationResult:
    """Validate a registry export against DESIGN.md §3.

    Parameters
    ----------
    frame : pandas.DataFrame
        The registry as read (any dtypes; text is parsed).
    mode : {"quarantine", "strict"}
        ``"quarantine"`` sets bad rows aside in ``rejected`` with their reasons and goes on;
        ``"strict"`` raises on the first file with any problem (all problems listed).
        A missing required column always raises.

    Returns
    -------
    ValidationResult

    Raises
    ------
    DataValidationError
        Naming each column, the first offending rows (1-based) and what was expected.
    """
    col = _Collector(frame)
    out: dict[str, pd.Series] = {}
    _check_ids_and_areas(frame, out, col)
    _check_proxies(frame, out, col)
    for name in PROGRAMME_COLUMNS:
        if name not in frame:
            col.missing_column(name, "true/false")
            continue
        values, bad = _as_bool(frame[name])
        col.flag(name, bad, "true/false (or 1/0, ya/tidak)")
        out[name] = values
    if "verification_status" not in frame:
        col.missing_column("verification_status", "one of " + ", ".join(VERIFICATION_STATUSES))
    else:
        text = frame["verification_status"].astype("string").str.strip().str.lower()
        bad = ~text.isin(VERIFICATION_STATUSES).fillna(False).to_numpy(dtype=bool)
        col.flag("verification_status", bad, "one of " + ", ".join(VERIFICATION_STATUSES))
        out["verification_status"] = text.fillna("").astype(object)
    _check_nik(frame, out, col)
    for name in OPTIONAL_AREA_COLUMNS:
        if name in frame:
            out[name] = frame[name].astype("string").fillna("").astype(object)
    return _finish("registry", frame, out, col, mode, REGISTRY_COLUMNS)


def validate_survey(
    frame: pd.DataFrame, mode: Literal["strict", "quarantine"] = "strict"
) -> ValidationResult:
    """Validate a survey (proxies plus ``consumption_pc`` and ``weight``, both > 0).

    Parameters
    ----------
    frame : pandas.DataFrame
    mode : {"strict", "quarantine"}

    Returns
    -------
    ValidationResult

    Raises
    ------
    DataValidationError
    """
    col = _Collector(frame)
    out: dict[str, pd.Series] = {}
    _check_ids_and_areas(frame, out, col)
    _check_proxies(frame, out, col)
    for name, expected in [
        ("consumption_pc", "a number > 0 (IDR per person per month)"),
        ("weight", "a sampling weight > 0"),
    ]:
        if name not in frame:
            col.missing_column(name, expected)
            continue
        values, bad = _as_number(frame[name])
        v = values.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            col.flag(name, bad | (~bad & (v <= 0)), expected)
        out[name] = values
    return _finish("survey", frame, out, col, mode, SURVEY_COLUMNS)


def validate_outcomes(frame: pd.DataFrame, known_ids: pd.Series | None = None) -> pd.DataFrame:
    """Validate a verification-outcomes file (strict: any problem stops).

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns ``household_id, visit_date, operator, result`` and optional ``notes``.
    known_ids : pandas.Series, optional
        The registry's household ids; outcomes for unknown households are an error.

    Returns
    -------
    pandas.DataFrame
        The outcomes with ``visit_date`` parsed as a date and ``result`` lower-cased.

    Raises
    ------
    DataValidationError
    """
    col = _Collector(frame)
    out: dict[str, pd.Series] = {}
    for name in ["household_id", "operator"]:
        if name not in frame:
            col.missing_column(name, "text")
            continue
        text, bad = _as_text(frame[name])
        col.flag(name, bad, f"a non-empty {name}")
        out[name] = text
    if "visit_date" not in frame:
        col.missing_column("visit_date", "a date YYYY-MM-DD")
    else:
        dates = pd.to_datetime(
            frame["visit_date"].astype("string"), errors="coerce", format="mixed"
        )
        col.flag("visit_date", dates.isna().to_numpy(), "a date YYYY-MM-DD")
        out["visit_date"] = dates.dt.strftime("%Y-%m-%d").fillna("").astype(object)
    if "result" not in frame:
        col.missing_column("result", "one of " + ", ".join(OUTCOME_RESULTS))
    else:
        text = frame["result"].astype("string").str.strip().str.lower()
        col.flag(
            "result",
            ~text.isin(OUTCOME_RESULTS).fillna(False).to_numpy(dtype=bool),
            "one of " + ", ".join(OUTCOME_RESULTS),
        )
        out["result"] = text.fillna("").astype(object)
    if known_ids is not None and "household_id" in out:
        unknown = ~out["household_id"].isin(set(known_ids)).to_numpy()
        col.flag("household_id", unknown, "a household_id that exists in the registry")
    return _finish("outcomes", frame, out, col, "strict", OUTCOME_COLUMNS).valid
