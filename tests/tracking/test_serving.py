"""The champion served over HTTP by `mlflow models serve` answers like `targeting score`.

The server runs in the current environment (``--env-manager local``) on a free loopback port,
with the shared small cycle's temporary store as ``MLFLOW_TRACKING_URI``. Every wait is bounded
and the server is always stopped.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from targeting.cli.main import main
from targeting.data import schema
from tests.helpers.planted import NIK, bad_requests, request_body

STARTUP_SECONDS = 120


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"mlflow models serve exited early:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        time.sleep(0.5)
    pytest.fail(f"mlflow models serve not ready in {STARTUP_SECONDS} s:\n{log.read_text()[-3000:]}")


def test_served_champion_matches_targeting_score(small_cycle: dict, tmp_path: Path) -> None:
    from targeting.data.synthetic import generate_city

    rows = generate_city(n_households=1_000, seed=123).registry.head(40)
    registry_file = tmp_path / "rows.csv"
    rows.to_csv(registry_file, index=False)
    scores_file = tmp_path / "scores.csv"
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(
            ["score", str(registry_file), "--output", str(scores_file)]
            + ["--tracking-uri", small_cycle["uri"], "--experiment", small_cycle["experiment"]]
        )
    assert code == 0
    scored = pd.read_csv(scores_file, dtype={"household_id": str}).set_index("household_id")

    port = _free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": small_cycle["uri"]}
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    # the server execs `uvicorn` by name: the venv's bin folder must be on PATH
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    log = tmp_path / "serve.log"
    mlflow_cli = [sys.executable, "-m", "mlflow"]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                *mlflow_cli,
                "models",
                "serve",
                "-m",
                f"models:/{small_cycle['experiment']}-pmt@champion",
            ]
            + ["--env-manager", "local", "-p", str(port), "-h", "127.0.0.1", "--workers", "1"],
            env=env,
            cwd=tmp_path,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_ready(f"http://127.0.0.1:{port}/ping", process, log)
        frame = rows[schema.MODEL_COLUMNS]
        body = json.dumps({"dataframe_split": json.loads(frame.to_json(orient="split"))})
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as reply:
                answer = json.loads(reply.read())
        except urllib.error.HTTPError as exc:
            pytest.fail(f"/invocations answered {exc.code}: {exc.read()[:2000]!r}")
        # personal data typed where it does not belong is refused, and never repeated
        refusals = {}
        for case, frame in bad_requests(rows.head(5)).items():
            bad = urllib.request.Request(
                f"http://127.0.0.1:{port}/invocations",
                data=request_body(frame).encode(),
                headers={"Content-Type": "application/json"},
            )
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(bad, timeout=60)
            refusals[case] = (refused.value.code, refused.value.read().decode())
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)
    served = pd.DataFrame(answer["predictions"])
    # the served model answers with the same named columns as targeting score
    assert list(served.columns) == ["p_extreme", "p_low", "p_high", "desil"]
    expected = scored.loc[rows["household_id"].astype(str)].reset_index(drop=True)
    for column in ["p_extreme", "p_low", "p_high"]:
        np.testing.assert_allclose(served[column], expected[column], rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(served["desil"].to_numpy(), expected["desil"].to_numpy())
    server_log = log.read_text(errors="replace")
    for case, (status, text) in refusals.items():
        assert status == 400, (case, text[:500])
        for planted in (NIK, NIK[:12], "Zzyzx", "Planted"):
            assert planted not in text, case
            assert planted not in server_log, case
