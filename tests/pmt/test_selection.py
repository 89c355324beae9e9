"""Selection-aware PMT: P(extreme | proxies, not reached), survey receipt, the stock estimate."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from targeting.data import schema
from targeting.data.synthetic import generate_city
from targeting.evaluation.stock import unreached_calibration, unreached_stock
from targeting.forecast.scenarios import Scenario
from targeting.forecast.stockflow import CityState, simulate
from targeting.pmt.build import build_model, fit_model, load_specs
from targeting.pmt.classifiers import LogitPMT
from targeting.pmt.selection import SELECTION_METHODS, SelectionAwarePMT


def _selected_population(n: int = 30_000, seed: int = 0):
    """Extreme poverty depends on a proxy x and on u the proxies miss; programmes reached
    households on u as well, so P(extreme | x) over-states poverty among the unreached."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2))
    u = rng.standard_normal(n)
    extreme = (0.9 * x[:, 0] + 0.3 * x[:, 1] + u > 2.0).astype(int)
    reached = 1.2 * u + 0.6 * x[:, 0] + rng.logistic(size=n) > 2.0
    return x, extreme, reached


@pytest.fixture(scope="module")
def population():
    return _selected_population()


def test_unreached_method_is_calibrated_on_the_unreached_where_plain_is_not(population):
    x, y, reached = population
    train = np.arange(len(y)) % 2 == 0
    test = ~train & ~reached
    plain = LogitPMT(summary_stats=False).fit(x[train], y[train])
    aware = SelectionAwarePMT(LogitPMT(summary_stats=False)).fit(
        x[train], y[train], reached=reached[train]
    )
    observed = y[test].sum()
    plain_ratio = plain.predict_proba(x[test])[:, 1].sum() / observed
    aware_ratio = aware.predict_proba(x[test])[:, 1].sum() / observed
    assert plain_ratio > 1.15  # the bias the issue describes
    assert abs(aware_ratio - 1) < 0.08


@pytest.mark.parametrize("method", ["input", "two_part"])
def test_other_methods_lower_the_level_among_the_unreached(population, method):
    x, y, reached = population
    plain = LogitPMT(summary_stats=False).fit(x, y)
    aware = SelectionAwarePMT(LogitPMT(summary_stats=False), method=method).fit(
        x, y, reached=reached
    )
    unreached = ~reached
    assert (
        aware.predict_proba(x[unreached])[:, 1].sum()
        < 0.95 * plain.predict_proba(x[unreached])[:, 1].sum()
    )


@pytest.mark.parametrize("method", ["unreached", "two_part"])
def test_without_receipt_it_is_the_wrapped_estimator(population, method):
    x, y, _ = population
    plain = LogitPMT(summary_stats=False).fit(x, y)
    aware = SelectionAwarePMT(LogitPMT(summary_stats=False), method=method).fit(x, y)
    np.testing.assert_allclose(aware.predict_proba(x), plain.predict_proba(x))


def test_two_part_is_the_product_of_its_parts(population):
    x, y, reached = population
    model = SelectionAwarePMT(LogitPMT(summary_stats=False), method="two_part").fit(
        x, y, reached=reached
    )
    base = model.estimator_.predict_proba(x)[:, 1]
    ratio = model.reach_extreme_.predict_proba(x)[:, 1] / model.reach_all_.predict_proba(x)[:, 1]
    np.testing.assert_allclose(model.predict_proba(x)[:, 1], np.clip(base * ratio, 0, 1))


def test_bad_method_and_bad_reach_length_are_errors(population):
    x, y, reached = population
    with pytest.raises(ValueError, match="method must be one of"):
        SelectionAwarePMT(LogitPMT(), method="heckman").fit(x, y)
    with pytest.raises(ValueError, match="reached has"):
        SelectionAwarePMT(LogitPMT()).fit(x, y, reached=reached[:-1])


@pytest.fixture(scope="module")
def city():
    return generate_city(n_households=60_000, seed=11)


def test_survey_receipt_follows_the_registry_reach(city):
    survey, registry = city.survey, city.registry
    assert set(schema.PROGRAMME_COLUMNS) <= set(survey.columns)
    s_reached = schema.survey_reached(survey)
    w = survey["weight"].to_numpy()
    r_reached = schema.is_reached(registry).to_numpy()
    assert abs(np.average(s_reached, weights=w) - r_reached.mean()) < 0.03
    extreme = survey["consumption_pc"].to_numpy() < 400_000
    truth = city.truth["extreme"].to_numpy()
    assert abs(np.average(s_reached[extreme], weights=w[extreme]) - r_reached[truth].mean()) < 0.15
    # PKH/BPNT only among the reached, as in the registry
    assert not (survey["receives_pkh"] & ~s_reached).any()


def test_survey_contract_accepts_and_checks_receipt(city):
    survey = city.survey
    valid = schema.validate_survey(survey).valid
    assert valid["receives_pkh"].dtype == bool
    assert schema.survey_reached(valid.drop(columns=schema.PROGRAMME_COLUMNS)) is None
    bad = survey.astype({"receives_bpnt": object})
    bad.loc[3, "receives_bpnt"] = "maybe"
    with pytest.raises(schema.DataValidationError, match="receives_bpnt"):
        schema.validate_survey(bad)


def test_model_spec_pipeline_takes_reach(city):
    survey = city.survey
    spec = load_specs("models", names=["ols"])[0]
    pipe = build_model(spec, selection="unreached")
    consumption = survey["consumption_pc"].to_numpy()
    reached = schema.survey_reached(survey)
    fit_model(pipe, survey[schema.MODEL_COLUMNS], consumption=consumption, reached=reached)
    plain = fit_model(build_model(spec), survey[schema.MODEL_COLUMNS], consumption=consumption)
    X = survey.loc[~reached, schema.MODEL_COLUMNS]
    aware_sum = pipe.predict_proba(X)[:, 1].sum()
    assert aware_sum < plain.predict_proba(X)[:, 1].sum()
    assert pipe.steps[-1][1].n_reached_ == int(reached.sum())


def test_stock_interval_and_calibration_report():
    rng = np.random.default_rng(3)
    q = rng.beta(0.5, 12, 4000)
    y = (rng.random(4000) < q).astype(float)
    w = np.full(4000, 20.0)
    groups = np.repeat(np.arange(40), 100)
    p_registry = rng.beta(0.5, 12, 80_000)
    est = unreached_stock(p_registry, y, q, w, groups)
    assert est.low < est.estimate < est.high
    assert est.estimate == pytest.approx(p_registry.sum())
    assert 0 < est.sd_log < 0.2
    assert est.survey_ratio == pytest.approx((w * y).sum() / (w * q).sum())
    card = unreached_calibration(y, q, w)
    assert card["ratio"] == pytest.approx(card["observed"] / card["predicted"])
    assert 0 <= card["ece"] < 0.05
    assert sum(b["n"] for b in card["bins"]) <= 4000
    assert all(b["low"] <= b["predicted"] <= b["high"] for b in card["bins"])


def test_forecast_start_is_drawn_from_the_estimate_uncertainty():
    rng = np.random.default_rng(7)
    eligible = np.array([300, 400])
    curves = [np.sort(rng.beta(0.5, 4, n))[::-1] for n in eligible]
    mu = np.array([c.sum() for c in curves])
    state = CityState(
        kecamatan=np.array(["A", "B"]),
        kelurahan=np.array(["k0", "k1"]),
        unreached_extreme=mu,
        eligible=eligible,
        near_poor=np.array([100.0, 100.0]),
        yield_curves=curves,
    )
    scenario = Scenario(operators=1, start="2025-10", end="2025-12", deadline="2025-12-31")
    fixed = simulate(state, scenario, n_paths=400, seed=1).unreached[:, 0].sum(axis=1)
    uncertain_state = dataclasses.replace(state, start_sd_log=0.2)
    drawn = simulate(uncertain_state, scenario, n_paths=400, seed=1).unreached[:, 0].sum(axis=1)
    assert drawn.std() > 2 * fixed.std()
    assert abs(np.median(drawn) / mu.sum() - 1) < 0.05
    with pytest.raises(ValueError, match="start_sd_log"):
        dataclasses.replace(state, start_sd_log=-1.0)


def test_selection_methods_are_the_documented_ones():
    assert SELECTION_METHODS == ("unreached", "input", "two_part")
    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    model = SelectionAwarePMT(LogitPMT(summary_stats=False), method="input")
    model.fit(frame, [0, 1, 0, 1], reached=[True, False, False, True])
    assert model.predict_proba(frame).shape == (4, 2)


def test_beta_calibration_learns_a_convex_map_and_cross_fitting_uses_it():
    from targeting.pmt.selection import BetaCalibrator

    rng = np.random.default_rng(5)
    p = rng.beta(0.6, 6, 20_000)
    # the truth is flat at the low end and steep at the top (what a heavy-tailed OLS shows)
    truth = np.where(p < 0.3, 0.02, np.minimum(1.0, 0.02 + 2.5 * (p - 0.3)))
    y = (rng.random(p.size) < truth).astype(int)
    cal = BetaCalibrator().fit(p, y)
    q = cal.transform(p)
    assert abs(q.sum() / y.sum() - 1) < 0.05
    top = p > 0.6
    assert q[top].mean() > p[top].mean()  # the top is raised
    mid = (p > 0.1) & (p < 0.3)
    assert q[mid].mean() < p[mid].mean()  # the middle is lowered
    assert np.all(np.diff(cal.transform(np.linspace(0.01, 0.99, 50))) > 0)  # monotone here


def test_cross_fitted_calibration_is_fitted_and_applied(population):
    x, y, reached = population
    groups = np.arange(len(y)) % 40
    model = SelectionAwarePMT(LogitPMT(summary_stats=False), calibration_cv=4)
    model.fit(x, y, reached=reached, groups=groups)
    assert model.calibrator_ is not None
    raw = model.estimator_.predict_proba(x)[:, 1]
    np.testing.assert_allclose(model.predict_proba(x)[:, 1], model.calibrator_.transform(raw))
    unreached = ~reached
    ratio = model.predict_proba(x[unreached])[:, 1].sum() / y[unreached].sum()
    assert abs(ratio - 1) < 0.08
