"""Serang-schema frames for tests: small random ones, and a small synthetic-city survey."""

from __future__ import annotations

import numpy as np
import pandas as pd

from targeting.data.schema import BOOL_PROXIES, CATEGORICAL_PROXIES, EDUCATION_LEVELS
from targeting.data.synthetic import generate_city


def random_survey(n: int = 1500, seed: int = 0, n_areas: int = 30) -> pd.DataFrame:
    """Return a survey-like frame: proxies, consumption_pc (IDR), weight, kecamatan, kelurahan.

    Consumption depends on the proxies, an area effect and noise, with roughly 8-10 % of
    households below IDR 400,000.
    """
    rng = np.random.default_rng(seed)
    area = rng.integers(0, n_areas, n)
    hh_size = rng.integers(1, 9, n)
    frame = pd.DataFrame(
        {
            "household_id": [f"H{seed}-{i:06d}" for i in range(n)],
            "kecamatan": [f"K{a % 6}" for a in area],
            "kelurahan": [f"L{a:02d}" for a in area],
            "hh_size": hh_size,
            "n_children_u5": rng.binomial(np.minimum(hh_size, 2), 0.3),
            "n_school_age": rng.binomial(np.maximum(hh_size - 2, 0), 0.4),
            "n_elderly": rng.binomial(1, 0.15, n),
            "n_disabled": rng.binomial(1, 0.05, n),
            "n_workers": np.minimum(rng.integers(0, 3, n), hh_size),
            "head_age": rng.integers(20, 80, n),
            "floor_area_m2": np.exp(rng.normal(3.8, 0.5, n)),
            "head_education": rng.choice(EDUCATION_LEVELS, n),
        }
    )
    for name in BOOL_PROXIES:
        frame[name] = rng.random(n) < 0.4
    for name, levels in CATEGORICAL_PROXIES.items():
        frame[name] = rng.choice(levels, n)
    edu = frame["head_education"].map({v: i for i, v in enumerate(EDUCATION_LEVELS)}).to_numpy()
    log_c = (
        14.0
        - 0.18 * hh_size
        + 0.12 * edu
        + 0.25 * frame["has_refrigerator"].to_numpy()
        + 0.3 * frame["has_car"].to_numpy()
        + 0.15 * frame["has_motorcycle"].to_numpy()
        - 0.3 * (frame["floor_material"] == "earth").to_numpy()
        + 0.2 * np.log(frame["floor_area_m2"].to_numpy() / 45)
        + rng.normal(0, 0.15, n_areas)[area]
        + rng.normal(0, 0.35, n)
    )
    frame["consumption_pc"] = np.exp(log_c)
    frame["weight"] = rng.uniform(50, 150, n)
    return frame


def survey_frame(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    """A small survey from the synthetic city (every household surveyed).

    No fallback: when the generator breaks or its city becomes too small to fit a PMT on (fewer
    than 30 extremely poor households or 10 kelurahan), the test using it fails.
    """
    city = generate_city(n_households=n, seed=seed, survey_fraction=1.0)
    survey = city.survey.reset_index(drop=True)
    n_poor = int((survey["consumption_pc"] < city.params["extreme_line"]).sum())
    n_kelurahan = survey["kelurahan"].nunique()
    if n_poor < 30 or n_kelurahan < 10:
        raise AssertionError(
            f"survey_frame({n}, seed={seed}) has {n_poor} extremely poor households and "
            f"{n_kelurahan} kelurahan; a PMT test needs at least 30 and 10, so raise n"
        )
    return survey
