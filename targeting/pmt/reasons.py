"""Reason codes: which proxies raised a household's score, in Bahasa Indonesia and English.

Each reason is a label ``"Bahasa Indonesia / English"`` naming the household's own value of a
proxy, e.g. ``"lantai tanah / earthen floor"`` or ``"anggota rumah tangga 7 orang / 7 household
members"``. Only proxies that *raise* the risk of extreme poverty are reasons; a household with
fewer than ``top`` such proxies gets empty strings.

Two methods (:func:`reason_codes`):

``"linear"``
    For a fitted scikit-learn ``Pipeline`` with steps ``"features"`` (a ColumnTransformer) and
    ``"model"`` with ``coef_`` (logit, OLS, scorecard points). The contribution of an encoded
    feature is ``coef × (x − mean of x in the reference)``; a proxy's contribution is the sum over
    the encoded features it produced. The sign is turned toward poverty: for a model whose
    ``target_kind`` is ``"consumption"`` a lower prediction means more risk, so contributions are
    negated; for any other model (``"label"``) a higher prediction means more risk.
``"perturbation"`` (model-agnostic)
    For any model with ``predict_proba``. Each proxy in turn is set to its reference value (mode
    of the reference for categories and booleans, median for numbers) for all households at once,
    and the contribution is the drop in ``predict_proba[:, 1]``: ``n_proxies`` extra batched
    predictions, no per-household loop.

``"auto"`` uses ``"linear"`` when the model has that structure, else ``"perturbation"``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from targeting.data.schema import (
    BOOL_PROXIES,
    CATEGORICAL_PROXIES,
    COUNT_PROXIES,
    NUMERIC_PROXIES,
    ORDERED_PROXIES,
    PROXY_COLUMNS,
)

__all__ = ["PROXY_LABELS", "feature_proxies", "proxy_label", "proxy_labels", "reason_codes"]

PROXY_LABELS: dict[str, dict[str, str]] = {
    # counts and numbers: one template, "{n}" is the household's value
    "hh_size": {"*": "anggota rumah tangga {n} orang / {n} household members"},
    "n_children_u5": {
        "*": "{n} balita / {n} children under five",
        "0": "tidak ada balita / no children under five",
    },
    "n_school_age": {
        "*": "{n} anak usia sekolah / {n} school-age children",
        "0": "tidak ada anak usia sekolah / no school-age children",
    },
    "n_elderly": {"*": "{n} lansia / {n} elderly members", "0": "tidak ada lansia / no elderly"},
    "n_disabled": {
        "*": "{n} anggota penyandang disabilitas / {n} members with a disability",
        "0": "tidak ada penyandang disabilitas / no member with a disability",
    },
    "n_workers": {
        "*": "{n} anggota yang bekerja / {n} working members",
        "0": "tidak ada anggota yang bekerja / no working member",
    },
    "head_age": {"*": "kepala rumah tangga berusia {n} tahun / household head aged {n}"},
    "floor_area_m2": {
        "*": "luas lantai {pp} m² per orang / floor area {pp_en} m² per person",
    },
    # booleans
    "head_female": {
        "True": "kepala rumah tangga perempuan / female household head",
        "False": "kepala rumah tangga laki-laki / male household head",
    },
    "head_works": {
        "False": "kepala rumah tangga tidak bekerja / household head not working",
        "True": "kepala rumah tangga bekerja / household head working",
    },
    "has_motorcycle": {
        "False": "tidak punya sepeda motor / no motorcycle",
        "True": "punya sepeda motor / has a motorcycle",
    },
    "has_car": {"False": "tidak punya mobil / no car", "True": "punya mobil / has a car"},
    "has_refrigerator": {
        "False": "tidak punya kulkas / no refrigerator",
        "True": "punya kulkas / has a refrigerator",
    },
    "has_ac": {
        "False": "tidak punya AC / no air conditioner",
        "True": "punya AC / has air conditioning",
    },
    "has_smartphone": {
        "False": "tidak punya telepon pintar / no smartphone",
        "True": "punya telepon pintar / has a smartphone",
    },
    "has_gold": {
        "False": "tidak punya emas / no gold savings",
        "True": "punya emas / has gold savings",
    },
    "has_land": {"False": "tidak punya lahan / no land", "True": "punya lahan / owns land"},
    "has_livestock": {
        "False": "tidak punya ternak / no livestock",
        "True": "punya ternak / has livestock",
    },
    # ordered
    "head_education": {
        "none": "kepala rumah tangga tidak sekolah / household head without schooling",
        "primary": "kepala rumah tangga tamat SD / household head with primary schooling only",
        "junior": "kepala rumah tangga tamat SMP / household head with junior secondary schooling",
        "senior": "kepala rumah tangga tamat SMA / household head with senior secondary schooling",
        "tertiary": "kepala rumah tangga lulusan PT / household head with tertiary education",
    },
    # categories
    "head_sector": {
        "none": "kepala rumah tangga tanpa lapangan usaha / household head without work sector",
        "agriculture": "kepala rumah tangga bekerja di pertanian / household head in agriculture",
        "industry": "kepala rumah tangga bekerja di industri / household head works in industry",
        "trade": "kepala rumah tangga bekerja di perdagangan / household head works in trade",
        "services": "kepala rumah tangga bekerja di jasa / household head works in services",
        "informal": "kepala rumah tangga bekerja informal / household head works informally",
    },
    "floor_material": {
        "earth": "lantai tanah / earthen floor",
        "bamboo_wood": "lantai bambu atau kayu / bamboo or wooden floor",
        "cement": "lantai semen / cement floor",
        "ceramic": "lantai keramik / ceramic floor",
    },
    "wall_material": {
        "bamboo": "dinding bambu / bamboo walls",
        "wood": "dinding kayu / wooden walls",
        "brick_unplastered": "dinding bata tanpa plester / unplastered brick walls",
        "brick_plastered": "dinding tembok berplester / plastered brick walls",
    },
    "roof_material": {
        "thatch": "atap rumbia / thatched roof",
        "zinc": "atap seng / zinc roof",
        "tile": "atap genteng / tiled roof",
        "concrete": "atap beton / concrete roof",
    },
    "tenure": {
        "own": "rumah milik sendiri / owns the house",
        "rent": "rumah sewa / rented house",
        "free": "menempati rumah bebas sewa / lives rent-free",
        "other": "status rumah lainnya / other housing tenure",
    },
    "water_source": {
        "unprotected": "air minum tidak terlindungi / unprotected drinking water",
        "protected_well": "air minum sumur terlindungi / protected well water",
        "piped": "air minum ledeng / piped drinking water",
        "bottled": "air minum kemasan / bottled drinking water",
    },
    "sanitation": {
        "none": "tidak punya fasilitas BAB / no toilet",
        "shared": "fasilitas BAB bersama / shared toilet",
        "private": "fasilitas BAB sendiri / private toilet",
    },
    "cooking_fuel": {
        "wood": "memasak dengan kayu bakar / cooks with firewood",
        "kerosene": "memasak dengan minyak tanah / cooks with kerosene",
        "lpg_3kg": "memasak dengan elpiji 3 kg / cooks with 3 kg LPG",
        "lpg_large": "memasak dengan elpiji tabung besar / cooks with large LPG",
        "electric": "memasak dengan listrik / cooks with electricity",
    },
    "electricity": {
        "none": "tidak ada listrik / no electricity",
        "pln_450va": "listrik PLN 450 VA / PLN electricity 450 VA",
        "pln_900va": "listrik PLN 900 VA / PLN electricity 900 VA",
        "pln_1300va_plus": "listrik PLN 1300 VA ke atas / PLN electricity 1300 VA or more",
        "non_pln": "listrik non-PLN / non-PLN electricity",
    },
}
"""Bilingual label for every proxy in ``schema.PROXY_COLUMNS``: value → label for categories,
ordered levels and booleans (``"True"``/``"False"``); a template under ``"*"`` (``{n}`` = value,
``{pp}``/``{pp_en}`` = floor area per person with a decimal comma/point) for counts and numbers,
with exact-value overrides (``"0"``: "tidak ada ... / no ...")."""

_NUMBER_PROXIES = set(COUNT_PROXIES) | set(NUMERIC_PROXIES)
_CATEGORY_PROXIES = set(CATEGORICAL_PROXIES) | set(ORDERED_PROXIES) | set(BOOL_PROXIES)
_EPS = 1e-9


def _fmt_number(value: float, comma: bool = True) -> str:
    if not np.isfinite(value):
        return "?"
    if abs(value - round(value)) < 1e-9:
        return str(round(value))
    text = f"{value:.1f}"
    return text.replace(".", ",") if comma else text  # Indonesian decimal comma


def _bool_key(value: object) -> str:
    if isinstance(value, str):
        return "True" if value.strip().lower() in {"true", "1", "yes", "ya", "y", "t"} else "False"
    return "True" if bool(value) else "False"


def proxy_label(proxy: str, value: Any, hh_size: float | None = None) -> str:
    """Return the bilingual label of one proxy value.

    Parameters
    ----------
    proxy : str
        A name in ``schema.PROXY_COLUMNS`` (other names get a generic ``"proxy: value"``).
    value : object
        The household's value.
    hh_size : float, optional
        Household size, for ``floor_area_m2`` (the label states floor area per person).

    Returns
    -------
    str
    """
    labels = PROXY_LABELS.get(proxy)
    if labels is None:
        return f"{proxy}: {value}"
    if proxy in _NUMBER_PROXIES:
        n = float(value)
        exact = _fmt_number(n)
        if exact in labels:
            return labels[exact]
        pp = n / hh_size if (proxy == "floor_area_m2" and hh_size) else n
        return labels["*"].format(
            n=exact, pp=_fmt_number(round(pp, 1)), pp_en=_fmt_number(round(pp, 1), comma=False)
        )
    key = _bool_key(value) if proxy in BOOL_PROXIES else str(value)
    return labels.get(key, f"{proxy}: {value}")


def proxy_labels(proxy: str, X: pd.DataFrame) -> pd.Series:
    """Return the label of ``proxy`` for every row of ``X`` (vectorised over distinct values)."""
    column = X[proxy]
    if proxy == "floor_area_m2" and "hh_size" in X.columns:
        size = pd.to_numeric(X["hh_size"], errors="coerce").to_numpy(dtype=float)
        area = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            pp = np.round(np.where(size > 0, area / size, area), 1)
        keys = pd.Series(pp, index=X.index)
        template = PROXY_LABELS[proxy]["*"]
        uniques = {
            v: template.format(n="", pp=_fmt_number(v), pp_en=_fmt_number(v, comma=False))
            for v in set(pp.tolist())
        }
        return keys.map(uniques).astype(object)
    if proxy in _NUMBER_PROXIES:
        keys = pd.Series(
            pd.to_numeric(column, errors="coerce").to_numpy(dtype=float), index=X.index
        )
    elif proxy in BOOL_PROXIES:
        keys = column.map(_bool_key).astype(object)
    else:
        keys = column.astype(object)
    uniques = {v: proxy_label(proxy, v) for v in pd.unique(keys.to_numpy(dtype=object))}
    return keys.map(uniques).astype(object)


# --- mapping encoded features back to proxies ---------------------------------------------------


_DERIVED_ALIASES: dict[str, str] = {
    "floor_area_pc": "floor_area_m2",
    "area_per_person": "floor_area_m2",
    "dependency_ratio": "hh_size",
}
"""Derived feature names (substrings) and the proxy they are attributed to."""


def feature_proxies(
    names: list[str] | np.ndarray, proxies: list[str] | None = None
) -> list[str | None]:
    """Map encoded feature names to the proxy each one came from.

    Parameters
    ----------
    names : sequence of str
        ``get_feature_names_out()`` of the feature step, e.g. ``"floor_material=earth"``,
        ``"cat__floor_material_earth"``, ``"num__hh_size"``, ``"log_floor_area_m2"``.
    proxies : list of str, optional
        Candidate proxies (default ``schema.PROXY_COLUMNS``).

    Returns
    -------
    list
        The proxy of each feature, or ``None`` when no proxy name can be found in it.

    Notes
    -----
    A ``transformer__`` prefix is removed; a known derived name (``floor_area_pc`` →
    ``floor_area_m2``) is attributed to its proxy; otherwise a name that equals a proxy or starts
    with the proxy followed by ``=``, ``_`` or ``[`` belongs to it; failing that, the longest proxy
    that appears inside the name as a whole word wins.
    """
    candidates = sorted(proxies or PROXY_COLUMNS, key=len, reverse=True)
    out: list[str | None] = []
    for raw in names:
        name = str(raw).split("__", 1)[1] if "__" in str(raw) else str(raw)
        found = next(
            (p for alias, p in _DERIVED_ALIASES.items() if alias in name and p in candidates), None
        )
        if found is not None:
            out.append(found)
            continue
        for proxy in candidates:
            if name == proxy or (name.startswith(proxy) and name[len(proxy)] in "=_[ "):
                found = proxy
                break
        if found is None:
            for proxy in candidates:
                if re.search(rf"(?<![a-z0-9]){re.escape(proxy)}(?![a-z0-9])", name):
                    found = proxy
                    break
        out.append(found)
    return out


def _has_linear_structure(model: object) -> bool:
    steps = getattr(model, "named_steps", None)
    return (
        steps is not None
        and "features" in steps
        and "model" in steps
        and hasattr(steps["model"], "coef_")
        and hasattr(steps["features"], "get_feature_names_out")
    )


def _coef_vector(estimator: Any) -> np.ndarray:
    coef = np.asarray(estimator.coef_, dtype=float)
    if coef.ndim == 1:
        return coef
    if coef.shape[0] == 1:
        return coef[0]
    classes = list(getattr(estimator, "classes_", []))
    row = classes.index(1) if 1 in classes else coef.shape[0] - 1
    return coef[row]


def _target_kind(model: object) -> str:
    for obj in (model, getattr(model, "named_steps", {}).get("model")):
        kind = getattr(obj, "target_kind", None)
        if kind:
            return str(kind)
    return "label"


def _dense(matrix: object) -> np.ndarray:
    if hasattr(matrix, "toarray"):
        matrix = matrix.toarray()
    return np.asarray(matrix, dtype=float)


def _linear_contributions(
    model: Any,
    X: pd.DataFrame,
    reference: pd.DataFrame,
    proxies: list[str],
    feature_to_proxy: Mapping[str, str] | Callable[[str], str | None] | None,
) -> np.ndarray:
    features = model.named_steps["features"]
    names = [str(n) for n in features.get_feature_names_out()]
    if feature_to_proxy is None:
        owners = feature_proxies(names, proxies)
    elif callable(feature_to_proxy):
        owners = [feature_to_proxy(n) for n in names]
    else:
        owners = [feature_to_proxy.get(n) for n in names]
    coef = _coef_vector(model.named_steps["model"])
    if len(coef) != len(names):
        raise ValueError(f"model has {len(coef)} coefficients for {len(names)} features")
    ref_mean = _dense(features.transform(reference)).mean(axis=0)
    sign = -1.0 if _target_kind(model) == "consumption" else 1.0
    # (n_features × n_proxies) 0/1 matrix summing features into their proxy
    owner_matrix = np.zeros((len(names), len(proxies)))
    index = {p: j for j, p in enumerate(proxies)}
    for i, owner in enumerate(owners):
        if owner in index:
            owner_matrix[i, index[owner]] = 1.0
    out = np.empty((len(X), len(proxies)))
    chunk = 50_000
    for start in range(0, len(X), chunk):
        Z = _dense(features.transform(X.iloc[start : start + chunk]))
        out[start : start + chunk] = sign * ((Z - ref_mean) * coef) @ owner_matrix
    return out


def _reference_values(reference: pd.DataFrame, proxies: list[str]) -> dict[str, object]:
    values: dict[str, object] = {}
    for proxy in proxies:
        column = reference[proxy]
        if proxy in _NUMBER_PROXIES:
            median = float(pd.to_numeric(column, errors="coerce").median())
            values[proxy] = round(median) if proxy in COUNT_PROXIES else median
        else:
            counts = column.value_counts(dropna=True)
            # the most frequent value; ties by the value's text, for determinism
            top = counts[counts == counts.max()]
            values[proxy] = sorted(top.index, key=str)[0]
    return values


def _perturbation_contributions(
    model: Any, X: pd.DataFrame, reference: pd.DataFrame, proxies: list[str]
) -> np.ndarray:
    ref_values = _reference_values(reference, proxies)
    base = np.asarray(model.predict_proba(X))[:, 1]
    work = X.copy()
    out = np.empty((len(X), len(proxies)))
    for j, proxy in enumerate(proxies):
        original = work[proxy]
        filler = pd.Series([ref_values[proxy]] * len(X), index=X.index)
        try:
            filler = filler.astype(original.dtype)
        except (TypeError, ValueError):
            pass
        work[proxy] = filler
        out[:, j] = base - np.asarray(model.predict_proba(work))[:, 1]
        work[proxy] = original
    return out


def reason_codes(
    model: object,
    X: pd.DataFrame,
    top: int = 3,
    reference: pd.DataFrame | None = None,
    method: str = "auto",
    feature_to_proxy: Mapping[str, str] | Callable[[str], str | None] | None = None,
) -> pd.DataFrame:
    """Name the proxies that raised each household's risk the most.

    Parameters
    ----------
    model : fitted estimator
        A scikit-learn ``Pipeline`` with steps ``"features"`` and ``"model"`` (for the linear
        method), or any object with ``predict_proba`` (for the perturbation method).
    X : pandas.DataFrame
        Households to explain (proxy columns; other columns are passed to the model unchanged).
    top : int
        Number of reasons per household.
    reference : pandas.DataFrame, optional
        The population a household is compared with (default ``X`` itself): its feature means
        (linear) or its modes / medians (perturbation).
    method : {"auto", "linear", "perturbation"}
        See the module docstring. ``"agnostic"`` is accepted for ``"perturbation"``.
    feature_to_proxy : mapping or callable, optional
        Linear method only: which proxy each encoded feature belongs to, when
        :func:`feature_proxies` cannot tell from the names (e.g. ``"floor_area_pc"``).

    Returns
    -------
    pandas.DataFrame
        Indexed like ``X``: ``reason_1..reason_{top}`` (bilingual labels, ``""`` when fewer
        proxies raise the risk), then ``reason_1_proxy..reason_{top}_proxy`` (proxy names or
        ``""``). Ties in contribution go to the proxy listed first in ``schema.PROXY_COLUMNS``.
    """
    if top < 1:
        raise ValueError("top must be >= 1")
    method = {"agnostic": "perturbation", "coef": "linear"}.get(method, method)
    if method == "auto":
        method = "linear" if _has_linear_structure(model) else "perturbation"
    if method not in {"linear", "perturbation"}:
        raise ValueError(f"method must be 'auto', 'linear' or 'perturbation', got {method!r}")
    reference = X if reference is None else reference
    proxies = [p for p in PROXY_COLUMNS if p in X.columns and p in reference.columns]
    n = len(X)
    if method == "linear":
        if not _has_linear_structure(model):
            raise ValueError(
                "the linear method needs a Pipeline with 'features' and 'model' (coef_)"
            )
        contrib = _linear_contributions(model, X, reference, proxies, feature_to_proxy)
    else:
        contrib = _perturbation_contributions(model, X, reference, proxies)

    contrib = np.where(contrib > _EPS, contrib, -np.inf)
    order = (
        np.argsort(-contrib, axis=1, kind="stable")[:, :top] if proxies else np.zeros((n, 0), int)
    )
    chosen_value = np.take_along_axis(contrib, order, axis=1) if proxies else order.astype(float)
    valid = np.isfinite(chosen_value)

    labels = np.full((n, top), "", dtype=object)
    names = np.full((n, top), "", dtype=object)
    for j, proxy in enumerate(proxies):
        hit = (order == j) & valid
        if not hit.any():
            continue
        rows = hit.any(axis=1)
        proxy_text = proxy_labels(proxy, X.iloc[np.flatnonzero(rows)]).to_numpy(dtype=object)
        lookup = np.full(n, "", dtype=object)
        lookup[rows] = proxy_text
        for k in range(min(top, order.shape[1])):
            mask = hit[:, k]
            labels[mask, k] = lookup[mask]
            names[mask, k] = proxy
    data = {f"reason_{k + 1}": labels[:, k] for k in range(top)}
    data.update({f"reason_{k + 1}_proxy": names[:, k] for k in range(top)})
    return pd.DataFrame(data, index=X.index)
