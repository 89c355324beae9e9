"""Official-series baseline: panel loading, forecasts on the log-odds, rolling-origin backtest."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from targeting.data.paths import shared_data_dir
from targeting.forecast.series import (
    backtest,
    crps_gaussian,
    forecast_rate,
    load_provincial_panel,
)

PANEL = shared_data_dir() / "indonesia-bps-poverty" / "provinsi_p0_maret_2019_2024.csv"
pytestmark = pytest.mark.skipif(not PANEL.exists(), reason="shared data not present")


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return load_provincial_panel(PANEL)


def test_load_panel(panel: pd.DataFrame) -> None:
    assert len(panel) == 228
    assert int(panel["p0"].isna().sum()) == 20
    assert list(panel.columns) == ["province_code", "province", "year", "p0"]
    banten = panel[panel["province_code"] == 36].set_index("year")["p0"]
    assert banten.loc[2023] == pytest.approx(6.17)
    assert panel["year"].min() == 2019 and panel["year"].max() == 2024


def test_backtest_finite(panel: pd.DataFrame) -> None:
    bt = backtest(panel, methods=("ets", "naive", "drift"), min_train=3)
    assert list(bt["method"]) == ["ets", "naive", "drift"]
    assert (bt["n"] > 50).all()
    for col in ("MASE", "MAE", "coverage", "CRPS"):
        assert np.isfinite(bt[col]).all(), col
    assert ((bt["coverage"] >= 0) & (bt["coverage"] <= 1)).all()
    # six annual points: ETS falls back to drift everywhere, and says so
    ets = bt.set_index("method").loc["ets"]
    assert ets["share_fallback"] == 1.0
    assert ets["MASE"] == pytest.approx(bt.set_index("method").loc["drift", "MASE"])


def test_short_series_use_the_backtest_winner(panel: pd.DataFrame) -> None:
    banten = panel[panel["province_code"] == 36].set_index("year")["p0"]
    fc = forecast_rate(banten, horizon=3, method="auto", level=0.8)
    bt = backtest(panel, methods=("naive", "drift"), min_train=3)
    winner = bt.sort_values(["MASE", "CRPS"]).iloc[0]["method"]
    assert (fc["method_used"] == winner).all()
    assert forecast_rate(banten, 1, method="ets")["method_used"].iloc[0] == "drift"
    assert list(fc["period"]) == [2025, 2026, 2027]
    assert ((fc["lower"] < fc["median"]) & (fc["median"] < fc["upper"])).all()
    assert (fc["lower"] > 0).all() and (fc["upper"] < 100).all()
    assert (np.diff(fc["upper"] - fc["lower"]) > 0).all()  # intervals widen


def test_ets_on_long_series() -> None:
    rng = np.random.default_rng(0)
    s = pd.Series(3 + 10 * np.exp(-np.arange(14) / 8) + rng.normal(0, 0.1, 14))
    fc = forecast_rate(s, horizon=2)
    assert (fc["method_used"] == "ets").all()
    assert np.isfinite(fc[["median", "lower", "upper"]].to_numpy()).all()
    with pytest.raises(ValueError, match="method"):
        forecast_rate(s, 1, method="arima")


def test_crps_gaussian() -> None:
    # CRPS of N(0,1) at 0 is (sqrt(2) - 1) / sqrt(pi)
    assert crps_gaussian(0.0, 0.0, 1.0) == pytest.approx((np.sqrt(2) - 1) / np.sqrt(np.pi))
    assert crps_gaussian(2.0, 0.5, 0.0) == pytest.approx(1.5)


def test_forecast_series_command_json(capsys: pytest.CaptureFixture) -> None:
    import json

    from targeting.cli.main import main

    assert main(["forecast-series", "--json", "--data", str(PANEL.parent)]) == 0
    out = json.loads(capsys.readouterr().out)
    methods = {r["method"] for r in out["backtest"]}
    assert {"naive", "drift", "ets"} <= methods
    for r in out["backtest"]:
        assert np.isfinite(r["MASE"]) and 0 <= r["coverage"] <= 1 and r["CRPS"] > 0
    assert out["auto_short_series_method"] == out["backtest_winner_by_mase"]
    assert len(out["banten"]["forecast"]) == 3
    assert out["kota_serang"]["years_used"] == [2019, 2020, 2021, 2022, 2023, 2024]
    f = out["kota_serang"]["forecast"][0]
    assert f["lower"] < f["median"] < f["upper"]
