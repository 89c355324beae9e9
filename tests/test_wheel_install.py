"""A built wheel works outside the source tree: model specs and resources travel inside it.

The wheel is built from a copy of the source (the checkout is left untouched), installed without
dependencies into a fresh virtual environment that borrows the test environment's installed
packages through a ``.pth`` line (a path line only extends ``sys.path``: the editable install's
finder in that folder is not run), and ``targeting run`` runs a small spec from an unrelated
folder that has no ``models/`` folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # builds a wheel and runs a small cycle: about a minute

_NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    "outputs",
    "mlruns",
    "mlartifacts",
    "mlflow.db",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "tests",
    "benchmarks",
)


def small_spec() -> dict:
    """A small spec written from scratch (no file of the checkout is read)."""
    return {
        "name": "wheel-smoke",
        "seed": 7,
        "data": {"source": "synthetic", "n_households": 3000, "survey_fraction": 0.1},
        "models": ["ols", "logit"],
        "evaluation": {"n_splits": 2, "group": "kelurahan"},
        "plan": {"operators": 6, "visits_per_day": 2, "workdays": 5},
        "forecast": {"n_paths": 50, "scenarios": [{"name": "baseline"}]},
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source") / "targeting-src"
    shutil.copytree(REPO, source, symlinks=True, ignore=_NOT_SOURCE)
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(source)],
        check=True,
        capture_output=True,
        text=True,
    )
    (built,) = dist.glob("targeting-*.whl")
    return built


def test_wheel_holds_the_model_and_experiment_specs(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    packaged = {p.name for p in (REPO / "targeting/data/resources/models").glob("*.yaml")}
    assert packaged, "no packaged model specs in the source tree"
    for name in packaged:
        assert f"targeting/data/resources/models/{name}" in names
    assert "targeting/data/resources/experiments/serang-2026.yaml" in names
    assert "targeting/data/resources/header_mapping.yaml" in names


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    env_dir = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True, timeout=300
    )
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # the test environment's packages (numpy, scikit-learn, mlflow...), not its editable finder
    (Path(site) / "_test_env_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q"]
        + ["--no-index", str(wheel)],
        check=True,
        capture_output=True,
        text=True,
    )
    return env_dir


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MLFLOW_TRACKING_URI")}
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    return env


def test_installed_wheel_runs_a_spec_from_another_folder(venv: Path, tmp_path: Path) -> None:
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import targeting; print(targeting.__file__)"],
        cwd=work,
        env=_clean_env(),
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(venv), f"targeting imported from {where}, not the wheel"
    spec = work / "smoke.yaml"
    spec.write_text(yaml.safe_dump(small_spec()))
    uri = f"sqlite:///{work / 'store' / 'mlflow.db'}"
    (work / "store").mkdir()
    done = subprocess.run(
        [str(venv / "bin" / "targeting"), "run", str(spec), "--json", "--quiet"]
        + ["--tracking-uri", uri],
        cwd=work,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    plan = work / "outputs" / "wheel-smoke" / "plan.csv"
    assert plan.exists()
    assert summary["planned"] > 0
    assert {m["model"] for m in summary["models"]} == {"ols", "logit"}
