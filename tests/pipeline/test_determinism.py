"""Same inputs, spec and seed: the same outputs, byte for byte, and the same MLflow metrics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers.defects import write_spec

pytestmark = pytest.mark.slow

BYTE_FILES = [
    "plan.csv",
    "not_ranked.csv",
    "rejected.csv",
    "model_comparison.csv",
    "forecast_summary.csv",
    "forecast_city_quantiles.csv",
]


def _run(spec: Path, out: Path, threads: int, tracking: str | None) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MLFLOW_DISABLE_TELEMETRY": "true"}
    env.pop("MLFLOW_TRACKING_URI", None)
    track = ["--tracking-uri", tracking] if tracking else ["--no-tracking"]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "targeting.cli",
            "run",
            str(spec),
            "--json",
            "--quiet",
            "--output",
            str(out),
            *track,
        ],
        cwd=spec.parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def _cells(path: Path) -> dict:
    import openpyxl

    book = openpyxl.load_workbook(path)
    return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in book}


def _comparable(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in {"outputs", "mlflow"}}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("determinism")
    spec = write_spec(folder, "determinism", {"source": "synthetic", "n_households": 2_000})
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    return {
        "a": (_run(spec, folder / "a", 1, uri), folder / "a"),
        "b": (_run(spec, folder / "b", 1, uri), folder / "b"),
        "two_threads": (_run(spec, folder / "c", 2, None), folder / "c"),
        "uri": uri,
    }


def test_two_runs_are_byte_identical(runs: dict) -> None:
    (sa, a), (sb, b) = runs["a"], runs["b"]
    for name in BYTE_FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert _cells(a / "verification_plan.xlsx") == _cells(b / "verification_plan.xlsx")
    assert _comparable(sa) == _comparable(sb)


def test_two_runs_log_the_same_metrics(runs: dict) -> None:
    import mlflow

    mlflow.set_tracking_uri(runs["uri"])
    client = mlflow.MlflowClient()
    metrics = []
    for summary, _ in (runs["a"], runs["b"]):
        run = client.get_run(summary["mlflow"]["run_id"])
        metrics.append(run.data.metrics)
        assert run.data.tags["data_fingerprint"] == summary["data_fingerprint"]
    assert metrics[0] == metrics[1]


def _factor_is_canonical() -> bool:
    """Whether the coefficient draws use a basis-free square root (symmetric), which BLAS
    threading cannot rotate; the eigenvector basis of a singular covariance can differ."""
    from targeting.pmt.linear import mvn_factor

    cov = np.diag([1.0, 1.0, 0.0])
    factor = mvn_factor(cov)
    return bool(np.allclose(factor, factor.T))


def test_one_and_two_blas_threads_agree(runs: dict) -> None:
    (s1, a), (s2, c) = runs["a"], runs["two_threads"]
    for name in BYTE_FILES:
        x = pd.read_csv(a / name, dtype=str, keep_default_na=False)
        y = pd.read_csv(c / name, dtype=str, keep_default_na=False)
        assert list(x.columns) == list(y.columns) and len(x) == len(y), name
        for column in x.columns:
            if (x[column] == y[column]).all():
                continue
            if column in {"p_low", "p_high"} and not _factor_is_canonical():
                pytest.xfail(
                    "interval draws use the eigenvector basis of a singular covariance, which "
                    "depends on BLAS threads (issue #7 report: symmetric square root)"
                )
            u = pd.to_numeric(x[column], errors="coerce").to_numpy(dtype=float)
            v = pd.to_numeric(y[column], errors="coerce").to_numpy(dtype=float)
            assert np.isfinite(u).sum() == (x[column] != "").sum(), (name, column)
            np.testing.assert_allclose(u, v, rtol=1e-9, atol=1e-12, err_msg=f"{name}:{column}")
    assert s1["plan"] == s2["plan"]
