"""The audit sample: inclusion probabilities, the draw, placement in the plan, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from targeting.plan.audit import (
    add_audit_sample,
    allocate_sample,
    pips_inclusion,
    systematic_pips,
)
from targeting.plan.ranking import PlanCapacity, build_plan


def small_city(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three kecamatan x two kelurahan, 10 % reached, skewed scores like a rare outcome."""
    rng = np.random.default_rng(seed)
    kec = np.array(["A", "B", "C"])[np.arange(n) % 3]
    kel = np.char.add(kec, np.where(np.arange(n) % 2 == 0, "-1", "-2"))
    registry = pd.DataFrame(
        {
            "household_id": [f"H{i:05d}" for i in range(n)],
            "kecamatan": kec,
            "kelurahan": kel,
            "receives_pkh": rng.uniform(size=n) < 0.1,
            "receives_bpnt": False,
            "verification_status": "unverified",
        }
    )
    p = np.clip(rng.beta(0.4, 6.0, size=n), 1e-4, 0.99)
    scores = pd.DataFrame({"p_extreme": p}, index=registry["household_id"])
    return registry, scores


CAPACITY = PlanCapacity(operators=3, visits_per_day=2, workdays=10, pooling="kecamatan")


def test_pips_sums_to_n_and_caps_at_one() -> None:
    size = np.array([50.0, 1, 1, 1, 1, 1, 1, 1, 1, 1])
    pi = pips_inclusion(size, 3)
    assert pi.sum() == pytest.approx(3.0)
    assert pi[0] == 1.0
    assert np.allclose(pi[1:], 2 / 9)
    with pytest.raises(ValueError, match="> 0"):
        pips_inclusion(np.array([1.0, 0.0]), 1)


def test_systematic_draw_matches_inclusion_probabilities() -> None:
    rng = np.random.default_rng(7)
    size = rng.gamma(0.5, size=40) + 0.01
    pi = pips_inclusion(size, 6)
    reps = 20_000
    counts = np.zeros(len(pi))
    draw_rng = np.random.default_rng(11)
    for _ in range(reps):
        s = systematic_pips(pi, draw_rng)
        assert len(s) == 6 and len(np.unique(s)) == 6
        counts[s] += 1
    freq = counts / reps
    se = np.sqrt(pi * (1 - pi) / reps) + 1e-12
    # every unit within 4.5 binomial standard errors of its design probability
    assert np.all(np.abs(freq - pi) <= 4.5 * se + 1e-9)


def test_allocation_sums_and_minimum_two() -> None:
    out = allocate_sample(10, {"a": 5.0, "b": 1.0, "c": 0.5}, {"a": 100, "b": 100, "c": 1})
    assert sum(out.values()) == 10
    assert out["c"] == 1 and out["b"] >= 2 and out["a"] >= out["b"]


def test_plan_with_audit_accounts_for_every_household_and_looks_the_same() -> None:
    registry, scores = small_city()
    plan = build_plan(registry, scores, CAPACITY)
    audited = add_audit_sample(plan, registry, scores, share=0.2, seed=3)
    design = audited.audit
    assert list(audited.plan.columns) == list(plan.plan.columns)
    assert len(audited.plan) == len(plan.plan)  # capacity shared, not extended
    assert audited.plan["household_id"].is_unique
    ids = pd.concat([audited.plan["household_id"], audited.not_ranked["household_id"]])
    assert ids.is_unique and set(ids) == set(registry["household_id"])
    audit = design.units.loc[design.units["part"] == "audit"]
    assert len(audit) == 12 == audited.summary()["audit_visits"]
    # slots unchanged: the operator-day grid is the ranked plan's
    slots = ["operator", "workday", "visit_date", "order_in_day"]
    pd.testing.assert_frame_equal(
        audited.plan[slots].sort_values(slots).reset_index(drop=True),
        plan.plan[slots].sort_values(slots).reset_index(drop=True),
    )
    # audit households were not in the ranked part, and each sits in its kecamatan's pool
    ranked_ids = set(design.units.loc[design.units["part"] == "ranked", "household_id"])
    assert not ranked_ids & set(audit["household_id"])
    placed = audited.plan.set_index("household_id").loc[audit["household_id"]]
    assert (placed["operator"].str.split("-").str[1] == placed["kecamatan"]).all()
    # per stratum the frame's inclusion probabilities sum to the stratum's sample size
    assert design.strata["sample_size"].sum() == 12
    given_up = audited.summary()["audit_expected_finds_given_up"]
    assert given_up == pytest.approx(
        plan.summary()["expected_finds"] - audited.summary()["expected_finds"]
    )
    assert audited.yield_curve["visits"].iloc[-1] == len(audited.plan)
    assert audited.yield_curve["expected_finds"].iloc[-1] == pytest.approx(
        audited.summary()["expected_finds"]
    )


def test_audit_is_deterministic_and_seed_dependent() -> None:
    registry, scores = small_city()
    plan = build_plan(registry, scores, CAPACITY)
    a = add_audit_sample(plan, registry, scores, share=0.2, seed=5)
    b = add_audit_sample(plan, registry, scores, share=0.2, seed=5)
    c = add_audit_sample(plan, registry, scores, share=0.2, seed=6)
    pd.testing.assert_frame_equal(a.plan, b.plan)
    pd.testing.assert_frame_equal(a.audit.units, b.audit.units)
    assert not a.plan["household_id"].equals(c.plan["household_id"])


def test_share_zero_and_bad_share() -> None:
    registry, scores = small_city()
    plan = build_plan(registry, scores, CAPACITY)
    none = add_audit_sample(plan, registry, scores, share=0.0, seed=1)
    pd.testing.assert_frame_equal(none.plan, plan.plan)
    assert none.summary()["audit_visits"] == 0
    with pytest.raises(ValueError, match="audit_share"):
        add_audit_sample(plan, registry, scores, share=1.0)


def test_audit_visits_keep_each_operator_day_in_one_kelurahan() -> None:
    # many small kelurahan and a large audit share: most audit households live in a kelurahan
    # that none of the least promising days works in, the case that used to send an operator
    # elsewhere for one visit
    registry, scores = small_city(n=1_200, seed=4)
    registry["kelurahan"] = registry["kecamatan"] + "-" + (np.arange(1_200) % 8).astype(str)
    plan = build_plan(registry, scores, CAPACITY)
    for seed in range(5):
        audited = add_audit_sample(plan, registry, scores, share=0.25, seed=seed)
        per_day = audited.plan.groupby(["operator", "visit_date"])["kelurahan"].nunique()
        assert (per_day == 1).all(), "an operator works in one kelurahan per day"
        units = audited.audit.units
        audit = units.loc[units["part"] == "audit"]
        assert len(audit) == 15
        # fill-ins are frame units (never in the ranked part) and carry no inclusion probability
        fill = units.loc[units["part"] == "fill"]
        assert fill["inclusion_prob"].isna().all()
        assert not set(fill["household_id"]) & set(
            units.loc[units["part"] == "ranked", "household_id"]
        )
        assert len(units) == len(audited.plan) and units["household_id"].is_unique
        # capacity is shared, not extended
        assert len(audited.plan) <= len(plan.plan)
