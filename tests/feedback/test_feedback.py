"""Verification outcomes: idempotent ingestion, status updates, hit-rate reports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from targeting.data.schema import DataValidationError
from targeting.feedback import ingest as feedback


@pytest.fixture
def registry() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "household_id": [f"KK{i:07d}" for i in range(6)],
            "kelurahan": ["A", "A", "A", "B", "B", "B"],
            "verification_status": ["unverified"] * 6,
        }
    )


@pytest.fixture
def outcomes() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "household_id": ["KK0000000", "KK0000001", "KK0000002", "KK0000003"],
            "visit_date": ["2025-11-03"] * 4,
            "operator": ["OP-1", "OP-1", "OP-2", "OP-2"],
            "result": ["extreme_poor", "not_extreme_poor", "not_found", "extreme_poor"],
        }
    )


def test_ingest_updates_status(registry: pd.DataFrame, outcomes: pd.DataFrame) -> None:
    result = feedback.ingest_outcomes(registry, outcomes)
    status = dict(
        zip(result.registry["household_id"], result.registry["verification_status"], strict=True)
    )
    assert status["KK0000000"] == "verified_extreme"
    assert status["KK0000001"] == "verified_not_extreme"
    assert status["KK0000002"] == "unverified"  # not found is not conclusive
    assert result.new_rows == 4 and result.status_changes == 3


def test_ingesting_twice_changes_nothing(registry: pd.DataFrame, outcomes: pd.DataFrame) -> None:
    first = feedback.ingest_outcomes(registry, outcomes)
    second = feedback.ingest_outcomes(first.registry, outcomes, ledger=first.ledger)
    assert second.new_rows == 0 and second.duplicate_rows == 4 and second.status_changes == 0
    pd.testing.assert_frame_equal(first.registry, second.registry)
    pd.testing.assert_frame_equal(first.ledger, second.ledger)
    predictions = registry.assign(p_extreme=0.3)
    pd.testing.assert_frame_equal(
        feedback.hit_rate_table(first.ledger, predictions),
        feedback.hit_rate_table(second.ledger, predictions),
    )


def test_latest_conclusive_visit_wins(registry: pd.DataFrame, outcomes: pd.DataFrame) -> None:
    later = pd.DataFrame(
        {
            "household_id": ["KK0000000"],
            "visit_date": ["2025-12-01"],
            "operator": ["OP-9"],
            "result": ["not_extreme_poor"],
        }
    )
    first = feedback.ingest_outcomes(registry, outcomes)
    second = feedback.ingest_outcomes(first.registry, later, ledger=first.ledger)
    row = second.registry.set_index("household_id").loc["KK0000000"]
    assert row["verification_status"] == "verified_not_extreme"


def test_unknown_household_is_rejected(registry: pd.DataFrame, outcomes: pd.DataFrame) -> None:
    outcomes.loc[0, "household_id"] = "KK9999999"
    with pytest.raises(DataValidationError, match="exists in the registry"):
        feedback.ingest_outcomes(registry, outcomes)


def test_hit_rate_flags_only_real_deviation() -> None:
    rng = np.random.default_rng(0)
    n = 400
    predictions = pd.DataFrame(
        {
            "household_id": [f"H{i}" for i in range(n)],
            "kelurahan": np.repeat(["A", "B", "C", "D"], n // 4),
            "p_extreme": 0.3,
        }
    )
    finds = rng.random(n) < 0.3
    finds[300:] = rng.random(100) < 0.8  # kelurahan D finds far more than predicted
    ledger = pd.DataFrame(
        {
            "household_id": predictions["household_id"],
            "visit_date": "2025-11-03",
            "operator": "OP",
            "result": np.where(finds, "extreme_poor", "not_extreme_poor"),
            "notes": "",
        }
    )
    table = feedback.hit_rate_table(ledger, predictions).set_index("kelurahan")
    assert list(table.index[table["flagged"]]) == ["D"]
    assert (table["low"] <= table["realised"]).all() and (table["realised"] <= table["high"]).all()
    assert table.loc["A", "predicted"] == pytest.approx(0.3)


def test_wilson_interval_known_value() -> None:
    low, high = feedback.wilson_interval(np.array([5]), np.array([10]), level=0.95)
    assert low[0] == pytest.approx(0.2366, abs=1e-3) and high[0] == pytest.approx(0.7634, abs=1e-3)


def test_verified_labels(registry: pd.DataFrame, outcomes: pd.DataFrame) -> None:
    labels = feedback.verified_labels(feedback.ingest_outcomes(registry, outcomes).registry)
    assert dict(zip(labels["household_id"], labels["label"], strict=True)) == {
        "KK0000000": 1,
        "KK0000001": 0,
        "KK0000003": 1,
    }


def test_calibration_line_is_identity_for_calibrated_probabilities() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(0.02, 0.9, 20_000)
    y = (rng.random(len(p)) < p).astype(int)
    a, b = feedback.calibration_line(p, y)
    assert abs(a) < 0.1 and abs(b - 1) < 0.07
    a_over, _ = feedback.calibration_line(np.clip(p * 1.6, 0, 0.99), y)
    assert a_over < -0.2  # over-predicting gives a negative intercept
    assert np.isnan(feedback.calibration_line(p[:5], np.ones(5))[0])


def test_hit_rate_summary(registry: pd.DataFrame, outcomes: pd.DataFrame) -> None:
    result = feedback.ingest_outcomes(registry, outcomes)
    summary = feedback.hit_rate_summary(result.ledger, registry.assign(p_extreme=0.5))
    assert summary["visits"] == 4 and summary["conclusive"] == 3 and summary["finds"] == 2
    assert summary["realised_hit_rate"] == pytest.approx(2 / 3)
    assert summary["predicted_hit_rate"] == pytest.approx(0.5)
    assert summary["realised_low"] < 2 / 3 < summary["realised_high"]


def test_hit_rate_table_lists_desils_in_numeric_order() -> None:
    # plan.csv is read as text: desil "10" must come after "9", not after "1"
    desils = [str(d) for d in range(1, 11)] * 3
    predictions = pd.DataFrame(
        {"household_id": [f"H{i}" for i in range(30)], "desil": desils, "p_extreme": 0.2}
    )
    ledger = pd.DataFrame(
        {
            "household_id": predictions["household_id"],
            "visit_date": "2025-11-03",
            "operator": "OP",
            "result": "not_extreme_poor",
            "notes": "",
        }
    )
    table = feedback.hit_rate_table(ledger, predictions, by="desil")
    assert list(table["desil"]) == [str(d) for d in range(1, 11)]
