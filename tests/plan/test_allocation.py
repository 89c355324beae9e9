"""Operators spread over pools by expected finds (greedy marginal yield, policy floor)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from targeting.plan.ranking import (
    PlanCapacity,
    allocate_by_finds,
    build_plan,
    daily_visits,
    pool_finds_curve,
)

# Three pools, 1 visit a day for 2 days (2 visits per operator), one kelurahan each.
POOLS = {
    ("A",): [np.array([0.9, 0.8, 0.1, 0.1])],
    ("B",): [np.array([0.5, 0.4, 0.3, 0.2])],
    ("C",): [np.array([0.05, 0.05])],
}
PER_DAY = np.array([1, 1])


def _curves(max_ops: int) -> dict[tuple, np.ndarray]:
    return {k: pool_finds_curve(v, PER_DAY, max_ops) for k, v in POOLS.items()}


def test_pool_curves_by_hand():
    curves = _curves(3)
    np.testing.assert_allclose(curves[("A",)], [0.0, 1.7, 1.9, 1.9])
    np.testing.assert_allclose(curves[("B",)], [0.0, 0.9, 1.4, 1.4])
    np.testing.assert_allclose(curves[("C",)], [0.0, 0.1, 0.1, 0.1])


def test_blocks_of_a_day_are_kept_together():
    # two visits a day in one kelurahan: the best day is 0.9 + 0.1, not 0.9 + 0.8 from two
    curve = pool_finds_curve([np.array([0.9, 0.1]), np.array([0.8, 0.7])], np.array([2]), 2)
    np.testing.assert_allclose(curve, [0.0, 1.5, 2.5])


@pytest.mark.parametrize(
    ("operators", "floor", "expected", "finds"),
    [
        # by hand: with the floor A, B, C get one each (1.7 + 0.9 + 0.1 = 2.7)
        (3, True, {("A",): 1, ("B",): 1, ("C",): 1}, 2.7),
        # without: A (1.7), then B (+0.9), then B again (+0.5 > A's +0.2 > C's +0.1) = 3.1
        (3, False, {("A",): 1, ("B",): 2, ("C",): 0}, 3.1),
        # fewer operators than pools: the floor goes to the pools that find most with one
        (2, True, {("A",): 1, ("B",): 1, ("C",): 0}, 2.6),
        (4, True, {("A",): 1, ("B",): 2, ("C",): 1}, 3.2),
    ],
)
def test_allocation_by_hand(operators, floor, expected, finds):
    curves = _curves(operators)
    out = allocate_by_finds(operators, curves, floor=floor)
    assert out == expected
    assert sum(curves[k][n] for k, n in out.items()) == pytest.approx(finds)


@pytest.mark.parametrize("operators", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("floor", [True, False])
def test_allocation_is_optimal_against_every_allocation(operators, floor):
    curves = _curves(operators)
    keys = sorted(curves)
    lowest = 1 if floor and operators >= len(keys) else 0
    best = max(
        sum(curves[k][n] for k, n in zip(keys, split, strict=True))
        for split in itertools.product(range(lowest, operators + 1), repeat=len(keys))
        if sum(split) == operators
    )
    out = allocate_by_finds(operators, curves, floor=floor)
    assert sum(out.values()) == operators
    assert sum(curves[k][n] for k, n in out.items()) == pytest.approx(best)


def _registry(n: int = 600, seed: int = 4) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    kec = rng.choice(["Kasemen", "Serang", "Curug"], n, p=[0.2, 0.6, 0.2])
    kel = np.array([f"{k}-{j}" for k, j in zip(kec, rng.integers(0, 4, n), strict=True)])
    registry = pd.DataFrame(
        {
            "household_id": [f"HH{i:05d}" for i in range(n)],
            "kecamatan": kec,
            "kelurahan": kel,
            "receives_pkh": False,
            "receives_bpnt": False,
            "receives_pbi": False,
            "verification_status": "unverified",
        }
    )
    # Kasemen is poor, Serang large but rich: proportional-to-eligible sends most there
    p = np.where(kec == "Kasemen", rng.beta(4, 4, n), rng.beta(0.5, 12, n))
    scores = pd.DataFrame(
        {"p_extreme": p, "p_low": p, "p_high": p, "desil": 1},
        index=pd.Index(registry["household_id"], name="household_id"),
    )
    return registry, scores


def test_plan_finds_match_the_curves_and_beat_the_eligible_allocation():
    registry, scores = _registry()
    capacity = PlanCapacity(operators=9, visits_per_day=2, workdays=5)
    plan = build_plan(registry, scores, capacity)
    pooled = plan.pooling_finds
    # with whole days of 2 visits the curves are exact: the plan finds what they promised
    assert plan.plan["p_extreme"].sum() == pytest.approx(pooled["spec_pooling"])
    assert pooled["city_pooling"] >= pooled["spec_pooling"] - 1e-9
    assert pooled["cost_of_pooling"] == pytest.approx(
        pooled["city_pooling"] - pooled["spec_pooling"]
    )
    assert sum(pooled["operators_by_pool"].values()) == 9
    assert min(pooled["operators_by_pool"].values()) >= 1  # the policy floor
    old = build_plan(registry, scores, PlanCapacity(**{**_cap(capacity), "allocation": "eligible"}))
    assert plan.plan["p_extreme"].sum() > old.plan["p_extreme"].sum()
    assert (
        pooled["operators_by_pool"]["Kasemen"] > old.pooling_finds["operators_by_pool"]["Kasemen"]
    )
    city = build_plan(registry, scores, PlanCapacity(**{**_cap(capacity), "pooling": "city"}))
    assert city.plan["p_extreme"].sum() == pytest.approx(pooled["city_pooling"])


def _cap(capacity: PlanCapacity) -> dict:
    return {
        "operators": capacity.operators,
        "visits_per_day": capacity.visits_per_day,
        "workdays": capacity.workdays,
        "pooling": capacity.pooling,
    }


def test_allocation_is_deterministic():
    registry, scores = _registry(seed=9)
    capacity = PlanCapacity(operators=7, visits_per_day=2.5, workdays=4)
    first = build_plan(registry, scores, capacity)
    again = build_plan(registry.sample(frac=1.0, random_state=1), scores, capacity)
    pd.testing.assert_frame_equal(first.plan, again.plan)
    assert first.pooling_finds == again.pooling_finds
    assert daily_visits(2.5, 4).sum() == 10


def test_unknown_allocation_is_an_error():
    with pytest.raises(ValueError, match="allocation"):
        PlanCapacity(allocation="proportional")
