"""Registry, survey and outcome contracts (DESIGN.md §3).

The column vocabularies here are the single source of truth for every other module: the synthetic
generator writes them, the feature pipeline encodes them, the validators check them.

Validation is vectorised and *lazy*: every problem in a frame is collected before anything is
reported, so that a registry export is fixed in one pass, not one error at a time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, overload

import numpy as np
import pandas as pd

from targeting.data.city import load_city_profile

# Re-exported: the one definition lives in targeting.data.eligibility.
from targeting.data.eligibility import is_reached

__all__ = [
    "BOOL_PROXIES",
    "CATEGORICAL_PROXIES",
    "COUNT_PROXIES",
    "DATE_CONVENTIONS",
    "EDUCATION_LEVELS",
    "KECAMATAN_KELURAHAN_COUNTS",
    "KELURAHAN_OF",
    "LISTED_SHARE",
    "LOCATION_COLUMNS",
    "MODEL_COLUMNS",
    "NUMERIC_PROXIES",
    "ORDERED_PROXIES",
    "OUTCOME_RESULTS",
    "PII_COLUMNS",
    "PROGRAMME_COLUMNS",
    "PROXY_COLUMNS",
    "RESULT_CODES_ID",
    "SURVEY_OPTIONAL_COLUMNS",
    "VERIFICATION_STATUSES",
    "DataValidationError",
    "ListedAreas",
    "Problem",
    "ValidationResult",
    "is_reached",
    "mask_digit_runs",
    "mask_value",
    "normalise_operator",
    "normalise_result",
    "parse_proxies",
    "parse_visit_dates",
    "problems_frame",
    "survey_reached",
    "validate_outcomes",
    "validate_registry",
    "validate_survey",
    "write_problems",
]

# --- vocabularies -----------------------------------------------------------------------------

KECAMATAN_KELURAHAN_COUNTS: dict[str, int] = load_city_profile().kelurahan_counts
KELURAHAN_OF: dict[str, str] = load_city_profile().kelurahan_of
"""Kota Serang's six kecamatan and how many kelurahan each has (67 in all), and the kecamatan of
each kelurahan, from the city profile (:func:`targeting.data.city.load_city_profile`)."""

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

LOCATION_COLUMNS: list[str] = ["kecamatan"]
"""Area columns a PMT model may use as inputs. Kecamatan only: the survey samples too few
households per kelurahan for stable kelurahan effects, and poverty differs between kecamatan
(the synthetic city's kecamatan intercepts, BPS's kecamatan figures), which a model blind to
location cannot see. Validation sets aside a kecamatan the city profile does not list, so a
scored row never carries an unknown one."""

MODEL_COLUMNS: list[str] = LOCATION_COLUMNS + PROXY_COLUMNS
"""The columns a PMT model is fitted on and scored with (location first, then the proxies)."""

PROGRAMME_COLUMNS: list[str] = ["receives_pkh", "receives_bpnt", "receives_pbi"]
VERIFICATION_STATUSES: list[str] = ["unverified", "verified_extreme", "verified_not_extreme"]
OUTCOME_RESULTS: list[str] = ["extreme_poor", "not_extreme_poor", "not_found", "refused", "moved"]
RESULT_CODES_ID: dict[str, str] = {
    "extreme_poor": "miskin ekstrem",
    "not_extreme_poor": "tidak miskin ekstrem",
    "not_found": "tidak ditemukan",
    "refused": "menolak",
    "moved": "pindah",
}
"""The one mapping of outcome codes: English code -> the Bahasa Indonesia code the workbook
shows. Both spellings are accepted on ingest (case, spaces and underscores do not matter)."""
DATE_CONVENTIONS: tuple[str, ...] = ("dmy", "iso")
"""How typed visit dates are read: ``dmy`` (``dd/mm/yyyy`` as typed in Indonesia; ISO
``yyyy-mm-dd`` is unambiguous and accepted too) or ``iso`` (``yyyy-mm-dd`` only)."""

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

SURVEY_OPTIONAL_COLUMNS: list[str] = list(PROGRAMME_COLUMNS)
"""Optional survey columns: programme receipt (Susenas asks about PKH, BPNT/Sembako, PBI-JK).
With them the models estimate P(extreme | proxies, not reached) (DESIGN.md §3)."""

OUTCOME_COLUMNS: list[str] = ["household_id", "visit_date", "operator", "result"]

AGE_GROUP_COUNTS: list[str] = ["n_children_u5", "n_school_age", "n_elderly"]
"""Disjoint age groups: together they cannot exceed ``hh_size``."""

PROBLEM_COLUMNS: list[str] = ["input", "column", "row", "value", "expected"]
"""Columns of ``validation_errors.csv`` (see :func:`write_problems`)."""

MAX_HH_SIZE = 30
"""Largest plausible household size; a larger value is set aside as an export error."""
_MAX_VALUE_CHARS = 40
LISTED_SHARE = 0.9
"""A file is a registry of the profile's city when this share of its filled area names are
listed; then an unlisted one is set aside (a typo, a shifted column, a name in the cell)."""


@dataclass(frozen=True)
class ListedAreas:
    """Whether an unlisted kecamatan, and an unlisted kelurahan, are set aside.

    :func:`validate_registry` decides both from the rows it is given (:data:`LISTED_SHARE`).
    A caller that validates only some rows of a batch (the numeric scoring path sends only the
    rows it cannot check in numpy) passes the decisions it took on the whole batch, so that those
    rows get the verdict the whole batch would give them.
    """

    kecamatan: bool
    kelurahan: bool


_RT_RW_PATTERN = r"\d{1,3}"
_HOUSEHOLD_COUNT_LIMITED = ["n_children_u5", "n_school_age", "n_elderly", "n_disabled", "n_workers"]
_TRUE_STRINGS = {"true", "1", "yes", "ya", "y", "t"}
_FALSE_STRINGS = {"false", "0", "no", "tidak", "n", "f"}


def survey_reached(survey: pd.DataFrame) -> np.ndarray | None:
    """Programme reach of each survey household, or None when the survey has no receipt columns.

    Parameters
    ----------
    survey : pandas.DataFrame
        A validated survey.

    Returns
    -------
    numpy.ndarray of bool or None
        ``receives_pkh or receives_bpnt`` (the registry's definition of *reached*).
    """
    if not {"receives_pkh", "receives_bpnt"} <= set(survey.columns):
        return None
    return is_reached(survey).to_numpy(dtype=bool)


# --- problems and results ---------------------------------------------------------------------


_LONG_DIGITS = re.compile(r"\d{12,}")
"""A run of digits as long as a NIK (16) or a Kartu Keluarga number, or one Excel cut short."""


def _mask_digits(digits: str) -> str:
    return digits[:4] + "*" * (len(digits) - 6) + digits[-2:]


def mask_digit_runs(text: str) -> str:
    """``text`` with every run of 12 or more digits (a NIK, a KK number) shown as ``3673****12``.

    For text that is not a cell value: an unexpected error's message on the terminal.
    """
    return _LONG_DIGITS.sub(lambda m: _mask_digits(m.group(0)), text)


def mask_value(column: str, value: object) -> str:
    """Return ``value`` as it may be shown in a message, a log or ``validation_errors.csv``.

    Values of personal-data columns (:data:`PII_COLUMNS`) are never echoed: a NIK-like value
    keeps its first four and last two characters (``3673**********12``), any other is replaced
    by ``<redacted>``. Other values are shown as text, cut at 40 characters, with any run of 12
    or more digits masked the same way (a NIK typed as ``household_id`` or into ``hh_size``).

    Parameters
    ----------
    column : str
    value : object

    Returns
    -------
    str
    """
    text = "" if value is None else str(value)
    if text in {"nan", "<NA>", "None", "NaT"}:
        return ""
    # a NIK typed into another column (a household_id, hh_size) is still a NIK: any run of 12 or
    # more digits keeps only its first four and last two, whatever the column
    text = mask_digit_runs(text)
    if column in PII_COLUMNS:
        if not text.strip():
            return ""
        if column == "nik_head" and re.fullmatch(r"\d{4}\*+\d{2}", text):
            return text  # NIK-shaped: masked above (or already masked)
        return "<redacted>"
    if len(text) > _MAX_VALUE_CHARS:
        return text[: _MAX_VALUE_CHARS - 3] + "..."
    return text


@dataclass(frozen=True)
class Problem:
    """One defect found in one column of a set of rows.

    Attributes
    ----------
    column : str
        The column (or, for a check across columns, the columns joined by ``+``).
    rows : tuple of int
        1-based data rows (the first row under the header is row 1); empty when the whole column
        is missing.
    values : tuple of str
        The offending values as they may be shown (personal data masked, see :func:`mask_value`).
    expected : str
        What the value should look like: the fix.
    """

    column: str
    rows: tuple[int, ...]
    values: tuple[str, ...]
    expected: str

    def describe(self, max_rows: int = 5) -> str:
        """Return one readable sentence naming the column, the first rows and the fix."""
        if not self.rows:
            return f"column {self.column!r} is missing; expected {self.expected}"
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
    n_rows : int or None
        How many data rows the input had.
    report_path : pathlib.Path or None
        Where the full list was written (:func:`write_problems`), once it has been; the message
        then names the file.

    Notes
    -----
    The message lists the first ten problems; values of personal-data columns are masked.
    """

    def __init__(self, what: str, problems: list[Problem], n_rows: int | None = None):
        self.what = what
        self.problems = problems
        self.n_rows = n_rows
        self.report_path: Path | None = None
        lines = [p.describe() for p in problems[:10]]
        more = f"\n  ... and {len(problems) - 10} more problem(s)" if len(problems) > 10 else ""
        n_cells = sum(max(len(p.rows), 1) for p in problems)
        super().__init__(
            f"The {what} does not meet its contract ({len(problems)} problem(s), {n_cells} "
            "bad value(s) or missing column(s)); fix these and run again:\n  "
            + "\n  ".join(lines)
            + more
        )

    def __str__(self) -> str:
        text = super().__str__()
        if self.report_path is not None:
            text += f"\n  (the full list is in {self.report_path})"
        return text

    def to_frame(self, ids: pd.Series | None = None) -> pd.DataFrame:
        """Return one row per (row, column) defect, for writing beside the outputs.

        Parameters
        ----------
        ids : pandas.Series, optional
            Unused; kept for compatibility.

        Returns
        -------
        pandas.DataFrame
            Columns of :data:`PROBLEM_COLUMNS`.
        """
        return problems_frame(self.problems, what=self.what)


def problems_frame(problems: Iterable[Problem], what: str = "") -> pd.DataFrame:
    """One row per (row, column) defect; a missing column is one row with an empty ``row``.

    Parameters
    ----------
    problems : iterable of Problem
    what : str
        The input's name (``registry``, ``survey``, ``outcomes``), written in column ``input``.

    Returns
    -------
    pandas.DataFrame
        Columns ``input, column, row, value, expected``, sorted by row then column; values of
        personal-data columns masked.
    """
    records = []
    for p in problems:
        if not p.rows:
            records.append(
                {
                    "input": what,
                    "column": p.column,
                    "row": pd.NA,
                    "value": "",
                    "expected": f"a column {p.column!r}: {p.expected}",
                }
            )
            continue
        for r, v in zip(p.rows, p.values, strict=False):
            records.append(
                {
                    "input": what,
                    "column": p.column,
                    "row": r,
                    "value": mask_value(p.column, v),
                    "expected": p.expected,
                }
            )
    frame = pd.DataFrame(records, columns=PROBLEM_COLUMNS)
    frame["row"] = frame["row"].astype("Int64")
    return frame.sort_values(
        ["input", "row", "column"], kind="stable", na_position="first"
    ).reset_index(drop=True)


def write_problems(
    problems: DataValidationError | ValidationResult | Iterable[Problem],
    path: str | os.PathLike[str],
    what: str | None = None,
) -> Path:
    """Write every validation problem to a CSV (``validation_errors.csv``), atomically.

    Parameters
    ----------
    problems : DataValidationError, ValidationResult or iterable of Problem
        From a failed (strict) or a quarantine validation. Several inputs can be combined by
        concatenating :func:`problems_frame` outputs instead.
    path : path-like
        Target file; its folder is created. Written even when there is no problem (header
        only), so that a stale list never outlives the run that produced it.
    what : str, optional
        The input's name; default the error's ``what``.

    Returns
    -------
    pathlib.Path
        ``path``. When ``problems`` is a :class:`DataValidationError`, its ``report_path`` is
        set, so its message names the file.

    Examples
    --------
    >>> try:
    ...     validate_registry(frame, mode="strict")  # doctest: +SKIP
    ... except DataValidationError as exc:
    ...     write_problems(exc, "outputs/validation_errors.csv")
    ...     raise
    """
    from targeting.data.io import write_table

    error = problems if isinstance(problems, DataValidationError) else None
    if isinstance(problems, DataValidationError):
        name, items = what or problems.what, problems.problems
    elif isinstance(problems, ValidationResult):
        name, items = what or problems.what, problems.problems
    else:
        name, items = what or "", list(problems)
    written = write_table(problems_frame(items, what=name), path)
    if error is not None:
        error.report_path = Path(written)
    return Path(written)


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
    what : str
        Which input ("registry", "survey", "outcomes").
    """

    valid: pd.DataFrame
    rejected: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    what: str = ""

    def summary(self) -> dict[str, object]:
        """Counts for a progress line or ``--json``: rows in, valid, rejected, bad values per
        column (no values, so nothing personal)."""
        by_column: dict[str, int] = {}
        for p in self.problems:
            by_column[p.column] = by_column.get(p.column, 0) + len(p.rows)
        return {
            "input": self.what,
            "rows": len(self.valid) + len(self.rejected),
            "valid": len(self.valid),
            "rejected": len(self.rejected),
            "bad_values_by_column": dict(sorted(by_column.items())),
        }


# --- checks -----------------------------------------------------------------------------------


class _Collector:
    """Accumulates problems and the positions of bad rows.

    Values are masked as they are collected (:func:`mask_value`), and a value of any column that
    contains the same row's name, NIK, address or phone (a shifted column in a broken export) is
    redacted too: no message, reason or error file ever echoes personal data.
    """

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame
        self.problems: list[Problem] = []
        self.bad = np.zeros(len(frame), dtype=bool)
        self.reasons: dict[int, list[str]] = {}
        self.warnings: list[Problem] = []
        self._pii = [c for c in PII_COLUMNS if c in frame.columns]

    def holds_personal_value(self, pos: int, value: object) -> bool:
        """Whether ``value`` contains, or is part of, a personal value of the row at ``pos``."""
        raw = "" if _is_missing(value) else str(value).strip()
        for name in self._pii:
            cell = self.frame[name].iloc[pos]
            secret = "" if _is_missing(cell) else str(cell).strip()
            if len(secret) >= 4 and (secret in raw or (len(raw) >= 4 and raw in secret)):
                return True
        return False

    def holds_personal_values(self, values: pd.Series) -> np.ndarray:
        """:meth:`holds_personal_value` for every row at once (``values`` aligned with rows)."""
        raw = values.astype("string").fillna("").str.strip().to_numpy(dtype=object)
        out = np.zeros(len(raw), dtype=bool)
        for name in self._pii:
            cells = self.frame[name].astype("string").fillna("").str.strip()
            secret = cells.to_numpy(dtype=object)
            out |= np.array(
                [
                    len(c) >= 4 and (c in r or (len(r) >= 4 and r in c))
                    for r, c in zip(raw, secret, strict=True)
                ],
                dtype=bool,
            )
        return out

    def _shown(self, column: str, pos: int, value: object) -> str:
        shown = mask_value(column, value)
        if column in PII_COLUMNS or not shown:
            return shown
        return "<redacted>" if self.holds_personal_value(pos, value) else shown

    def flag(
        self,
        column: str,
        mask: np.ndarray,
        expected: str,
        values: pd.Series | None = None,
        details: dict[int, str] | None = None,
    ) -> None:
        """Record that ``column`` is bad where ``mask`` is true.

        Parameters
        ----------
        column : str
        mask : array of bool
        expected : str
            The fix, as the reason and the error message show it.
        values : pandas.Series, optional
            What to show as the bad value (default the column's raw values).
        details : dict of int to str, optional
            Extra text per position, appended to that row's reason (e.g. the other rows of a
            duplicate).
        """
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        pos = np.flatnonzero(mask)
        if values is not None:
            raw = values.iloc[pos]
        elif column in self.frame:
            raw = self.frame[column].iloc[pos]
        else:
            raw = pd.Series([""] * len(pos))
        raw_values = list(raw)
        self.problems.append(
            Problem(
                column=column,
                rows=tuple(int(p) + 1 for p in pos),
                values=tuple(
                    self._shown(column, int(p), v) for p, v in zip(pos, raw_values, strict=True)
                ),
                expected=expected,
            )
        )
        self.bad |= mask
        for p, v in zip(pos, raw_values, strict=True):
            what = "missing; expected" if _is_missing(v) and values is None else "expected"
            reason = f"{column}: {what} {expected}"
            if details and int(p) in details:
                reason += f" ({details[int(p)]})"
            self.reasons.setdefault(int(p), []).append(reason)

    def warn(self, column: str, mask: np.ndarray, expected: str) -> None:
        """Record a problem that flags rows without setting them aside (optional columns such
        as the NIK: targeting does not need them, so a bad one never drops a household)."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        pos = np.flatnonzero(mask)
        raw = self.frame[column].iloc[pos] if column in self.frame else [""] * len(pos)
        self.warnings.append(
            Problem(
                column=column,
                rows=tuple(int(p) + 1 for p in pos),
                values=tuple(
                    self._shown(column, int(p), v) for p, v in zip(pos, list(raw), strict=True)
                ),
                expected=f"{expected} (flagged; the household is kept)",
            )
        )

    def missing_column(self, column: str, expected: str) -> None:
        self.problems.append(Problem(column=column, rows=(), values=(), expected=expected))


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and value.strip() in {"", "nan", "NaN", "<NA>", "None"}


def _duplicate_details(keys: pd.Series, dup: np.ndarray, label: str) -> dict[int, str]:
    """For each duplicated position, name the other rows that share its key (no key shown)."""
    out: dict[int, str] = {}
    positions = np.flatnonzero(dup)
    if not len(positions):
        return out
    groups = pd.Series(positions, index=keys.iloc[positions].to_numpy()).groupby(level=0)
    for _, members in groups:
        rows = [int(m) + 1 for m in members.to_numpy()]
        for m in members.to_numpy():
            others = [r for r in rows if r != int(m) + 1]
            shown = ", ".join(map(str, others[:5])) + (" ..." if len(others) > 5 else "")
            out[int(m)] = f"same {label} as row(s) {shown}"
    return out


def _as_bool(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Parse booleans written as bool, 0/1 or true/false/ya/tidak; return values and bad mask."""
    # a nullable boolean column (a Parquet export with gaps) has missing values to report
    if pd.api.types.is_bool_dtype(series) and not series.isna().any():
        return series.astype(bool), np.zeros(len(series), dtype=bool)
    text = series.astype("string").str.strip().str.lower()
    is_true = text.isin(_TRUE_STRINGS).fillna(False).to_numpy(dtype=bool)
    is_false = text.isin(_FALSE_STRINGS).fillna(False).to_numpy(dtype=bool)
    bad = ~(is_true | is_false)
    return pd.Series(is_true, index=series.index), bad


def _as_number(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Parse numbers; return float values and a not-a-number mask.

    A ``,`` decimal (``35,5``) and Indonesian thousands (``1.250.000`` or ``1.250,5``) are
    accepted; anything else that is not a finite number is bad.
    """
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.astype(float)
    else:
        text = series.astype("string").str.strip()
        thousands = text.str.fullmatch(r"-?\d{1,3}(\.\d{3})+(,\d+)?").fillna(False)
        text = text.where(~thousands, text.str.replace(".", "", regex=False))
        text = text.str.replace(",", ".", regex=False)
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
                # above 30 members is an export error (a shifted column, a typo), not a family
                out_of_range, expected = (
                    ~bad & ((v < 1) | (v > MAX_HH_SIZE)),
                    f"a whole number from 1 to {MAX_HH_SIZE}",
                )
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
    if "hh_size" in out and all(name in out for name in AGE_GROUP_COUNTS):
        total = sum(out[name] for name in AGE_GROUP_COUNTS)
        # a group that alone exceeds hh_size is reported already; do not report it twice
        already = np.zeros(len(frame), dtype=bool)
        for name in AGE_GROUP_COUNTS:
            already |= (out[name] > out["hh_size"]).to_numpy()
        col.flag(
            "+".join(AGE_GROUP_COUNTS),
            (total > out["hh_size"]).to_numpy() & ~already,
            "children under 5 + school-age children + elderly at most hh_size "
            "(the age groups do not overlap)",
            values=total.astype(str) + " > " + out["hh_size"].astype(str),
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


def _check_ids_and_areas(
    frame: pd.DataFrame,
    out: dict[str, pd.Series],
    col: _Collector,
    listed_areas: ListedAreas | None = None,
) -> None:
    if "household_id" not in frame:
        col.missing_column("household_id", "a unique pseudonymous id per household")
    else:
        ids, bad = _as_text(frame["household_id"])
        col.flag("household_id", bad, "a non-empty household id")
        dup = ids.duplicated(keep=False).to_numpy() & ~bad
        col.flag(
            "household_id",
            dup,
            "a unique id (this id appears on more than one row)",
            details=_duplicate_details(ids, dup, "household_id"),
        )
        # a NIK or a Kartu Keluarga number (16 digits; 15 once Excel cut it) is personal data:
        # as an id it would be copied into the working state, the scores and not_ranked.csv
        nik_like = ids.str.fullmatch(r"\d{15,16}").fillna(False).to_numpy(dtype=bool) & ~bad
        col.flag(
            "household_id",
            nik_like,
            "a pseudonymous household id, not a 16-digit NIK or KK number (personal data); "
            "export the pseudonymous ID keluarga instead",
        )
        # the head's name (or any personal value of the row) typed as the household id
        holds_pii = col.holds_personal_values(ids)
        col.flag(
            "household_id",
            holds_pii & ~bad & ~nik_like,
            "a pseudonymous household id, not the head's name, NIK or address",
            values=pd.Series(["<redacted>"] * len(frame), index=frame.index),
        )
        out["household_id"] = ids
    for name in AREA_COLUMNS:
        if name not in frame:
            col.missing_column(name, "area name")
            continue
        text, bad = _as_text(frame[name].map(_strip_controls))
        col.flag(name, bad, f"a non-empty {name} name")
        out[name] = normalise_area_names(text)
    if "kecamatan" in out:
        known = {k.casefold() for k in KECAMATAN_KELURAHAN_COUNTS}
        key = out["kecamatan"].map(lambda v: str(v).casefold())
        filled = out["kecamatan"] != ""
        match = key.isin(known) & filled
        # a Kota Serang registry: an unknown kecamatan is a typo or a shifted column, set aside;
        # a registry of another city (few names match) is left as it is
        serang = (
            bool(filled.any() and match[filled].mean() >= LISTED_SHARE)
            if listed_areas is None
            else listed_areas.kecamatan
        )
        if serang:
            col.flag(
                "kecamatan",
                (filled & ~match).to_numpy(dtype=bool),
                "one of Kota Serang's kecamatan: " + ", ".join(sorted(KECAMATAN_KELURAHAN_COUNTS)),
                values=pd.Series(["<hidden>"] * len(frame), index=frame.index),
            )
            if "kelurahan" in out:
                _check_kelurahan(
                    out, col, frame.index, None if listed_areas is None else listed_areas.kelurahan
                )


def _check_kelurahan(
    out: dict[str, pd.Series], col: _Collector, index: pd.Index, decided: bool | None = None
) -> None:
    """Set aside a kelurahan the city profile does not list under the row's kecamatan.

    Only when the file is a registry of the profile's city by its kelurahan too (at least 90 %
    of the filled ones listed): then an unknown name is a typo, a shifted column or a head's
    name typed into the cell, and must not become an area (areas reach MLflow and the report).
    A registry that names its kelurahan otherwise (a real export: the synthetic city's are
    ``"Serang 01"``...) is left as it is, and its area names are pseudonymised wherever they
    are tracked (:class:`targeting.data.privacy.AreaPseudonyms`). ``decided``: the decision
    taken on a larger set of rows (:class:`ListedAreas`) instead of these rows' share.
    """
    kelurahan, kecamatan = out["kelurahan"], out["kecamatan"]
    filled = (kelurahan != "").to_numpy(dtype=bool)
    if decided is False or not filled.any():
        return
    listed = {k.casefold(): v.casefold() for k, v in KELURAHAN_OF.items()}
    # vectorised (a registry has 200,000 rows): case-folded keys, then a dictionary lookup
    parent = kelurahan.astype(str).str.casefold().map(listed).fillna("").to_numpy(dtype=object)
    own = kecamatan.astype(str).str.casefold().to_numpy(dtype=object)
    match = filled & (parent == own)
    if decided is None and match[filled].mean() < LISTED_SHARE:
        return
    col.flag(
        "kelurahan",
        filled & ~match,
        "a kelurahan of the row's kecamatan as the city profile lists it (e.g. 'Serang 01'); "
        "correct the kelurahan or the kecamatan cell",
        values=pd.Series(["<hidden>"] * len(index), index=index),
    )


def _check_nik(frame: pd.DataFrame, out: dict[str, pd.Series], col: _Collector) -> None:
    if "nik_head" not in frame:
        return
    text = frame["nik_head"].astype("string").str.strip()
    present = ~(text.isna() | (text == "")).to_numpy(dtype=bool)
    well_formed = text.str.fullmatch(r"\d{16}").fillna(False).to_numpy(dtype=bool)
    province = pd.to_numeric(text.str[:2], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        plausible_region = (province >= 11) & (province <= 99)
    # the NIK is optional to targeting: Excel cuts it to 15 digits or shows it as 3.67E+15, and
    # a bad NIK is flagged for the data manager, never a reason to drop the household
    col.warn(
        "nik_head",
        present & ~(well_formed & plausible_region),
        "16 digits starting with a province code 11-99 (Kota Serang: 3673...); store NIKs as "
        "text in Excel",
    )
    dup = text.duplicated(keep=False).fillna(False).to_numpy(dtype=bool) & present & well_formed
    col.warn("nik_head", dup, "a unique NIK (this NIK heads more than one household)")
    out["nik_head"] = text.fillna("").astype(object)


def _prepare(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    """Check the header (no repeated column names) and give the frame a plain 0..n-1 index."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"the {what} must be a pandas DataFrame, got {type(frame).__name__}")
    names = [str(c) for c in frame.columns]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataValidationError(
            what,
            [
                Problem(
                    column=name,
                    rows=(),
                    values=(),
                    expected=f"one column named {name!r} (the header has {names.count(name)}); "
                    "delete or rename the copies",
                )
                for name in repeated
            ],
            n_rows=len(frame),
        )
    frame = frame.reset_index(drop=True)
    frame.columns = names
    return frame


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
        raise DataValidationError(what, col.problems + col.warnings, n_rows=len(frame))
    clean = frame.copy()
    for name, series in out.items():
        clean[name] = series
    clean = clean[
        [c for c in keep_columns if c in clean] + [c for c in clean if c not in keep_columns]
    ]
    bad = col.bad
    rows = np.flatnonzero(bad)

    def text_at(name: str) -> np.ndarray:
        if name not in clean:
            return np.full(len(rows), "", dtype=object)
        return clean[name].astype("string").fillna("").to_numpy(dtype=object)[rows]

    rejected = pd.DataFrame(
        {
            "row": rows + 1,
            # the row number finds the row in the source file; a NIK typed as household_id is
            # not shown in full even in this personal-data file (README, "Personal data")
            "household_id": [
                "<redacted>"
                if col.holds_personal_value(int(r), v)
                else mask_value("household_id", v)
                for r, v in zip(rows, text_at("household_id"), strict=True)
            ],
            "kecamatan": text_at("kecamatan"),
            "kelurahan": text_at("kelurahan"),
            "reason": ["; ".join(col.reasons[int(r)]) for r in rows],
        }
    )
    return ValidationResult(
        valid=clean.loc[~bad].reset_index(drop=True),
        rejected=rejected,
        problems=col.problems + col.warnings,
        what=what,
    )


def validate_registry(
    frame: pd.DataFrame,
    mode: Literal["strict", "quarantine"] = "quarantine",
    *,
    listed_areas: ListedAreas | None = None,
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
    listed_areas : ListedAreas, optional
        Whether unlisted kecamatan and kelurahan are set aside, as decided on a larger set of
        rows that ``frame`` is part of; default: decided on ``frame`` (nine in ten filled names
        listed by the city profile).

    Returns
    -------
    ValidationResult

    Raises
    ------
    DataValidationError
        Naming each column, the first offending rows (1-based) and what was expected.
    """
    frame = _prepare(frame, "registry")
    col = _Collector(frame)
    out: dict[str, pd.Series] = {}
    _check_ids_and_areas(frame, out, col, listed_areas)
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
            text = frame[name].astype("string").str.strip()
            present = ~(text.isna() | (text == "")).to_numpy(dtype=bool)
            digits = text.str.fullmatch(_RT_RW_PATTERN).fillna(False).to_numpy(dtype=bool)
            col.flag(
                name,
                present & ~digits,
                f"an {name.upper()} number of 1 to 3 digits (e.g. 001), or empty",
            )
            out[name] = text.fillna("").astype(object)
    return _finish("registry", frame, out, col, mode, REGISTRY_COLUMNS)


def parse_proxies(
    frame: pd.DataFrame, columns: Iterable[str]
) -> tuple[pd.DataFrame, list[Problem]]:
    """Type the proxy columns of ``frame`` as the models take them, and say which rows cannot be.

    For a scorer that receives rows from outside (the served model): the same rules as the
    registry's validation, but nothing is set aside; the caller refuses the request.

    Parameters
    ----------
    frame : pandas.DataFrame
        Any dtypes (text is parsed, as in :func:`validate_registry`).
    columns : iterable of str
        The columns the model takes; problems of other columns (and of absent proxies the model
        does not take) are not reported.

    Returns
    -------
    typed : pandas.DataFrame
        ``frame`` (plain 0..n-1 index) with its proxy columns typed.
    problems : list of Problem
        Per column, the 1-based rows that are not valid (a caller reports rows, not values).
    """
    frame = frame.reset_index(drop=True)
    col = _Collector(frame)
    out: dict[str, pd.Series] = {}
    _check_proxies(frame, out, col)
    wanted = set(columns)
    typed = frame.copy()
    for name, series in out.items():
        typed[name] = series
    problems = [p for p in col.problems if p.rows and set(p.column.split("+")) & wanted]
    return typed, problems


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
    frame = _prepare(frame, "survey")
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
    # receipt is optional, but when given it must be complete: a household whose receipt is
    # unknown cannot be put on either side of the reached / not-reached split
    for name in SURVEY_OPTIONAL_COLUMNS:
        if name in frame:
            values, bad = _as_bool(frame[name])
            col.flag(name, bad, "true/false (or 1/0, ya/tidak), or leave the column out")
            out[name] = values
    return _finish("survey", frame, out, col, mode, SURVEY_COLUMNS + SURVEY_OPTIONAL_COLUMNS)


def normalise_area_names(names: pd.Series) -> pd.Series:
    """Area names written one way: spaces collapsed, and one spelling per name whatever its case.

    ``"TAKTAKAN"``, ``"taktakan "`` and ``"Taktakan"`` are one kecamatan: a kecamatan or
    kelurahan the city profile lists takes its official spelling; any other name the spelling
    most rows of the file use (ties: the first in sort order), so upper-case or double-spaced
    kelurahan do not become new areas.
    """
    collapsed = names.astype("string").fillna("").map(lambda v: " ".join(str(v).split()))
    key = collapsed.map(str.casefold)
    official = {k.casefold(): k for k in [*KECAMATAN_KELURAHAN_COUNTS, *KELURAHAN_OF]}
    counts = (
        pd.DataFrame({"key": key, "name": collapsed})
        .value_counts()
        .reset_index(name="n")
        .sort_values(["key", "n", "name"], ascending=[True, False, True], kind="mergesort")
        .drop_duplicates("key")
    )
    spelling = dict(zip(counts["key"], counts["name"], strict=True))
    spelling.update({k: v for k, v in official.items() if k in spelling})
    return key.map(spelling).fillna("").astype(object)


def normalise_result(value: object) -> str:
    """The English outcome code of a typed result (Bahasa or English), or ``""`` if unknown.

    Case, surrounding spaces, repeated spaces and underscores are ignored: ``"Miskin  Ekstrem"``,
    ``"extreme_poor"`` and ``"EXTREME POOR"`` are all ``extreme_poor``.
    """
    if _is_missing(value):
        return ""
    key = " ".join(str(value).replace("_", " ").split()).casefold()
    return _RESULT_LOOKUP.get(key, "")


_RESULT_LOOKUP: dict[str, str] = {
    **{code.replace("_", " "): code for code in OUTCOME_RESULTS},
    **{bahasa: code for code, bahasa in RESULT_CODES_ID.items()},
}


def normalise_operator(value: object) -> str:
    """An operator name compared and stored one way: spaces collapsed, upper case.

    ``" op-kasemen-03 "`` and ``"OP-Kasemen-03"`` are the same operator.
    """
    if _is_missing(value):
        return ""
    return " ".join(str(value).split()).upper()


_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?$")


def parse_visit_dates(
    values: pd.Series, convention: str = "dmy", today: object = None
) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Read visit dates by one declared convention.

    Parameters
    ----------
    values : pandas.Series
        Typed text, or dates/datetimes (Excel date cells), which are taken as they are.
    convention : {"dmy", "iso"}
        ``dmy``: ``dd/mm/yyyy`` (also ``-`` or ``.``), or ISO ``yyyy-mm-dd``; ``iso``: ISO only.
    today : date-like, optional
        Dates after it are rejected (default: no upper limit, as in a simulated round).

    Returns
    -------
    dates : pandas.Series
        ``YYYY-MM-DD`` text (empty where rejected).
    unreadable : numpy.ndarray of bool
        Not a date of the convention, or ambiguous (a two-digit year, ``03/11/25``).
    future : numpy.ndarray of bool
        Readable, but after ``today`` (or before 2000).
    """
    if convention not in DATE_CONVENTIONS:
        raise ValueError(f"dates must be one of {', '.join(DATE_CONVENTIONS)}, got {convention!r}")
    limit = pd.Timestamp(today).normalize() if today is not None else pd.Timestamp.max
    out, unreadable, future = [], [], []
    for value in values.tolist():
        stamp = _one_date(value, convention)
        if stamp is None:
            out.append("")
            unreadable.append(True)
            future.append(False)
            continue
        late = stamp > limit or stamp.year < 2000
        out.append("" if late else stamp.strftime("%Y-%m-%d"))
        unreadable.append(False)
        future.append(late)
    return (
        pd.Series(out, index=values.index, dtype=object),
        np.asarray(unreadable, dtype=bool),
        np.asarray(future, dtype=bool),
    )


def _one_date(value: object, convention: str) -> pd.Timestamp | None:
    import datetime as dt

    if isinstance(value, dt.datetime | dt.date | pd.Timestamp):
        # an Excel date cell: a date, whatever display format the office chose
        return pd.Timestamp(value).normalize()
    if _is_missing(value):
        return None
    text = str(value).strip()
    match = _ISO.match(text)
    parts: tuple[int, int, int] | None = None
    if match:
        parts = (int(match[1]), int(match[2]), int(match[3]))
    elif convention == "dmy":
        match = _DMY.match(text)
        if match and len(match[3]) == 4:  # a two-digit year is ambiguous: rejected
            parts = (int(match[3]), int(match[2]), int(match[1]))
    if parts is None:
        return None
    try:
        return pd.Timestamp(year=parts[0], month=parts[1], day=parts[2])
    except ValueError:
        return None


def validate_outcomes(
    frame: pd.DataFrame,
    known_ids: pd.Series | None = None,
    dates: str = "dmy",
    today: object = None,
) -> pd.DataFrame:
    """Validate a verification-outcomes file (strict: any problem stops).

    Nothing of a row is echoed in the errors (ids may be a NIK typed in the wrong column): the
    problems name the column, the row numbers and the fix.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns ``household_id, visit_date, operator, result`` and optional ``notes``.
    known_ids : pandas.Series, optional
        The registry's household ids; outcomes for unknown households are an error.
    dates : {"dmy", "iso"}
        The declared date convention (:func:`parse_visit_dates`).
    today : date-like, optional
        Visit dates after it are rejected (``targeting ingest`` passes the machine's date).

    Returns
    -------
    pandas.DataFrame
        The outcomes with ``visit_date`` as ``YYYY-MM-DD``, ``result`` the English code and
        ``operator`` normalised (:func:`normalise_operator`).

    Raises
    ------
    DataValidationError
    """
    frame = _prepare(frame, "outcomes")
    col = _Collector(frame)
    hidden = pd.Series(["<hidden>"] * len(frame), index=frame.index, dtype=object)
    out: dict[str, pd.Series] = {}
    for name in ["household_id", "operator"]:
        if name not in frame:
            col.missing_column(name, "text")
            continue
        text, bad = _as_text(frame[name].map(_strip_controls))
        col.flag(name, bad, f"a non-empty {name}", values=hidden)
        out[name] = text
    if "operator" in out:
        out["operator"] = out["operator"].map(normalise_operator).astype(object)
    if "visit_date" not in frame:
        col.missing_column("visit_date", "a date dd/mm/yyyy or yyyy-mm-dd")
    else:
        parsed, unreadable, future = parse_visit_dates(frame["visit_date"], dates, today)
        form = "dd/mm/yyyy (or yyyy-mm-dd)" if dates == "dmy" else "yyyy-mm-dd"
        col.flag(
            "visit_date",
            unreadable,
            f"a date {form} with a four-digit year (--dates {dates})",
            values=hidden,
        )
        col.flag("visit_date", future, "a visit date that is not in the future", values=hidden)
        out["visit_date"] = parsed
    codes = ", ".join(f"{b} / {e}" for e, b in RESULT_CODES_ID.items())
    if "result" not in frame:
        col.missing_column("result", "one of " + codes)
    else:
        text = frame["result"].map(normalise_result).astype(object)
        col.flag("result", (text == "").to_numpy(dtype=bool), "one of " + codes, values=hidden)
        out["result"] = text
    if "notes" in frame:
        out["notes"] = frame["notes"].map(
            lambda v: "" if _is_missing(v) else " ".join(_strip_controls(v).split())
        )
    if known_ids is not None and "household_id" in out:
        unknown = ~out["household_id"].isin(set(known_ids)).to_numpy()
        col.flag(
            "household_id", unknown, "a household_id that exists in the registry", values=hidden
        )
    return _finish("outcomes", frame, out, col, "strict", OUTCOME_COLUMNS).valid


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@overload
def _strip_controls(value: str) -> str: ...
@overload
def _strip_controls(value: object) -> object: ...
def _strip_controls(value: object) -> object:
    """Remove control characters (a pasted name with a NUL breaks Excel and terminals)."""
    if isinstance(value, str):
        return _CONTROL.sub("", value)
    return value
