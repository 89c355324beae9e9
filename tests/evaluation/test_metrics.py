"""Targeting metrics on hand-computed toy cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from targeting.config.experiment import PRIMARY_METRICS
from targeting.evaluation.metrics import (
    evaluate_scores,
    expected_calibration_error,
    group_error_ratios,
    select_top,
    targeting_curve,
    targeting_errors,
)

Y = np.array([1, 1, 0, 0, 1, 0, 0, 0, 0, 0])
SCORE = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0])


def test_ee_ie_by_hand():
    # top 3 = rows 0, 1, 2: two of the three poor found, one of three selected is not poor
    ee, ie = targeting_errors(Y, SCORE, 0.3)
    assert ee == pytest.approx(1 / 3)
    assert ie == pytest.approx(1 / 3)
    # top 5 finds all three poor; 2 of 5 selected are not poor
    assert targeting_errors(Y, SCORE, 0.5) == pytest.approx((0.0, 0.4))
    # top 1: one of three poor, no leakage
    assert targeting_errors(Y, SCORE, 0.1) == pytest.approx((2 / 3, 0.0))


def test_nothing_selected_and_nobody_poor():
    ee, ie = targeting_errors(Y, SCORE, 0.0)
    assert ee == 1.0 and math.isnan(ie)
    ee, ie = targeting_errors(np.zeros(10), SCORE, 0.3)
    assert math.isnan(ee) and ie == 1.0


def test_ties_are_broken_by_position():
    flat = np.full(10, 0.5)
    chosen = select_top(flat, 0.3)
    assert list(np.flatnonzero(chosen)) == [0, 1, 2]
    assert targeting_errors(Y, flat, 0.3) == targeting_errors(Y, flat, 0.3)
    assert targeting_errors(Y, flat, 0.3) == pytest.approx((1 / 3, 1 / 3))


def test_weighted_errors_by_hand():
    # row 4 (poor) has weight 3: total weight 12, budget 0.25 = 3 units: rows 0, 1, 2 selected
    w = np.array([1, 1, 1, 1, 3, 1, 1, 1, 1, 1], dtype=float)
    ee, ie = targeting_errors(Y, SCORE, 0.25, sample_weight=w)
    assert ee == pytest.approx(1 - 2 / 5)
    assert ie == pytest.approx(1 / 3)


def test_expected_calibration_error_by_hand():
    y = np.array([0, 1, 1, 1])
    p = np.array([0.1, 0.1, 0.9, 0.9])
    # bin of 0.1: |0.5 - 0.1| * 2/4 = 0.2; bin of 0.9: |1 - 0.9| * 2/4 = 0.05
    assert expected_calibration_error(y, p) == pytest.approx(0.25)
    assert expected_calibration_error(np.array([0, 1]), np.array([0.5, 0.5])) == 0.0


def test_evaluate_scores_names_and_perfect_ranking():
    out = evaluate_scores(Y, np.where(Y == 1, 0.9, 0.1))
    # every metric a spec may choose the champion by is computed
    assert set(PRIMARY_METRICS) <= set(out)
    assert out["auc"] == 1.0
    assert out["ee_at_true_share"] == 0.0 and out["ie_at_true_share"] == 0.0
    assert out["brier"] == pytest.approx(0.01)
    assert out["ee_at_10"] == pytest.approx(2 / 3)


def test_targeting_curve_runs_from_zero_to_all():
    curve = targeting_curve(Y, SCORE, n_points=11)
    assert list(curve.columns) == [
        "share_selected",
        "share_found",
        "exclusion_error",
        "inclusion_error",
    ]
    assert curve["share_found"].iloc[0] == 0.0
    assert curve["share_found"].iloc[-1] == 1.0
    assert curve["share_found"].is_monotonic_increasing


def test_group_error_ratios_by_hand():
    groups = pd.DataFrame({"area": ["a", "a", "b", "b", "b", "a", "a", "b", "b", "b"]})
    out = group_error_ratios(Y, SCORE, groups, budget=0.3).set_index("group")
    # selected rows 0,1,2: area a poor = rows 0,1 (both found); area b poor = row 4 (missed)
    assert out.loc["a", "ee"] == 0.0
    assert out.loc["b", "ee"] == 1.0
    assert out.loc["b", "ee_ratio"] == pytest.approx(3.0)
    assert out.loc["a", "n_poor"] == 2
