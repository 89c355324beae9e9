"""Data specs: bring your own survey as a small YAML file.

A data spec says where a survey file is, which column identifies a household, how the
extreme-poverty label is defined and which columns are proxies. :func:`load_data_spec` reads
and validates it; :meth:`DataSpec.load` returns a :class:`HouseholdData` (one row per household).

Example (household-level file)::

    name: my-survey
    path: ${SHARED_DATA}/my-survey/households.csv   # or relative to this YAML file
    format: csv
    id_column: hhid
    group_column: district
    weight_column: weight            # optional
    label: {type: consumption, column: cons_pc, line: 400000}
    features:
      numeric: [hh_size, floor_area]
      boolean: [has_fridge]
      categorical: [floor_material]

Example (individual-level file aggregated to households)::

    household_column: idhogar
    aggregate: {head_column: parentesco1, head_value: 1, no_head: drop}
    label: {type: class, column: Target, extreme_value: 1}

or ``adapter: costa_rica`` to use the engineered adapter of
:mod:`targeting.data.costa_rica` (then ``features`` and ``label`` are not needed).

Label types
-----------
``class``       ``column == extreme_value`` (``extreme_value`` may be a list).
``consumption`` ``column < line`` (consumption or income per capita below the extreme line).
``quantile``    ``column <`` its (weighted) ``quantile`` (e.g. 0.1, the poorest decile).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

__all__ = ["DataSpec", "DataSpecError", "HouseholdData", "load_data_spec"]

_LABEL_TYPES = ("class", "consumption", "quantile")
_ADAPTERS = ("costa_rica",)
_KNOWN_KEYS = {
    "name", "description", "path", "format", "id_column", "group_column", "household_column",
    "aggregate", "label", "features", "adapter", "weight_column", "group_columns",
}  # fmt: skip


class DataSpecError(ValueError):
    """A data spec is invalid; the message names the key and how to fix it."""


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


def _expand(raw: str, base: Path) -> Path:
    from targeting.data.costa_rica import shared_data_dir

    text = raw.replace("${SHARED_DATA}", str(shared_data_dir()))
    text = os.path.expandvars(text)
    p = Path(text).expanduser()
    return p if p.is_absolute() else (base / p).resolve()


def _need(d: dict[str, Any], key: str, where: str, hint: str) -> Any:
    if key not in d or d[key] in (None, ""):
        raise DataSpecError(f"{where}: missing key '{key}'; {hint}")
    return d[key]


@dataclass
class DataSpec:
    """A validated data spec (see the module docstring for the keys).

    Attributes
    ----------
    name : str
    path : pathlib.Path
        Resolved file path.
    source : str
        The spec file (for messages).
    format : str
    id_column, group_column, household_column, weight_column : str or None
    aggregate : dict
    label : dict
    features : dict of list
    adapter : str or None
    group_columns : list of str
    """

    name: str
    path: Path
    source: str = "<dict>"
    format: str = "csv"
    id_column: str | None = None
    group_column: str | None = None
    household_column: str | None = None
    aggregate: dict[str, Any] = field(default_factory=dict)
    label: dict[str, Any] = field(default_factory=dict)
    features: dict[str, list[str]] = field(default_factory=dict)
    adapter: str | None = None
    weight_column: str | None = None
    group_columns: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], base: Path | None = None, source: str = "<dict>"):
        """Validate a parsed spec.

        Parameters
        ----------
        raw : dict
        base : pathlib.Path, optional
            Folder relative paths are resolved against (default: the working folder).
        source : str
            Name used in error messages.

        Returns
        -------
        DataSpec

        Raises
        ------
        DataSpecError
        """
        if not isinstance(raw, dict):
            raise DataSpecError(f"{source}: a data spec must be a YAML mapping of keys")
        unknown = sorted(set(raw) - _KNOWN_KEYS)
        if unknown:
            raise DataSpecError(
                f"{source}: unknown key(s) {unknown}; allowed keys are {sorted(_KNOWN_KEYS)}"
            )
        base = base or Path.cwd()
        name = str(
            _need(raw, "name", source, "give the data set a short name, e.g. name: my-survey")
        )
        path = _expand(
            str(
                _need(
                    raw,
                    "path",
                    source,
                    "give the file path (relative to the spec, absolute, or ${SHARED_DATA}/...)",
                )
            ),
            base,
        )
        fmt = str(raw.get("format", "csv")).lower()
        if fmt != "csv":
            raise DataSpecError(f"{source}: format '{fmt}' is not supported; use format: csv")
        adapter = raw.get("adapter")
        if adapter is not None:
            if adapter not in _ADAPTERS:
                raise DataSpecError(
                    f"{source}: adapter '{adapter}' is unknown; known adapters: {list(_ADAPTERS)}"
                )
            return cls(name=name, path=path, source=source, format=fmt, adapter=adapter)

        id_column = str(
            _need(
                raw,
                "id_column",
                source,
                "name the household id column, e.g. id_column: household_id",
            )
        )
        group_column = str(
            _need(
                raw,
                "group_column",
                source,
                "name the area column used to group folds, e.g. group_column: district",
            )
        )
        household_column = raw.get("household_column")
        aggregate = raw.get("aggregate") or {}
        if household_column is not None:
            if not isinstance(aggregate, dict):
                raise DataSpecError(
                    f"{source}: 'aggregate' must be a mapping with head_column and head_value"
                )
            _need(
                aggregate,
                "head_column",
                f"{source} aggregate",
                "name the column flagging the household head, e.g. head_column: parentesco1",
            )
            if "head_value" not in aggregate:
                raise DataSpecError(
                    f"{source} aggregate: missing key 'head_value'; give the value "
                    "of head_column that marks the head, e.g. head_value: 1"
                )
            no_head = aggregate.get("no_head", "drop")
            if no_head not in ("drop", "oldest"):
                raise DataSpecError(
                    f"{source} aggregate: no_head must be 'drop' or 'oldest' (got {no_head!r})"
                )
            if no_head == "oldest" and not aggregate.get("age_column"):
                raise DataSpecError(f"{source} aggregate: no_head: oldest needs 'age_column'")
        elif aggregate:
            raise DataSpecError(
                f"{source}: 'aggregate' needs 'household_column' (the column "
                "grouping individuals into households)"
            )

        label = _need(
            raw,
            "label",
            source,
            "define the label, e.g. label: {type: class, column: Target, extreme_value: 1}",
        )
        if not isinstance(label, dict):
            raise DataSpecError(f"{source}: 'label' must be a mapping with 'type' and 'column'")
        ltype = _need(label, "type", f"{source} label", f"one of {list(_LABEL_TYPES)}")
        if ltype not in _LABEL_TYPES:
            raise DataSpecError(
                f"{source} label: type '{ltype}' is unknown; use one of {list(_LABEL_TYPES)}"
            )
        _need(label, "column", f"{source} label", "name the column the label is computed from")
        extra = {"class": "extreme_value", "consumption": "line", "quantile": "quantile"}[ltype]
        if extra not in label:
            raise DataSpecError(f"{source} label: type '{ltype}' needs key '{extra}'")
        if ltype == "quantile" and not 0 < float(label["quantile"]) < 1:
            raise DataSpecError(f"{source} label: quantile must be in (0, 1), e.g. 0.1")

        features = _need(
            raw,
            "features",
            source,
            "list the proxies, e.g. features: {numeric: "
            "[hh_size], boolean: [has_fridge], categorical: [floor]} "
            "(or use adapter: costa_rica)",
        )
        if not isinstance(features, dict):
            raise DataSpecError(
                f"{source}: 'features' must map numeric/boolean/categorical to lists"
            )
        bad = sorted(set(features) - {"numeric", "boolean", "categorical"})
        if bad:
            raise DataSpecError(
                f"{source} features: unknown kind(s) {bad}; use numeric, boolean, categorical"
            )
        feats = {k: list(features.get(k) or []) for k in ("numeric", "boolean", "categorical")}
        if not any(feats.values()):
            raise DataSpecError(f"{source} features: no feature listed")
        forbidden = {label["column"], id_column, household_column} - {None}
        leak = sorted(forbidden & {c for v in feats.values() for c in v})
        if leak:
            raise DataSpecError(
                f"{source} features: {leak} is the label source or an id; remove it from features"
            )
        group_columns = list(raw.get("group_columns") or [])
        return cls(
            name=name, path=path, source=source, format=fmt, id_column=id_column,
            group_column=group_column, household_column=household_column, aggregate=aggregate,
            label=label, features=feats, adapter=None, weight_column=raw.get("weight_column"),
            group_columns=group_columns,
        )  # fmt: skip

    # ------------------------------------------------------------------ loading
    def load(self) -> HouseholdData:
        """Read the file and return one row per household.

        Returns
        -------
        HouseholdData

        Raises
        ------
        FileNotFoundError
            When the file is absent.
        DataSpecError
            When a named column is not in the file.
        """
        if self.adapter == "costa_rica":
            from targeting.data.costa_rica import load_costa_rica

            data = load_costa_rica(self.path)
            data.name = self.name
            return data
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.source}: path {self.path} does not exist (key 'path')")
        df = pd.read_csv(self.path)
        notes: dict[str, Any] = {"n_rows_in_file": len(df)}
        used = [c for v in self.features.values() for c in v]
        needed = {
            "id_column": [self.id_column],
            "group_column": [self.group_column],
            "label.column": [self.label["column"]],
            "features": used,
            "weight_column": [self.weight_column] if self.weight_column else [],
            "group_columns": self.group_columns,
        }
        if self.household_column:
            needed["household_column"] = [self.household_column]
            needed["aggregate.head_column"] = [self.aggregate["head_column"]]
        for key, cols in needed.items():
            missing = [c for c in cols if c not in df.columns]
            if missing:
                raise DataSpecError(
                    f"{self.source}: column(s) {missing} named in '{key}' are not in "
                    f"{self.path.name} (columns: {list(df.columns)[:20]}...)"
                )
        if self.household_column:
            df = self._to_households(df, notes)
        if df[self.id_column].duplicated().any():
            raise DataSpecError(
                f"{self.source}: id_column '{self.id_column}' is not unique; for an "
                "individual-level file give household_column and aggregate: "
                "{head_column, head_value}"
            )
        label = self._label(df)
        x = pd.DataFrame(index=df.index)
        for c in self.features["numeric"]:
            x[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
        for c in self.features["boolean"]:
            x[c] = df[c].astype("boolean").astype(float)
        for c in self.features["categorical"]:
            x[c] = df[c].astype("category")
        weights = df[self.weight_column].to_numpy(float) if self.weight_column else None
        consumption, line = None, None
        if self.label["type"] == "consumption":
            consumption = pd.to_numeric(df[self.label["column"]], errors="coerce").to_numpy(float)
            line = float(self.label["line"])
        return HouseholdData(
            name=self.name,
            X=x.reset_index(drop=True),
            label=label,
            groups=df[self.group_column].to_numpy(dtype=object),
            ids=df[self.id_column].to_numpy(dtype=object),
            weights=weights,
            group_columns=df[[self.group_column, *self.group_columns]].reset_index(drop=True),
            notes=notes,
            consumption=consumption,
            line=line,
        )

    def _to_households(self, df: pd.DataFrame, notes: dict[str, Any]) -> pd.DataFrame:
        hh, agg = self.household_column, self.aggregate
        is_head = df[agg["head_column"]] == agg["head_value"]
        heads = df[is_head].drop_duplicates(hh)
        missing = set(df[hh]) - set(heads[hh])
        notes["n_households_without_head"] = len(missing)
        if missing and agg.get("no_head", "drop") == "oldest":
            rest = df[df[hh].isin(missing)].sort_values(agg["age_column"], ascending=False)
            heads = pd.concat([heads, rest.drop_duplicates(hh)])
        notes["n_households"] = len(heads)
        heads = heads.copy()
        heads[self.id_column] = heads[hh]
        return heads.reset_index(drop=True)

    def _label(self, df: pd.DataFrame) -> np.ndarray:
        spec = self.label
        col = df[spec["column"]]
        if spec["type"] == "class":
            values = spec["extreme_value"]
            values = values if isinstance(values, list) else [values]
            return col.isin(values).to_numpy().astype(int)
        col = pd.to_numeric(col, errors="coerce")
        if spec["type"] == "consumption":
            return (col < float(spec["line"])).to_numpy().astype(int)
        q = float(spec["quantile"])
        if self.weight_column:
            w = df[self.weight_column].to_numpy(float)
            order = np.argsort(col.to_numpy())
            cum = np.cumsum(w[order]) / w.sum()
            cut = col.to_numpy()[order][np.searchsorted(cum, q)]
        else:
            cut = col.quantile(q)
        return (col < cut).to_numpy().astype(int)


def load_data_spec(path: str | os.PathLike[str]) -> DataSpec:
    """Read and validate a YAML data spec.

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
    return DataSpec.from_dict(raw, base=file.resolve().parent, source=str(file))
