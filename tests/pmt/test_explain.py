"""Tests for targeting.pmt.reasons (reason codes)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from targeting.data.schema import (
    BOOL_PROXIES,
    CATEGORICAL_PROXIES,
    COUNT_PROXIES,
    NUMERIC_PROXIES,
    ORDERED_PROXIES,
    PROXY_COLUMNS,
)
from targeting.pmt.reasons import PROXY_LABELS, feature_proxies, proxy_label, reason_codes

CATEGORIES = {**CATEGORICAL_PROXIES, **ORDERED_PROXIES}


def random_proxies(n: int, seed: int = 0) -> pd.DataFrame:
    """A random frame with every Serang proxy, drawn from the schema vocabularies."""
    rng = np.random.default_rng(seed)
    hh = rng.integers(1, 9, n)
    data: dict[str, object] = {"hh_size": hh}
    for name in COUNT_PROXIES[1:]:
        data[name] = rng.integers(0, 3, n) if name != "head_age" else rng.integers(20, 80, n)
    data["n_workers"] = np.minimum(rng.integers(0, 3, n), hh)
    data["floor_area_m2"] = np.round(rng.uniform(15, 120, n), 1)
    for name in BOOL_PROXIES:
        data[name] = rng.random(n) < 0.5
    for name, levels in CATEGORIES.items():
        data[name] = rng.choice(levels, n)
    return pd.DataFrame(data)[PROXY_COLUMNS]


def poverty_label(X: pd.DataFrame, seed: int = 1) -> np.ndarray:
    """Risk driven by earth floor, household size, no fridge and firewood."""
    rng = np.random.default_rng(seed)
    score = (
        2.5 * (X["floor_material"] == "earth")
        + 0.5 * X["hh_size"]
        + 1.5 * ~X["has_refrigerator"]
        + 1.5 * (X["cooking_fuel"] == "wood")
        - 4.0
    )
    return (score + rng.logistic(size=len(X)) > 0).astype(int).to_numpy()


def features() -> ColumnTransformer:
    cats = list(CATEGORIES)
    nums = COUNT_PROXIES + NUMERIC_PROXIES
    return ColumnTransformer(
        [
            (
                "cat",
                OneHotEncoder(
                    categories=[CATEGORIES[c] for c in cats] + [[False, True]] * len(BOOL_PROXIES),
                    handle_unknown="ignore",
                    sparse_output=False,
                    feature_name_combiner=lambda f, v: f"{f}={v}",
                ),
                cats + BOOL_PROXIES,
            ),
            ("num", StandardScaler(), nums),
        ]
    )


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    X = random_proxies(800)
    return X, poverty_label(X)


@pytest.fixture(scope="module")
def logit(data) -> Pipeline:
    X, y = data
    return Pipeline([("features", features()), ("model", LogisticRegression(max_iter=500))]).fit(
        X, y
    )


@pytest.fixture(scope="module")
def boosting(data) -> Pipeline:
    X, y = data
    model = HistGradientBoostingClassifier(max_iter=40, random_state=0)
    with threadpool_limits(1):  # OpenMP threads thrash on shared CPUs
        return Pipeline([("features", features()), ("model", model)]).fit(X, y)


def test_every_proxy_has_labels():
    for proxy in PROXY_COLUMNS:
        assert proxy in PROXY_LABELS
        for label in PROXY_LABELS[proxy].values():
            assert " / " in label  # Bahasa Indonesia / English
    for name, levels in CATEGORIES.items():
        assert set(levels) <= set(PROXY_LABELS[name])
    for name in BOOL_PROXIES:
        assert {"True", "False"} <= set(PROXY_LABELS[name])


def test_proxy_label_fills_numbers():
    assert proxy_label("hh_size", 7) == "anggota rumah tangga 7 orang / 7 household members"
    assert proxy_label("floor_material", "earth") == "lantai tanah / earthen floor"
    assert proxy_label("has_refrigerator", False) == "tidak punya kulkas / no refrigerator"
    assert proxy_label("n_workers", 0).startswith("tidak ada anggota")
    assert "4 m²" in proxy_label("floor_area_m2", 20.0, hh_size=5)


def test_feature_proxies_understands_common_names():
    names = [
        "cat__floor_material=earth",
        "floor_material_ceramic",
        "num__hh_size",
        "has_car_True",
        "log_floor_area_m2",
        "log_floor_area_pc",
        "intercept_thing",
    ]
    assert feature_proxies(names) == [
        "floor_material",
        "floor_material",
        "hh_size",
        "has_car",
        "floor_area_m2",
        "floor_area_m2",
        None,
    ]


def _household(X: pd.DataFrame) -> pd.DataFrame:
    row = X.iloc[[0]].copy()
    row["floor_material"] = "earth"
    row["hh_size"] = 7
    row["has_refrigerator"] = False
    row["cooking_fuel"] = "wood"
    return row


@pytest.mark.parametrize("which", ["logit", "boosting"])
def test_reasons_follow_the_proxies(which, data, request):
    model = request.getfixturevalue(which)
    X, _ = data
    with threadpool_limits(1):  # keep OpenMP from thrashing on shared CPUs
        _check_reasons(which, model, X)


def _check_reasons(which, model, X):
    poor = _household(X)
    frame = pd.concat([poor, poor.assign(floor_material="ceramic")], ignore_index=True)
    reasons = reason_codes(model, frame, top=3, reference=X)
    assert list(reasons.columns) == [
        "reason_1",
        "reason_2",
        "reason_3",
        "reason_1_proxy",
        "reason_2_proxy",
        "reason_3_proxy",
    ]
    first = set(reasons.iloc[0, :3])
    assert "lantai tanah / earthen floor" in first
    second = set(reasons.iloc[1, :3])
    assert "lantai tanah / earthen floor" not in second
    assert not any(r.startswith("lantai keramik") for r in second)  # ceramic does not raise risk
    if which == "logit":
        drivers = {"floor_material", "hh_size", "has_refrigerator", "cooking_fuel"}
        assert set(reasons.iloc[0, 3:]) <= drivers


def test_linear_and_auto_agree_and_rich_households_have_no_reasons(data, logit):
    X, _ = data
    auto = reason_codes(logit, X.head(50), reference=X)
    linear = reason_codes(logit, X.head(50), reference=X, method="linear")
    pd.testing.assert_frame_equal(auto, linear)
    rich = X.iloc[[0]].assign(
        floor_material="ceramic", hh_size=1, has_refrigerator=True, cooking_fuel="electric"
    )
    reasons = reason_codes(logit, rich, reference=X)
    assert reasons.loc[rich.index[0], "reason_1"] in {"", *reasons.iloc[0, :3]}
    assert "lantai tanah / earthen floor" not in set(reasons.iloc[0, :3])


def test_perturbation_is_vectorised_per_proxy(data, logit):
    X, _ = data
    calls = []

    class Counting:  # hides the pipeline's structure: the model-agnostic path
        def predict_proba(self, frame):
            calls.append(len(frame))
            return logit.predict_proba(frame)

    out = reason_codes(Counting(), X.head(200), reference=X, method="auto")
    assert len(calls) == 1 + len(PROXY_COLUMNS)
    assert all(c == 200 for c in calls)
    assert out.index.equals(X.head(200).index)
    filled = out["reason_1"] != ""
    assert filled.any()
    # reasons fill from the first slot: no gap before a non-empty reason
    assert ((out["reason_2"] == "") | filled).all()


def test_consumption_models_flip_the_sign(data):
    X, y = data
    consumption = np.exp(10 - y + np.random.default_rng(0).normal(0, 0.1, len(y)))
    model = Pipeline([("features", features()), ("model", LinearRegression())]).fit(
        X, np.log(consumption)
    )
    model.target_kind = "consumption"
    reasons = reason_codes(model, _household(X), reference=X, method="linear")
    assert "lantai tanah / earthen floor" in set(reasons.iloc[0, :3])


def test_top_and_method_validation(data, logit):
    X, _ = data
    out = reason_codes(logit, X.head(5), top=5)
    assert [c for c in out.columns if not c.endswith("_proxy")] == [
        f"reason_{k}" for k in range(1, 6)
    ]
    with pytest.raises(ValueError):
        reason_codes(logit, X.head(5), method="magic")
    with pytest.raises(ValueError):
        reason_codes(logit, X.head(5), top=0)
