"""Ingest never mis-records (issue 11, point 3) and the pool rule for inconclusive visits."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
import yaml

from targeting.config.experiment import resolve_relative_dates
from targeting.data import schema, state
from targeting.data.schema import DataValidationError
from targeting.feedback import ingest as feedback
from tests.helpers import REPO
from tests.helpers.cli import run_cli

TODAY = dt.date(2026, 11, 29)


@pytest.fixture
def registry() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "household_id": [f"KK{i:07d}" for i in range(6)],
            "kelurahan": ["A", "A", "A", "B", "B", "B"],
            "verification_status": ["unverified"] * 6,
        }
    )


def _outcomes(**columns) -> pd.DataFrame:
    base = {
        "household_id": ["KK0000000"],
        "visit_date": ["03/11/2025"],
        "operator": ["OP-1"],
        "result": ["not_extreme_poor"],
    }
    base.update({k: list(v) for k, v in columns.items()})
    return pd.DataFrame(base)


def _status(result: feedback.IngestResult, hh: str = "KK0000000") -> str:
    return result.registry.set_index("household_id").loc[hh, "verification_status"]


def test_a_correction_supersedes_and_is_audited(registry: pd.DataFrame) -> None:
    first = feedback.ingest_outcomes(registry, _outcomes(), today=TODAY)
    assert _status(first) == "verified_not_extreme"
    corrected = feedback.ingest_outcomes(
        first.registry, _outcomes(result=["extreme_poor"]), first.ledger, today=TODAY
    )
    # a2ebe68 kept the alphabetically last result (not_extreme_poor) and ignored the correction
    assert _status(corrected) == "verified_extreme"
    assert len(corrected.ledger) == 1 and corrected.new_rows == 0
    audit = corrected.superseded
    assert len(audit) == 1
    assert audit.iloc[0]["result"] == "not_extreme_poor"
    assert audit.iloc[0]["superseded_by_result"] == "extreme_poor"


def test_dates_follow_one_declared_convention(registry: pd.DataFrame) -> None:
    frame = _outcomes(
        household_id=["KK0000000", "KK0000001"],
        visit_date=["03/11/2025", "13/11/2025"],
        operator=["OP-1", "OP-1"],
        result=["menolak", "pindah"],
    )
    result = feedback.ingest_outcomes(registry, frame, today=TODAY)
    # a2ebe68 read 03/11/2025 as 11 March and 13/11/2025 as 13 November
    assert list(result.ledger["visit_date"]) == ["2025-11-03", "2025-11-13"]
    assert list(result.ledger["result"]) == ["refused", "moved"]
    with pytest.raises(DataValidationError, match=r"visit_date.*rows? 1\b"):
        feedback.ingest_outcomes(registry, frame, dates="iso", today=TODAY)


@pytest.mark.parametrize("typed", ["03/11/25", "2052-11-03", "31/02/2025", "1999-01-01"])
def test_ambiguous_impossible_or_future_dates_are_rejected_with_rows(
    registry: pd.DataFrame, typed: str
) -> None:
    frame = _outcomes(
        household_id=["KK0000000", "KK0000001"],
        visit_date=["04/11/2025", typed],
        operator=["OP-1", "OP-1"],
        result=["extreme_poor", "extreme_poor"],
    )
    with pytest.raises(DataValidationError) as info:
        feedback.ingest_outcomes(registry, frame, today=TODAY)
    assert [p.rows for p in info.value.problems] == [(2,)]
    assert typed not in str(info.value)


def test_conflicting_results_on_one_day_are_flagged(registry: pd.DataFrame) -> None:
    frame = _outcomes(
        household_id=["KK0000000", "KK0000001", "KK0000000"],
        visit_date=["03/11/2025", "03/11/2025", "2025-11-03"],
        operator=["OP-1", "OP-1", "OP-1"],
        result=["extreme_poor", "menolak", "tidak miskin ekstrem"],
    )
    with pytest.raises(DataValidationError) as info:
        feedback.ingest_outcomes(registry, frame, today=TODAY)
    assert info.value.problems[0].rows == (1, 3)
    assert "one result per household and visit date" in str(info.value)


def test_operator_case_and_spaces_do_not_double_the_ledger(registry: pd.DataFrame) -> None:
    first = feedback.ingest_outcomes(registry, _outcomes(operator=["OP-Kasemen-01"]), today=TODAY)
    again = feedback.ingest_outcomes(
        first.registry,
        _outcomes(operator=["  op-kasemen-01 "], visit_date=["2025-11-03"]),
        first.ledger,
        today=TODAY,
    )
    assert again.new_rows == 0 and again.duplicate_rows == 1 and len(again.superseded) == 0
    pd.testing.assert_frame_equal(first.ledger, again.ledger)


def test_bahasa_and_english_codes_map_to_one_code() -> None:
    for bahasa, english in [
        ("Miskin  Ekstrem", "extreme_poor"),
        ("TIDAK MISKIN EKSTREM", "not_extreme_poor"),
        ("tidak ditemukan", "not_found"),
        ("not found", "not_found"),
        ("menolak", "refused"),
        ("pindah", "moved"),
    ]:
        assert schema.normalise_result(bahasa) == english
    assert schema.normalise_result("mungkin") == ""


def test_errors_never_echo_a_row_value(registry: pd.DataFrame) -> None:
    nik = "3673051203850004"
    frame = _outcomes(household_id=[nik], result=["Budi Santoso"])
    with pytest.raises(DataValidationError) as info:
        feedback.ingest_outcomes(registry, frame, today=TODAY)
    assert nik not in str(info.value) and "Budi" not in str(info.value)


def test_pool_rule_waits_then_stops_after_three_attempts() -> None:
    ledger = pd.DataFrame(
        {
            "household_id": ["A", "B", "B", "B", "C", "C"],
            "visit_date": [
                "2026-08-10",
                "2026-06-01",
                "2026-07-01",
                "2026-08-01",
                "2026-08-10",
                "2026-08-12",
            ],
            "operator": "OP",
            "result": ["not_found", "refused", "not_found", "moved", "not_found", "extreme_poor"],
            "notes": "",
        }
    )
    holds = feedback.pool_holds(ledger, "2026-08-17")
    assert holds.to_dict() == {"A": "retry_later", "B": "attempts_exhausted"}
    assert feedback.pool_holds(ledger, "2026-08-31").to_dict() == {"B": "attempts_exhausted"}


def test_default_spec_dates_follow_the_calendar() -> None:
    raw = yaml.safe_load((REPO / "experiments" / "serang-2026.yaml").read_text())
    resolve_relative_dates(raw, today="2026-11-29")  # a Sunday
    assert raw["plan"]["start_date"] == "2026-11-30"
    assert raw["forecast"]["defaults"]["start"] == "2026-11"
    assert raw["data"]["vintage"] == "2026-11"


def test_ingest_into_a_folder_without_a_plan_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "empty-state"
    folder.mkdir()
    pd.DataFrame({"household_id": ["KK0000000"], "kecamatan": ["K"], "kelurahan": ["A"]}).assign(
        receives_pkh=False, receives_bpnt=False, verification_status="unverified"
    ).to_parquet(folder / state.STATUS_FILE)
    outcomes = tmp_path / "outcomes.csv"
    _outcomes().to_csv(outcomes, index=False)
    before = sorted(p.name for p in folder.iterdir())
    code, _, stderr = run_cli(["ingest", str(outcomes), "--state", str(folder)])
    assert code == 2 and "no plan" in stderr and "nothing was written" in stderr
    assert sorted(p.name for p in folder.iterdir()) == before


def test_a_foreign_plan_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    pd.DataFrame({"household_id": ["KK0000000"], "kecamatan": ["K"], "kelurahan": ["A"]}).assign(
        receives_pkh=False, receives_bpnt=False, verification_status="unverified"
    ).to_parquet(folder / state.STATUS_FILE)
    state.write_cycle({"plan_id": "2026-08-03-aaaaaaaa", "last_visit_date": "2026-08-14"}, folder)
    outcomes = tmp_path / "outcomes.csv"
    _outcomes().assign(plan_id="2026-09-01-bbbbbbbb").to_csv(outcomes, index=False)
    code, _, stderr = run_cli(["ingest", str(outcomes), "--state", str(folder)])
    assert code == 2 and "another plan" in stderr
    assert not (folder / state.LEDGER_FILE).exists()
