"""Faults: atomic outputs, an unreachable tracking server, interrupted runs, failed MLflow runs."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from targeting.data.io import atomic_path, remove_stale_parts, write_table
from targeting.tracking.connectivity import check_reachable, is_remote, offline_uri
from tests.helpers import REPO
from tests.helpers.defects import write_spec


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".part", ".tmp")))


# --- (a) atomic writes, in process ----------------------------------------------------------


def test_writer_failing_mid_write_keeps_old_plan(tmp_path: Path, monkeypatch) -> None:
    from targeting.plan import workbook
    from targeting.plan.ranking import VerificationPlan

    old = pd.DataFrame({"household_id": ["KK1", "KK2"], "p_extreme": [0.5, 0.25]})
    write_table(old, tmp_path / "plan.csv")
    write_table(old, tmp_path / "not_ranked.csv")
    before = (tmp_path / "plan.csv").read_bytes()
    real = pd.DataFrame.to_csv

    def half_then_crash(self, path, *args, **kwargs):
        Path(path).write_text("household_id,p_extreme\nKK9,")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_crash)
    plan = VerificationPlan(plan=old.iloc[:1], not_ranked=old, yield_curve=pd.DataFrame())
    with pytest.raises(OSError, match="disk full"):
        workbook.write_plan_csv(plan, tmp_path)
    monkeypatch.setattr(pd.DataFrame, "to_csv", real)
    assert (tmp_path / "plan.csv").read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_interrupt_mid_write_and_stale_parts(tmp_path: Path) -> None:
    target = tmp_path / "plan.csv"
    with pytest.raises(KeyboardInterrupt), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise KeyboardInterrupt
    assert not target.exists() and _leftovers(tmp_path) == []
    (tmp_path / ".plan.csv.abc123.part").write_text("left by a killed process")
    (tmp_path / ".verification_plan.xlsx.x.tmp").write_text("idem")
    (tmp_path / "keep.csv").write_text("a\n1\n")
    removed = remove_stale_parts(tmp_path)
    assert len(removed) == 2 and _leftovers(tmp_path) == []
    assert (tmp_path / "keep.csv").exists()
    assert remove_stale_parts(tmp_path / "missing") == []


# --- (b) unreachable tracking server ----------------------------------------------------------


def test_unreachable_server_fails_fast_with_the_fix(monkeypatch) -> None:
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    port = _closed_port()
    attempts: list[tuple[tuple[str, int], float | None]] = []
    real_connect = socket.create_connection

    def spy(address, timeout=None, *args, **kwargs):
        attempts.append((address, timeout))
        return real_connect(address, timeout, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", spy)
    with pytest.raises(ValueError, match="cannot reach the MLflow tracking server") as info:
        check_reachable(f"http://user:secret@127.0.0.1:{port}", timeout=2.0)
    # fast by construction: one bounded connection attempt, no retries
    assert attempts == [(("127.0.0.1", port), 2.0)]
    message = str(info.value)
    assert "--offline" in message and "sqlite:///mlflow.db" in message
    assert "secret" not in message
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "0"


def test_local_stores_are_always_reachable(tmp_path: Path) -> None:
    check_reachable(f"sqlite:///{tmp_path / 'mlflow.db'}")
    check_reachable(str(tmp_path))
    assert not is_remote("sqlite:///x.db") and is_remote("https://mlflow.example.org")
    assert offline_uri(tmp_path) == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"


@pytest.fixture(scope="module")
def tiny_spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("faults")
    return write_spec(folder, "faults", {"source": "synthetic", "n_households": 2_000})


def _cli(args: list[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MLFLOW_DISABLE_TELEMETRY": "true"}
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run(
        [sys.executable, "-m", "targeting.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        **kwargs,
    )


@pytest.mark.slow
def test_cli_unreachable_server_fails_fast_and_offline_proceeds(tiny_spec: Path) -> None:
    folder = tiny_spec.parent.parent
    done = _cli(
        [
            "run",
            str(tiny_spec),
            "--quiet",
            "--output",
            str(folder / "o1"),
            "--tracking-uri",
            f"http://127.0.0.1:{_closed_port()}",
        ],
        folder,
        timeout=120,
    )
    assert done.returncode != 0
    assert "cannot reach the MLflow tracking server" in done.stderr
    # it failed before any work: nothing was computed or written
    assert not (folder / "o1").exists()
    assert "Traceback" not in done.stderr
    done = _cli(
        [
            "run",
            str(tiny_spec),
            "--quiet",
            "--offline",
            "--output",
            str(folder / "o2"),
            "--tracking-uri",
            f"http://127.0.0.1:{_closed_port()}",
        ],
        folder,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (folder / "mlflow.db").exists() and (folder / "o2" / "plan.csv").exists()


# --- (a) + (c) a run killed while writing, then re-run ----------------------------------------

_KILLER = textwrap.dedent(
    """
    import os, signal, sys
    import targeting.plan.workbook as wb

    # Ctrl-C as a terminal delivers it: a suite started in the background of a non-interactive
    # shell (nohup ... &) hands its children SIGINT ignored, and Python then installs no handler
    signal.signal(signal.SIGINT, signal.default_int_handler)

    def _save(workbook, path):
        with open(path, "wb") as handle:
            handle.write(b"PK half a workbook")
            handle.flush()
        os.kill(os.getpid(), signal.SIG{sig})

    wb._save = _save
    from targeting.cli.main import main
    sys.exit(main(sys.argv[1:]))
    """
)


def _snapshot(out: Path) -> dict[str, bytes]:
    return {
        p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.suffix == ".csv" and p.is_file()
    }


def _cells(path: Path) -> dict[str, list[list[object]]]:
    import openpyxl

    book = openpyxl.load_workbook(path)
    return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in book}


@pytest.fixture(scope="module")
def complete_run(tiny_spec: Path) -> Path:
    """The outputs of one complete untracked run, shared by the killed-run tests."""
    folder = tiny_spec.parent.parent
    out = folder / "complete"
    args = ["run", str(tiny_spec), "--quiet", "--no-tracking", "--output", str(out)]
    first = _cli(args, folder, timeout=600)
    assert first.returncode == 0, first.stderr[-2000:]
    return out


@pytest.mark.slow
@pytest.mark.parametrize("sig", ["KILL", "INT"])
def test_killed_run_leaves_complete_outputs_and_rerun_matches(
    tiny_spec: Path, complete_run: Path, sig: str
) -> None:
    folder = tiny_spec.parent.parent
    out = folder / f"killed-{sig}"
    shutil.copytree(complete_run, out)  # the outputs of an earlier complete run
    args = ["run", str(tiny_spec), "--quiet", "--no-tracking", "--output", str(out)]
    reference, workbook_bytes = _snapshot(out), (out / "verification_plan.xlsx").read_bytes()

    killer = folder / f"killer_{sig}.py"
    killer.write_text(_KILLER.format(sig=sig))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    killed = subprocess.run(
        [sys.executable, str(killer), *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if sig == "KILL":
        assert killed.returncode == -signal.SIGKILL
    else:
        assert killed.returncode == 130, killed.stderr[-2000:]
        assert "interrupted" in killed.stderr
        assert _leftovers(out) == []  # Ctrl-C: the writer cleaned up after itself
    # the workbook is the old complete one, never the half-written bytes
    assert (out / "verification_plan.xlsx").read_bytes() == workbook_bytes
    # every CSV present is complete (plan.csv and not_ranked.csv were rewritten identically)
    for name, data in _snapshot(out).items():
        assert data == reference[name], name
    remove_stale_parts(out)  # a killed process leaves hidden temporary files; a run sweeps them
    assert _leftovers(out) == []

    again = _cli(args, folder, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert _snapshot(out) == reference
    assert _cells(out / "verification_plan.xlsx") == _cells_from_bytes(workbook_bytes, folder)
    assert _leftovers(out) == []


def _cells_from_bytes(data: bytes, folder: Path) -> dict[str, list[list[object]]]:
    path = folder / "reference.xlsx"
    path.write_bytes(data)
    return _cells(path)


# --- (d) a failed logging leaves no run RUNNING -----------------------------------------------


@pytest.mark.slow
def test_failed_logging_marks_runs_failed(tiny_spec: Path, monkeypatch) -> None:
    import mlflow

    from targeting import tracking
    from targeting.config.experiment import load_experiment_spec
    from targeting.pipeline import run_cycle

    folder = tiny_spec.parent.parent
    monkeypatch.chdir(folder)
    result = run_cycle(load_experiment_spec(tiny_spec), output=folder / "d-out")

    def broken(*args, **kwargs):
        raise RuntimeError("artifact store went away")

    monkeypatch.setattr(tracking, "log_fan_chart", broken)
    uri = f"sqlite:///{folder / 'failed.db'}"
    with pytest.raises(RuntimeError, match="artifact store went away"):
        tracking.log_cycle(result, tracking_uri=uri)
    assert mlflow.active_run() is None
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.get_experiment_by_name("faults")
    runs = mlflow.search_runs([experiment.experiment_id], output_format="list")
    status = {r.data.tags.get("kind"): r.info.status for r in runs if r.data.tags.get("kind")}
    assert runs and all(r.info.status != "RUNNING" for r in runs)
    assert status["cycle"] == "FAILED" and status["scenario"] == "FAILED"
    assert status["model"] == "FINISHED"
