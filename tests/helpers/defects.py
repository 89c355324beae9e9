"""Helpers: inject the ten kinds of registry defects of issue #7 and know what to expect.

A defect row must end in ``rejected`` with the reason named by :data:`MARKERS`; a duplicate
id also rejects the clean row it copies (its *partner*), with the same reason. A bad or
duplicate NIK is flagged (in the problems) but never rejects a household (issue 11: the NIK is
optional to targeting), so those kinds expect no rejection.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

KINDS: list[str] = [
    "empty_id",
    "duplicate_id",
    "bad_nik",
    "duplicate_nik",
    "negative_floor_area",
    "head_age_out_of_range",
    "unknown_floor_material",
    "children_over_hh_size",
    "non_boolean_asset",
    "missing_kelurahan",
]

MARKERS: dict[str, str] = {
    "empty_id": "household_id: missing",
    "duplicate_id": "household_id: expected a unique id",
    "bad_nik": "nik_head: expected 16 digits",
    "duplicate_nik": "nik_head: expected a unique NIK",
    "negative_floor_area": "floor_area_m2: expected a number > 0",
    "head_age_out_of_range": "head_age: expected a whole number from 15 to 110",
    "unknown_floor_material": "floor_material: expected one of",
    "children_over_hh_size": "n_children_u5: expected at most hh_size",
    "non_boolean_asset": "has_car: expected true/false",
    "missing_kelurahan": "kelurahan: missing",
}
"""The text each kind's rejected reason must contain."""


@lru_cache(maxsize=8)
def city_registry(n_households: int, seed: int) -> pd.DataFrame:
    """A synthetic registry as an export would give it: every column text."""
    from targeting.data.synthetic import generate_city

    registry = generate_city(n_households=n_households, seed=seed).registry
    text = registry.astype(str)
    for name in registry.columns:
        if registry[name].dtype == bool:
            text[name] = registry[name].map({True: "true", False: "false"})
    return text


def inject_defects(
    registry: pd.DataFrame, counts: dict[str, int], seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return a copy of ``registry`` with ``counts[kind]`` rows of each kind spoiled.

    Parameters
    ----------
    registry : pandas.DataFrame
        A clean registry (text columns, 0..n-1 index).
    counts : dict of str to int
        Defective rows per kind (kinds of :data:`KINDS`).
    seed : int

    Returns
    -------
    frame : pandas.DataFrame
    expected : pandas.DataFrame
        One row per expected rejection: ``row`` (1-based data row), ``kind``, ``marker``.
        Duplicate partners appear with the kind of the defect that copied them.
    """
    rng = np.random.default_rng(seed)
    frame = registry.copy().reset_index(drop=True)
    total = sum(counts.values())
    n_partners = counts.get("duplicate_id", 0) + counts.get("duplicate_nik", 0)
    if total + n_partners > len(frame):
        raise ValueError("more defects than rows")
    chosen = rng.choice(len(frame), size=total + n_partners, replace=False)
    targets, partners = list(chosen[:total]), list(chosen[total:])
    expected = []
    for kind in KINDS:
        for _ in range(counts.get(kind, 0)):
            i = int(targets.pop())
            if kind == "empty_id":
                frame.loc[i, "household_id"] = ""
            elif kind == "duplicate_id":
                j = int(partners.pop())
                frame.loc[i, "household_id"] = frame.loc[j, "household_id"]
                expected.append({"row": j + 1, "kind": kind, "marker": MARKERS[kind]})
            elif kind == "bad_nik":
                frame.loc[i, "nik_head"] = str(frame.loc[i, "nik_head"])[:9]
                continue  # flagged, kept
            elif kind == "duplicate_nik":
                j = int(partners.pop())
                frame.loc[i, "nik_head"] = frame.loc[j, "nik_head"]
                continue  # flagged, kept (and so is its partner)
            elif kind == "negative_floor_area":
                frame.loc[i, "floor_area_m2"] = "-12.5"
            elif kind == "head_age_out_of_range":
                frame.loc[i, "head_age"] = str(rng.choice([7, 130]))
            elif kind == "unknown_floor_material":
                frame.loc[i, "floor_material"] = "marble"
            elif kind == "children_over_hh_size":
                frame.loc[i, "n_children_u5"] = str(int(frame.loc[i, "hh_size"]) + 3)
            elif kind == "non_boolean_asset":
                frame.loc[i, "has_car"] = "maybe"
            elif kind == "missing_kelurahan":
                frame.loc[i, "kelurahan"] = ""
            else:  # pragma: no cover
                raise ValueError(kind)
            expected.append({"row": i + 1, "kind": kind, "marker": MARKERS[kind]})
    return frame, pd.DataFrame(expected, columns=["row", "kind", "marker"])


def check_rejections(rejected: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Assert that exactly the expected rows were rejected, each with its expected reason(s)."""
    got = set(rejected["row"].astype(int))
    want = set(expected["row"].astype(int))
    assert got == want, f"unexpected {sorted(got - want)[:10]}, missed {sorted(want - got)[:10]}"
    reasons = dict(zip(rejected["row"].astype(int), rejected["reason"], strict=True))
    for row, marker in zip(expected["row"], expected["marker"], strict=True):
        assert marker in reasons[int(row)], (row, marker, reasons[int(row)])


def write_spec(folder, name: str, data: dict, n_paths: int = 100):
    """Write an experiment spec (copy of serang-2026 with ``data`` replaced) under
    ``folder/experiments/`` with ``models/`` symlinked beside it; return its path."""
    from tests.helpers.cli import small_spec

    def use_data(raw: dict) -> None:
        raw["data"] = {**raw["data"], **data}
        raw["forecast"]["n_paths"] = n_paths

    return small_spec(folder, name, use_data)[0]


def write_city_files(folder, n_households: int, seed: int):
    """Write a synthetic city's registry (CSV, text) and survey (Parquet); return
    ``(registry_frame, registry_path, survey_path)``."""
    from targeting.data.synthetic import generate_city

    city = generate_city(n_households=n_households, seed=seed)
    registry = city_registry(n_households, seed)
    survey_path = folder / "survey.parquet"
    city.survey.to_parquet(survey_path, index=False)
    return registry, folder / "registry.csv", survey_path
