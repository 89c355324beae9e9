"""A registry with 5 % defective rows of ten kinds runs to completion in quarantine mode.

Every defective row ends in ``rejected.csv`` (and in ``not_ranked.csv`` as ``invalid_row``) with
the right reason; every good row is planned or not ranked for its own reason.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from targeting.data import schema
from tests.helpers.cli import run_cli
from tests.helpers.defects import (
    KINDS,
    check_rejections,
    inject_defects,
    write_city_files,
    write_spec,
)

pytestmark = pytest.mark.slow

N = 2_000


@pytest.fixture(scope="module")
def quarantine_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("quarantine")
    clean, registry_path, survey_path = write_city_files(folder, N, seed=2026)
    per_kind = N * 5 // 100 // len(KINDS)  # 5 % of the rows, ten kinds
    frame, expected = inject_defects(clean, {k: per_kind for k in KINDS}, seed=3)
    frame.to_csv(registry_path, index=False)
    spec = write_spec(
        folder,
        "quarantine",
        {"source": "files", "registry": str(registry_path), "survey": str(survey_path)},
    )
    out = folder / "out"
    code, stdout_text, stderr_text = run_cli(
        ["run", str(spec), "--json", "--output", str(out)]
        + ["--tracking-uri", f"sqlite:///{folder / 'mlflow.db'}"]
    )
    assert code == 0, stderr_text[-2000:]
    return {
        "summary": json.loads(stdout_text),
        "stderr": stderr_text,
        "out": out,
        "expected": expected,
        "frame": frame,
    }


def test_run_completes_and_accounts_for_every_row(quarantine_run: dict) -> None:
    s = quarantine_run["summary"]
    assert s["households_in_registry"] == N
    assert s["planned"] + s["not_ranked"] == N
    n_bad = quarantine_run["expected"]["row"].nunique()
    assert s["rejected_rows"] == n_bad
    assert s["not_ranked_by_reason"]["invalid_row"] == n_bad
    assert f"{n_bad} registry row(s) set aside" in quarantine_run["stderr"]


def test_every_defective_row_rejected_with_its_reason(quarantine_run: dict) -> None:
    rejected = pd.read_csv(quarantine_run["out"] / "rejected.csv", dtype=str)
    rejected["row"] = rejected["row"].astype(int)
    check_rejections(rejected, quarantine_run["expected"])
    not_ranked = pd.read_csv(quarantine_run["out"] / "not_ranked.csv", dtype=str)
    invalid = not_ranked[not_ranked["reason"] == "invalid_row"]
    assert sorted(invalid["reason_detail"]) == sorted(rejected["reason"])


def test_every_good_row_planned_or_not_ranked_once(quarantine_run: dict) -> None:
    out = quarantine_run["out"]
    frame = quarantine_run["frame"]
    bad_rows = set(quarantine_run["expected"]["row"].astype(int) - 1)
    good_ids = frame.loc[~frame.index.isin(bad_rows), "household_id"]
    plan = pd.read_csv(out / "plan.csv", dtype=str)
    not_ranked = pd.read_csv(out / "not_ranked.csv", dtype=str, keep_default_na=False)
    others = not_ranked[not_ranked["reason"] != "invalid_row"]
    placed = pd.concat([plan["household_id"], others["household_id"]])
    assert placed.is_unique
    assert set(placed) == set(good_ids)
    assert set(others["reason"]) <= {"reached", "verified", "beyond_capacity"}


def test_rejected_reasons_do_not_echo_personal_data(quarantine_run: dict) -> None:
    text = (quarantine_run["out"] / "rejected.csv").read_text()
    frame = quarantine_run["frame"]
    bad = frame.iloc[sorted(quarantine_run["expected"]["row"].astype(int) - 1)]
    for column in ("nik_head", "head_name", "address"):
        leaked = [v for v in bad[column] if len(str(v)) >= 6 and str(v) in text]
        assert not leaked, column
    assert "nik_head" in set(schema.PII_COLUMNS)
