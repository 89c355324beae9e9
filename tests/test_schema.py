"""Contracts: the registry, survey and outcome validators."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from targeting import schema


def _registry(n: int = 12, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "household_id": [f"KK{i:07d}" for i in range(n)],
            "kecamatan": rng.choice(list(schema.KECAMATAN_KELURAHAN_COUNTS), n),
            "kelurahan": [f"Kel {i % 4}" for i in range(n)],
            "hh_size": rng.integers(3, 7, n),
            "n_children_u5": rng.integers(0, 2, n),
            "n_school_age": rng.integers(0, 2, n),
            "n_elderly": rng.integers(0, 2, n),
            "n_disabled": np.zeros(n, dtype=int),
            "n_workers": rng.integers(1, 3, n),
            "head_age": rng.integers(20, 80, n),
            "floor_area_m2": rng.uniform(20, 90, n),
        }
    )
    for name in schema.BOOL_PROXIES + schema.PROGRAMME_COLUMNS:
        frame[name] = rng.random(n) < 0.5
    for name, levels in {**schema.ORDERED_PROXIES, **schema.CATEGORICAL_PROXIES}.items():
        frame[name] = rng.choice(levels, n)
    frame["verification_status"] = "unverified"
    frame["nik_head"] = [f"36730{1 + i % 6}1203850{i:03d}"[:16].ljust(16, "0") for i in range(n)]
    return frame


def test_valid_registry_passes_strict() -> None:
    result = schema.validate_registry(_registry(), mode="strict")
    assert len(result.valid) == 12
    assert result.rejected.empty


def test_text_values_are_parsed() -> None:
    frame = _registry().astype(str)
    frame.loc[0, "has_car"] = "ya"
    frame.loc[1, "floor_area_m2"] = "35,5"
    result = schema.validate_registry(frame, mode="strict")
    assert result.valid.loc[0, "has_car"] is np.True_ or bool(result.valid.loc[0, "has_car"])
    assert result.valid.loc[1, "floor_area_m2"] == pytest.approx(35.5)
    assert result.valid["hh_size"].dtype == np.int64


def test_strict_error_names_column_rows_and_expectation() -> None:
    frame = _registry()
    frame.loc[[2, 5], "floor_material"] = "marble"
    frame.loc[3, "head_age"] = 7
    with pytest.raises(schema.DataValidationError) as info:
        schema.validate_registry(frame, mode="strict")
    message = str(info.value)
    assert "'floor_material'" in message and "row 3 ('marble')" in message and "row 6" in message
    assert "earth, bamboo_wood, cement, ceramic" in message
    assert "'head_age'" in message and "15 to 110" in message
    assert len(info.value.problems) == 2  # lazy: both problems at once


def test_quarantine_sets_bad_rows_aside_with_reasons() -> None:
    frame = _registry()
    frame.loc[4, "n_children_u5"] = 99  # more children than members
    frame.loc[7, "household_id"] = frame.loc[8, "household_id"]
    result = schema.validate_registry(frame, mode="quarantine")
    assert sorted(result.rejected["row"]) == [5, 8, 9]
    reasons = dict(zip(result.rejected["row"], result.rejected["reason"], strict=True))
    assert "at most hh_size" in reasons[5]
    assert "unique id" in reasons[8]
    assert len(result.valid) + len(result.rejected) == len(frame)


def test_missing_column_always_raises() -> None:
    frame = _registry().drop(columns=["roof_material"])
    with pytest.raises(schema.DataValidationError, match="roof_material"):
        schema.validate_registry(frame, mode="quarantine")


def test_nik_checks() -> None:
    frame = _registry()
    frame.loc[0, "nik_head"] = "12345"
    frame.loc[1, "nik_head"] = "0573011203850001"  # province 05 does not exist
    frame.loc[3, "nik_head"] = frame.loc[2, "nik_head"]
    result = schema.validate_registry(frame, mode="quarantine")
    assert sorted(result.rejected["row"]) == [1, 2, 3, 4]
    assert result.rejected["reason"].str.contains("NIK|16 digits").all()


def test_survey_needs_positive_consumption_and_weight() -> None:
    frame = _registry().drop(columns=schema.PROGRAMME_COLUMNS + ["verification_status"])
    frame["consumption_pc"] = 500_000.0
    frame["weight"] = 20.0
    schema.validate_survey(frame)
    frame["weight"] = frame["weight"].astype(object)
    frame.loc[0, "consumption_pc"] = -1
    frame.loc[1, "weight"] = "abc"
    with pytest.raises(schema.DataValidationError) as info:
        schema.validate_survey(frame)
    assert {p.column for p in info.value.problems} == {"consumption_pc", "weight"}


def test_outcomes_validation() -> None:
    outcomes = pd.DataFrame(
        {
            "household_id": ["KK0000001", "KK0000002", "KK9999999"],
            "visit_date": ["2025-11-03", "03/11/2025", "not a date"],
            "operator": ["OP-1", "OP-1", "OP-2"],
            "result": ["extreme_poor", "Moved", "eaten"],
        }
    )
    with pytest.raises(schema.DataValidationError) as info:
        schema.validate_outcomes(outcomes, known_ids=pd.Series(["KK0000001", "KK0000002"]))
    columns = {p.column for p in info.value.problems}
    assert columns == {"visit_date", "result", "household_id"}
    good = schema.validate_outcomes(outcomes.iloc[:2])
    assert list(good["result"]) == ["extreme_poor", "moved"]


def test_is_reached_is_pkh_or_bpnt() -> None:
    frame = pd.DataFrame(
        {
            "receives_pkh": [True, False, False],
            "receives_bpnt": [False, True, False],
            "receives_pbi": [True, True, True],
        }
    )
    assert list(schema.is_reached(frame)) == [True, True, False]
