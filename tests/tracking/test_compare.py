"""`targeting compare`: models and scenarios of a cycle run, side by side from MLflow."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pandas as pd

from targeting.cli.main import main


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def test_compare_json_sorted(small_cycle: dict) -> None:
    code, out, _ = _run(
        ["compare", small_cycle["experiment"], "--json", "--sort", "auc"]
        + ["--tracking-uri", small_cycle["uri"]]
    )
    assert code == 0
    payload = json.loads(out)
    assert payload["run_id"] == small_cycle["run_id"]
    models = payload["models"]
    assert {m["model"] for m in models} == set(small_cycle["spec"]["models"])
    aucs = [m["auc"] for m in models]
    assert aucs == sorted(aucs, reverse=True)
    expected = {m["model"]: m["auc"] for m in small_cycle["summary"]["models"]}
    assert {m["model"]: m["auc"] for m in models} == expected
    roles = {m["model"]: m["role"] for m in models}
    assert roles[small_cycle["summary"]["champion"]] == "champion"
    scenarios = {s["scenario"]: s for s in payload["scenarios"]}
    for row in small_cycle["summary"]["forecast"]:
        assert scenarios[row["scenario"]]["p_goal"] == row["p_goal"]


def test_compare_csv_and_explicit_run(small_cycle: dict, tmp_path: Path) -> None:
    target = tmp_path / "comparison.csv"
    code, out, _ = _run(
        ["compare", small_cycle["experiment"], "--run", small_cycle["run_id"]]
        + ["--sort", "ee_at_true_share", "--csv", str(target), "--tracking-uri", small_cycle["uri"]]
    )
    assert code == 0 and "champion" in out
    frame = pd.read_csv(target)
    assert set(frame["kind"]) == {"model", "scenario"}
    models = frame[frame["kind"] == "model"]
    assert models["ee_at_true_share"].is_monotonic_increasing


def test_compare_errors_are_one_sentence(small_cycle: dict) -> None:
    uri = ["--tracking-uri", small_cycle["uri"]]
    for argv in (
        ["compare", "no-such-experiment", *uri],
        ["compare", small_cycle["experiment"], "--run", "0" * 32, *uri],
        ["compare", small_cycle["experiment"], "--sort", "no_such_metric", *uri],
    ):
        code, out, err = _run(argv)
        assert code == 2 and out == ""
        assert err.startswith("targeting compare: ") and err.count("\n") == 1
        assert "Traceback" not in err
