"""Cross-validation grouped by area."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from targeting.config.experiment import PRIMARY_METRICS
from targeting.evaluation.cv import CVResult, fit_final, grouped_cross_validate
from targeting.pmt.build import ModelSpec, load_specs
from tests.helpers.frames import survey_frame

LINE = 400_000.0
KEYS = list(PRIMARY_METRICS)  # every metric a spec may choose the champion by


@pytest.fixture(autouse=True)
def _one_thread():
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def data() -> dict:
    survey = survey_frame(3000, seed=11)
    return {
        "X": survey,
        "label": (survey["consumption_pc"].to_numpy() < LINE).astype(int),
        "groups": survey["kelurahan"].to_numpy(),
        "consumption": survey["consumption_pc"].to_numpy(),
        "sample_weight": survey["weight"].to_numpy(),
    }


def _cv(spec: ModelSpec, data: dict, **kw) -> CVResult:
    return grouped_cross_validate(spec, **data, n_splits=kw.pop("n_splits", 4), **kw)


def test_folds_never_share_an_area_and_cover_every_row(data):
    result = _cv(load_specs(names=["ols"])[0], data, n_repeats=2, seed=3)
    oof = result.oof
    assert list(oof.columns) == ["row", "repeat", "fold", "label", "p_extreme", "p_raw", "weight"]
    # the weight column is the row's own survey weight (the report's weighted calibration bins)
    np.testing.assert_array_equal(oof["weight"], np.asarray(data["sample_weight"])[oof["row"]])
    assert len(oof) == 2 * len(data["X"])
    for _, part in oof.groupby("repeat"):
        assert sorted(part["row"]) == list(range(len(data["X"])))
        folds_per_area = (
            pd.Series(part["fold"].to_numpy())
            .groupby(data["groups"][part["row"].to_numpy()])
            .nunique()
        )
        assert (folds_per_area == 1).all()
    assert len(result.fold_metrics) == 2 * 4
    assert set(KEYS) <= set(result.fold_metrics.columns)
    for key in KEYS:
        assert key in result.summary and f"{key}_sd" in result.summary
    assert np.isfinite(result.ece_before) and np.isfinite(result.ece_after)
    assert ((oof["p_extreme"] >= 0) & (oof["p_extreme"] <= 1)).all()


def test_same_seed_same_oof_and_other_seed_other_folds(data):
    spec = load_specs(names=["logit"])[0]
    a = _cv(spec, data, seed=7)
    b = _cv(spec, data, seed=7)
    pd.testing.assert_frame_equal(a.oof, b.oof)
    assert a.summary == b.summary
    c = _cv(spec, data, seed=8)
    assert not np.array_equal(
        a.oof.sort_values("row")["fold"].to_numpy(), c.oof.sort_values("row")["fold"].to_numpy()
    )


def test_calibration_is_reported_and_optional(data):
    spec = ModelSpec("boosting", "BoostingPMT", {"max_iter": 30}, calibrate=True)
    on = _cv(spec, data, n_splits=3)
    assert not np.allclose(on.oof["p_extreme"], on.oof["p_raw"])
    off = _cv(spec, data, n_splits=3, calibrate=False)
    np.testing.assert_array_equal(off.oof["p_extreme"], off.oof["p_raw"])
    assert off.ece_before == off.ece_after


def test_too_few_areas_is_an_error(data):
    with pytest.raises(ValueError, match="areas"):
        grouped_cross_validate(
            load_specs(names=["ols"])[0],
            data["X"],
            data["label"],
            np.array(["a", "b"] * (len(data["X"]) // 2)),
            consumption=data["consumption"],
            n_splits=5,
        )


def test_fit_final_scores_new_rows(data):
    model = fit_final(
        load_specs(names=["ols"])[0],
        data["X"],
        label=data["label"],
        consumption=data["consumption"],
        sample_weight=data["sample_weight"],
        calibrate=True,
        seed=0,
        groups=data["groups"],
    )
    p = model.predict_proba(data["X"].head(10))[:, 1]
    assert p.shape == (10,) and np.all((p >= 0) & (p <= 1))
