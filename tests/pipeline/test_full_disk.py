"""A full disk under the tracking store (issue 11, point 4): ``@champion`` stays, the run is FAILED.

The disk fills during the second tracked run. SQLite then answers ``database or disk is full``
to the statements that need new pages (inserts), and a file write raises ``ENOSPC``; the
injection does exactly that, at the SQLAlchemy cursor (every MLflow store write goes through it)
and at MLflow's local artifact repository, and leaves in-place updates (the run's status) alone,
as SQLite can still rewrite an existing page. Two points: mid-logging (a metric of a nested
run) and after the cycle's runs are logged (the report's metrics, logged to the finished parent
run; before this fix ``@champion`` had moved by then).
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pytest

from tests.helpers.cli import run_cli, small_spec


def _shrink(raw: dict) -> None:
    raw["data"]["n_households"] = 2_000
    raw["models"] = ["ols", "logit"]
    raw["evaluation"]["n_splits"] = 3
    raw["plan"].update({"operators": 4, "workdays": 5})
    raw["forecast"]["n_paths"] = 30
    raw["forecast"]["scenarios"] = [{"name": "baseline"}]


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("full-disk")
    spec = small_spec(folder, "fulldisk", _shrink)[0]
    return {"folder": folder, "spec": spec}


def _champion(db: Path) -> str | None:
    with sqlite3.connect(db) as con:
        row = con.execute(
            "SELECT version FROM registered_model_aliases WHERE alias = 'champion'"
        ).fetchone()
    return None if row is None else str(row[0])


def _statuses(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as con:
        return dict(con.execute("SELECT run_uuid, status FROM runs").fetchall())


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}


@pytest.mark.slow
@pytest.mark.parametrize("point", ["nested_metric", "report_metric", "model_files"])
def test_full_disk_keeps_champion_and_fails_the_run(
    first_run: dict, monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    folder, spec = first_run["folder"], first_run["spec"]
    db = folder / f"{point}.db"
    uri = f"sqlite:///{db}"
    out = folder / f"out-{point}"
    args = ["run", str(spec), "--quiet", "--output", str(out), "--tracking-uri", uri]
    code, _, err = run_cli(args)
    assert code == 0, err[-2000:]
    champion, before_runs, before_files = _champion(db), _statuses(db), _files(out)
    assert champion is not None

    armed = {"on": True}

    def full(conn, cursor, statement, parameters, context, executemany):
        text = f"{statement} {parameters}"
        hit = {
            "nested_metric": "INSERT INTO metrics" in statement and "'auc'" in text,
            "report_metric": "INSERT INTO metrics" in statement and "report_headline" in text,
        }.get(point, False)
        if armed["on"] and hit:
            raise sqlite3.OperationalError("database or disk is full")

    real_log_artifacts = LocalArtifactRepository.log_artifacts

    def no_space(self, local_dir, artifact_path=None):
        if (
            armed["on"]
            and point == "model_files"
            and "MLmodel" in {p.name for p in Path(local_dir).rglob("*")}
        ):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_log_artifacts(self, local_dir, artifact_path)

    event.listen(Engine, "before_cursor_execute", full)
    monkeypatch.setattr(LocalArtifactRepository, "log_artifacts", no_space)
    try:
        code, _, err = run_cli(args)
    finally:
        event.remove(Engine, "before_cursor_execute", full)
    armed["on"] = False
    assert code == 2, err[-2000:]
    # one sentence, no traceback, no SQL statement
    assert len(err.strip().splitlines()) == 1, err
    assert "disk" in err and "full" in err and "Traceback" not in err and "INSERT" not in err
    assert _champion(db) == champion
    after = _statuses(db)
    new = {run: status for run, status in after.items() if run not in before_runs}
    assert new and "RUNNING" not in new.values()
    assert "FAILED" in new.values()
    assert _files(out) == before_files
