"""Adapters for real survey data, each to the same :class:`HouseholdData` form.

* :data:`ADAPTERS`: the engineered adapters a data spec may name (``adapter: costa_rica``);
  :func:`register_adapter` adds one;
* :func:`load_data_spec`: read and check a YAML data spec (bring your own survey);
* :func:`load_dataset`: turn a checked :class:`~targeting.config.dataset.DataSpec` into
  :class:`HouseholdData`.

The data spec (in :mod:`targeting.config.dataset`) names an adapter only as text; this module
holds the registry, so the spec never imports the adapters.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from targeting.config.dataset import DataSpec, DataSpecError
from targeting.config.errors import did_you_mean
from targeting.data.costa_rica import (
    load_costa_rica,
    load_costa_rica_raw_heads,
)
from targeting.data.household import HouseholdData
from targeting.data.paths import shared_data_dir

__all__ = [
    "ADAPTERS",
    "DataSpec",
    "DataSpecError",
    "HouseholdData",
    "check_adapter",
    "derive_columns",
    "load_costa_rica",
    "load_costa_rica_raw_heads",
    "load_data_spec",
    "load_dataset",
    "parse_boolean",
    "register_adapter",
    "relative_line",
    "resolve_data_path",
    "shared_data_dir",
]

Adapter = Callable[[Path], HouseholdData]

ADAPTERS: dict[str, Adapter] = {"costa_rica": load_costa_rica}
"""Engineered adapters by the name a data spec gives (``adapter: costa_rica``): each takes the
resolved file path and returns one row per household."""


def register_adapter(name: str) -> Callable[[Adapter], Adapter]:
    """Register an adapter under ``name`` (a decorator).

    Parameters
    ----------
    name : str
        The value of ``adapter:`` in a data spec.

    Returns
    -------
    callable
        The decorator; it returns the function unchanged.
    """

    def add(function: Adapter) -> Adapter:
        ADAPTERS[name] = function
        return function

    return add


def resolve_data_path(spec: DataSpec) -> Path:
    """The spec's ``path`` with ``${SHARED_DATA}``, environment variables and ``~`` expanded,
    relative to the spec's folder."""
    text = spec.path.replace("${SHARED_DATA}", str(shared_data_dir()))
    text = os.path.expandvars(text)
    path = Path(text).expanduser()
    return path if path.is_absolute() else (spec.base / path).resolve()


def check_adapter(spec: DataSpec) -> None:
    """Raise :class:`DataSpecError` when the spec names an adapter that is not registered."""
    if spec.adapter is not None and spec.adapter not in ADAPTERS:
        raise DataSpecError.from_problems(
            spec.source,
            [
                f"adapter {spec.adapter!r} is unknown{did_you_mean(spec.adapter, ADAPTERS)}; "
                f"allowed: {', '.join(sorted(ADAPTERS))}"
            ],
        )


def load_data_spec(path: str | os.PathLike[str]) -> DataSpec:
    """Read and check a YAML data spec (every problem at once, before any data is read).

    Parameters
    ----------
    path : path-like
        The YAML file; relative ``path:`` entries are resolved against its folder.

    Returns
    -------
    DataSpec

    Raises
    ------
    FileNotFoundError, DataSpecError
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"data spec {file} does not exist")
    try:
        raw = yaml.safe_load(file.read_text())
    except yaml.YAMLError as exc:
        raise DataSpecError(f"{file}: not valid YAML ({exc})") from exc
    spec = DataSpec.from_dict(raw, base=file.resolve().parent, source=str(file))
    check_adapter(spec)
    return spec


def load_dataset(spec: DataSpec) -> HouseholdData:
    """Read the file of a data spec and return one row per household.

    Parameters
    ----------
    spec : DataSpec

    Returns
    -------
    HouseholdData

    Raises
    ------
    FileNotFoundError
        When the file is absent.
    DataSpecError
        When the adapter is unknown or a named column is not in the file.
    """
    check_adapter(spec)
    path = resolve_data_path(spec)
    if spec.adapter is not None:
        data = ADAPTERS[spec.adapter](path)
        data.name = spec.name
        return data
    if not path.is_file():
        raise FileNotFoundError(f"{spec.source}: path {path} does not exist (key 'path')")
    # the spec's own check guarantees these when there is no adapter
    assert spec.id_column and spec.group_column and spec.label and spec.features
    df = pd.read_csv(path)
    notes: dict[str, Any] = {"n_rows_in_file": len(df)}
    df = derive_columns(spec, df, path.name)
    needed = {
        "id_column": [spec.id_column],
        "group_column": [spec.group_column],
        "label.column": [spec.label.column],
        "features": spec.features.columns(),
        "weight_column": [spec.weight_column] if spec.weight_column else [],
        "group_columns": spec.group_columns,
    }
    if spec.household_column and spec.aggregate:
        needed["household_column"] = [spec.household_column]
        needed["aggregate.head_column"] = [spec.aggregate.head_column]
    for key, cols in needed.items():
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise DataSpecError(
                f"{spec.source}: column(s) {missing} named in '{key}' are not in "
                f"{path.name} (columns: {list(df.columns)[:20]}...)"
            )
    if spec.household_column:
        df = _to_households(spec, df, notes)
    if df[spec.id_column].duplicated().any():
        raise DataSpecError(
            f"{spec.source}: id_column '{spec.id_column}' is not unique; for an "
            "individual-level file give household_column and aggregate: "
            "{head_column, head_value}"
        )
    label = _label(spec, df)
    x = pd.DataFrame(index=df.index)
    for c in spec.features.numeric:
        x[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    for c in spec.features.boolean:
        x[c] = parse_boolean(df[c], c, spec.source)
    for c in spec.features.categorical:
        x[c] = df[c].astype("category")
    weights = _weights(spec, df)
    consumption, line = None, None
    if spec.label.type == "consumption":
        consumption = pd.to_numeric(df[spec.label.column], errors="coerce").to_numpy(float)
        line = float(spec.label.line)
    elif spec.label.type == "quantile":
        # a relative line is a line in the column's units: the consumption models keep running
        consumption = pd.to_numeric(df[spec.label.column], errors="coerce").to_numpy(float)
        line = relative_line(consumption, spec.label.quantile, weights)
        notes["line_from_quantile"] = (
            f"the {'weighted ' if weights is not None else ''}{spec.label.quantile:g} quantile "
            f"of {spec.label.column} is the line"
        )
        notes["line"] = line
    return HouseholdData(
        name=spec.name,
        X=x.reset_index(drop=True),
        label=label,
        groups=df[spec.group_column].to_numpy(dtype=object),
        ids=df[spec.id_column].to_numpy(dtype=object),
        weights=weights,
        group_columns=df[[spec.group_column, *spec.group_columns]].reset_index(drop=True),
        notes=notes,
        consumption=consumption,
        line=line,
    )


def _to_households(spec: DataSpec, df: pd.DataFrame, notes: dict[str, Any]) -> pd.DataFrame:
    hh, agg = spec.household_column, spec.aggregate
    assert hh is not None and agg is not None and spec.id_column is not None
    is_head = df[agg.head_column] == agg.head_value
    heads = df[is_head].drop_duplicates(hh)
    missing = set(df[hh]) - set(heads[hh])
    notes["n_households_without_head"] = len(missing)
    if missing and agg.no_head == "oldest":
        rest = df[df[hh].isin(missing)].sort_values(agg.age_column, ascending=False)
        heads = pd.concat([heads, rest.drop_duplicates(hh)])
    notes["n_households"] = len(heads)
    heads = heads.copy()
    heads[spec.id_column] = heads[hh]
    return heads.reset_index(drop=True)


def _label(spec: DataSpec, df: pd.DataFrame) -> np.ndarray:
    label = spec.label
    assert label is not None
    col = df[label.column]
    if label.type == "class":
        values = label.extreme_value
        values = values if isinstance(values, list) else [values]
        return col.isin(values).to_numpy().astype(int)
    col = pd.to_numeric(col, errors="coerce")
    if col.isna().any():
        raise DataSpecError(
            f"{spec.source}: label.column '{label.column}' has {int(col.isna().sum())} "
            "missing or non-numeric row(s); drop them from the file or derive a complete column"
        )
    if label.type == "consumption":
        return (col < float(label.line)).to_numpy().astype(int)
    cut = relative_line(col.to_numpy(float), label.quantile, _weights(spec, df))
    return (col < cut).to_numpy().astype(int)


def relative_line(values: Any, quantile: float, weights: Any = None) -> float:
    """The (survey-weighted) ``quantile`` of per-capita consumption, used as a poverty line.

    Parameters
    ----------
    values : array-like
        Consumption per capita, one value per household (NaN ignored).
    quantile : float
        In (0, 1), e.g. 0.2 for the poorest 20 %.
    weights : array-like, optional
        Survey weights (households weigh by their weight, i.e. by households represented).

    Returns
    -------
    float
        The smallest value whose cumulative weight share reaches ``quantile``; households
        strictly below it are poor.
    """
    v = np.asarray(values, dtype=float)
    w = np.ones(len(v)) if weights is None else np.asarray(weights, dtype=float)
    keep = ~np.isnan(v)
    v, w = v[keep], w[keep]
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order]) / w.sum()
    return float(v[order][min(int(np.searchsorted(cum, quantile)), len(v) - 1)])


_TRUE = {"true", "yes", "ya", "y", "1", "1.0", "t"}
_FALSE = {"false", "no", "tidak", "n", "0", "0.0", "2", "2.0", "f"}


def parse_boolean(column: pd.Series, name: str, source: str = "data spec") -> pd.Series:
    """A yes/no column as 1.0/0.0 (NaN where missing), whatever its coding.

    Accepted, in any case: true/false, yes/no, ya/tidak, y/n, t/f, 1/0 and 1/2 (the BPS
    convention, 1 = yes, 2 = no). A column mixing 0 and 2 is ambiguous and rejected.

    Parameters
    ----------
    column : pandas.Series
    name : str
        The column's name (for messages).
    source : str
        The spec (for messages).

    Returns
    -------
    pandas.Series of float

    Raises
    ------
    DataSpecError
        Naming the column and how many rows hold an unrecognised code.
    """
    text = column.astype("string").str.strip().str.lower()
    present = text.dropna()
    codes = set(present.unique())
    unknown = codes - _TRUE - _FALSE
    if unknown:
        bad = int(present.isin(unknown).sum())
        raise DataSpecError(
            f"{source}: boolean column '{name}' has {bad} row(s) not coded yes/no, ya/tidak, "
            "true/false, 1/0 or 1/2; recode them or list the column under "
            "features.categorical"
        )
    if codes & {"0", "0.0"} and codes & {"2", "2.0"}:
        raise DataSpecError(
            f"{source}: boolean column '{name}' mixes 0 and 2 as codes (1/0 or 1/2?); recode "
            "it to one convention"
        )
    out = pd.Series(np.nan, index=column.index, dtype=float)
    out[text.isin(_TRUE).fillna(False).to_numpy(bool)] = 1.0
    out[text.isin(_FALSE).fillna(False).to_numpy(bool)] = 0.0
    return out


def _weights(spec: DataSpec, df: pd.DataFrame) -> np.ndarray | None:
    if not spec.weight_column:
        return None
    w = pd.to_numeric(df[spec.weight_column], errors="coerce").to_numpy(float)
    bad = ~(np.isfinite(w) & (w > 0))
    if bad.any():
        raise DataSpecError(
            f"{spec.source}: weight_column '{spec.weight_column}' has {int(bad.sum())} row(s) "
            "missing, zero or negative; survey weights must be > 0 (drop those rows or fix "
            "the weights)"
        )
    return w


def derive_columns(spec: DataSpec, df: pd.DataFrame, file_name: str = "the file") -> pd.DataFrame:
    """Add the spec's ``derived:`` columns to ``df``, in order.

    Parameters
    ----------
    spec : DataSpec
    df : pandas.DataFrame
        The survey file as read.
    file_name : str
        For messages.

    Returns
    -------
    pandas.DataFrame
        A copy with the derived columns.

    Raises
    ------
    DataSpecError
        Naming ``derived[i]``, the column and the fix: a source column absent, a new name that
        already exists, a divisor <= 0, or log of a value <= 0.
    """
    if not spec.derived:
        return df
    df = df.copy()
    for i, d in enumerate(spec.derived):
        where = f"{spec.source}: derived[{i}] ({d.name})"
        missing = [c for c in d.sources() if c not in df.columns]
        if missing:
            raise DataSpecError(
                f"{where} reads column(s) {missing}, not in {file_name} "
                f"(columns: {list(df.columns)[:20]}...); fix the name in 'of'/'by'"
            )
        if d.name in df.columns:
            raise DataSpecError(
                f"{where}: column '{d.name}' is already in {file_name}; give the derived "
                "column a new name"
            )
        if d.op == "sum":
            parts = [pd.to_numeric(df[c], errors="coerce") for c in d.of]
            df[d.name] = sum(parts[1:], parts[0])
            continue
        assert isinstance(d.of, str)
        x = pd.to_numeric(df[d.of], errors="coerce").astype(float)
        if d.op == "exp":
            df[d.name] = np.exp(x)
        elif d.op == "log":
            bad = int((x <= 0).sum())
            if bad:
                raise DataSpecError(
                    f"{where}: log needs '{d.of}' > 0 and {bad} row(s) are <= 0; use a "
                    "positive column or drop those rows"
                )
            df[d.name] = np.log(x)
        else:
            assert d.by is not None
            by = pd.to_numeric(df[d.by], errors="coerce").astype(float)
            bad = int((by <= 0).sum())
            if bad:
                raise DataSpecError(
                    f"{where}: divisor '{d.by}' is <= 0 in {bad} row(s); {d.op} needs it > 0 "
                    "(household size is at least 1)"
                )
            df[d.name] = x / by
    return df
