"""The fast stock-flow simulation agrees with the old one within Monte Carlo error.

The old simulation is the household-level code of commit a2ebe68 (per-month Poisson and
binomial draws, a tabulated position grid). The new one draws other random streams, so the
two are compared as independent samples: the reference numbers below were computed once from
the old code with many paths, and each new statistic must lie within 4 Monte Carlo errors of
them (errors of both samples combined). Capacity monotonicity is checked path by path.
"""

from __future__ import annotations

import numpy as np
import pytest

from targeting.forecast.scenarios import Scenario
from targeting.forecast.stockflow import CityState, simulate

N_PATHS = 4000
#: Paths of the old simulation behind the reference numbers.
N_OLD = 40_000

CONFIGS = {
    "yield": (
        Scenario(
            operators=1,
            visits_per_day=(1.0, 2.0),
            start="2025-10",
            end="2027-03",
            deadline="2026-12-31",
            tolerance=25,
        ),
        "yield",
    ),
    "eligible_shock": (
        Scenario(
            operators=1,
            visits_per_day=1.5,
            start="2025-10",
            end="2027-09",
            deadline="2027-06-30",
            tolerance=35,
            shock_month="2026-04",
            shock_size=(0.5, 1.0),
        ),
        "eligible",
    ),
}


def small_city(city_state: type = CityState) -> CityState:
    """Six kelurahan, one with a yield curve shorter than its list (as in test_forecast)."""
    rng = np.random.default_rng(7)
    eligible = np.array([120, 200, 80, 150, 60, 100])
    curves = [np.sort(rng.beta(0.5, 4, n))[::-1] for n in eligible]
    curves[4] = curves[4][:30]
    mu = np.array([c.sum() for c in curves])
    return city_state(
        kecamatan=np.array(["A", "A", "B", "B", "B", "C"]),
        kelurahan=np.array([f"k{i}" for i in range(6)]),
        unreached_extreme=mu,
        eligible=eligible,
        near_poor=np.array([300.0, 500, 200, 400, 150, 250]),
        yield_curves=curves,
        enrolled_extreme=mu * 1.2,
    )


def path_totals(res) -> dict[str, np.ndarray]:
    """Per path: the city stock at the start, deadline and end, and each flow's total."""
    city = res.city_paths().astype(float)
    t = int(res.scenario.deadline_period.ordinal - res.months[0].ordinal)
    out = {"start": city[:, 0], "deadline": city[:, t], "end": city[:, -1]}
    for flow in ("found", "enrolled", "exits", "entrants", "returns"):
        out[flow] = getattr(res, flow).sum(axis=(1, 2)).astype(float)
    return out


def mid_cdf(x: np.ndarray, v: float) -> float:
    """Share of ``x`` below ``v``, ties counted half (integer stocks have many ties)."""
    return float(((x < v).sum() + 0.5 * (x == v).sum()) / len(x))


def statistics(res) -> dict:
    """The compared statistics: means (with the per-path SD), probabilities, quantiles."""
    tot = path_totals(res)
    city = res.city_paths()
    t = int(res.scenario.deadline_period.ordinal - res.months[0].ordinal)
    quantiles = {}
    for when in ("deadline", "end"):
        for q in (0.1, 0.5, 0.9):
            v = float(np.quantile(tot[when], q, method="lower"))
            quantiles[f"{when}_q{round(q * 100):02d}"] = [v, mid_cdf(tot[when], v)]
    return {
        "mean": {k: [float(x.mean()), float(x.std())] for k, x in tot.items()},
        "prob": {
            "goal": float((city[:, t] <= res.scenario.tolerance).mean()),
            "near_zero": float((city[:, t] <= 0.05 * city[:, 0]).mean()),
        },
        "quantile": quantiles,
    }


# Computed with the old code: `git show a2ebe68:targeting/forecast/stockflow.py` loaded as a
# module, `old.simulate(small_city(old.CityState), scenario, n_paths=40_000, seed=11,
# allocation=allocation)` for each of CONFIGS, then `statistics(result)` (rounded to 4 digits).
# means: [mean, per-path SD]; quantiles: [value, share of the old paths below it, ties half].
OLD = {
    "yield": {
        "mean": {
            "start": [80.6738, 7.6696],
            "deadline": [28.867, 10.7371],
            "end": [28.1168, 10.9452],
            "found": [88.2416, 11.4156],
            "enrolled": [83.1524, 11.6921],
            "exits": [14.4771, 5.9792],
            "entrants": [38.5012, 15.2084],
            "returns": [6.5713, 3.1453],
        },
        "prob": {"goal": 0.4193, "near_zero": 0.0002},
        "quantile": {
            "deadline_q10": [16.0, 0.1008],
            "deadline_q50": [28.0, 0.5104],
            "deadline_q90": [43.0, 0.8953],
            "end_q10": [15.0, 0.0979],
            "end_q50": [27.0, 0.5096],
            "end_q90": [43.0, 0.8995],
        },
    },
    "eligible_shock": {
        "mean": {
            "start": [80.6738, 7.6696],
            "deadline": [38.9487, 14.7395],
            "end": [36.3825, 13.9133],
            "found": [110.1146, 15.5304],
            "enrolled": [103.688, 15.1877],
            "exits": [21.3344, 8.4073],
            "entrants": [72.4432, 27.8613],
            "returns": [8.2879, 3.6831],
        },
        "prob": {"goal": 0.4645, "near_zero": 0.0},
        "quantile": {
            "deadline_q10": [21.0, 0.0917],
            "deadline_q50": [37.0, 0.503],
            "deadline_q90": [60.0, 0.9037],
            "end_q10": [20.0, 0.1042],
            "end_q50": [34.0, 0.4884],
            "end_q90": [56.0, 0.9018],
        },
    },
}


def z_scores(new: dict, old: dict) -> dict[str, float]:
    """New minus old over the combined Monte Carlo error, per statistic."""
    z = {}
    for k, (m_old, sd_old) in old["mean"].items():
        m_new, sd_new = new["mean"][k]
        se = np.sqrt(sd_new**2 / N_PATHS + sd_old**2 / N_OLD)
        z[f"mean {k}"] = 0.0 if se == 0 else (m_new - m_old) / se
    for k, p_old in old["prob"].items():
        p_new = new["prob"][k]
        pool = (p_new * N_PATHS + p_old * N_OLD) / (N_PATHS + N_OLD)
        se = np.sqrt(pool * (1 - pool) * (1 / N_PATHS + 1 / N_OLD))
        z[f"P({k})"] = 0.0 if se == 0 else (p_new - p_old) / se
    return z


@pytest.mark.parametrize("name", list(CONFIGS))
def test_agrees_with_the_old_simulation(name: str) -> None:
    scenario, allocation = CONFIGS[name]
    res = simulate(small_city(), scenario, n_paths=N_PATHS, seed=5, allocation=allocation)
    new, old = statistics(res), OLD[name]
    z = z_scores(new, old)
    tot = path_totals(res)
    for k, (v, f_old) in old["quantile"].items():
        when = k.split("_")[0]
        f_new = mid_cdf(tot[when], v)
        se = np.sqrt(f_old * (1 - f_old) * (1 / N_PATHS + 1 / N_OLD))
        z[f"quantile {k}"] = (f_new - f_old) / se
    bad = {k: round(v, 2) for k, v in z.items() if abs(v) >= 4}
    assert not bad, f"statistics off by 4 or more Monte Carlo errors: {bad}"
    # the comparison has power: the goal probability is neither 0 nor 1 in these cities
    assert 0.02 < old["prob"]["goal"] < 0.98


def test_the_check_detects_a_changed_dynamic() -> None:
    """A 50 % higher exit rate moves the statistics far beyond the tolerance above."""
    scenario, allocation = CONFIGS["yield"]
    faster = scenario.replace(exit_rate_per_year=(0.15, 0.5))
    res = simulate(small_city(), faster, n_paths=N_PATHS, seed=5, allocation=allocation)
    z = z_scores(statistics(res), OLD["yield"])
    assert z["mean exits"] > 4 and z["mean deadline"] < -4


@pytest.mark.parametrize("allocation", ["yield", "eligible"])
def test_more_capacity_never_worse_on_any_path_month_and_kelurahan(allocation: str) -> None:
    """Common random numbers: every step up in capacity lowers or keeps every stock.

    Several blocks of paths (more than one random-stream block), entrants with a shock,
    graduation returns and an enrolment lag, so every kind of household is involved.
    """
    state = small_city()
    base = Scenario(
        operators=1,
        visits_per_day=(1.5, 3.0),
        start="2025-10",
        end="2027-09",
        shock_month="2026-02",
        shock_size=(0.2, 0.8),
    )
    steps = [
        base,
        base.replace(operators=2),
        base.replace(operators=2, visits_per_day=(2.0, 4.0)),
        base.replace(operators=5, visits_per_day=(2.0, 4.0)),
        base.replace(operators=50, visits_per_day=(2.0, 4.0)),
    ]
    prev = None
    for sc in steps:
        res = simulate(state, sc, n_paths=300, seed=9, allocation=allocation)
        if prev is not None:
            assert (res.unreached <= prev.unreached).all()
            assert (res.city_paths() <= prev.city_paths()).all()
            # the capacity-free parts are the very same draws
            assert np.array_equal(res.entrants, prev.entrants)
            assert np.array_equal(res.returns, prev.returns)
            assert np.array_equal(res.unreached[:, 0], prev.unreached[:, 0])
        prev = res
    assert prev.found.sum() > 0


def test_large_entrant_pools_use_wider_counts() -> None:
    """Entrant means far above the int16 range: counts switch to int32 and stay exact."""
    state = small_city()
    state.near_poor = state.near_poor * 4000.0  # ~1.6 million at risk per kelurahan
    sc = Scenario(operators=2, start="2025-10", end="2026-09", entry_rate_per_year=(0.02, 0.02))
    res = simulate(state, sc, n_paths=200, seed=1)
    assert res.unreached.dtype == np.int32
    flows = (res.entrants + res.returns - res.enrolled - res.exits)[:, 1:].astype(np.int64)
    assert np.array_equal(np.diff(res.unreached.astype(np.int64), axis=1), flows)
    # entrants: Poisson with mean near_poor * monthly rate per month
    expected = state.near_poor.sum() * (1 - 0.98 ** (1 / 12)) * 11
    total = res.entrants.sum(axis=(1, 2))
    assert abs(total.mean() - expected) < 4 * np.sqrt(expected / len(total))
