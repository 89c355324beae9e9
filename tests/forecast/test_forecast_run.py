"""``targeting forecast`` end to end on a small synthetic city (20,000 households)."""

from __future__ import annotations

import json
import sqlite3

import pytest
import yaml

from targeting.config.experiment import resolve_relative_dates
from tests.helpers import REPO
from tests.helpers.cli import run_cli, small_spec

pytestmark = pytest.mark.slow  # about 30-60 s: synthetic city, fits, simulations, MLflow


@pytest.fixture(scope="module")
def small_forecast(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("forecast")

    def shrink(raw: dict) -> None:
        raw["data"]["n_households"] = 20_000

    spec_path, _ = small_spec(folder, "forecast-small", shrink)
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    out = folder / "outputs"
    code, stdout, _ = run_cli(
        ["forecast", str(spec_path), "--json", "--quiet", "--model", "logit"]
        + ["--n-paths", "200", "--capacity-paths", "100", "--seed", "5", "--calibrate"]
        + ["--output", str(out), "--tracking-uri", uri]
    )
    assert code == 0
    return {"summary": json.loads(stdout), "folder": folder, "out": out, "uri": uri}


def _scenario_names() -> list[str]:
    raw = yaml.safe_load((REPO / "experiments" / "serang-2026.yaml").read_text())
    names = [s["name"] for s in raw["forecast"]["scenarios"]]
    assert {"baseline", "double_capacity", "shock_2026"} <= set(names)
    # --calibrate adds the first scenario again with the ranges fitted to the 2023 campaign
    return [*names, f"{names[0]}_calibrated"]


def test_json_keys(small_forecast: dict) -> None:
    s = small_forecast["summary"]
    for key in (
        "scenarios",
        "seed",
        "n_paths",
        "data_vintage",
        "scoring_model",
        "goal_month_distribution",
        "tornado",
        "mlflow",
    ):
        assert key in s, key
    assert s["seed"] == 5 and s["n_paths"] == 200 and s["scoring_model"] == "logit"
    names = [x["scenario"] for x in s["scenarios"]]
    assert names == _scenario_names()
    for sc in s["scenarios"]:
        assert 0 <= sc["p_goal"] <= 1 and sc["p_goal_se"] >= 0
        assert "median_goal_month" in sc
        caps = sc["capacity_needed"]
        assert {(c["goal"], c["parameter"]) for c in caps} == {
            (g, p) for g in ("goal", "near_zero") for p in ("operators", "visits_per_day")
        }
        for c in caps:
            assert (c["value"] is None) == (c["reason"] is not None)
    by = {x["scenario"]: x for x in s["scenarios"]}
    assert by["double_capacity"]["p_goal"] >= by["baseline"]["p_goal"]
    assert by["double_capacity"]["p_near_zero"] >= by["baseline"]["p_near_zero"]
    assert s["tornado"]["metric"] == "deadline_median" and s["tornado"]["rows"]


def test_outputs_written(small_forecast: dict) -> None:
    out = small_forecast["out"]
    for name in (
        "forecast_summary.csv",
        "forecast_capacity.csv",
        "forecast_quantiles_kecamatan.csv",
        "fan_baseline_city.png",
        "tornado.png",
        "goal_months.png",
    ):
        assert (out / name).stat().st_size > 0, name
    baseline_fans = [p for p in out.glob("fan_baseline_*.png") if "calibrated" not in p.name]
    assert len(baseline_fans) == 7  # city + 6 kecamatan
    assert (out / "fan_baseline_calibrated_city.png").exists()


def test_mlflow_parent_and_nested_runs(small_forecast: dict) -> None:
    s = small_forecast["summary"]["mlflow"]
    assert set(s["scenario_runs"]) == set(_scenario_names())
    db = small_forecast["uri"].removeprefix("sqlite:///")
    with sqlite3.connect(db) as con:
        parent = con.execute(
            "select value from tags where run_uuid = ? and key = 'kind'", (s["run_id"],)
        ).fetchone()
        children = con.execute(
            "select count(*) from tags where key = 'mlflow.parentRunId' and value = ?",
            (s["run_id"],),
        ).fetchone()
        params = dict(
            con.execute(
                "select key, value from params where run_uuid = ?",
                (s["scenario_runs"]["baseline"],),
            ).fetchall()
        )
    assert parent == ("forecast",) and children == (len(_scenario_names()),)
    # the default spec's vintage is "auto": the month the spec was read in
    vintage = resolve_relative_dates({"data": {"vintage": "auto"}})["data"]["vintage"]
    assert params["seed"] == "5" and params["data_vintage"] == vintage
