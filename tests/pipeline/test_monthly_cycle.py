"""The monthly cycle a Dinas Sosial repeats (issue 11): plan → field in Excel → ingest → plan.

A small synthetic city, three months: run → the field simulator's answers typed INTO the
workbook (Bahasa codes, dd/mm/yyyy text dates beside Excel date cells) → ingest the workbook →
run on a newer registry snapshot (households added and removed) → ingest → run.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from targeting.data import state
from targeting.data.schema import RESULT_CODES_ID
from targeting.data.synthetic import FieldOutcomeSimulator, generate_city
from tests.helpers.cli import quick_cycle, run_cli, small_spec

N = 3_000


def _edit(folder: Path):
    def edit(raw: dict) -> None:
        raw["data"] = {
            "source": "files",
            "registry": str(folder / "registry.csv"),
            "survey": str(folder / "survey.csv"),
            "extreme_line": 400000,
        }
        quick_cycle(raw)

    return edit


def fill_workbook(path: Path, answers: pd.DataFrame, typed_every: int = 2) -> int:
    """Type each answer into the workbook's result cell, as an office would.

    Results go in as Bahasa codes; every ``typed_every``-th visit date is retyped as text
    ``dd/mm/yyyy`` (the others stay Excel date cells). Returns the number of cells filled.
    """
    by_id = answers.set_index("household_id")
    wb = load_workbook(path)
    filled = 0
    for ws in wb.worksheets[1:-1]:
        header = [str(c.value or "") for c in ws[2]]
        col = {
            key: next(j for j, h in enumerate(header, start=1) if h.startswith(label))
            for key, label in [
                ("household_id", "ID keluarga"),
                ("visit_date", "Tanggal kunjungan"),
                ("result", "Hasil kunjungan"),
            ]
        }
        for row in range(3, ws.max_row + 1):
            hh = ws.cell(row=row, column=col["household_id"]).value
            if hh is None or str(hh) not in by_id.index:
                continue
            answer = by_id.loc[str(hh)]
            ws.cell(row=row, column=col["result"], value=RESULT_CODES_ID[answer["result"]])
            if filled % typed_every == 0:
                day = pd.Timestamp(answer["visit_date"])
                ws.cell(row=row, column=col["visit_date"], value=day.strftime("%d/%m/%Y"))
            filled += 1
    wb.save(path)
    return filled


@pytest.fixture(scope="module")
def cycle(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("monthly")
    city = generate_city(N, seed=2026, survey_fraction=0.05)
    city.survey.to_csv(folder / "survey.csv", index=False)
    registry = city.registry.reset_index(drop=True)
    first = registry.iloc[: N - 200]
    added = registry.iloc[N - 200 :]
    removed = first.sample(n=100, random_state=3)
    second = pd.concat([first.drop(removed.index), added], ignore_index=True)
    spec, _ = small_spec(folder, "monthly", _edit(folder))
    out = folder / "out"
    field = FieldOutcomeSimulator(city.truth, seed=5, p_not_found=0.1, p_refused=0.05)
    months = []
    for month, snapshot in enumerate([first, second, second]):
        snapshot.to_csv(folder / "registry.csv", index=False)
        argv = ["run", str(spec), "--json", "--quiet", "--no-tracking", "--output", str(out)]
        if month == 0:
            argv += ["--start", "2026-08-03"]
        code, stdout, stderr = run_cli(argv)
        assert code == 0, stderr
        summary = json.loads(stdout)
        plan = pd.read_csv(out / "plan.csv", dtype=str)
        not_ranked = pd.read_csv(out / "not_ranked.csv", dtype=str)
        record = {
            "summary": summary,
            "plan": plan,
            "not_ranked": not_ranked,
            "snapshot": snapshot,
            "status_before": (pd.read_parquet(out / state.STATUS_FILE) if month else None),
        }
        if month < 2:
            answers = field.respond(plan)
            workbook = folder / f"verification_plan_{month}.xlsx"
            workbook.write_bytes((out / "verification_plan.xlsx").read_bytes())
            record["filled"] = fill_workbook(workbook, answers)
            code, stdout, stderr = run_cli(["ingest", str(workbook), "--state", str(out), "--json"])
            assert code == 0, stderr
            record["ingest"] = json.loads(stdout)
            record["answers"] = answers
            record["workbook"] = workbook
            record["ledger"] = pd.read_parquet(out / state.LEDGER_FILE)
        months.append(record)
    return {"months": months, "out": out, "folder": folder, "removed": removed, "added": added}


def test_verified_households_are_never_planned_again(cycle: dict) -> None:
    verified: set[str] = set()
    for record in cycle["months"]:
        planned = set(record["plan"]["household_id"])
        assert not planned & verified
        if "answers" in record:
            answers = record["answers"]
            conclusive = answers["result"].isin(["extreme_poor", "not_extreme_poor"])
            verified |= set(answers.loc[conclusive, "household_id"])
    assert verified  # the field did verify households


def test_every_household_of_every_snapshot_accounted_once(cycle: dict) -> None:
    for record in cycle["months"]:
        ids = pd.concat([record["plan"]["household_id"], record["not_ranked"]["household_id"]])
        assert ids.is_unique
        assert set(ids) == set(record["snapshot"]["household_id"])
        s = record["summary"]
        assert (
            s["households_in_registry"] == len(record["snapshot"]) == s["planned"] + s["not_ranked"]
        )
    second = cycle["months"][1]["summary"]
    assert second["left_registry"] == len(cycle["removed"])
    left = pd.read_csv(cycle["out"] / "left_registry.csv", dtype=str)
    assert len(left) == 0  # the third snapshot is the second: nobody left since
    assert cycle["months"][2]["summary"]["left_registry"] == 0


def test_plans_follow_each_other(cycle: dict) -> None:
    periods = [
        (r["summary"]["cycle"]["first_visit_date"], r["summary"]["cycle"]["last_visit_date"])
        for r in cycle["months"]
    ]
    assert periods[0][0] == "2026-08-03"
    for (_, last), (first, _) in itertools.pairwise(periods):
        assert first > last
    ids = [r["summary"]["plan_id"] for r in cycle["months"]]
    assert len(set(ids)) == 3
    final = json.loads((cycle["out"] / state.CYCLE_FILE).read_text())
    assert final["earlier_plan_ids"] == ids[:2]


def test_ledger_counts_equal_visits(cycle: dict) -> None:
    total = 0
    for record in cycle["months"][:2]:
        total += record["filled"]
        assert record["ingest"]["new_rows"] == record["filled"]
        assert len(record["ledger"]) == total
        assert record["ingest"]["superseded_rows"] == 0


def test_inconclusive_visits_wait_before_returning(cycle: dict) -> None:
    answers = cycle["months"][0]["answers"]
    inconclusive = set(
        answers.loc[answers["result"].isin(["not_found", "refused", "moved"]), "household_id"]
    )
    assert inconclusive
    second = cycle["months"][1]["not_ranked"].set_index("household_id")
    held = second.reindex(sorted(inconclusive))["reason"]
    assert set(held.dropna()) <= {"retry_later", "reached"}
    assert (held == "retry_later").sum() == len(inconclusive & set(second.index))


def test_reingesting_any_file_changes_nothing(cycle: dict) -> None:
    out = cycle["out"]
    before = {
        name: (out / name).read_bytes()
        for name in (state.LEDGER_FILE, state.STATUS_FILE, state.CYCLE_FILE)
    }
    month = cycle["months"][1]
    code, stdout, stderr = run_cli(
        ["ingest", str(month["workbook"]), "--state", str(out), "--json"]
    )
    # the second month's workbook is no longer the current plan's: refused, nothing written
    assert code == 2 and "earlier plan" in stderr
    # re-exported as CSV: ISO dates, operators in lower case, the current plan id
    answers = cycle["months"][1]["answers"].copy()
    answers["operator"] = "  " + answers["operator"].str.lower() + " "
    answers["plan_id"] = json.loads((out / state.CYCLE_FILE).read_text())["earlier_plan_ids"][-1]
    for name, data in before.items():
        assert (out / name).read_bytes() == data, name
    # the same file into a state whose current plan it is: a second ingestion adds nothing
    state_copy = cycle["folder"] / "state-copy"
    state_copy.mkdir()
    for name in before:
        (state_copy / name).write_bytes((out / name).read_bytes())
    (state_copy / "plan.csv").write_bytes((out / "plan.csv").read_bytes())
    current = json.loads((out / state.CYCLE_FILE).read_text())
    current["plan_id"] = answers["plan_id"].iloc[0]
    (state_copy / state.CYCLE_FILE).write_text(json.dumps(current))
    csv = cycle["folder"] / "reexport.csv"
    answers.to_csv(csv, index=False)
    ledger_before = (state_copy / state.LEDGER_FILE).read_bytes()
    for path in (csv, month["workbook"]):
        code, stdout, stderr = run_cli(
            ["ingest", str(path), "--state", str(state_copy), "--dates", "iso", "--json"]
            if path.suffix == ".csv"
            else ["ingest", str(path), "--state", str(state_copy), "--json"]
        )
        assert code == 0, stderr
        report = json.loads(stdout)
        assert report["new_rows"] == 0 and report["superseded_rows"] == 0
        assert report["status_changes"] == 0
        assert (state_copy / state.LEDGER_FILE).read_bytes() == ledger_before


def test_workbook_rows_carry_date_and_operator_and_refuse_other_codes(cycle: dict) -> None:
    wb = load_workbook(cycle["out"] / "verification_plan.xlsx")
    ws = wb.worksheets[1]
    header = [str(c.value or "") for c in ws[2]]
    assert any(h.startswith("Tanggal kunjungan") for h in header)
    assert any(h.startswith("Operator") for h in header)
    validation = ws.data_validations.dataValidation[0]
    assert validation.showErrorMessage and validation.errorStyle == "stop"
    assert "miskin ekstrem" in validation.formula1 and "Pilih" in validation.error
    assert "Halaman &P dari &N" in ws.oddFooter.center.text
    assert "Kecamatan" in ws.oddFooter.left.text and "Operator" in ws.oddFooter.right.text
    operators = pd.read_csv(cycle["out"] / "plan.csv", dtype=str)
    per_sheet = operators.groupby("kecamatan")["operator"].nunique()
    assert len(ws.row_breaks.brk) == per_sheet[ws.title] - 1
