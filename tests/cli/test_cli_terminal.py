"""What the terminal shows: ``--version``, a read-only ``doctor``, and a ``run`` without MLflow
chatter; and where the commands find their specs when run outside the checkout."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import targeting
from targeting.cli.main import main
from targeting.data.packaged import (
    experiment_path,
    model_spec_files,
    packaged_experiments_dir,
    packaged_models_dir,
)
from targeting.pmt.build import load_specs
from tests.helpers.cli import run_cli

REPO = Path(__file__).resolve().parents[2]


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"targeting {targeting.__version__}"


def test_doctor_does_not_create_the_tracking_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    code, stdout, _ = run_cli(["doctor", "--json"])
    assert not (tmp_path / "mlflow.db").exists(), "doctor created mlflow.db"
    assert list(tmp_path.iterdir()) == [], "doctor wrote into the working folder"
    checks = {c["check"]: c for c in yaml.safe_load(stdout)["checks"]}
    store = checks["tracking store"]
    assert store["ok"] and "not created yet" in store["detail"]
    # the packaged specs are found from a folder that has no models/ or experiments/
    assert checks["model specs"]["ok"] and "ols (packaged)" in checks["model specs"]["detail"]
    assert checks["default experiment spec"]["ok"]
    assert code in (0, 1)  # 1 only when a required package or real-data file is missing


def test_doctor_reads_an_existing_store_without_changing_it(tmp_path: Path) -> None:
    import mlflow

    db = tmp_path / "mlflow.db"
    uri = f"sqlite:///{db}"
    mlflow.set_tracking_uri(uri)
    mlflow.MlflowClient().create_experiment("doctor-check")
    mlflow.set_tracking_uri("")
    before = db.read_bytes()
    _, stdout, _ = run_cli(["doctor", "--json", "--tracking-uri", uri])
    store = {c["check"]: c for c in yaml.safe_load(stdout)["checks"]}["tracking store"]
    assert store["ok"] and "2 experiment(s)" in store["detail"]  # Default + doctor-check
    assert db.read_bytes() == before


def test_packaged_specs_resolve_outside_the_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert experiment_path() == packaged_experiments_dir() / "serang-2026.yaml"
    assert experiment_path("serang-2026") == packaged_experiments_dir() / "serang-2026.yaml"
    assert (
        experiment_path("experiments/data/costa-rica.yaml")
        == packaged_experiments_dir() / "data" / "costa-rica.yaml"
    )
    missing = Path("experiments/nothing.yaml")
    assert experiment_path(missing) == missing
    files = model_spec_files()
    assert files and all(p.parent == packaged_models_dir() for p in files.values())


def test_a_users_model_spec_overrides_the_packaged_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    packaged = yaml.safe_load((packaged_models_dir() / "logit.yaml").read_text())
    packaged["description"] = "my own logit"
    (tmp_path / "models" / "logit.yaml").write_text(yaml.safe_dump(packaged))
    (logit,) = load_specs(names=["logit"])
    assert logit.description == "my own logit"
    (ols,) = load_specs(names=["ols"])  # the rest still come from the package
    assert ols.description
    # beside an experiment spec elsewhere, that folder's models/ wins over the working folder's
    other = tmp_path / "project"
    (other / "models").mkdir(parents=True)
    packaged["description"] = "the project's logit"
    (other / "models" / "logit.yaml").write_text(yaml.safe_dump(packaged))
    spec_path = other / "experiments" / "x.yaml"
    (logit,) = load_specs(names=["logit"], spec_path=spec_path)
    assert logit.description == "the project's logit"


def test_the_checkout_keeps_one_copy_of_each_spec() -> None:
    for folder in ("models", "experiments"):
        link = REPO / folder
        assert link.is_symlink(), f"{folder}/ must link to the packaged folder (one copy)"
        assert link.resolve() == (REPO / "targeting/data/resources" / folder).resolve()


def test_quiet_mlflow_restores_the_users_logging() -> None:
    from targeting.tracking.quiet import quiet_mlflow

    logger = logging.getLogger("mlflow")
    before = logger.level
    with quiet_mlflow():
        assert logging.getLogger("mlflow").getEffectiveLevel() >= logging.ERROR
    assert logger.level == before


_FROM_MLFLOW = re.compile(r"mlflow|alembic|sqlalchemy", re.I)
_LEVELS = re.compile(r"\bINFO\b|warning", re.I)
_REGISTRATION = re.compile(r"Created version '|registered model '", re.I)


@pytest.mark.slow
def test_run_prints_no_mlflow_info_or_warning(tmp_path: Path) -> None:
    """A tracked ``targeting run`` (a separate process, as a user runs it) prints none of
    MLflow's INFO lines, warnings or registration messages."""
    raw = yaml.safe_load((REPO / "experiments" / "serang-2026.yaml").read_text())
    raw.update(name="quiet-check", models=["ols", "logit"])
    raw["data"]["n_households"] = 3000
    raw["data"]["survey_fraction"] = 0.1
    raw["evaluation"]["n_splits"] = 2
    raw["forecast"]["n_paths"] = 50
    raw["forecast"]["scenarios"] = [{"name": "baseline"}]
    spec = tmp_path / "quiet.yaml"
    spec.write_text(yaml.safe_dump(raw))
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-m", "targeting.cli", "run", str(spec)]
        + ["--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "mlflow.db").exists()  # it did log
    noisy = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        if (_FROM_MLFLOW.search(line) and _LEVELS.search(line)) or _REGISTRATION.search(line)
    ]
    assert noisy == []
    # the step counter ends at its total (a step added to the cycle is counted)
    counters = [
        tuple(map(int, m.groups()))
        for m in re.finditer(r"^\[(\d+)/(\d+)\] .*: done in", done.stderr, re.MULTILINE)
    ]
    assert counters and counters[-1][0] == counters[-1][1], counters[-3:]
