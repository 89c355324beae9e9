"""PMT feature pipeline: proxies (DESIGN.md §3) to a float matrix.

One :class:`~sklearn.compose.ColumnTransformer` turns a registry or survey frame into the numeric
matrix every PMT model consumes. Missing values are imputed inside the transformer (median for
numbers, most frequent for booleans and categories), categories are one-hot encoded against the
fixed vocabularies of :mod:`targeting.data.schema` (unknown values encode as all zeros), the ordered
education level becomes its ordinal code, and floor area enters as log floor area and log floor
area per person.

Output feature names read as ``hh_size``, ``has_car``, ``head_education``,
``floor_material=earth``, ``log_floor_area_m2``, ``log_floor_area_pc``; :func:`feature_to_proxy`
maps each back to the proxy column it came from (for reason codes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler

from targeting.data.schema import (
    BOOL_PROXIES,
    CATEGORICAL_PROXIES,
    COUNT_PROXIES,
    KECAMATAN_KELURAHAN_COUNTS,
    NUMERIC_PROXIES,
    ORDERED_PROXIES,
    PROXY_COLUMNS,
)

__all__ = [
    "FEATURE_SETS",
    "LOCATION_LEVELS",
    "feature_to_proxy",
    "make_feature_set",
    "make_feature_transformer",
    "to_float",
    "to_text",
]

LOCATION_LEVELS: dict[str, list[str]] = {
    "kecamatan": [name.casefold() for name in KECAMATAN_KELURAHAN_COUNTS]
}
"""The location inputs of the default feature sets and their levels (lower case, as
:func:`to_text` leaves them): Kota Serang's six kecamatan, one-hot encoded. Grouped CV holds out
whole kelurahan, whose kecamatan the training folds still see, so the effect is learnt from other
kelurahan of the same kecamatan and never from the held-out households' own labels."""

_LOG_COLUMNS = ["floor_area_m2"]
"""Numeric proxies entered on the log scale (skewed, multiplicative effect on consumption)."""

_TRUE = {"true", "1", "1.0", "yes", "ya", "y", "t"}
_FALSE = {"false", "0", "0.0", "no", "tidak", "n", "f"}


# --- small module-level helpers (picklable, so fitted pipelines can be saved) ------------------


def _as_frame(X: Any) -> pd.DataFrame:
    return X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X, dtype=object))


def _per_distinct(col: pd.Series, convert: Any, fill: Any) -> np.ndarray:
    """Apply ``convert`` (a Series → array function) to the distinct values of ``col`` only.

    A registry column holds a handful of distinct values over millions of rows: converting
    those once and indexing back is what keeps text parsing off the scoring hot path.
    Missing values map to ``fill``.
    """
    codes, distinct = pd.factorize(col, use_na_sentinel=True)
    converted = np.asarray(convert(pd.Series(distinct, dtype=object)), dtype=object)
    out = np.append(converted, [fill]).astype(converted.dtype if len(converted) else object)
    return out[codes]  # code -1 (missing) picks the appended fill


def to_float(X: Any) -> np.ndarray:
    """Numbers (any dtype, ``,`` decimals accepted) to float, missing and junk to NaN."""
    frame = _as_frame(X)
    out = np.empty(frame.shape, dtype=float)
    for j, name in enumerate(frame.columns):
        col = frame[name]
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            out[:, j] = col.to_numpy(dtype=float, na_value=np.nan)
        else:

            def parse(values: pd.Series) -> np.ndarray:
                text = values.astype("string").str.strip().str.replace(",", ".", regex=False)
                return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)

            out[:, j] = _per_distinct(col, parse, np.nan).astype(float)
    return out


def _to_bool_float(X: Any) -> np.ndarray:
    """Booleans written as bool, 0/1 or true/false/ya/tidak to 1.0/0.0, anything else to NaN."""
    frame = _as_frame(X)
    out = np.full(frame.shape, np.nan)

    def parse(values: pd.Series) -> np.ndarray:
        text = values.astype("string").str.strip().str.lower()
        result = np.full(len(text), np.nan)
        result[text.isin(_TRUE).fillna(False).to_numpy(dtype=bool)] = 1.0
        result[text.isin(_FALSE).fillna(False).to_numpy(dtype=bool)] = 0.0
        return result

    for j, name in enumerate(frame.columns):
        col = frame[name]
        if pd.api.types.is_bool_dtype(col) and not col.hasnans:
            out[:, j] = col.to_numpy(dtype=float)
            continue
        out[:, j] = _per_distinct(col, parse, np.nan).astype(float)
    return out


def to_text(X: Any) -> np.ndarray:
    """Categories to lower-case stripped Python strings (object array), missing to NaN."""
    frame = _as_frame(X)
    out = np.empty(frame.shape, dtype=object)

    def clean(values: pd.Series) -> np.ndarray:
        text = values.astype("string").str.strip().str.lower()
        text = text.mask(text == "")
        return text.astype(object).where(text.notna(), np.nan).to_numpy()

    for j, name in enumerate(frame.columns):
        out[:, j] = _per_distinct(frame[name], clean, np.nan)
    return out


def _log_area(X: Any) -> np.ndarray:
    return np.log(np.clip(np.asarray(X, dtype=float), 1.0, None))


def _log_area_names(transformer: Any, input_features: Sequence[str]) -> np.ndarray:
    return np.asarray([f"log_{name}" for name in input_features], dtype=object)


def _log_area_pc(X: Any) -> np.ndarray:
    arr = np.asarray(X, dtype=float)
    area, size = arr[:, 0], np.clip(arr[:, 1], 1.0, None)
    return np.log(np.clip(area / size, 0.5, None))[:, None]


def _log_area_pc_names(transformer: Any, input_features: Sequence[str]) -> np.ndarray:
    return np.asarray(["log_floor_area_pc"], dtype=object)


def _combine(feature: str, category: Any) -> str:
    return f"{feature}={category}"


def _imputer(strategy: str) -> SimpleImputer:
    # keep_empty_features: a column missing in every training row still yields one output column,
    # so the output shape never depends on the fold.
    return SimpleImputer(strategy=strategy, keep_empty_features=True)


# --- the transformer ---------------------------------------------------------------------------


def make_feature_transformer(
    numeric: list[str] | None = None,
    boolean: list[str] | None = None,
    ordered: dict[str, list[str]] | None = None,
    categorical: dict[str, list[str]] | None = None,
    scale: bool = True,
    drop_first: bool = False,
    location: dict[str, list[str]] | None = None,
) -> ColumnTransformer:
    """Build the PMT feature transformer.

    Parameters
    ----------
    numeric : list of str, optional
        Numeric proxies (counts and floor area). Default ``COUNT_PROXIES + NUMERIC_PROXIES``.
        ``floor_area_m2`` enters as ``log_floor_area_m2``, and when ``hh_size`` is also given, a
        derived ``log_floor_area_pc`` (log floor area per person) is added.
    boolean : list of str, optional
        Boolean proxies, default ``BOOL_PROXIES``; encoded 1.0/0.0.
    ordered : dict, optional
        Ordered categorical proxies and their levels (lowest first), default ``ORDERED_PROXIES``;
        encoded as the level's position (0, 1, ...).
    categorical : dict, optional
        Unordered categorical proxies and their levels, default ``CATEGORICAL_PROXIES``; one-hot
        encoded with fixed categories, unknown values encode as all zeros.
    scale : bool, default True
        Standardise the numeric block (counts, log areas). Booleans, one-hot columns and ordinal
        codes are never scaled, so coefficients on them read as the effect of the attribute.
    drop_first : bool, default False
        Drop each categorical proxy's first level (a reference category), which makes an
        unpenalised regression with an intercept identifiable.
    location : dict, optional
        Area columns and their levels, one-hot encoded like the categorical proxies (after
        them), default :data:`LOCATION_LEVELS` (the kecamatan); ``{}`` leaves location out.

    Returns
    -------
    sklearn.compose.ColumnTransformer
        Accepts a pandas DataFrame with (at least) the named columns; outputs a float array.
    """
    numeric = list(COUNT_PROXIES + NUMERIC_PROXIES) if numeric is None else list(numeric)
    boolean = list(BOOL_PROXIES) if boolean is None else list(boolean)
    ordered = dict(ORDERED_PROXIES) if ordered is None else dict(ordered)
    categorical = dict(CATEGORICAL_PROXIES) if categorical is None else dict(categorical)
    categorical.update(LOCATION_LEVELS if location is None else location)

    def scaled(steps: list[tuple[str, Any]]) -> Pipeline:
        return Pipeline([*steps, ("scale", StandardScaler())] if scale else steps)

    blocks: list[tuple[str, Any, list[str]]] = []
    plain = [c for c in numeric if c not in _LOG_COLUMNS]
    logged = [c for c in numeric if c in _LOG_COLUMNS]
    float_step = ("to_float", FunctionTransformer(to_float, feature_names_out="one-to-one"))
    if plain:
        blocks.append(("numeric", scaled([float_step, ("impute", _imputer("median"))]), plain))
    if logged:
        log = FunctionTransformer(_log_area, feature_names_out=_log_area_names)
        steps = [float_step, ("impute", _imputer("median")), ("log", log)]
        blocks.append(("log_numeric", scaled(steps), logged))
    if "floor_area_m2" in numeric and "hh_size" in numeric:
        pc = FunctionTransformer(_log_area_pc, feature_names_out=_log_area_pc_names)
        steps = [float_step, ("impute", _imputer("median")), ("per_capita", pc)]
        blocks.append(("per_capita", scaled(steps), ["floor_area_m2", "hh_size"]))
    if boolean:
        steps = [
            ("to_float", FunctionTransformer(_to_bool_float, feature_names_out="one-to-one")),
            ("impute", _imputer("most_frequent")),
        ]
        blocks.append(("boolean", Pipeline(steps), boolean))
    text_step = ("to_text", FunctionTransformer(to_text, feature_names_out="one-to-one"))
    if ordered:
        names = list(ordered)
        encode = OrdinalEncoder(
            categories=[list(ordered[n]) for n in names],
            handle_unknown="use_encoded_value",
            unknown_value=np.nan,
            encoded_missing_value=np.nan,
            dtype=float,
        )
        steps = [text_step, ("encode", encode), ("impute", _imputer("most_frequent"))]
        blocks.append(("ordered", Pipeline(steps), names))
    if categorical:
        names = list(categorical)
        encode = OneHotEncoder(
            categories=[list(categorical[n]) for n in names],
            handle_unknown="ignore",
            drop="first" if drop_first else None,
            sparse_output=False,
            dtype=float,
            feature_name_combiner=_combine,
        )
        steps = [text_step, ("impute", _imputer("most_frequent")), ("encode", encode)]
        blocks.append(("categorical", Pipeline(steps), names))
    return ColumnTransformer(blocks, remainder="drop", verbose_feature_names_out=False)


FEATURE_SETS: dict[str, dict[str, Any]] = {
    "full": {},
    "full_unscaled": {"scale": False},
    "full_reference": {"drop_first": True},
    "full_no_location": {"location": {}},
    "housing_assets": {
        "numeric": ["hh_size", "floor_area_m2"],
        "ordered": {},
        "categorical": {
            k: v for k, v in CATEGORICAL_PROXIES.items() if k not in {"head_sector", "tenure"}
        },
        "boolean": [c for c in BOOL_PROXIES if c.startswith("has_")],
    },
}
"""Named feature sets a ``models/*.yaml`` spec can ask for (``features: full``)."""


def make_feature_set(name: str, **overrides: Any) -> ColumnTransformer:
    """Build the transformer of a named feature set.

    Parameters
    ----------
    name : str
        A key of :data:`FEATURE_SETS`.
    **overrides
        Keyword arguments of :func:`make_feature_transformer` that replace the set's own.

    Returns
    -------
    sklearn.compose.ColumnTransformer

    Raises
    ------
    KeyError
        If the feature set is unknown (the message lists the known ones).
    """
    if name not in FEATURE_SETS:
        raise KeyError(f"unknown feature set {name!r}; known: {', '.join(sorted(FEATURE_SETS))}")
    return make_feature_transformer(**{**FEATURE_SETS[name], **overrides})


_DERIVED = {"log_floor_area_pc": "floor_area_m2"}


def feature_to_proxy(name: str) -> str:
    """Map an output feature name back to the proxy column it was derived from.

    Parameters
    ----------
    name : str
        A name from ``get_feature_names_out`` (a ``block__`` prefix is tolerated), e.g.
        ``floor_material=earth``, ``log_floor_area_pc``, ``has_car``.

    Returns
    -------
    str
        The proxy column, e.g. ``floor_material``, ``floor_area_m2``, ``has_car``. Names that are
        not recognised are returned unchanged.
    """
    base = str(name).split("__", 1)[-1]
    base = base.split("=", 1)[0]
    if base in _DERIVED:
        return _DERIVED[base]
    if base not in PROXY_COLUMNS and base.startswith("log_") and base[4:] in PROXY_COLUMNS:
        return base[4:]
    return base
