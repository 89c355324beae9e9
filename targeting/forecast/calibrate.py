"""Calibrate the forecast's uncertain rates to what was observed (rejection ABC).

Approximate Bayesian computation by rejection, using the stock-flow simulator itself
(:func:`targeting.forecast.stockflow.simulate`):

1. **Prior.** A scenario whose ranges are the prior: every Monte Carlo path draws its own
   visits per operator-day, enrolment lag, exit, entry and graduation rates and shock size,
   exactly as a forecast does (uniform, or triangular with the DESIGN §6 mode; see
   :mod:`targeting.forecast.stockflow`). One ``simulate`` call with ``n_paths`` paths is
   therefore ``n_paths`` prior draws *and* their simulated data, vectorised.
2. **Distance.** For every :class:`Target` the path's statistic (city unreached stock, finds so
   far, or visits the capacity allowed so far) at the target's month is compared with the
   observed count, scaled by ``tolerance * observed``; the distance is the Euclidean norm of
   the scaled differences.
3. **Accept.** Paths within distance 1 (every target inside its tolerance, the "ε-ball") are
   the posterior sample. If fewer than ``min_accept`` fall in the ball, the ``min_accept``
   nearest are kept instead and ``ResultABC.threshold`` (> 1) says how wide the ball had to be.

The posterior quantiles then replace the scenario ranges (:meth:`ABCResult.calibrated_scenario`).
A parameter that the targets do not inform keeps a posterior equal to its prior: the table's
``width_ratio`` (posterior 90 % width / prior 90 % width) near 1 says so.

Observed targets for Kota Serang (:func:`serang_2023_campaign`)
----------------------------------------------------------------
=========================================  ===========  =========================================
quantity                                   value        source (DESIGN.md §6, §7)
=========================================  ===========  =========================================
KK on the P3KE extreme-poverty list         8,799        Dinsos Kota Serang 2023 (P3KE, Aug 2023)
verification campaign duration              ~16 weeks    same; 16 weeks x 5 days = 80 workdays,
                                                         read as 16 +/- 1 week (tolerance 1/16)
operators (one per kelurahan)               67           Dinsos Kota Serang 2023
unreached after verification                3,784        ~57 % of the list already reached
                                                         (DESIGN §7)
=========================================  ===========  =========================================

The campaign is simulated as the operators walking the whole list for 4 months of 20 workdays:
the operators were busy for the whole campaign, so the visits their capacity allowed in 80
workdays equal the 8,799 households they verified (statistic ``visits_capacity``). This pins
down visits per operator-day (≈ 8,799 / (67 x 80) ≈ 1.64). The 3,784 unreached is a stock at
one date, not a flow: it fixes the forecast's *starting state* (the synthetic city is generated
to match it) but carries no information on exit or entry rates; with a second count of the
unreached stock at a later date (e.g. the 2025 verification round), add a ``Target`` with
statistic ``unreached`` and the same call calibrates the exit and entry rates too (the tests
show it recovers a known exit rate from data simulated with it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from targeting.data.city import load_city_profile
from targeting.forecast.scenarios import Scenario
from targeting.forecast.stockflow import CityState, ForecastResult, simulate

__all__ = [
    "SERANG_2023",
    "ABCResult",
    "Target",
    "abc_rejection",
    "calibrate_serang_2023",
    "serang_2023_campaign",
]

_STATISTICS = ("unreached", "found_cum", "visits_capacity")

#: Parameter names in the posterior table, keyed by the simulator's per-path draw name.
_PARAMETERS = {
    "visits_per_day": "visits_per_day",
    "lag": "enrolment_lag_months",
    "exit": "exit_rate_per_year",
    "entry": "entry_rate_per_year",
    "graduation": "graduation_rate_per_year",
    "shock": "shock_size",
}

_CITY = load_city_profile()

#: The observed 2023 verification campaign in Kota Serang (see the module docstring), from the
#: city profile (:func:`targeting.data.city.load_city_profile`).
SERANG_2023: dict[str, Any] = {
    **{k: v for k, v in _CITY.campaign_2023.items() if k != "source"},
    "kecamatan_kk": _CITY.extreme_by_kecamatan,
    "kelurahan_per_kecamatan": _CITY.kelurahan_counts,
    "source": _CITY.campaign_2023["source"],
}


@dataclass(frozen=True)
class Target:
    """One observed count that the simulation must reproduce.

    Parameters
    ----------
    name : str
        Label in tables.
    month : str
        ``'YYYY-MM'``: the month (within the scenario's horizon) at whose end it was observed.
    observed : float
        The observed count.
    statistic : {'unreached', 'found_cum', 'visits_capacity'}
        ``unreached``: city stock at the end of ``month``; ``found_cum``: households found from
        the start to ``month``; ``visits_capacity``: visits the capacity allowed from the start
        to ``month`` (``operators * visits_per_day * workdays * months``, not capped by the list:
        use it when the operators were busy for the whole period).
    tolerance : float
        Relative half-width of the acceptance band (0.05: within 5 % of ``observed``).
    source : str
        Where the number comes from.
    """

    name: str
    month: str
    observed: float
    statistic: str = "unreached"
    tolerance: float = 0.05
    source: str = ""

    def __post_init__(self) -> None:
        if self.statistic not in _STATISTICS:
            raise ValueError(f"target {self.name!r}: statistic must be one of {_STATISTICS}")
        if not self.tolerance > 0:
            raise ValueError(f"target {self.name!r}: tolerance must be > 0")


@dataclass
class ABCResult:
    """Posterior sample of a rejection ABC.

    Attributes
    ----------
    prior : pandas.DataFrame
        Every path's parameters (the prior sample), one column per parameter.
    accepted : numpy.ndarray of bool
        Which paths were accepted.
    distance : numpy.ndarray
        Each path's scaled distance to the observations.
    threshold : float
        The acceptance distance (1 = every target within its tolerance).
    simulated : pandas.DataFrame
        Each path's simulated statistic per target.
    targets : list of Target
    scenario : Scenario
        The prior scenario.
    n_paths, seed : int
    """

    prior: pd.DataFrame
    accepted: np.ndarray
    distance: np.ndarray
    threshold: float
    simulated: pd.DataFrame
    targets: list[Target]
    scenario: Scenario
    n_paths: int
    seed: int
    notes: list[str] = field(default_factory=list)

    @property
    def posterior(self) -> pd.DataFrame:
        """The accepted paths' parameters."""
        return self.prior[self.accepted].reset_index(drop=True)

    def table(self) -> pd.DataFrame:
        """Prior range and posterior quantiles of every parameter that varies in the prior.

        Returns
        -------
        pandas.DataFrame
            ``parameter``, ``prior_low``, ``prior_high``, ``prior_q50``, ``post_q05``,
            ``post_q50``, ``post_q95``, ``post_mean`` and ``width_ratio`` (posterior 90 % width
            over the prior's: near 1 means the targets do not inform the parameter).
        """
        rows = []
        post = self.posterior
        for col in self.prior.columns:
            pr = self.prior[col].to_numpy(dtype=float)
            if np.ptp(pr) == 0:
                continue
            po = post[col].to_numpy(dtype=float)
            p05, p95 = np.quantile(pr, [0.05, 0.95])
            q05, q50, q95 = np.quantile(po, [0.05, 0.5, 0.95])
            rows.append(
                {
                    "parameter": col,
                    "prior_low": float(pr.min()),
                    "prior_high": float(pr.max()),
                    "prior_q50": float(np.median(pr)),
                    "post_q05": float(q05),
                    "post_q50": float(q50),
                    "post_q95": float(q95),
                    "post_mean": float(po.mean()),
                    "width_ratio": float((q95 - q05) / (p95 - p05)) if p95 > p05 else np.nan,
                }
            )
        return pd.DataFrame(rows)

    def fit_table(self) -> pd.DataFrame:
        """Observed versus simulated (posterior median and 90 % range) for every target."""
        rows = []
        for t in self.targets:
            sim = self.simulated.loc[self.accepted, t.name].to_numpy(dtype=float)
            rows.append(
                {
                    "target": t.name,
                    "statistic": t.statistic,
                    "month": t.month,
                    "observed": t.observed,
                    "tolerance": t.tolerance,
                    "sim_q05": float(np.quantile(sim, 0.05)),
                    "sim_q50": float(np.median(sim)),
                    "sim_q95": float(np.quantile(sim, 0.95)),
                    "source": t.source,
                }
            )
        return pd.DataFrame(rows)

    def calibrated_scenario(self, base: Scenario | None = None) -> Scenario:
        """``base`` (default the prior scenario) with every informed range replaced by the
        posterior 5–95 % range (parameters whose ``width_ratio`` is below 0.9)."""
        base = base or self.scenario
        changes: dict[str, object] = {}
        for row in self.table().itertuples():
            if not row.width_ratio < 0.9:
                continue
            if row.parameter == "enrolment_lag_months":
                changes[row.parameter] = (int(np.floor(row.post_q05)), int(np.ceil(row.post_q95)))
            else:
                changes[row.parameter] = (float(row.post_q05), float(row.post_q95))
        return base.replace(**changes)

    def summary(self) -> dict:
        """JSON-ready: acceptance, threshold, the posterior table and the target fit."""
        return {
            "method": "rejection ABC on the stock-flow simulator",
            "n_paths": self.n_paths,
            "seed": self.seed,
            "accepted": int(self.accepted.sum()),
            "acceptance_rate": float(self.accepted.mean()),
            "threshold": float(self.threshold),
            "notes": list(self.notes),
            "parameters": self.table().replace({np.nan: None}).to_dict(orient="records"),
            "targets": self.fit_table().to_dict(orient="records"),
        }


def _statistic(result: ForecastResult, target: Target, state: CityState) -> np.ndarray:
    t = int(pd.Period(target.month, freq="M").ordinal - result.months[0].ordinal)
    if not 0 <= t < len(result.months):
        raise ValueError(
            f"target {target.name!r}: month {target.month} is outside the horizon "
            f"{result.months[0]}..{result.months[-1]}"
        )
    if target.statistic == "unreached":
        return result.city_paths()[:, t].astype(float)
    if target.statistic == "found_cum":
        return result.found[:, 1 : t + 1].sum(axis=(1, 2)).astype(float)
    return result.parameters["capacity"] * t


def abc_rejection(
    state: CityState,
    prior: Scenario,
    targets: list[Target],
    n_paths: int = 20_000,
    seed: int = 0,
    min_accept: int = 100,
    allocation: str = "yield",
) -> ABCResult:
    """Rejection ABC of the scenario's uncertain parameters (see the module docstring).

    Parameters
    ----------
    state : CityState
        The state at the prior scenario's start.
    prior : Scenario
        Its ranges are the prior (drawn as in a forecast).
    targets : list of Target
    n_paths : int
        Prior draws (simulated paths).
    seed : int
    min_accept : int
        Fewest accepted draws; the ball is widened to the ``min_accept`` nearest otherwise.
    allocation : {'yield', 'eligible'}

    Returns
    -------
    ABCResult
    """
    if not targets:
        raise ValueError("give at least one target")
    result = simulate(state, prior, n_paths=n_paths, seed=seed, allocation=allocation)
    sims = {t.name: _statistic(result, t, state) for t in targets}
    scaled = np.stack(
        [(sims[t.name] - t.observed) / (t.tolerance * max(abs(t.observed), 1.0)) for t in targets],
        axis=1,
    )
    distance = np.sqrt((scaled**2).sum(axis=1))
    threshold = 1.0
    notes = []
    accepted = distance <= threshold
    k = min(min_accept, n_paths)
    if accepted.sum() < k:
        threshold = float(np.partition(distance, k - 1)[k - 1])
        accepted = distance <= threshold
        notes.append(
            f"only {int((distance <= 1).sum())} draws within every tolerance; kept the {k} "
            f"nearest (distance <= {threshold:.2f})"
        )
    # parameters that cannot act in this set-up are left out of the posterior table
    unused = set()
    if prior.shock_month is None:
        unused.add("shock")
    if state.enrolled_extreme is None or not np.any(state.enrolled_extreme > 0):
        unused.add("graduation")
    prior_draws = pd.DataFrame(
        {
            _PARAMETERS[key]: np.asarray(result.parameters[key], dtype=float)
            for key in _PARAMETERS
            if key in result.parameters and key not in unused
        }
    )
    return ABCResult(
        prior=prior_draws,
        accepted=accepted,
        distance=distance,
        threshold=threshold,
        simulated=pd.DataFrame(sims),
        targets=list(targets),
        scenario=prior,
        n_paths=n_paths,
        seed=seed,
        notes=notes,
    )


def serang_2023_campaign(
    visits_prior: tuple[float, float] = (1.0, 10.0),
) -> tuple[CityState, Scenario, list[Target]]:
    """The 2023 verification campaign of Kota Serang as a state, a prior and targets.

    The P3KE list (8,799 KK) is spread over the 67 kelurahan by the kecamatan counts of DESIGN
    §7; every listed household is on the visit list with yield 1 (the list *is* the presumed
    extreme poor). The prior scenario runs 67 operators for 4 months of 20 workdays from
    2023-08 with ``visits_per_day`` uniform on ``visits_prior`` and the DESIGN §6 ranges for
    the rates; the target is the capacity's visits in those 80 workdays (≈ 16 weeks) = 8,799,
    within 1/16 (one week in sixteen).

    Parameters
    ----------
    visits_prior : tuple of float
        Prior range of visits per operator-day (wider than DESIGN §6's 1.5–10 so that the data,
        not the prior's edge, set the lower end).

    Returns
    -------
    state : CityState
    prior : Scenario
    targets : list of Target
    """
    info = SERANG_2023
    kk = info["kecamatan_kk"]
    n_kel = info["kelurahan_per_kecamatan"]
    total_listed = int(info["p3ke_list_kk"])
    raw = np.array([kk[k] for k in n_kel], dtype=float)
    per_kec = np.floor(raw / raw.sum() * total_listed).astype(int)
    per_kec[np.argmax(raw)] += total_listed - per_kec.sum()
    kec, kel, eligible = [], [], []
    for (name, n), m in zip(n_kel.items(), per_kec, strict=True):
        split = np.full(n, m // n)
        split[: m % n] += 1
        for i, e in enumerate(split):
            kec.append(name)
            kel.append(f"{name} {i + 1:02d}")
            eligible.append(int(e))
    eligible_a = np.asarray(eligible)
    state = CityState(
        kecamatan=np.asarray(kec),
        kelurahan=np.asarray(kel),
        unreached_extreme=eligible_a.astype(float),
        eligible=eligible_a,
        near_poor=np.zeros(len(kel)),
        yield_curves=[np.ones(e) for e in eligible_a],
    )
    months = int(info["campaign_weeks"]) * int(info["workdays_per_week"]) // 20
    start = pd.Period("2023-08", freq="M")
    prior = Scenario(
        name="serang-2023-campaign",
        operators=int(info["operators"]),
        visits_per_day=visits_prior,
        workdays_per_month=20,
        start=str(start),
        end=str(start + months + 1),
        deadline=str(start + months),
    )
    targets = [
        Target(
            name="verified_in_16_weeks",
            month=str(start + months),
            observed=float(total_listed),
            statistic="visits_capacity",
            tolerance=1 / int(info["campaign_weeks"]),
            source=str(info["source"]) + ": 8,799 KK verified in ~16 weeks by 67 operators",
        )
    ]
    return state, prior, targets


def calibrate_serang_2023(n_paths: int = 10_000, seed: int = 0) -> ABCResult:
    """Run :func:`abc_rejection` on :func:`serang_2023_campaign` (a few seconds)."""
    state, prior, targets = serang_2023_campaign()
    result = abc_rejection(state, prior, targets, n_paths=n_paths, seed=seed)
    result.notes.append(
        "3,784 unreached after verification (DESIGN §7) is a stock at one date: it sets the "
        "starting state and does not inform exit or entry rates (their width_ratio ≈ 1)"
    )
    return result
