"""Stock-flow forecast: monotone in capacity (CRN), coherent, integer, reproducible."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from targeting.forecast.scenarios import Scenario, scenarios_from_spec
from targeting.forecast.stockflow import (
    CityState,
    ForecastResult,
    capacity_needed,
    fan_chart,
    simulate,
    tornado,
)

N_PATHS = 200


def _state(with_enrolled: bool = True) -> CityState:
    rng = np.random.default_rng(7)
    eligible = np.array([120, 200, 80, 150, 60, 100])
    curves = [np.sort(rng.beta(0.5, 4, n))[::-1] for n in eligible]
    curves[4] = curves[4][:30]  # a curve shorter than the list (padded with zeros)
    mu = np.array([c.sum() for c in curves])
    return CityState(
        kecamatan=np.array(["A", "A", "B", "B", "B", "C"]),
        kelurahan=np.array([f"k{i}" for i in range(6)]),
        unreached_extreme=mu,
        eligible=eligible,
        near_poor=np.array([300.0, 500, 200, 400, 150, 250]),
        yield_curves=curves,
        enrolled_extreme=mu * 1.2 if with_enrolled else None,
    )


SMALL = Scenario(
    operators=2,
    visits_per_day=(1.5, 3.0),
    start="2025-10",
    end="2027-03",
    deadline="2026-12-31",
    tolerance=5,
)


@pytest.fixture(scope="module")
def state() -> CityState:
    return _state()


@pytest.fixture(scope="module")
def result(state: CityState) -> ForecastResult:
    return simulate(state, SMALL, n_paths=N_PATHS, seed=3)


def test_shapes_and_integer_non_negative_counts(result: ForecastResult) -> None:
    n_m = len(result.months)
    assert n_m == 18 and str(result.months[0]) == "2025-10"
    for name in ("unreached", "found", "enrolled", "exits", "entrants", "returns"):
        a = getattr(result, name)
        assert a.shape == (N_PATHS, n_m, 6)
        assert np.issubdtype(a.dtype, np.integer)
        assert a.min() >= 0, name
    assert (result.found[:, 0] == 0).all() and (result.enrolled[:, 0] == 0).all()


def test_stock_flow_identity(result: ForecastResult) -> None:
    u = result.unreached.astype(np.int64)
    delta = u[:, 1:] - u[:, :-1]
    flows = (result.entrants + result.returns - result.enrolled - result.exits)[:, 1:]
    assert np.array_equal(delta, flows)


def test_levels_are_coherent(result: ForecastResult) -> None:
    city = result.city_paths()
    kec, areas = result.level_paths("kecamatan")
    assert list(areas) == ["A", "B", "C"]
    assert np.array_equal(kec.sum(axis=2), city)
    assert np.array_equal(result.unreached.sum(axis=2), city)
    qc = result.quantiles("city")
    qk = result.quantiles("kecamatan")
    ql = result.quantiles("kelurahan")
    assert len(qc) == len(result.months) and len(qk) == 3 * len(result.months)
    assert len(ql) == 6 * len(result.months)
    assert list(qc.columns) == [
        "month",
        "area",
        "q05",
        "q10",
        "q25",
        "q50",
        "q75",
        "q90",
        "q95",
        "mean",
    ]
    # means are additive across levels
    m_city = qc.set_index("month")["mean"]
    m_kel = ql.groupby("month")["mean"].sum()
    assert np.allclose(m_city.sort_index(), m_kel.sort_index())


def test_same_seed_same_arrays(state: CityState, result: ForecastResult) -> None:
    again = simulate(state, SMALL, n_paths=N_PATHS, seed=3)
    for name in ("unreached", "found", "enrolled", "exits", "entrants", "returns"):
        assert np.array_equal(getattr(again, name), getattr(result, name))
    other = simulate(state, SMALL, n_paths=N_PATHS, seed=4)
    assert not np.array_equal(other.unreached, result.unreached)


@pytest.mark.parametrize("allocation", ["yield", "eligible"])
def test_more_capacity_never_worse_pathwise(state: CityState, allocation: str) -> None:
    prev = None
    for ops in (0, 1, 2, 4, 8):
        r = simulate(
            state, SMALL.replace(operators=ops), n_paths=N_PATHS, seed=11, allocation=allocation
        )
        if prev is not None:
            # every path, every month, every kelurahan: never more unreached
            assert (r.unreached <= prev.unreached).all()
            assert r.p_goal()[0] >= prev.p_goal()[0]
            assert r.p_near_zero()[0] >= prev.p_near_zero()[0]
        prev = r
    low = simulate(state, SMALL.replace(visits_per_day=(1.0, 2.0)), n_paths=N_PATHS, seed=11)
    high = simulate(state, SMALL.replace(visits_per_day=(2.0, 4.0)), n_paths=N_PATHS, seed=11)
    assert (high.unreached <= low.unreached).all()
    assert high.found.sum() > low.found.sum()


def test_zero_capacity_zero_entry_only_exits(state: CityState) -> None:
    sc = SMALL.replace(operators=0, entry_rate_per_year=(0.0, 0.0))
    r = simulate(_state(with_enrolled=False), sc, n_paths=N_PATHS, seed=5)
    d = np.diff(r.unreached.astype(np.int64), axis=1)
    assert (d <= 0).all()
    assert np.array_equal(-d, r.exits[:, 1:])
    assert r.found.sum() == 0 and r.enrolled.sum() == 0 and r.entrants.sum() == 0
    assert r.exits.sum() > 0


def test_starting_stock_matches_expectation(state: CityState) -> None:
    r = simulate(state, SMALL, n_paths=400, seed=1)
    start = r.unreached[:, 0].mean(axis=0)
    se = r.unreached[:, 0].std(axis=0) / np.sqrt(400) + 0.05
    assert (np.abs(start - state.unreached_extreme) < 5 * se).all()


def test_finds_follow_the_yield_curve() -> None:
    # no exits, no entry, no lag: expected finds after C visits = cumsum(curve)[C]
    st = _state(with_enrolled=False)
    sc = Scenario(
        operators=1,
        visits_per_day=1.0,
        workdays_per_month=10,
        enrolment_lag_months=(0, 0),
        exit_rate_per_year=(0.0, 0.0),
        entry_rate_per_year=(0.0, 0.0),
        end="2026-01",
        deadline="2026-01",
    )
    r = simulate(st, sc, n_paths=2000, seed=2, allocation="eligible")
    total_cap = 10 * 3  # three months of 10 visits
    share = st.eligible / st.eligible.sum()
    expected = 0.0
    for k, c in enumerate(st.yield_curves):
        v = int(np.floor(3 * 10 * share[k]))
        expected += c[:v].sum() * st.unreached_extreme[k] / c.sum()
    got = r.found.sum(axis=(1, 2)).mean()
    assert total_cap > 0 and abs(got - expected) < 0.1 * expected + 0.3


def test_goal_outputs(result: ForecastResult) -> None:
    p, se = result.p_goal()
    assert 0 <= p <= 1 and se >= 0
    dist = result.goal_month_distribution()
    assert dist.index[-1] == "never" and np.isclose(dist.sum(), 1.0)
    med = result.median_goal_month()
    assert med is None or pd.Period(med, freq="M") in result.months
    s = result.summary()
    for key in (
        "scenario",
        "p_goal",
        "p_goal_se",
        "p_near_zero",
        "median_goal_month",
        "start_stock_median",
        "end_q05",
        "end_q95",
    ):
        assert key in s
    with pytest.raises(ValueError, match="outside the horizon"):
        result.p_goal(deadline="2030-01-01")


def test_capacity_needed_and_tornado(state: CityState) -> None:
    sc = SMALL.replace(tolerance=40)
    out = capacity_needed(state, sc, target_p=0.8, n_paths=100, seed=0, max_value=64)
    if out["value"] is not None:
        assert out["p_goal"] >= 0.8
        if out["value"] > 0:
            below = simulate(state, sc.replace(operators=out["value"] - 1), n_paths=100, seed=0)
            assert below.p_goal()[0] < 0.8
    else:
        assert out["reason"]
    none = capacity_needed(
        state, SMALL.replace(tolerance=0, entry_rate_per_year=(0.5, 0.6)), n_paths=50, max_value=4
    )
    assert none["value"] is None and "max_value" in none["reason"]
    tor = tornado(state, sc, n_paths=100, seed=0)
    assert set(tor["parameter"]) >= {"exit_rate_per_year", "entry_rate_per_year"}
    assert (tor["swing"].diff().dropna() <= 0).all()


def test_fan_chart(result: ForecastResult, tmp_path) -> None:
    fig = fan_chart(result, level="kecamatan", path=str(tmp_path / "fan.png"), area="B")
    assert (tmp_path / "fan.png").stat().st_size > 0
    assert fig.axes


def test_scenario_from_dict_unknown_key() -> None:
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['opertors'\]"):
        Scenario.from_dict({"name": "typo", "opertors": 10})


def test_scenarios_from_spec() -> None:
    spec = {
        "forecast": {
            "defaults": {"operators": 67, "visits_per_day": 2.0, "deadline": "2026-12-31"},
            "scenarios": [
                {"name": "baseline"},
                {"name": "double", "operators": 134},
                {"name": "shock", "shock_month": "2026-03", "exit_rate_per_year": [0.1, 0.3]},
                {"name": "range", "visits_per_day": [1.5, 10]},
            ],
        }
    }
    scs = scenarios_from_spec(spec)
    assert [s.name for s in scs] == ["baseline", "double", "shock", "range"]
    assert scs[1].operators == 134 and scs[0].operators == 67
    assert scs[2].exit_rate_per_year == (0.1, 0.3) and scs[2].shock_month == "2026-03"
    assert scs[3].visits_per_day == (1.5, 10.0)
    bad = {"forecast": {"defaults": {"deadlin": "2026"}, "scenarios": [{"name": "x"}]}}
    with pytest.raises(ValueError, match="deadlin"):
        scenarios_from_spec(bad)
    with pytest.raises(ValueError, match="duplicate"):
        scenarios_from_spec({"forecast": {"scenarios": [{"name": "a"}, {"name": "a"}]}})


# --------------------------------------------------------------------------- issue 5 properties
def test_more_capacity_never_lowers_p_goal_under_crn(state: CityState) -> None:
    sc = SMALL.replace(tolerance=30)
    probs = [
        simulate(state, sc.replace(operators=ops), n_paths=150, seed=11).p_goal()[0]
        for ops in (0, 1, 2, 4, 8)
    ]
    assert all(b >= a for a, b in itertools.pairwise(probs))
    near = [
        simulate(state, sc.replace(visits_per_day=v), n_paths=150, seed=11).p_near_zero()[0]
        for v in (0.5, 1.0, 2.0, 4.0)
    ]
    assert all(b >= a for a, b in itertools.pairwise(near))


def test_kelurahan_sum_to_kecamatan_and_city_every_path(result: ForecastResult) -> None:
    kec, areas = result.level_paths("kecamatan")
    assert np.array_equal(kec.sum(axis=2), result.city_paths())
    for j, a in enumerate(areas):
        assert np.array_equal(kec[:, :, j], result.unreached[:, :, result.kecamatan == a].sum(2))


def test_capacity_needed_near_zero_and_tornado_metrics(state: CityState) -> None:
    out = capacity_needed(state, SMALL, n_paths=100, seed=0, max_value=64, goal="near_zero")
    assert out["goal"] == "near_zero" and out["max_value"] == 64
    if out["value"] is not None and out["value"] > 0:
        below = simulate(state, SMALL.replace(operators=out["value"] - 1), n_paths=100, seed=0)
        assert below.p_near_zero()[0] < 0.8 <= out["p_goal"]
    with pytest.raises(ValueError, match="goal"):
        capacity_needed(state, SMALL, goal="zero")
    tor = tornado(state, SMALL, n_paths=100, seed=0, metric="deadline_median")
    assert (tor["metric"] == "deadline_median").all() and (tor["swing"] >= 0).all()
    # a faster exit never leaves more households unreached at the deadline
    ex = tor.set_index("parameter").loc["exit_rate_per_year"]
    assert ex["value_high"] <= ex["value_low"]
    with pytest.raises(ValueError, match="metric"):
        tornado(state, SMALL, n_paths=10, metric="auc")


def test_tornado_and_goal_month_charts(state: CityState, result: ForecastResult, tmp_path) -> None:
    from targeting.forecast.stockflow import goal_month_chart, tornado_chart

    tor = tornado(state, SMALL, n_paths=50, seed=0, metric="deadline_median")
    tornado_chart(tor, path=str(tmp_path / "t.png"))
    goal_month_chart({"a": result, "b": result}, path=str(tmp_path / "g.png"))
    assert (tmp_path / "t.png").stat().st_size > 0 and (tmp_path / "g.png").stat().st_size > 0


def test_calibration_recovers_a_known_exit_rate() -> None:
    from targeting.forecast.calibrate import Target, abc_rejection

    st = _state(with_enrolled=False)
    st = CityState(
        kecamatan=st.kecamatan,
        kelurahan=st.kelurahan,
        unreached_extreme=st.unreached_extreme * 20,  # a larger stock: sharper data
        eligible=st.eligible,
        near_poor=np.zeros(6),
        yield_curves=st.yield_curves,
    )
    truth = Scenario(
        operators=0,
        exit_rate_per_year=(0.25, 0.25),
        entry_rate_per_year=(0.0, 0.0),
        start="2025-10",
        end="2027-10",
        deadline="2027-10",
    )
    observed = simulate(st, truth, n_paths=1, seed=99).city_paths()[0]
    targets = [
        Target(name=f"m{m}", month=str(truth.start_period + m), observed=float(observed[m]))
        for m in (6, 12, 24)
    ]
    prior = truth.replace(exit_rate_per_year=(0.05, 0.45))
    fit = abc_rejection(st, prior, targets, n_paths=4000, seed=1)
    row = fit.table().set_index("parameter").loc["exit_rate_per_year"]
    assert row["post_q05"] <= 0.25 <= row["post_q95"]
    assert row["width_ratio"] < 0.5  # the data inform the rate
    assert fit.accepted.sum() >= 100
    cal = fit.calibrated_scenario()
    assert prior.exit_rate_per_year[0] < cal.exit_rate_per_year[0]


def test_serang_2023_calibration_visits_per_day() -> None:
    from targeting.forecast.calibrate import calibrate_serang_2023, serang_2023_campaign

    state, _prior, _targets = serang_2023_campaign()
    assert int(state.eligible.sum()) == 8_799 and len(state.kelurahan) == 67
    fit = calibrate_serang_2023(n_paths=3000, seed=0)
    row = fit.table().set_index("parameter").loc["visits_per_day"]
    assert 1.5 < row["post_q05"] < 8_799 / (67 * 80) < row["post_q95"] < 1.8
    s = fit.summary()
    assert s["accepted"] >= 100 and s["targets"][0]["observed"] == 8_799
