"""The residual (smearing) recalibration map of selection-aware consumption models."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtr

from targeting.pmt.classifiers import LogitPMT
from targeting.pmt.linear import LogConsumptionOLS
from targeting.pmt.selection import BetaCalibrator, ResidualCalibrator, SelectionAwarePMT

LINE = 400_000.0


def _shocked(n: int, seed: int):
    """Log consumption = proxies + normal noise − a rare large shock (heavy left tail), and a
    programme that reached households on consumption as well as on the proxy."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3))
    log_c = np.log(LINE) + 0.6 + 0.35 * x[:, 0] + 0.15 * x[:, 1] + 0.15 * rng.standard_normal(n)
    log_c -= (rng.random(n) < 0.03) * np.maximum(rng.normal(2.0, 0.6, n), 0.0)
    reached = -2.0 * (log_c - np.log(LINE)) - 0.5 * x[:, 0] + rng.logistic(size=n) > 1.5
    return x, np.exp(log_c), reached


def test_global_map_is_the_smoothed_residual_distribution():
    rng = np.random.default_rng(1)
    e = np.where(rng.random(40_000) < 0.05, rng.normal(-6, 1, 40_000), rng.normal(0, 0.5, 40_000))
    cal = ResidualCalibrator().fit(e)
    t = np.array([-6.0, -3.0, -1.0, 0.0, 0.5, 1.0])
    truth = 0.05 * ndtr(t + 6) + 0.95 * ndtr(t / 0.5)
    np.testing.assert_allclose(cal.transform(ndtr(t)), truth, atol=0.01)
    grid = ndtr(np.linspace(-8, 3, 200))
    assert np.all(np.diff(cal.transform(grid)) >= 0)  # increasing: intervals map end to end
    # sample weights count: doubling the weight of the tail doubles its share
    w = np.where(e < -3, 2.0, 1.0)
    heavier = ResidualCalibrator().fit(e, sample_weight=w).transform(ndtr(np.array([-3.0])))
    assert heavier[0] == pytest.approx(2 * 0.05 / 1.05, abs=0.01)


def test_local_map_follows_a_tail_that_thins_with_t():
    # among households with a high t, the shocked were reached: the tail is thinner there
    rng = np.random.default_rng(2)
    n = 40_000
    t_own = rng.normal(-2.0, 1.0, n)
    shock_share = 0.06 / (1 + np.exp(2 * (t_own + 0.5)))
    e = np.where(rng.random(n) < shock_share, rng.normal(-4, 0.5, n), rng.normal(0, 0.5, n))
    local = ResidualCalibrator(locality=0.25).fit(e, position=t_own)
    pooled = ResidualCalibrator().fit(e)
    t = np.array([0.5])
    truth = 0.06 / (1 + np.exp(2 * (0.5 + 0.5))) * ndtr((0.5 + 4) / 0.5)
    truth += (1 - 0.06 / (1 + np.exp(2))) * ndtr(0.5 / 0.5)
    assert abs(local.transform(ndtr(t))[0] - truth) < abs(pooled.transform(ndtr(t))[0] - truth)
    assert np.all(np.diff(local.transform(ndtr(np.linspace(-8, 3, 200)))) >= 0)
    with pytest.raises(ValueError, match="position"):
        ResidualCalibrator(locality=0.5).fit(e)


def test_residual_map_calibrates_the_top_of_a_heavy_tailed_ols():
    x, c, reached = _shocked(60_000, 3)
    groups = np.arange(len(c)) % 50
    train = np.arange(len(c)) < 30_000
    test = ~train & ~reached
    label = c < LINE
    top_error = {}
    for name in ("none", "residual"):
        model = SelectionAwarePMT(
            LogConsumptionOLS(line=LINE),
            calibration_cv=0 if name == "none" else 5,
            calibration_map="residual",
            calibration_locality=0.5,
        ).fit(x[train], c[train], reached=reached[train], groups=groups[train])
        p = model.predict_proba(x[test])[:, 1]
        top = p > np.quantile(p, 0.98)
        top_error[name] = p[top].sum() / label[test][top].sum() - 1
        if name == "residual":
            assert isinstance(model.calibrator_, ResidualCalibrator)
            assert abs(p.sum() / label[test].sum() - 1) < 0.08
            low, high = model.proba_interval(x[test][:200])
            assert np.all(low <= p[:200] + 1e-12) and np.all(p[:200] <= high + 1e-12)
    assert top_error["none"] < -0.05  # normal errors under-state the top
    assert abs(top_error["residual"]) < abs(top_error["none"]) / 2


def test_label_models_fall_back_to_the_beta_map():
    x, c, reached = _shocked(6_000, 4)
    y = (c < LINE).astype(int)
    model = SelectionAwarePMT(
        LogitPMT(summary_stats=False), calibration_cv=3, calibration_map="residual"
    ).fit(x, y, reached=reached)
    assert isinstance(model.calibrator_, BetaCalibrator)
    with pytest.raises(ValueError, match="calibration_map"):
        SelectionAwarePMT(LogitPMT(summary_stats=False), calibration_map="x").fit(x, y)
