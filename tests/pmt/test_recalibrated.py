"""RecalibratedPMT: logistic recalibration of a fitted model on verified labels."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from targeting.pmt.recalibrated import RecalibratedPMT
from tests.helpers.prefit import StoredProbability

EXPECTED_FAILURES: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _one_thread():
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@parametrize_with_checks(
    [
        RecalibratedPMT(LogisticRegression()),
        # proxy terms fitted on the checks' small data sets (min_labels lowered for them)
        RecalibratedPMT(LogisticRegression(), feature_strength=10.0, min_labels=10),
    ],
    expected_failed_checks=lambda est: EXPECTED_FAILURES,
)
def test_sklearn_conventions(estimator, check):
    check(estimator)


def _data(n: int, a: float, b: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p_base = expit(rng.normal(-1.5, 1.0, n))
    p_true = expit(a + b * logit(p_base))
    return p_base[:, None], (rng.random(n) < p_true).astype(int)


def test_recovers_intercept_and_slope_with_many_labels() -> None:
    X, y = _data(20_000, a=-0.7, b=1.4)
    model = RecalibratedPMT(StoredProbability(column=0)).fit(X, y)
    assert model.slope_fitted_
    assert model.coef_[0] == pytest.approx(-0.7, abs=0.12)
    assert model.coef_[1] == pytest.approx(1.4, abs=0.08)


def test_few_labels_fit_intercept_only_and_stay_near_identity() -> None:
    X, y = _data(50, a=-0.7, b=1.4)
    model = RecalibratedPMT(StoredProbability(column=0), min_labels=200).fit(X, y)
    assert not model.slope_fitted_ and model.coef_[1] == 1.0
    strong = RecalibratedPMT(StoredProbability(column=0), prior_strength=1e6).fit(X, y)
    np.testing.assert_allclose(strong.predict_proba(X)[:, 1], X[:, 0], atol=1e-3)


def test_prefit_base_is_not_refitted_and_recalibration_fixes_the_mean() -> None:
    X, y = _data(5_000, a=-1.0, b=1.0, seed=1)
    base = StoredProbability(column=0)
    model = RecalibratedPMT(base).fit(X, y)
    assert model.base_ is base
    before = abs(X[:, 0].mean() - y.mean())
    after = abs(model.predict_proba(X)[:, 1].mean() - y.mean())
    assert after < before / 4


def test_group_offsets_are_shrunk_and_learn_area_effects() -> None:
    rng = np.random.default_rng(3)
    n = 6_000
    p_base = expit(rng.normal(-1.5, 1.0, n))
    area = rng.choice(["A", "B", "C"], n)
    effect = pd.Series({"A": -1.0, "B": 0.0, "C": 1.0})[area].to_numpy()
    y = (rng.random(n) < expit(logit(p_base) + effect)).astype(int)
    X = pd.DataFrame({"p": p_base, "kelurahan": area})

    model = RecalibratedPMT(StoredProbability(), group_column="kelurahan", group_strength=4.0).fit(
        X, y
    )
    u = model.group_offsets_
    assert u["A"] < u["B"] < u["C"]
    assert u["C"] - u["A"] == pytest.approx(2.0, abs=0.35)
    unseen = X.head(3).assign(kelurahan="Z")
    p_unseen = model.predict_proba(unseen)[:, 1]
    np.testing.assert_allclose(
        p_unseen, expit(model.coef_[0] + model.coef_[1] * logit(unseen["p"])), rtol=1e-9
    )
    draws = model.proba_draws(X.head(50), 200, random_state=0)
    assert draws.shape == (50, 200)
    p = model.predict_proba(X.head(50))[:, 1]
    low, high = np.quantile(draws, [0.05, 0.95], axis=1)
    assert np.mean((low <= p) & (p <= high)) > 0.9


def test_missing_group_column_is_a_clear_error() -> None:
    X, y = _data(500, a=0.0, b=1.0)
    with pytest.raises(ValueError, match="group_column"):
        RecalibratedPMT(StoredProbability(column=0), group_column="kelurahan").fit(X, y)
