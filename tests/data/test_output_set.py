"""A run's outputs are one set (issue 11, point 4): staged, swapped in whole, under a lock.

Killed at three points (plan.csv written, mid-workbook, mid-swap) or raced by a second run, the
outputs folder still holds plan.csv, the workbook and cycle.json of one plan; a damaged MLflow
store stops the run before any output is touched, with the fix in the message and in doctor.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from targeting.data.outputs import OutputSet
from targeting.plan.workbook import read_plan_workbook
from tests.helpers import REPO
from tests.helpers.cli import run_cli, small_spec


def _shrink(raw: dict) -> None:
    raw["data"]["n_households"] = 2_000
    raw["models"] = ["ols"]
    raw["evaluation"]["n_splits"] = 3
    raw["plan"].update({"operators": 4, "workdays": 5})
    raw["forecast"]["n_paths"] = 30
    raw["forecast"]["scenarios"] = [{"name": "baseline"}]


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_spec(tmp_path_factory.mktemp("outset"), "outset", _shrink)[0]


def _run(spec: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    return run_cli(["run", str(spec), "--quiet", "--no-tracking", "--output", str(out), *extra])


def _consistent_plan_id(out: Path) -> str:
    """plan.csv, the workbook and cycle.json name one plan and the same households."""
    plan = pd.read_csv(out / "plan.csv", dtype=str)
    cycle = json.loads((out / "cycle.json").read_text())
    book = read_plan_workbook(out / "verification_plan.xlsx")
    assert set(plan["plan_id"]) == {cycle["plan_id"]} == {book.plan_id}
    assert book.blank_rows == len(plan)  # every planned household is in the workbook, once
    return cycle["plan_id"]


_KILLER = textwrap.dedent(
    """
    import os, signal, sys
    point = sys.argv.pop(1)
    import targeting.plan.workbook as wb
    from targeting.data import outputs

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    if point == "after_plan_csv":
        original = wb.write_plan_csv
        def write_plan_csv(*a, **k):
            out = original(*a, **k)
            die()
        wb.write_plan_csv = write_plan_csv
    elif point == "mid_workbook":
        def _save(workbook, path):
            with open(path, "wb") as handle:
                handle.write(b"PK half a workbook")
            die()
        wb._save = _save
    elif point == "mid_swap":
        def commit(self):
            os.rename(self.folder, self._aside)
            die()
        outputs.OutputSet.commit = commit
    from targeting.cli.main import main
    sys.exit(main(sys.argv[1:]))
    """
)


@pytest.mark.parametrize("point", ["after_plan_csv", "mid_workbook", "mid_swap"])
def test_kill_leaves_one_consistent_set(spec: Path, tmp_path: Path, point: str) -> None:
    out = tmp_path / "out"
    code, _, stderr = _run(spec, out, "--start", "2026-08-03")
    assert code == 0, stderr
    before = _consistent_plan_id(out)
    (out / ".my-notes.tmp").write_text("a user's hidden file")
    killer = tmp_path / "killer.py"
    killer.write_text(_KILLER)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    args = ["run", str(spec), "--quiet", "--no-tracking", "--output", str(out)]
    done = subprocess.run(
        [sys.executable, str(killer), point, *args, "--start", "2026-09-07"],
        cwd=spec.parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    with OutputSet(out):  # the next run or ingest recovers first (mid-swap: puts the set back)
        pass
    assert _consistent_plan_id(out) == before
    assert (out / ".my-notes.tmp").exists()  # clean-up never touches a user's file
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")]
    assert leftovers == [".out.lock"]
    code, _, stderr = _run(spec, out, "--start", "2026-09-07")
    assert code == 0, stderr
    assert _consistent_plan_id(out) != before
    assert (out / ".my-notes.tmp").exists()


def test_a_second_run_on_a_busy_folder_fails_fast(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "busy"
    with OutputSet(out):  # another run holds the folder
        code, _, stderr = _run(spec, out)
    assert code == 2 and "another targeting run or ingest is writing" in stderr
    assert not out.exists()
    code, _, stderr = _run(spec, out)
    assert code == 0, stderr
    _consistent_plan_id(out)


def test_a_damaged_tracking_store_stops_before_any_output(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "store"
    code, _, stderr = _run(spec, out, "--start", "2026-08-03")
    assert code == 0, stderr
    snapshot = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    db = tmp_path / "mlflow.db"
    import sqlite3

    with sqlite3.connect(db) as con:
        con.execute("create table t (x)")
        con.executemany("insert into t values (?)", [(str(i) * 50,) for i in range(2_000)])
    db.write_bytes(db.read_bytes()[: 3 * 4096 + 100])  # truncated, as by a full disk
    uri = f"sqlite:///{db}"
    code, _, stderr = run_cli(
        [
            "run",
            str(spec),
            "--quiet",
            "--output",
            str(out),
            "--tracking-uri",
            uri,
            "--start",
            "2026-09-07",
        ]
    )
    assert code == 2 and "is damaged" in stderr and "mv " in stderr
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == snapshot
    code, stdout, _ = run_cli(["doctor", "--tracking-uri", uri])
    assert code == 1 and "is damaged" in stdout and "fix: move it aside" in stdout
