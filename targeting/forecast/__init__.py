"""Forecasting toward zero extreme poverty: stock-flow Monte Carlo, scenarios, official series.

Importing this package is light: statsmodels and matplotlib are imported only when used.
"""

from targeting.forecast.scenarios import Scenario, scenarios_from_spec
from targeting.forecast.series import backtest, forecast_rate, load_provincial_panel
from targeting.forecast.stockflow import (
    CityState,
    ForecastResult,
    capacity_needed,
    fan_chart,
    simulate,
    tornado,
)

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
