"""PMT estimators, specs, pipelines and household scoring."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from threadpoolctl import threadpool_limits

from targeting.config.errors import SpecError
from targeting.pmt.build import ESTIMATORS, ModelSpec, build_model, fit_model, load_specs
from targeting.pmt.calibration import CalibratedPMT
from targeting.pmt.classifiers import BoostingPMT, LogitPMT
from targeting.pmt.linear import LogConsumptionOLS
from targeting.pmt.scoring import assign_desil, score_households
from tests.helpers.frames import random_survey, survey_frame

LINE = 400_000.0
FAST = {"boosting": {"max_iter": 40}, "forest": {"n_estimators": 20}}


@pytest.fixture(autouse=True)
def _one_thread():
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def survey() -> pd.DataFrame:
    return survey_frame(3000, seed=5)


def _fast(spec: ModelSpec) -> ModelSpec:
    return ModelSpec(
        spec.name,
        spec.estimator,
        {**spec.params, **FAST.get(spec.name, {})},
        spec.feature_set,
        spec.calibrate,
        spec.description,
    )


def test_all_seven_specs_load():
    specs = load_specs()
    names = {s.name for s in specs}
    assert {
        "ols",
        "logit",
        "boosting",
        "quantile",
        "poverty_weighted",
        "forest",
        "scorecard",
    } <= names
    for s in specs:
        assert s.estimator in ESTIMATORS
        assert s.description


def test_unknown_estimator_and_keys_are_reported(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nestimator: LogitPM\n")
    with pytest.raises(SpecError, match=r"'LogitPM' is unknown \(did you mean 'LogitPMT'"):
        load_specs(tmp_path)
    bad.write_text("name: x\nestimator: LogitPMT\nparms: {}\n")
    with pytest.raises(SpecError, match=r"unknown key parms \(did you mean 'params'\?\)"):
        ModelSpec.from_yaml(bad)


@pytest.mark.parametrize(
    "name", ["ols", "logit", "boosting", "quantile", "poverty_weighted", "forest", "scorecard"]
)
def test_pipeline_fits_on_serang_frame(survey, name):
    spec = _fast(load_specs(names=[name])[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fit_model(
            spec,
            survey,
            consumption=survey["consumption_pc"],
            sample_weight=survey["weight"],
            groups=survey["kelurahan"],
        )
    p = model.predict_proba(survey.head(200))
    assert p.shape == (200, 2)
    assert np.all((p >= 0) & (p <= 1))
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    label = survey["consumption_pc"].to_numpy() < LINE
    p_all = model.predict_proba(survey)[:, 1]
    # the poor score higher on average (in-sample sanity, not a quality claim)
    assert p_all[label].mean() > p_all[~label].mean()
    if model[-1].target_kind == "consumption":
        assert np.all(model[-1].predict_consumption(model[:-1].transform(survey.head(5))) > 0)
    assert pickle.loads(pickle.dumps(model)).predict_proba(survey.head(3)).shape == (3, 2)


def test_fit_model_picks_target_by_kind(survey):
    ols = build_model(load_specs(names=["ols"])[0])
    with pytest.raises(ValueError, match="consumption"):
        fit_model(ols, survey, label=np.zeros(len(survey)))
    logit = build_model(load_specs(names=["logit"])[0])
    fitted = fit_model(logit, survey, consumption=survey["consumption_pc"])  # label derived
    assert list(fitted[-1].classes_) == [0, 1]


def test_ols_probability_is_normal_cdf_and_keeps_no_rows():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 3))
    log_y = 13.0 + X @ np.array([0.3, -0.2, 0.1]) + rng.normal(0, 0.4, 500)
    model = LogConsumptionOLS(line=LINE).fit(X, np.exp(log_y))
    np.testing.assert_allclose(model.coef_, [0.3, -0.2, 0.1], atol=0.06)
    assert model.sigma_ == pytest.approx(0.4, abs=0.04)
    expected = norm.cdf((np.log(LINE) - model.predict(X[:5])) / model.sigma_)
    np.testing.assert_allclose(model.predict_proba(X[:5])[:, 1], expected)
    assert model.results_.model.endog is None  # remove_data applied
    assert "const" in model.summary().as_text()


def test_pipeline_summary_uses_feature_names(survey):
    model = fit_model(load_specs(names=["ols"])[0], survey, consumption=survey["consumption_pc"])
    text = model[-1].summary().as_text()
    assert "floor_material=earth" in text
    logit = fit_model(load_specs(names=["logit"])[0], survey, consumption=survey["consumption_pc"])
    assert "hh_size" in logit[-1].summary().as_text()


def test_boosting_drops_entirely_missing_feature_with_warning():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3))
    y = (X[:, 0] + rng.normal(0, 0.5, 300) > 0).astype(int)
    X[:, 1] = np.nan
    with pytest.warns(UserWarning, match="dropping 1 feature"):
        model = BoostingPMT(max_iter=10).fit(X, y)
    assert list(model.kept_features_) == [0, 2]
    assert model.predict_proba(X).shape == (300, 2)


def test_scorecard_points_table(survey):
    model = fit_model(
        load_specs(names=["scorecard"])[0], survey, consumption=survey["consumption_pc"]
    )
    card = model[-1]
    table = card.points_table()
    assert list(table.columns) == ["proxy", "value", "points"]
    assert (table["points"] >= 0).all()
    assert table.groupby("proxy")["points"].min().eq(0).all()
    assert table.groupby("proxy")["points"].max().sum() <= card.total_points + len(card.variables_)
    assert "floor_material" in set(table["proxy"])
    assert {"no", "yes"} <= set(table.loc[table["proxy"] == "has_car", "value"])
    assert card.probability_table()["p_extreme"].is_monotonic_increasing


def test_calibrated_wrapper_maps_raw_probabilities(survey):
    spec = ModelSpec("logit_cal", "LogitPMT", {"summary_stats": False}, calibrate=True)
    model = fit_model(
        spec, survey, consumption=survey["consumption_pc"], groups=survey["kelurahan"]
    )
    wrapper = model[-1]
    assert isinstance(wrapper, CalibratedPMT)
    Xt = model[:-1].transform(survey.head(50))
    raw = wrapper.predict_proba_raw(Xt)
    cal = wrapper.predict_proba(Xt)[:, 1]
    # a monotone map: the ranking is unchanged
    assert np.array_equal(np.argsort(raw, kind="stable"), np.argsort(cal, kind="stable"))


@pytest.mark.parametrize("name", ["ols", "logit", "boosting"])
def test_score_households_columns_interval_and_desil(survey, name):
    spec = _fast(load_specs(names=[name])[0])
    model = fit_model(
        spec, survey, consumption=survey["consumption_pc"], groups=survey["kelurahan"]
    )
    X = survey.set_index(survey.index + 1000)
    scored = score_households(model, X, alpha=0.2, n_boot=50, seed=0, chunk_size=700)
    assert list(scored.columns) == ["p_extreme", "p_low", "p_high", "desil"]
    assert scored.index.equals(X.index)
    assert (scored["p_low"] <= scored["p_extreme"]).all()
    assert (scored["p_extreme"] <= scored["p_high"]).all()
    assert (scored["p_high"] - scored["p_low"]).mean() > 0
    assert set(scored["desil"]) == set(range(1, 11))
    means = scored.groupby("desil")["p_extreme"].mean()
    assert means.is_monotonic_decreasing
    again = score_households(model, X, alpha=0.2, n_boot=50, seed=0, chunk_size=3000)
    pd.testing.assert_frame_equal(scored, again)  # chunk size does not matter


def test_assign_desil_ties_and_sizes():
    d = assign_desil(np.array([0.9, 0.1, 0.5, 0.5] + [0.0] * 16))
    assert d[0] == 1 and d[2] == 1 and d[3] == 2
    assert np.bincount(d)[1:].tolist() == [2] * 10


def test_label_model_fitted_on_label_only():
    df = random_survey(400, seed=2)
    y = (df["consumption_pc"] < LINE).astype(int)
    model = fit_model(build_model(load_specs(names=["logit"])[0]), df, label=y)
    assert isinstance(model[-1], LogitPMT)
