"""Forecast scenarios: the capacity and the uncertain dynamics of one what-if (DESIGN §6).

A :class:`Scenario` is an immutable bundle of parameters. Ranges (``(low, high)`` tuples) are
*uncertainty*: the simulation draws one value per Monte Carlo path (see
:func:`targeting.forecast.stockflow.simulate`). Scenarios are usually read from the
``forecast:`` block of an experiment YAML with :func:`scenarios_from_spec`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any

import pandas as pd

from targeting.config.experiment import ForecastSection

__all__ = ["CENTRES", "Scenario", "scenarios_from_spec"]

#: Central (most likely) values of the uncertain rates, DESIGN §6. A range that contains its
#: centre is drawn from a triangular distribution with this mode; otherwise from a uniform.
CENTRES: dict[str, float] = {
    "exit_rate_per_year": 0.20,
    "entry_rate_per_year": 0.01,
    "graduation_rate_per_year": 0.05,
    "shock_size": 0.10,
    "enrolment_lag_months": 1,
}

_RANGE_FIELDS = (
    "enrolment_lag_months",
    "exit_rate_per_year",
    "entry_rate_per_year",
    "graduation_rate_per_year",
    "shock_size",
)


@dataclass(frozen=True)
class Scenario:
    """One forecast scenario.

    Parameters
    ----------
    name : str
        Label used in tables, plots and MLflow run names.
    operators : int
        Verification operators working in the field.
    visits_per_day : float or tuple of float
        Household visits per operator-day; a ``(low, high)`` range is drawn uniformly per path.
    workdays_per_month : int
        Field days per month.
    enrolment_lag_months : tuple of int
        ``(low, high)`` months between a find and the enrolment in a programme. Drawn per path
        from a discrete triangular distribution with mode 1 (clipped into the range): for the
        default ``(0, 3)`` the probabilities of 0, 1, 2, 3 months are 3/12, 4/12, 3/12, 2/12.
    exit_rate_per_year : tuple of float
        Annual probability that an extremely poor household leaves extreme poverty on its own.
    entry_rate_per_year : tuple of float
        Annual probability that a near-poor household falls into extreme poverty.
    graduation_rate_per_year : tuple of float
        Annual probability that a household enrolled before the start leaves its programmes
        (those still extremely poor return to the unreached stock).
    shock_month : str or None
        ``'YYYY-MM'`` first month of a shock year, or None for no shock.
    shock_size : tuple of float
        Extra share of entrants during the 12 months from ``shock_month``.
    start, end : str
        ``'YYYY-MM'``: the month of the starting state and the last simulated month.
    deadline : str
        Date of the goal (``'YYYY-MM-DD'`` or ``'YYYY-MM'``); its month is evaluated.
    tolerance : int
        The goal is reached when the city's unreached stock is at most this number.
    model : str or None
        Which PMT model's yield curve ranks the finds; the caller supplies the curves.
    """

    name: str = "baseline"
    operators: int = 67
    visits_per_day: float | tuple[float, float] = 2.0
    workdays_per_month: int = 20
    enrolment_lag_months: tuple[int, int] = (0, 3)
    exit_rate_per_year: tuple[float, float] = (0.10, 0.35)
    entry_rate_per_year: tuple[float, float] = (0.005, 0.03)
    graduation_rate_per_year: tuple[float, float] = (0.02, 0.10)
    shock_month: str | None = None
    shock_size: tuple[float, float] = (0.05, 0.15)
    start: str = "2025-10"
    end: str = "2027-12"
    deadline: str = "2026-12-31"
    tolerance: int = 0
    model: str | None = None

    def __post_init__(self) -> None:
        # normalise YAML lists to tuples and validate
        vpd = self.visits_per_day
        if isinstance(vpd, list | tuple):
            vpd = _pair(vpd, "visits_per_day", float)
            if vpd[0] == vpd[1]:
                vpd = vpd[0]
        else:
            vpd = float(vpd)
        object.__setattr__(self, "visits_per_day", vpd)
        for f in _RANGE_FIELDS:
            cast = int if f == "enrolment_lag_months" else float
            object.__setattr__(self, f, _pair(getattr(self, f), f, cast))
        object.__setattr__(self, "operators", int(self.operators))
        object.__setattr__(self, "workdays_per_month", int(self.workdays_per_month))
        object.__setattr__(self, "tolerance", int(self.tolerance))
        lo_v = vpd[0] if isinstance(vpd, tuple) else vpd
        if self.operators < 0 or self.workdays_per_month < 0 or lo_v < 0:
            raise ValueError(f"scenario {self.name!r}: capacity parameters must be >= 0")
        if self.tolerance < 0:
            raise ValueError(f"scenario {self.name!r}: tolerance must be >= 0")
        for f in ("exit_rate_per_year", "entry_rate_per_year", "graduation_rate_per_year"):
            lo, hi = getattr(self, f)
            if not 0.0 <= lo <= hi < 1.0:
                raise ValueError(f"scenario {self.name!r}: {f} must satisfy 0 <= low <= high < 1")
        if self.enrolment_lag_months[0] < 0:
            raise ValueError(f"scenario {self.name!r}: enrolment_lag_months must be >= 0")
        if self.shock_size[0] < 0:
            raise ValueError(f"scenario {self.name!r}: shock_size must be >= 0")
        start, end = self.start_period, self.end_period
        if end <= start:
            raise ValueError(f"scenario {self.name!r}: end {self.end} must be after start")
        if self.shock_month is not None:
            object.__setattr__(self, "shock_month", str(pd.Period(self.shock_month, freq="M")))

    # ------------------------------------------------------------------ periods
    @property
    def start_period(self) -> pd.Period:
        """The month of the starting state."""
        return pd.Period(self.start, freq="M")

    @property
    def end_period(self) -> pd.Period:
        """The last simulated month."""
        return pd.Period(self.end, freq="M")

    @property
    def deadline_period(self) -> pd.Period:
        """The month in which the deadline falls."""
        return pd.Period(self.deadline, freq="M")

    def replace(self, **changes: Any) -> Scenario:
        """Return a copy with some fields changed (validated like a new scenario)."""
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, d: dict, base: Scenario | None = None) -> Scenario:
        """Build a scenario from a mapping, overriding ``base`` (or the defaults).

        Parameters
        ----------
        d : dict
            Keys are field names of :class:`Scenario`; lists become tuples.
        base : Scenario, optional
            The scenario whose values are kept for the keys not in ``d``.

        Returns
        -------
        Scenario

        Raises
        ------
        ValueError
            If ``d`` has keys that are not scenario fields (the message names them).
        """
        if d is None:
            d = {}
        if not isinstance(d, dict):
            raise TypeError(f"a scenario must be a mapping, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            name = d.get("name", base.name if base else "?")
            raise ValueError(
                f"scenario {name!r}: unknown key(s) {unknown}; known keys are {sorted(known)}"
            )
        values = dataclasses.asdict(base) if base is not None else {}
        values.update(d)
        return cls(**values)


def _pair(value: Any, name: str, cast: type) -> tuple:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (cast(value), cast(value))
    try:
        lo, hi = value
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or a (low, high) pair, got {value!r}") from None
    lo, hi = cast(lo), cast(hi)
    if lo > hi:
        raise ValueError(f"{name}: low {lo} is above high {hi}")
    return (lo, hi)


def scenarios_from_spec(spec: ForecastSection | dict) -> list[Scenario]:
    """Read the scenarios of an experiment spec.

    Parameters
    ----------
    spec : ForecastSection or dict
        The checked ``forecast:`` section of an :class:`~targeting.config.experiment.ExperimentSpec`
        (``spec.forecast``), or a parsed experiment YAML. Each scenario overrides the
        ``defaults``, which override the :class:`Scenario` defaults. Without scenarios, one
        scenario is built from the defaults alone.

    Returns
    -------
    list of Scenario

    Raises
    ------
    ValueError
        On unknown keys (named in the message) or duplicate scenario names.
    """
    if isinstance(spec, ForecastSection):
        defaults: dict = spec.defaults.given()
        items: list = [s.given() for s in spec.scenarios] or [{}]
    else:
        fc = (spec or {}).get("forecast") or {}
        defaults = fc.get("defaults") or {}
        items = fc.get("scenarios") or [{}]
    base = Scenario.from_dict(defaults)
    out = [Scenario.from_dict(item or {}, base=base) for item in items]
    names = [s.name for s in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"duplicate scenario names: {dup}")
    return out
