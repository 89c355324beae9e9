"""Tests for targeting.plan.workbook (Excel and CSV field lists)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from targeting.data.schema import KECAMATAN_KELURAHAN_COUNTS, VERIFICATION_STATUSES
from targeting.plan.ranking import PlanCapacity, VerificationPlan, build_plan
from targeting.plan.workbook import (
    COVER_SHEET,
    NOT_RANKED_SHEET,
    write_plan_csv,
    write_plan_workbook,
)


@pytest.fixture(scope="module")
def plan() -> VerificationPlan:
    rng = np.random.default_rng(4)
    n = 900
    kels = [(k, f"{k[:3]}-{j}") for k, m in KECAMATAN_KELURAHAN_COUNTS.items() for j in range(m)]
    pick = rng.integers(0, len(kels), n)
    registry = pd.DataFrame(
        {
            "household_id": [f"HH{i:05d}" for i in range(n)],
            "kecamatan": [kels[i][0] for i in pick],
            "kelurahan": [kels[i][1] for i in pick],
            "rt": rng.integers(1, 9, n).astype(str),
            "rw": rng.integers(1, 5, n).astype(str),
            "receives_pkh": rng.random(n) < 0.1,
            "receives_bpnt": rng.random(n) < 0.1,
            "verification_status": rng.choice(VERIFICATION_STATUSES, n, p=[0.9, 0.05, 0.05]),
            "head_name": [f"Nama {i}" for i in range(n)],
            "address": [f"Jl. Contoh No. {i}" for i in range(n)],
        }
    )
    p = rng.beta(0.6, 5, n)
    scores = pd.DataFrame(
        {
            "p_extreme": p,
            "p_low": p * 0.5,
            "p_high": np.minimum(1, p * 1.6),
            "desil": rng.integers(1, 11, n),
            "reason_1": "lantai tanah / earthen floor",
            "reason_2": "tidak punya kulkas / no refrigerator",
            "reason_3": "",
        },
        index=registry["household_id"],
    )
    rejected = pd.DataFrame({"row": [3], "household_id": ["BROKEN"], "reason": ["hh_size: bad"]})
    out = build_plan(registry, scores, PlanCapacity(operators=10, workdays=3), rejected=rejected)
    # the caller joins PII for the field lists only
    out.plan = out.plan.merge(
        registry[["household_id", "head_name", "address"]], on="household_id", how="left"
    )
    return out


def _households(ws) -> list[str]:
    header = [c.value for c in ws[2]]
    col = next(i for i, v in enumerate(header) if v and str(v).startswith("ID keluarga"))
    return [
        str(row[col]) for row in ws.iter_rows(min_row=3, values_only=True) if row[col] is not None
    ]


def test_workbook_round_trip(plan, tmp_path: Path):
    path = write_plan_workbook(plan, tmp_path / "out" / "plan.xlsx")
    assert path.exists()
    assert not [p for p in path.parent.iterdir() if p.name != "plan.xlsx"]  # no temp left over
    wb = load_workbook(path)
    kecamatan = sorted(plan.plan["kecamatan"].unique())
    assert wb.sheetnames == [COVER_SHEET, *kecamatan, NOT_RANKED_SHEET]
    seen = []
    for name in kecamatan:
        ws = wb[name]
        ids = _households(ws)
        expected = plan.plan.loc[plan.plan["kecamatan"] == name].sort_values(
            ["operator", "visit_date", "order_in_day"], kind="stable"
        )
        assert ids == list(expected["household_id"])
        seen += ids
        assert ws.freeze_panes == "C3"
        assert ws.page_setup.orientation == "landscape"
        assert ws.print_title_rows == "$1:$2"
        header = [c.value for c in ws[2]]
        assert any(h and h.startswith("Hasil kunjungan") for h in header)
        assert any(h and h.startswith("Nama kepala keluarga") for h in header)
    assert sorted(seen) == sorted(plan.plan["household_id"])
    # not_ranked sheet: aggregates only, no household ids
    nr = wb[NOT_RANKED_SHEET]
    values = [v for row in nr.iter_rows(values_only=True) for v in row if v is not None]
    assert not set(map(str, values)) & set(plan.not_ranked["household_id"])
    assert len(plan.not_ranked) in values
    cover = [v for row in wb[COVER_SHEET].iter_rows(values_only=True) for v in row if v]
    assert len(plan.plan) in cover


def test_workbook_is_deterministic(plan, tmp_path: Path):
    a = write_plan_workbook(plan, tmp_path / "a.xlsx")
    b = write_plan_workbook(plan, tmp_path / "b.xlsx", lang="id")
    wa, wb_ = load_workbook(a), load_workbook(b)
    for name in wa.sheetnames:
        rows_a = list(wa[name].iter_rows(values_only=True))
        rows_b = list(wb_[name].iter_rows(values_only=True))
        assert rows_a == rows_b
    assert wa.properties.modified == wb_.properties.modified
    english = load_workbook(write_plan_workbook(plan, tmp_path / "en.xlsx", lang="en"))
    assert str(english[english.sheetnames[1]]["B2"].value).startswith("Household ID")


def test_failed_write_leaves_no_file(plan, tmp_path: Path, monkeypatch):
    import targeting.plan.workbook as wbmod

    def boom(wb, path):
        Path(path).write_bytes(b"partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(wbmod, "_save", boom)
    target = tmp_path / "plan.xlsx"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        write_plan_workbook(plan, target)
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["plan.xlsx"]


def test_write_plan_csv(plan, tmp_path: Path):
    paths = write_plan_csv(plan, tmp_path / "csv")
    assert set(paths) == {"plan", "not_ranked"}
    back = pd.read_csv(paths["plan"], dtype={"household_id": str})
    assert list(back["household_id"]) == list(plan.plan["household_id"])
    nr = pd.read_csv(paths["not_ranked"], dtype={"household_id": str}, keep_default_na=False)
    assert len(nr) == len(plan.not_ranked)
    assert "BROKEN" in set(nr["household_id"])


def test_cover_shows_the_interval_of_the_finds_when_the_plan_has_one(plan, tmp_path: Path):
    import dataclasses

    def cover_lines(p: VerificationPlan, name: str) -> list[tuple]:
        wb = load_workbook(write_plan_workbook(p, tmp_path / name))
        return [row for row in wb[COVER_SHEET].iter_rows(values_only=True) if row[0]]

    label = "Rentang 90 % perkiraan temuan / 90 % interval of the expected finds"
    assert not [row for row in cover_lines(plan, "none.xlsx") if row[0] == label]
    with_interval = dataclasses.replace(plan, finds_interval=(81.4, 123.6))
    rows = [row for row in cover_lines(with_interval, "interval.xlsx") if row[0] == label]
    assert rows == [(label, "81 – 124")]
