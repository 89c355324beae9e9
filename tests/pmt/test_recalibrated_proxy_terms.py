"""RecalibratedPMT's proxy terms: the field labels reorder households the base model mis-ranks."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from targeting.pmt.recalibrated import FEATURE_STRENGTH_GRID, RecalibratedPMT


def _households(n: int, rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n)})


def _truth(X: pd.DataFrame, x2_effect: float) -> np.ndarray:
    return expit(-1.0 + 1.2 * X["x1"].to_numpy() + x2_effect * X["x2"].to_numpy())


def _base(x2_effect: float, seed: int = 0) -> Pipeline:
    """A model fitted on a survey where ``x2`` has the effect ``x2_effect``."""
    rng = np.random.default_rng(seed)
    survey = _households(20_000, rng)
    y = (rng.random(len(survey)) < _truth(survey, x2_effect)).astype(int)
    model = Pipeline([("scale", StandardScaler()), ("model", LogisticRegression())])
    return model.fit(survey, y)


def _field(x2_effect: float, n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = _households(n, rng)
    return X, (rng.random(n) < _truth(X, x2_effect)).astype(int)


def test_proxy_terms_reorder_what_the_survey_model_got_wrong() -> None:
    # the survey saw no effect of x2; among the households the field visits it matters
    base = _base(x2_effect=0.0)
    X, y = _field(x2_effect=1.0, n=4_000, seed=1)
    X_new, y_new = _field(x2_effect=1.0, n=20_000, seed=2)
    plain = RecalibratedPMT(base).fit(X, y)
    terms = RecalibratedPMT(base, feature_strength="auto").fit(X, y)
    auc_base = roc_auc_score(y_new, base.predict_proba(X_new)[:, 1])
    auc_plain = roc_auc_score(y_new, plain.predict_proba(X_new)[:, 1])
    auc_terms = roc_auc_score(y_new, terms.predict_proba(X_new)[:, 1])
    # a map of the base model's log-odds cannot reorder; the proxy terms can
    assert auc_plain == pytest.approx(auc_base, abs=1e-9)
    assert auc_terms > auc_base + 0.05
    assert terms.feature_strength_ in FEATURE_STRENGTH_GRID
    assert terms.feature_strength_ < FEATURE_STRENGTH_GRID[-1]
    # the term of x2 (the second standardised input) carries the missed effect
    assert terms.feature_coef_[1] > 0.5
    assert plain.feature_strength_ is None
    assert plain.feature_coef_.shape == (0,)


def test_proxy_terms_stay_near_zero_when_the_survey_model_is_right() -> None:
    base = _base(x2_effect=1.0)
    X, y = _field(x2_effect=1.0, n=4_000, seed=3)
    terms = RecalibratedPMT(base, feature_strength="auto").fit(X, y)
    plain = RecalibratedPMT(base).fit(X, y)
    assert np.abs(terms.feature_coef_).max() < 0.1
    X_new, _ = _field(x2_effect=1.0, n=5_000, seed=4)
    gap = terms.predict_proba(X_new)[:, 1] - plain.predict_proba(X_new)[:, 1]
    assert np.abs(gap).max() < 0.03


def test_proxy_terms_enter_the_interval_draws() -> None:
    base = _base(x2_effect=0.0)
    X, y = _field(x2_effect=1.0, n=4_000, seed=5)
    model = RecalibratedPMT(base, feature_strength=30.0).fit(X, y)
    assert model.feature_strength_ == 30.0
    X_new, _ = _field(x2_effect=1.0, n=500, seed=6)
    draws = model.proba_draws(X_new, 400, random_state=0)
    point = model.predict_proba(X_new)[:, 1]
    assert draws.shape == (500, 400)
    # the draws centre on the point estimate (log-odds scale) and vary by household
    gap = np.median(np.log(draws / (1 - draws)), axis=1) - np.log(point / (1 - point))
    assert np.abs(gap).max() < 0.1
    assert np.all(draws.std(axis=1) > 0)


@pytest.mark.parametrize("bad", [0.0, -1.0, "strong"])
def test_bad_feature_strength_is_refused_with_its_value(bad: object) -> None:
    base = _base(x2_effect=0.0)
    X, y = _field(x2_effect=1.0, n=500, seed=7)
    with pytest.raises(ValueError, match="feature_strength"):
        RecalibratedPMT(base, feature_strength=bad).fit(X, y)  # type: ignore[arg-type]


def test_each_parameter_block_of_the_draws_moves_what_it_should() -> None:
    # slope, knots, area covariate, area offsets and proxy terms together: a draw that moves
    # one parameter only must move the log-odds as that parameter does (blocks aligned)
    base = _base(x2_effect=0.0)
    X, y = _field(x2_effect=1.0, n=3_000, seed=8)
    areas = np.array([f"K{i}" for i in range(6)])
    X = X.assign(kelurahan=areas[np.arange(len(X)) % 6])
    covariate = {f"K{i}": 0.1 * i for i in range(8)}  # K6, K7: no label, covariate only
    model = RecalibratedPMT(
        base,
        group_column="kelurahan",
        group_strength=4.0,
        group_covariate=covariate,
        knots=(0.5,),
        feature_strength=10.0,
    ).fit(X, y)
    n_params = model.cov_.shape[0]
    # a + b, one knot, beta, 6 labelled areas, 2 proxy terms
    assert n_params == 2 + 1 + 1 + 6 + 2
    X_new = X.head(60).assign(kelurahan=np.array([f"K{i}" for i in range(8)] * 8)[:60])
    point = model.decision_function(X_new)
    terms = (X_new[["x1", "x2"]].to_numpy() - model.feature_mean_) / model.feature_scale_

    def spread_when_only(j: int) -> np.ndarray:
        moved = copy.deepcopy(model)
        moved.cov_ = np.zeros((n_params, n_params))
        moved.cov_[j, j] = 0.25
        draws = moved.proba_draws(X_new, 2_000, random_state=1)
        return np.std(np.log(draws / (1 - draws)) - point[:, None], axis=1)

    # the last parameter is the x2 term: the spread follows |x2's term|, whatever the area
    np.testing.assert_allclose(spread_when_only(n_params - 1), 0.5 * np.abs(terms[:, 1]), rtol=0.1)
    # the first labelled area's offset (after a, b, the knot and beta) moves K0 only
    spread = spread_when_only(4)
    in_k0 = (X_new["kelurahan"] == "K0").to_numpy()
    np.testing.assert_allclose(spread[in_k0], 0.5, rtol=0.1)
    assert np.all(spread[~in_k0] < 1e-9)
    # beta moves every area by its covariate, the unlabelled K6 and K7 too
    spread = spread_when_only(3)
    s_g = X_new["kelurahan"].map(covariate).to_numpy()
    np.testing.assert_allclose(spread, 0.5 * s_g, rtol=0.1, atol=1e-9)


def test_a_base_whose_preprocessing_gives_frames_scores_without_warnings() -> None:
    import warnings

    X, y = _field(x2_effect=1.0, n=2_000, seed=9)
    framed = Pipeline(
        [
            ("scale", StandardScaler().set_output(transform="pandas")),
            ("model", LogisticRegression()),
        ]
    ).fit(X, y)
    model = RecalibratedPMT(framed, feature_strength=10.0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = model.predict_proba(X.head(50))[:, 1]
        model.proba_draws(X.head(50), 20, random_state=0)
        model.decision_function(X.head(50))
    assert np.all((p > 0) & (p < 1))
