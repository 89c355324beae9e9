"""Forecasting toward zero extreme poverty: stock-flow Monte Carlo, scenarios, official series.

Importing this package is light: statsmodels and matplotlib are imported only when used, and
the official-series functions (which need scipy.stats, ~60 MB) load on first access, so a
stock-flow forecast does not carry them.
"""

from typing import Any

from targeting.forecast.scenarios import Scenario, scenarios_from_spec
from targeting.forecast.stockflow import (
    CityState,
    ForecastResult,
    capacity_needed,
    fan_chart,
    simulate,
    tornado,
)

_SERIES = ("backtest", "forecast_rate", "load_provincial_panel")

__all__ = [
    "CityState",
    "ForecastResult",
    "Scenario",
    "backtest",
    "capacity_needed",
    "fan_chart",
    "forecast_rate",
    "load_provincial_panel",
    "scenarios_from_spec",
    "simulate",
    "tornado",
]


def __getattr__(name: str) -> Any:
    if name in _SERIES:
        from targeting.forecast import series

        return getattr(series, name)
    raise AttributeError(f"module 'targeting.forecast' has no attribute {name!r}")
