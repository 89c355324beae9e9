"""The interval of a plan's finds: the level is checked where the ranked visits are."""

from __future__ import annotations

import numpy as np
import pytest

from targeting.evaluation.stock import plan_finds


def _survey(seed: int = 0) -> tuple[np.ndarray, ...]:
    """Unreached survey households whose top-range level is half what the model says."""
    rng = np.random.default_rng(seed)
    q = rng.beta(0.5, 8.0, 6_000)
    truth = np.where(q >= 0.3, 0.5 * q, q)
    y = (rng.random(len(q)) < truth).astype(float)
    return y, q, np.ones(len(q)), rng.integers(0, 60, len(q)).astype(str)


def test_audit_visits_do_not_widen_the_checked_range() -> None:
    y, q, w, groups = _survey()
    rng = np.random.default_rng(1)
    ranked_p = rng.uniform(0.3, 0.8, 400)
    audit_p = rng.uniform(0.001, 0.02, 20)
    p = np.concatenate([ranked_p, audit_p])
    ranked = np.r_[np.ones(400, bool), np.zeros(20, bool)]
    split = plan_finds(p, y, q, w, groups, ranked=ranked)
    top_only = plan_finds(ranked_p, y, q, w, groups)
    pooled = plan_finds(p, y, q, w, groups)
    # the level check is the top range's (about half), not the whole survey's (near 1)
    assert split.survey_ratio == pytest.approx(top_only.survey_ratio)
    assert split.survey_ratio < 0.7 < pooled.survey_ratio
    assert split.estimate == pytest.approx(p.sum())
    # the audit part adds its own uncertainty: wider than the ranked part alone
    assert split.high - split.low > top_only.high - top_only.low
    assert split.low < split.estimate < split.high


def test_without_a_mask_every_visit_is_ranked() -> None:
    y, q, w, groups = _survey(2)
    p = np.linspace(0.2, 0.6, 300)
    plain = plan_finds(p, y, q, w, groups)
    masked = plan_finds(p, y, q, w, groups, ranked=np.ones(300, bool))
    assert (plain.estimate, plain.low, plain.high) == (masked.estimate, masked.low, masked.high)
