"""Data specs that express real surveys (issue 13): derived columns, relative lines that keep the
consumption models, yes/no booleans, survey weights, errors naming the key or column."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pandas as pd
import pytest

from targeting.config.dataset import DataSpecError
from targeting.data.adapters import load_data_spec, load_dataset, relative_line
from targeting.evaluation.zoo import evaluate_zoo
from targeting.pmt.build import load_specs
from tests.helpers import REPO

FAST = {
    "ensemble": {"n_estimators": 15, "max_iter": 20, "calibration_cv": 2},
    "forest": {"n_estimators": 15},
    "boosting": {"max_iter": 20},
}


def _fast_zoo() -> list:
    return [
        dataclasses.replace(s, params={**s.params, **FAST.get(s.name, {})}) for s in load_specs()
    ]


def _survey(n: int = 320, seed: int = 0) -> pd.DataFrame:
    """A survey as a statistics office ships it: log household expenditure, household size,
    yes/no (ya/tidak, 1/2) assets, commune codes, weights."""
    rng = np.random.default_rng(seed)
    size = rng.integers(1, 9, size=n)
    fridge = rng.random(n) < 0.5
    moto = rng.random(n) < 0.6
    commune = rng.choice([f"C{i:02d}" for i in range(10)], size=n)
    log_pc = 12.5 + 0.5 * fridge + 0.3 * moto - 0.08 * size + rng.normal(0, 0.5, size=n)
    return pd.DataFrame(
        {
            "hhid": [f"HH{i:05d}" for i in range(n)],
            "commune": commune,
            "log_hh_exp": log_pc + np.log(size),
            "hh_size": size,
            "fridge": np.where(fridge, "yes", "no"),
            "motorbike": np.where(moto, "Ya", "tidak"),
            "electricity": np.where(rng.random(n) < 0.8, 1, 2),
            "roof": rng.choice(["tile", "zinc", "thatch"], size=n),
            "wgt": rng.uniform(50, 150, size=n),
        }
    )


SPEC = """name: commune-survey
path: survey.csv
id_column: hhid
group_column: commune
weight_column: wgt
derived:
  - {name: hh_exp, op: exp, of: log_hh_exp}
  - {name: cons_pc, op: per_capita, of: hh_exp, by: hh_size}
label: {type: quantile, column: cons_pc, quantile: 0.2}
features:
  numeric: [hh_size]
  boolean: [fridge, motorbike, electricity]
  categorical: [roof]
"""


@pytest.fixture()
def survey_spec(tmp_path):
    _survey().to_csv(tmp_path / "survey.csv", index=False)
    path = tmp_path / "survey.yaml"
    path.write_text(SPEC)
    return path


def test_log_household_expenditure_and_relative_line_keep_every_model(survey_spec):
    data = load_dataset(load_data_spec(survey_spec))
    raw = _survey()
    cons_pc = np.exp(raw["log_hh_exp"]) / raw["hh_size"]
    assert data.consumption == pytest.approx(cons_pc.to_numpy())
    # the weighted 20 % quantile became the line, and the label is consumption below it
    assert data.line == pytest.approx(relative_line(cons_pc, 0.2, raw["wgt"]))
    assert np.array_equal(data.label, (cons_pc < data.line).astype(int).to_numpy())
    assert np.average(data.label, weights=data.weights) == pytest.approx(0.2, abs=0.02)
    assert set(np.unique(data.X["fridge"])) == {0.0, 1.0}
    assert data.X["electricity"].mean() == pytest.approx((raw["electricity"] == 1).mean())
    specs = _fast_zoo()
    result = evaluate_zoo(data, specs, n_splits=3, n_repeats=1, group_by="area", macro_f1=False)
    assert result.skipped == {}
    assert set(result.table["model"]) == {s.name for s in specs}
    assert {"ols", "quantile", "poverty_weighted", "forest"} <= set(result.table["model"])
    assert result.params["weighted"] and result.params["group_by"] == "area"


def test_unknown_key_in_label_is_rejected_at_load_and_points_to_derived(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        SPEC.replace(
            "label: {type: quantile, column: cons_pc, quantile: 0.2}",
            "label: {type: quantile, column: log_hh_exp, quantile: 0.2, per_capita: hh_size, "
            "transform: exp}",
        )
    )
    with pytest.raises(DataSpecError) as err:
        load_data_spec(path)
    text = str(err.value)
    assert "label.per_capita" in text and "label.transform" in text and "derived:" in text


def test_boolean_codes_error_names_the_column_not_a_type_error(tmp_path):
    frame = _survey()
    frame.loc[3, "fridge"] = "maybe"
    frame.to_csv(tmp_path / "survey.csv", index=False)
    (tmp_path / "survey.yaml").write_text(SPEC)
    with pytest.raises(DataSpecError) as err:
        load_dataset(load_data_spec(tmp_path / "survey.yaml"))
    text = str(err.value)
    assert "'fridge'" in text and "1 row(s)" in text and "categorical" in text
    assert "maybe" not in text


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ("of: log_hh_exp}", ["derived[0]", "'log_hh_exp'"]),
        ("by: hh_size}", ["derived[1]", "'hh_size'", "<= 0"]),
    ],
)
def test_derived_errors_name_the_entry_and_the_column(tmp_path, change, words):
    frame = _survey()
    if "log_hh_exp" in change:
        frame = frame.drop(columns="log_hh_exp")
    else:
        frame.loc[[1, 2], "hh_size"] = 0
    frame.to_csv(tmp_path / "survey.csv", index=False)
    (tmp_path / "survey.yaml").write_text(SPEC)
    with pytest.raises(DataSpecError) as err:
        load_dataset(load_data_spec(tmp_path / "survey.yaml"))
    assert all(w in str(err.value) for w in words)


def test_derived_vocabulary_is_checked_at_load(tmp_path):
    bad = SPEC.replace("{name: hh_exp, op: exp, of: log_hh_exp}", "{name: hh_exp, op: sqrt, of: x}")
    bad = bad.replace("op: per_capita, of: hh_exp, by: hh_size", "op: per_capita, of: hh_exp")
    (tmp_path / "s.yaml").write_text(bad)
    with pytest.raises(DataSpecError) as err:
        load_data_spec(tmp_path / "s.yaml")
    text = str(err.value)
    assert "derived[0].op" in text and "derived[1]" in text and "by:" in text


def test_weights_must_be_positive_naming_the_column(tmp_path):
    frame = _survey()
    frame.loc[0, "wgt"] = 0.0
    frame.to_csv(tmp_path / "survey.csv", index=False)
    (tmp_path / "survey.yaml").write_text(SPEC)
    with pytest.raises(DataSpecError, match="weight_column 'wgt' has 1 row"):
        load_dataset(load_data_spec(tmp_path / "survey.yaml"))


def test_susenas_example_spec_loads_and_evaluates_on_a_file_in_its_layout(tmp_path):
    rng = np.random.default_rng(7)
    n = 300
    r301 = rng.integers(1, 8, size=n)
    kulkas = rng.random(n) < 0.5
    pc = np.exp(13.0 + 0.4 * kulkas - 0.07 * r301 + rng.normal(0, 0.5, size=n))
    food = pc * r301 * rng.uniform(0.4, 0.7, size=n)
    pd.DataFrame(
        {
            "urut": [f"3673{i:06d}" for i in range(n)],
            "r101": 36, "r102": 73, "r103": rng.choice([10, 20, 30, 40, 50, 60], size=n),
            "r105": 1, "r301": r301, "food": food, "nfood": pc * r301 - food,
            "fwt": rng.uniform(20, 80, size=n),
            "floor_area_m2": rng.uniform(15, 120, size=n),
            "has_refrigerator": np.where(kulkas, 1, 2),
            "has_motorcycle": rng.choice([1, 2], size=n),
            "has_gold": rng.choice([1, 2], size=n),
            "floor_material": rng.choice(["earth", "cement", "ceramic"], size=n),
            "wall_material": rng.choice(["bamboo", "brick_plastered"], size=n),
            "cooking_fuel": rng.choice(["wood", "lpg_3kg"], size=n),
            "water_source": rng.choice(["piped", "protected_well"], size=n),
            "sanitation": rng.choice(["private", "shared"], size=n),
        }
    ).to_csv(tmp_path / "susenas-kor-kp.csv", index=False)  # fmt: skip
    spec_file = tmp_path / "susenas-kor-kp.yaml"
    shutil.copy(REPO / "experiments" / "data" / "susenas-kor-kp.yaml", spec_file)
    data = load_dataset(load_data_spec(spec_file))
    assert data.consumption == pytest.approx(pc, rel=1e-9)
    assert data.weights is not None and len(np.unique(data.groups)) == 6
    specs = load_specs(names=["ols", "logit"])
    result = evaluate_zoo(data, specs, n_splits=3, n_repeats=1, group_by="area")
    assert result.skipped == {} and result.params["n_groups"] == 6
