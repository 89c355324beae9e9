"""The PMT feature transformer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from targeting.data.schema import CATEGORICAL_PROXIES, KECAMATAN_KELURAHAN_COUNTS, MODEL_COLUMNS
from targeting.pmt.features import (
    FEATURE_SETS,
    LOCATION_LEVELS,
    feature_to_proxy,
    make_feature_set,
    make_feature_transformer,
)
from tests.helpers.frames import random_survey


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return random_survey(300, seed=3)


def test_outputs_finite_floats_with_meaningful_names(frame):
    ct = make_feature_transformer()
    Xt = ct.fit_transform(frame)
    assert Xt.dtype == np.float64
    assert np.isfinite(Xt).all()
    names = list(ct.get_feature_names_out())
    assert Xt.shape == (len(frame), len(names))
    assert "floor_material=earth" in names
    assert "log_floor_area_pc" in names
    n_onehot = sum(len(v) for v in {**CATEGORICAL_PROXIES, **LOCATION_LEVELS}.values())
    assert sum("=" in n for n in names) == n_onehot
    assert "kecamatan=cipocok jaya" in names


def test_every_feature_maps_back_to_a_proxy(frame):
    ct = make_feature_transformer().fit(frame)
    proxies = {feature_to_proxy(n) for n in ct.get_feature_names_out()}
    assert proxies == set(MODEL_COLUMNS)
    assert feature_to_proxy("floor_material=earth") == "floor_material"
    assert feature_to_proxy("log_floor_area_pc") == "floor_area_m2"
    assert feature_to_proxy("log_floor_area_m2") == "floor_area_m2"
    assert feature_to_proxy("categorical__tenure=rent") == "tenure"


def test_missing_unknown_and_text_values_are_handled(frame):
    ct = make_feature_transformer().fit(frame)
    names = list(ct.get_feature_names_out())
    messy = frame.head(5).copy()
    messy["hh_size"] = messy["hh_size"].astype(float)
    messy.loc[messy.index[0], "hh_size"] = np.nan
    messy["floor_material"] = messy["floor_material"].astype(object)
    messy.loc[messy.index[1], "floor_material"] = "marble"  # unknown: all zeros
    messy.loc[messy.index[2], "floor_material"] = None  # missing: most frequent
    messy["has_car"] = ["ya", "tidak", "TRUE", "0", None]
    messy["head_education"] = messy["head_education"].astype(object)
    messy.loc[messy.index[3], "head_education"] = " Senior "
    Xt = ct.transform(messy)
    assert np.isfinite(Xt).all()
    floor = [names.index(f"floor_material={v}") for v in CATEGORICAL_PROXIES["floor_material"]]
    assert Xt[1, floor].sum() == 0
    assert Xt[2, floor].sum() == 1
    assert list(Xt[:4, names.index("has_car")]) == [1.0, 0.0, 1.0, 0.0]
    assert Xt[3, names.index("head_education")] == 3.0


def test_unscaled_and_reference_variants(frame):
    raw = make_feature_transformer(scale=False).fit(frame)
    names = list(raw.get_feature_names_out())
    Xt = raw.transform(frame)
    np.testing.assert_array_equal(Xt[:, names.index("hh_size")], frame["hh_size"].to_numpy())
    ref = make_feature_transformer(drop_first=True).fit(frame)
    assert "floor_material=earth" not in ref.get_feature_names_out()


def test_feature_sets_build_and_unknown_set_raises(frame):
    for name in FEATURE_SETS:
        assert make_feature_set(name).fit_transform(frame).shape[0] == len(frame)
    with pytest.raises(KeyError, match="unknown feature set"):
        make_feature_set("nope")


def test_pandas_output_keeps_names(frame):
    ct = make_feature_transformer().set_output(transform="pandas")
    out = ct.fit_transform(frame)
    assert isinstance(out, pd.DataFrame)
    assert "floor_material=earth" in out.columns


def test_kecamatan_is_one_hot_in_the_registry_spelling_and_can_be_left_out(frame):
    city = frame.copy()
    names = list(KECAMATAN_KELURAHAN_COUNTS)  # the spelling validation leaves, e.g. "Cipocok Jaya"
    city["kecamatan"] = [names[i % len(names)] for i in range(len(city))]
    ct = make_feature_transformer().fit(city)
    out = list(ct.get_feature_names_out())
    Xt = ct.transform(city)
    block = [out.index(f"kecamatan={k.casefold()}") for k in names]
    assert (Xt[:, block].sum(axis=1) == 1).all()
    for i, k in enumerate(names[:3]):
        assert Xt[i, out.index(f"kecamatan={k.casefold()}")] == 1.0
    assert feature_to_proxy("kecamatan=cipocok jaya") == "kecamatan"
    blind = make_feature_set("full_no_location").fit(city)
    assert not any(n.startswith("kecamatan") for n in blind.get_feature_names_out())
