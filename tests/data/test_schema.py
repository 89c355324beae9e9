"""Contracts: the registry, survey and outcome validators."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from targeting.data import schema


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
    # issue 11: the NIK is optional to targeting; a bad one is flagged, never a reason to drop
    assert result.rejected.empty and len(result.valid) == len(frame)
    flagged = sorted(r for p in result.problems if p.column == "nik_head" for r in p.rows)
    assert flagged == [1, 2, 3, 4]
    assert all("household is kept" in p.expected for p in result.problems)


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


def test_rt_rw_format_and_age_groups_summing_beyond_hh_size() -> None:
    frame = _registry().astype(object)
    frame["rt"] = "001"
    frame["rw"] = "2"
    frame.loc[0, "rt"] = "RT 01"
    frame.loc[1, "rw"] = ""  # optional: empty is fine
    frame.loc[2, ["hh_size", "n_children_u5", "n_school_age", "n_elderly"]] = [3, 1, 1, 2]
    result = schema.validate_registry(frame, mode="quarantine")
    reasons = dict(zip(result.rejected["row"], result.rejected["reason"], strict=True))
    assert sorted(reasons) == [1, 3]
    assert "rt: expected an RT number" in reasons[1]
    assert "age groups" in reasons[3]


def test_missing_values_in_required_columns_are_quarantined_with_reason() -> None:
    frame = _registry().astype(object)
    frame.loc[0, "head_age"] = None
    frame.loc[1, "kecamatan"] = "  "
    frame.loc[2, "has_car"] = float("nan")
    result = schema.validate_registry(frame, mode="quarantine")
    reasons = dict(zip(result.rejected["row"], result.rejected["reason"], strict=True))
    assert reasons[1].startswith("head_age: missing")
    assert reasons[2].startswith("kecamatan: missing")
    assert reasons[3].startswith("has_car: missing")
    assert set(result.rejected.columns) >= {"row", "household_id", "kecamatan", "kelurahan"}
    assert result.summary()["rejected"] == 3


def test_duplicates_name_each_other_and_are_never_resolved() -> None:
    frame = _registry()
    frame.loc[[3, 7], "household_id"] = "KK-DUP"
    result = schema.validate_registry(frame, mode="quarantine")
    reasons = dict(zip(result.rejected["row"], result.rejected["reason"], strict=True))
    assert "same household_id as row(s) 8" in reasons[4]
    assert "same household_id as row(s) 4" in reasons[8]
    assert "KK-DUP" not in set(result.valid["household_id"])


def test_pii_values_are_masked_everywhere(tmp_path) -> None:
    frame = _registry()
    frame["head_name"] = [f"Nama Rahasia {i}" for i in range(len(frame))]
    frame.loc[0, "nik_head"] = "3673011203850123"[:15]
    frame.loc[1, "floor_material"] = "Nama Rahasia 1"  # a shifted column echoes a name
    with pytest.raises(schema.DataValidationError) as info:
        schema.validate_registry(frame, mode="strict")
    path = schema.write_problems(info.value, tmp_path / "validation_errors.csv")
    written = schema.problems_frame(info.value.problems, "registry")
    text = str(info.value) + path.read_text()
    assert "Rahasia" not in text and "367301120385012" not in text
    assert "3673*********12" in str(info.value)
    assert list(written.columns) == schema.PROBLEM_COLUMNS
    assert str(path) in str(info.value)
    assert schema.mask_value("phone", "+62 812") == "<redacted>"
    assert schema.mask_value("kelurahan", "x" * 100).endswith("...")


def test_write_problems_always_writes_a_header(tmp_path) -> None:
    result = schema.validate_registry(_registry())
    path = schema.write_problems(result, tmp_path / "validation_errors.csv")
    assert path.read_text().strip() == ",".join(schema.PROBLEM_COLUMNS)


def test_repeated_column_names_and_missing_column_are_clear() -> None:
    frame = _registry()
    doubled = pd.concat([frame, frame[["has_car"]]], axis=1)
    with pytest.raises(schema.DataValidationError, match="one column named 'has_car'"):
        schema.validate_registry(doubled)
    with pytest.raises(schema.DataValidationError, match="column 'roof_material' is missing"):
        schema.validate_registry(frame.drop(columns=["roof_material"]))


def test_indonesian_thousands_are_numbers() -> None:
    frame = _registry().astype(object)
    frame.loc[0, "floor_area_m2"] = "1.250,5"
    frame.loc[1, "floor_area_m2"] = "36,0"
    valid = schema.validate_registry(frame, mode="strict").valid
    assert valid.loc[0, "floor_area_m2"] == pytest.approx(1250.5)
    assert valid.loc[1, "floor_area_m2"] == pytest.approx(36.0)
