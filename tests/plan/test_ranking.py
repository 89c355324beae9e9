"""Tests for targeting.plan.ranking (ranking the unreached and the verification plan)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from targeting.data.schema import KECAMATAN_KELURAHAN_COUNTS, VERIFICATION_STATUSES, is_reached
from targeting.plan.ranking import (
    NOT_RANKED_REASONS,
    PlanCapacity,
    VerificationPlan,
    allocate_operators,
    build_plan,
    daily_visits,
    rank_unreached,
    replan,
)


def random_registry(
    n: int, seed: int = 0, n_kel: int | None = None, ties: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A random registry (area and programme columns only) and matching scores."""
    rng = np.random.default_rng(seed)
    kels = [
        (kec, f"{kec[:3]}-{j:02d}")
        for kec, m in KECAMATAN_KELURAHAN_COUNTS.items()
        for j in range(m)
    ]
    if n_kel is not None:
        kels = kels[:n_kel]
    pick = rng.integers(0, len(kels), n)
    registry = pd.DataFrame(
        {
            "household_id": [f"HH{i:06d}" for i in rng.permutation(n)],
            "kecamatan": [kels[i][0] for i in pick],
            "kelurahan": [kels[i][1] for i in pick],
            "rt": rng.integers(1, 9, n).astype(str),
            "rw": rng.integers(1, 5, n).astype(str),
            "receives_pkh": rng.random(n) < 0.1,
            "receives_bpnt": rng.random(n) < 0.08,
            "receives_pbi": rng.random(n) < 0.3,
            "verification_status": rng.choice(VERIFICATION_STATUSES, n, p=[0.9, 0.04, 0.06]),
        }
    )
    p = np.round(rng.random(n), 1) if ties else rng.beta(0.6, 6, n)
    scores = pd.DataFrame(
        {
            "p_extreme": p,
            "p_low": p * 0.6,
            "p_high": np.minimum(1.0, p * 1.5),
            "desil": rng.integers(1, 11, n),
            "reason_1": "lantai tanah / earthen floor",
        },
        index=pd.Index(registry["household_id"], name="household_id"),
    )
    return registry, scores


def assert_accounted(registry: pd.DataFrame, plan: VerificationPlan, rejected=None) -> None:
    ids = pd.concat([plan.plan["household_id"], plan.not_ranked["household_id"]], ignore_index=True)
    expected = list(registry["household_id"])
    if rejected is not None:
        expected += list(rejected["household_id"])
    assert sorted(ids.astype(str)) == sorted(map(str, expected))
    assert set(plan.not_ranked["reason"]) <= set(NOT_RANKED_REASONS)


def test_capacity_properties():
    cap = PlanCapacity()
    assert cap.total_visits == 67 * 2 * 20
    assert cap.workday_dates()[:6] == [
        "2025-11-03",
        "2025-11-04",
        "2025-11-05",
        "2025-11-06",
        "2025-11-07",
        "2025-11-10",
    ]
    assert PlanCapacity(operators=3, visits_per_day=2.5, workdays=5).total_visits == 3 * 12
    assert list(daily_visits(2.5, 4)) == [2, 3, 2, 3]
    assert daily_visits(2.2, 5).sum() == 11
    assert PlanCapacity(start_date="2025-11-01").workday_dates()[0] == "2025-11-03"  # Saturday
    with pytest.raises(ValueError):
        PlanCapacity(pooling="province")
    with pytest.raises(ValueError):
        PlanCapacity(visits_per_day=0)


def test_allocate_operators():
    w = {("a",): 10, ("b",): 30, ("c",): 0, ("d",): 60}
    out = allocate_operators(10, w)
    assert sum(out.values()) == 10 and out[("c",)] == 0
    assert all(out[k] >= 1 for k in [("a",), ("b",), ("d",)])
    assert out[("d",)] > out[("b",)] > out[("a",)] - 1
    assert allocate_operators(2, w) == {("a",): 0, ("b",): 1, ("c",): 0, ("d",): 1}


def test_rank_unreached_order_and_eligibility():
    registry, scores = random_registry(400, ties=True)
    ranked = rank_unreached(registry, scores)
    eligible = ~is_reached(registry) & (registry["verification_status"] == "unverified")
    assert set(ranked["household_id"]) == set(registry.loc[eligible, "household_id"])
    assert list(ranked["rank"]) == list(range(1, len(ranked) + 1))
    # p desc, ties by id asc
    expected = ranked.sort_values(["p_extreme", "household_id"], ascending=[False, True])
    assert list(expected["household_id"]) == list(ranked["household_id"])
    # independent of the registry's row order
    shuffled = rank_unreached(registry.sample(frac=1, random_state=3), scores)
    pd.testing.assert_frame_equal(
        ranked[["household_id", "rank"]], shuffled[["household_id", "rank"]]
    )


@pytest.mark.parametrize("pooling", ["kelurahan", "kecamatan", "city"])
@pytest.mark.parametrize("seed", range(4))
def test_every_household_accounted_exactly_once(pooling, seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(0, 300))
    registry, scores = random_registry(
        n, seed=seed, n_kel=int(rng.integers(1, 67)), ties=seed % 2 == 0
    )
    # some eligible households without a score, some scores for unknown ids
    scores = scores.drop(scores.index[: n // 20])
    scores.loc["GHOST"] = scores.iloc[0] if len(scores) else [0.5, 0.4, 0.6, 1, ""]
    rejected = pd.DataFrame({"row": [1, 2], "household_id": ["BAD1", ""], "reason": ["x", "y"]})
    cap = PlanCapacity(
        operators=int(rng.integers(0, 12)),
        visits_per_day=float(rng.choice([1.0, 2.0, 2.5, 3.3])),
        workdays=int(rng.integers(0, 6)),
        pooling=pooling,
    )
    plan = build_plan(registry, scores, cap, rejected=rejected)
    assert_accounted(registry, plan, rejected)
    assert len(plan.plan) <= cap.total_visits
    nr = plan.not_ranked.set_index("household_id")
    reached = registry.loc[is_reached(registry), "household_id"]
    assert (nr.loc[reached, "reason"] == "reached").all()
    unscored = [h for h in registry["household_id"] if h not in scores.index]
    planned_ids = set(plan.plan["household_id"])
    for h in unscored:
        assert h not in planned_ids
        assert nr.loc[h, "reason"] in {"reached", "verified", "invalid_row"}
    assert (nr.loc[["BAD1"], "reason"] == "invalid_row").all()
    # a kelurahan operator-day stays in one kelurahan and respects the day's visit count
    days = plan.plan.groupby(["operator", "workday"])
    assert (days["kelurahan"].nunique() == 1).all()
    per_day = daily_visits(cap.visits_per_day, cap.workdays)
    for (_, day), size in days.size().items():
        assert size <= per_day[day - 1]
    summary = plan.summary()
    assert summary["households_accounted"] == n + len(rejected)
    assert summary["households_planned"] == len(plan.plan)


def test_plan_fills_capacity_and_prefers_high_yield():
    registry, scores = random_registry(3000, seed=5)
    cap = PlanCapacity(operators=12, visits_per_day=2.5, workdays=10)
    plan = build_plan(registry, scores, cap)
    assert len(plan.plan) == cap.total_visits  # plenty of households everywhere
    p = plan.plan
    # within an operator-day, highest p first; order_in_day 1..k
    for _, block in p.groupby(["operator", "workday"]):
        assert list(block["order_in_day"]) == list(range(1, len(block) + 1))
        assert block["p_extreme"].is_monotonic_decreasing
    # within a kelurahan, visits go down the kelurahan's ranking with no gaps
    curves = plan.kelurahan_curves
    for _, c in curves.groupby(["kecamatan", "kelurahan"]):
        planned = c["planned"].to_numpy()
        assert not (~planned[:-1] & planned[1:]).any()
    # the plan beats a random choice of the same number of eligible households
    eligible = rank_unreached(registry, scores)
    assert p["p_extreme"].mean() > eligible["p_extreme"].mean() * 1.5
    # yield curve is cumulative and matches the plan
    yc = plan.yield_curve
    assert len(yc) == cap.workdays
    assert yc["visits"].iloc[-1] == len(p)
    assert yc["expected_finds"].iloc[-1] == pytest.approx(p["p_extreme"].sum())
    assert yc["expected_finds"].is_monotonic_increasing
    # first days yield more per visit than the last (greedy front-loads)
    assert yc["expected_finds_day"].iloc[0] / yc["visits_day"].iloc[0] >= (
        yc["expected_finds_day"].iloc[-1] / yc["visits_day"].iloc[-1]
    )
    assert p["visit_date"].min() == "2025-11-03"
    assert {"rt", "rw", "reason_1", "desil", "rank"} <= set(p.columns)
    assert p["operator"].str.fullmatch(r"OP-[A-Za-z]+-\d{2}").all()


def test_greedy_picks_the_best_kelurahan():
    registry = pd.DataFrame(
        {
            "household_id": ["a1", "a2", "b1", "b2", "c1"],
            "kecamatan": ["K"] * 5,
            "kelurahan": ["A", "A", "B", "B", "C"],
            "receives_pkh": False,
            "receives_bpnt": False,
            "verification_status": "unverified",
        }
    )
    scores = pd.DataFrame(
        {"p_extreme": [0.9, 0.0, 0.5, 0.5, 0.95], "p_low": 0.0, "p_high": 1.0, "desil": 1},
        index=registry["household_id"],
    )
    plan = build_plan(registry, scores, PlanCapacity(operators=1, workdays=3, pooling="city"))
    # day 1: B (0.5+0.5 = 1.0) beats C (0.95) and A (0.9); day 2: C; day 3: A
    assert list(plan.plan["kelurahan"]) == ["B", "B", "C", "A", "A"]
    assert list(plan.plan["workday"]) == [1, 1, 2, 3, 3]
    assert plan.plan["operator"].iloc[0] == "OP-Kota-01"
    # kelurahan pooling: each operator keeps to a home kelurahan
    plan = build_plan(registry, scores, PlanCapacity(operators=3, workdays=1, pooling="kelurahan"))
    assert set(plan.plan["operator"]) == {"OP-A-01", "OP-B-01", "OP-C-01"}


def test_deterministic_and_replan():
    registry, scores = random_registry(1500, seed=9, ties=True)
    cap = PlanCapacity(operators=6, workdays=4)
    first = build_plan(registry, scores, cap)
    again = build_plan(
        registry.sample(frac=1, random_state=1), scores.sample(frac=1, random_state=2), cap
    )
    pd.testing.assert_frame_equal(first.plan, again.plan)
    # verify the first plan's households, then replan: they drop out as "verified"
    visited = set(first.plan["household_id"])
    updated = registry.copy()
    updated.loc[updated["household_id"].isin(visited), "verification_status"] = "verified_extreme"
    nxt = replan(first, updated, scores)
    assert not visited & set(nxt.plan["household_id"])
    assert nxt.plan["visit_date"].min() > first.plan["visit_date"].max()
    assert_accounted(updated, nxt)


def test_duplicate_ids_are_refused():
    registry, scores = random_registry(20)
    with pytest.raises(ValueError, match="duplicate"):
        build_plan(pd.concat([registry, registry.head(1)]), scores, PlanCapacity())


def test_plan_with_scores_as_column():
    registry, scores = random_registry(200, seed=2)
    capacity = PlanCapacity(operators=2, workdays=2)
    plan = build_plan(registry, scores.reset_index(), capacity)
    # the same plan as with scores indexed by household_id (the allocation by expected finds
    # may send a day to a kelurahan with one household left, so 7 of the 8 visits are made)
    pd.testing.assert_frame_equal(plan.plan, build_plan(registry, scores, capacity).plan)
    assert 0 < len(plan.plan) <= capacity.total_visits


@pytest.mark.parametrize("n", [0, 1, 7])
def test_tiny_registries_and_no_capacity(n):
    registry, scores = random_registry(n, seed=n)
    for cap in [PlanCapacity(), PlanCapacity(operators=0), PlanCapacity(workdays=0)]:
        plan = build_plan(registry, scores, cap)
        assert_accounted(registry, plan)
        assert len(plan.yield_curve) == cap.workdays
        if cap.total_visits == 0:
            assert plan.plan.empty
