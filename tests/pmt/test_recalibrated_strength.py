"""RecalibratedPMT: the offsets' shrinkage chosen from the labels, and an area-level covariate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, ndtr, ndtri

from targeting.pmt.recalibrated import RecalibratedPMT
from tests.helpers.prefit import StoredProbability


def _planted(
    sd: float, n_areas: int = 60, per_area: int = 80, seed: int = 11
) -> tuple[pd.DataFrame, np.ndarray, pd.Series]:
    """Labels of ``n_areas`` areas with planted log-odds effects of standard deviation ``sd``
    (about what an area effect of sd 0.08 on log consumption is near the line)."""
    rng = np.random.default_rng(seed)
    names = [f"K{i:02d}" for i in range(n_areas)]
    effect = pd.Series(rng.normal(0.0, sd, n_areas), index=names)
    area = np.repeat(names, per_area)
    z = rng.normal(-1.2, 0.6, len(area))
    y = (rng.random(len(area)) < expit(z + effect[area].to_numpy())).astype(int)
    return pd.DataFrame({"p": expit(z), "kelurahan": area}), y, effect


def _offsets(model: RecalibratedPMT, effect: pd.Series) -> np.ndarray:
    return np.array([model.group_offsets_.get(g, 0.0) for g in effect.index])


def test_auto_strength_recovers_planted_area_effects_better_than_a_fixed_strong_prior() -> None:
    X, y, effect = _planted(sd=0.6)
    auto = RecalibratedPMT(
        StoredProbability(), group_column="kelurahan", group_strength="auto"
    ).fit(X, y)
    fixed = RecalibratedPMT(
        StoredProbability(), group_column="kelurahan", group_strength=100.0
    ).fit(X, y)
    # the planted sd 0.6 is a precision of ~2.8; the marginal likelihood lands near it
    assert 1.0 < auto.group_strength_ < 10.0
    assert fixed.group_strength_ == 100.0
    truth = effect.to_numpy() - effect.mean()
    err_auto = np.mean((_offsets(auto, effect) - truth) ** 2)
    err_fixed = np.mean((_offsets(fixed, effect) - truth) ** 2)
    assert err_auto < 0.5 * err_fixed
    # a strong prior shrinks the spread of the offsets to a fraction of the planted one
    assert np.std(_offsets(fixed, effect)) < 0.5 * effect.std()
    assert np.std(_offsets(auto, effect)) > 0.7 * effect.std()


def test_auto_strength_shrinks_hard_when_areas_do_not_differ() -> None:
    X, y, _ = _planted(sd=0.0)
    auto = RecalibratedPMT(
        StoredProbability(), group_column="kelurahan", group_strength="auto"
    ).fit(X, y)
    assert auto.group_strength_ > 50.0
    assert max(abs(u) for u in auto.group_offsets_.values()) < 0.1


def test_area_covariate_reaches_areas_without_labels_and_its_coefficient_is_learnt() -> None:
    # the planted effect is -7 x a covariate the survey would give (log consumption units)
    rng = np.random.default_rng(4)
    names = [f"K{i:02d}" for i in range(60)]
    covariate = pd.Series(rng.normal(0.0, 0.08, 60), index=names)
    X, y, _ = _planted(sd=0.0)
    X = X[X["kelurahan"].isin(names[:50])].reset_index(drop=True)  # 10 areas never visited
    z = np.log(X["p"] / (1 - X["p"])).to_numpy()
    planted = -7.0 * covariate[X["kelurahan"]].to_numpy()
    y = (rng.random(len(X)) < expit(z + planted)).astype(int)
    model = RecalibratedPMT(
        StoredProbability(),
        group_column="kelurahan",
        group_strength="auto",
        group_covariate=covariate.to_dict(),
    ).fit(X, y)
    assert model.group_covariate_coef_ == pytest.approx(-7.0, abs=1.5)
    unvisited = names[50:]
    got = np.array([model.group_offsets_[g] for g in unvisited])
    np.testing.assert_allclose(got, model.group_covariate_coef_ * covariate[unvisited], rtol=1e-9)
    # a household of an unvisited area is moved by its area's covariate
    row = pd.DataFrame({"p": [0.2], "kelurahan": [unvisited[0]]})
    expected = expit(
        model.coef_[0]
        + model.coef_[1] * np.log(0.2 / 0.8)
        + model.group_covariate_coef_ * covariate[unvisited[0]]
    )
    assert model.predict_proba(row)[0, 1] == pytest.approx(expected, rel=1e-9)
    # draws include the covariate coefficient's uncertainty and centre on the point estimate
    draws = model.proba_draws(row, 400, random_state=0)
    assert draws.std() > 0
    assert np.median(draws) == pytest.approx(model.predict_proba(row)[0, 1], rel=0.1)


def test_bad_strength_and_covariate_without_area_are_clear_errors() -> None:
    X, y, _ = _planted(sd=0.3, n_areas=5, per_area=40)
    with pytest.raises(ValueError, match="group_strength"):
        RecalibratedPMT(StoredProbability(), group_column="kelurahan", group_strength="high").fit(
            X, y
        )
    with pytest.raises(ValueError, match="group_covariate"):
        RecalibratedPMT(StoredProbability(), group_covariate={"K00": 0.1}).fit(X[["p"]], y)


def test_offsets_act_above_the_floor_only() -> None:
    # a floor f of transitory poverty no area effect moves; above it the areas' probits differ
    # by ±0.5 (a shift of log consumption in a consumption model)
    rng = np.random.default_rng(8)
    f, n = 0.013, 8_000
    area = rng.choice(["A", "B"], n)
    effect = np.where(area == "A", 0.5, -0.5)
    q = ndtr(rng.normal(-1.0, 0.6, n))
    p_base = f + (1 - f) * q
    y = (rng.random(n) < f + (1 - f) * ndtr(ndtri(q) + effect)).astype(int)
    X = pd.DataFrame({"p": p_base, "kelurahan": area})
    kwargs = {"group_column": "kelurahan", "group_strength": "auto", "support": "visited"}
    floored = RecalibratedPMT(
        StoredProbability(), offset_floor=f, fade_offsets=False, **kwargs
    ).fit(X, y)
    u = floored.group_offsets_
    assert u["A"] - u["B"] == pytest.approx(1.0, abs=0.15)
    at_floor = pd.DataFrame({"p": [f, f], "kelurahan": ["A", "B"]})
    # at the floor (far below the labels' range, where the map has faded) the offsets do nothing
    assert np.log(f / (1 - f)) < floored.support_range_[0] - floored.taper_
    p_floor = floored.predict_proba(at_floor)[:, 1]
    np.testing.assert_allclose(p_floor, [f, f], rtol=1e-9)
    plain = RecalibratedPMT(StoredProbability(), fade_offsets=False, **kwargs).fit(X, y)
    p_plain = plain.predict_proba(at_floor)[:, 1]
    assert p_plain[0] > 3 * p_plain[1]
    # above the floor a floored offset moves the probit of q by the offset (the map is near
    # the identity in the labels' range)
    high = pd.DataFrame({"p": [0.3, 0.3], "kelurahan": ["A", "B"]})
    p_high = floored.predict_proba(high)[:, 1]
    probit = ndtri((p_high - f) / (1 - f))
    assert probit[0] - probit[1] == pytest.approx(u["A"] - u["B"], abs=0.05)
    draws = floored.proba_draws(at_floor, 50, random_state=0)
    assert np.isfinite(draws).all()
