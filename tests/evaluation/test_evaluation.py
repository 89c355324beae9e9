"""Tests of the model-zoo comparison (targeting.evaluation.zoo, ``targeting evaluate``, MLflow)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from targeting.cli.main import main
from targeting.data.adapters import load_data_spec, load_dataset, shared_data_dir
from targeting.evaluation.metrics import evaluate_scores
from targeting.evaluation.zoo import (
    ZooEvaluation,
    data_feature_transformer,
    evaluate_zoo,
    ordinal_from_consumption,
    synthetic_survey_data,
)
from targeting.pmt.build import ESTIMATORS, load_specs

FAST = {
    "ensemble": {"n_estimators": 20, "max_iter": 30, "calibration_cv": 2},
    "forest": {"n_estimators": 20},
    "boosting": {"max_iter": 30},
}


def _specs(names: list[str]) -> list:
    return [
        dataclasses.replace(s, params={**s.params, **FAST.get(s.name, {})})
        for s in load_specs(names=names)
    ]


@pytest.fixture(scope="module")
def survey():
    from targeting.data.synthetic import generate_city

    return synthetic_survey_data(generate_city(n_households=30_000, seed=5))


@pytest.fixture()
def tiny_spec(tmp_path):
    rng = np.random.default_rng(0)
    n = 400
    x1 = rng.normal(size=n)
    floor = rng.choice(["Earth", "cement", "Tiles"], size=n)
    income = np.exp(1 + 0.8 * x1 + (floor == "Earth") * -0.7 + rng.normal(0, 0.6, size=n))
    frame = pd.DataFrame(
        {
            "hhid": [f"H{i:04d}" for i in range(n)],
            "district": rng.choice([f"D{i}" for i in range(12)], size=n),
            "x1": x1,
            "x2": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
            "fridge": rng.random(n) < 0.5,
            "floor": floor,
            "status": np.where(income < np.quantile(income, 0.15), 1, 2),
            "female": rng.random(n) < 0.3,
        }
    )
    frame.to_csv(tmp_path / "tiny.csv", index=False)
    spec = tmp_path / "tiny.yaml"
    spec.write_text(
        "name: tiny\npath: tiny.csv\nid_column: hhid\ngroup_column: district\n"
        "label: {type: class, column: status, extreme_value: 1}\n"
        "features: {numeric: [x1, x2], boolean: [fridge], categorical: [floor]}\n"
        "group_columns: [female]\n"
    )
    return spec


def _folds_never_split(oof: pd.DataFrame, group_of: dict) -> None:
    for _, part in oof.groupby("repeat"):
        g = part["id"].map(group_of)
        assert (part.groupby(g)["fold"].nunique() == 1).all()


def test_ensemble_registered_and_ordinal_levels():
    assert "OrdinalEnsemblePMT" in ESTIMATORS
    spec = load_specs(names=["ensemble"])[0]
    assert spec.estimator == "OrdinalEnsemblePMT" and spec.calibrate is False
    levels = ordinal_from_consumption([100, 399, 400, 599, 600, 799, 800, 5000], 400)
    assert levels.tolist() == [1, 1, 2, 2, 3, 3, 4, 4]


def test_evaluate_zoo_on_synthetic_survey(survey):
    specs = _specs(["ols", "logit", "ensemble", "plain"])
    res = evaluate_zoo(survey, specs, n_splits=3, n_repeats=2, group_by="area")
    assert isinstance(res, ZooEvaluation)
    assert res.table["model"].tolist() == ["ols", "logit", "ensemble", "plain"]
    for col in ["auc", "auc_sd", "brier", "ece", "ee_at_true_share", "ie_at_40_sd"]:
        assert res.table[col].notna().all()
    assert res.table.set_index("model").loc["ensemble", "ordinal"]
    assert {"id", "repeat", "fold", "label", "weight", "p_ols", "p_plain"} <= set(res.oof.columns)
    assert len(res.oof) == 2 * len(survey)
    _folds_never_split(res.oof, dict(zip(survey.ids, survey.groups, strict=True)))
    assert set(res.groups["grouping"]) == {"kecamatan", "female_head", "elderly_head", "disability"}
    assert set(res.curves["model"]) == set(res.table["model"])
    assert res.champion == res.table.loc[res.table["ee_at_true_share"].idxmin(), "model"]
    assert res.skipped == {}


def test_evaluate_zoo_on_a_data_spec(tiny_spec):
    data = load_dataset(load_data_spec(tiny_spec))
    specs = _specs(["ols", "logit", "scorecard", "ensemble", "plain"])
    res = evaluate_zoo(data, specs, n_splits=3, n_repeats=2, group_by="area")
    assert "ols" in res.skipped and "consumption" in res.skipped["ols"]
    assert res.table["model"].tolist() == ["logit", "scorecard", "ensemble", "plain"]
    assert res.table.set_index("model")["auc"].min() > 0.6
    _folds_never_split(res.oof, dict(zip(data.ids, data.groups, strict=True)))
    assert {"district", "female"} <= set(res.groups["grouping"])
    by_household = evaluate_zoo(data, specs[1:2], n_splits=3, n_repeats=1, group_by="household")
    assert by_household.params["n_groups"] == len(data)
    by_default = evaluate_zoo(data, specs[1:2], n_splits=3)
    assert by_default.params["group_by"] == "area" and by_default.params["n_repeats"] == 1
    assert by_default.params["stratify"] is False
    assert set(data_feature_transformer(data.X).fit(data.X).get_feature_names_out()) >= {
        "x1",
        "floor=earth",
    }


def test_evaluate_command_oof_recomputes_the_table(tiny_spec, tmp_path, capsys):
    oof_file = tmp_path / "out" / "oof.csv"
    code = main(
        [
            "evaluate", "--data-spec", str(tiny_spec), "--models", "logit,plain,ols",
            "--repeats", "2", "--folds", "3", "--group-by", "area", "--oof", str(oof_file),
            "--json", "--no-tracking", "--quiet", "--jobs", "1",
        ]
    )  # fmt: skip
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert {"data", "protocol", "models", "champion", "primary_metric", "skipped", "notes",
            "outputs", "mlflow", "seconds"} <= set(out)  # fmt: skip
    assert out["protocol"]["group_by"] == "area" and "ols" in out["skipped"]
    oof = pd.read_csv(oof_file)
    assert {"id", "repeat", "fold", "label", "p_logit", "p_plain"} <= set(oof.columns)
    for row in out["models"]:
        per_repeat = [
            evaluate_scores(part["label"], part[f"p_{row['model']}"])
            for _, part in oof.groupby("repeat")
        ]
        for key in ("auc", "ee_at_true_share", "ee_at_20", "brier"):
            assert np.mean([m[key] for m in per_repeat]) == pytest.approx(row[key], abs=1e-9)


def test_evaluate_command_synthetic_and_errors(capsys):
    code = main(
        [
            "evaluate", "--data-spec", "synthetic", "--n-households", "20000", "--models",
            "ols,logit", "--repeats", "1", "--folds", "3", "--no-tracking", "--quiet",
            "--jobs", "1",
        ]
    )  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert "synthetic-serang" in text and "champion" in text
    assert main(["evaluate", "--data-spec", "nope.yaml", "--no-tracking"]) == 2
    assert "does not exist" in capsys.readouterr().err
    code = main(["evaluate", "--data-spec", "synthetic", "--models", "nope", "--no-tracking"])
    assert code == 2


def test_log_evaluation_parent_and_nested_runs(survey, tmp_path):
    import mlflow

    from targeting.tracking.evaluation import log_evaluation

    res = evaluate_zoo(survey, _specs(["ols", "logit"]), n_splits=3, n_repeats=1, group_by="area")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    logged = log_evaluation(res, "zoo-test", uri)
    client = mlflow.MlflowClient(uri)
    runs = client.search_runs([logged["experiment_id"]])
    assert len(runs) == 3
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == logged["run_id"]]
    assert {r.data.tags["model"] for r in children} == {"ols", "logit"}
    champion = [r for r in children if r.data.tags["champion"] == "true"]
    assert [r.data.tags["model"] for r in champion] == [res.champion]
    parent = client.get_run(logged["run_id"])
    assert parent.data.tags["champion"] == res.champion
    assert "auc" in children[0].data.metrics and "estimator" in children[0].data.params
    files = {f.path for f in client.list_artifacts(children[0].info.run_id, "plots")}
    assert any(p.endswith("_targeting_curve.png") for p in files)
    assert any(p.endswith("_calibration.png") for p in files)


@pytest.mark.skipif(
    not (shared_data_dir() / "costa-rica-ipm" / "train.csv").is_file(),
    reason="shared Costa Rica data absent",
)
def test_costa_rica_logit_and_plain_quickly():
    from targeting.data.adapters import load_costa_rica

    data = load_costa_rica()
    res = evaluate_zoo(
        data, load_specs(names=["logit", "plain"]), n_splits=2, group_by="household", stratify=True
    )
    t = res.table.set_index("model")
    assert t.loc["logit", "auc"] > 0.72 and t.loc["plain", "auc"] > 0.72
    assert 0.4 < res.notes["macro_f1_4class"] < 0.6
    assert {"region", "urban", "female_head"} <= set(res.groups["grouping"])
