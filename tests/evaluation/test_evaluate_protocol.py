"""The honest comparison protocol of ``targeting evaluate`` (issue 13): area folds by default,
household folds labelled optimistic, paired bootstrap intervals, tuned settings declared."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from targeting.cli.main import main
from targeting.evaluation.provenance import REPORT_SEED, TUNED_SETTINGS, tuning_notes


@pytest.fixture()
def area_spec(tmp_path):
    rng = np.random.default_rng(3)
    n = 360
    district = rng.choice([f"K{i:02d}" for i in range(12)], size=n)
    x1 = rng.normal(size=n)
    income = np.exp(1 + 0.9 * x1 + rng.normal(0, 0.5, size=n))
    pd.DataFrame(
        {
            "hhid": [f"H{i:04d}" for i in range(n)],
            "district": district,
            "x1": x1,
            "x2": rng.normal(size=n),
            "status": np.where(income < np.quantile(income, 0.2), 1, 2),
        }
    ).to_csv(tmp_path / "area.csv", index=False)
    spec = tmp_path / "area.yaml"
    spec.write_text(
        "name: area-survey\npath: area.csv\nid_column: hhid\ngroup_column: district\n"
        "label: {type: class, column: status, extreme_value: 1}\n"
        "features: {numeric: [x1, x2]}\n"
    )
    return spec


def _run(spec, tmp_path, *extra):
    oof = tmp_path / "oof.csv"
    args = [
        "evaluate", "--data-spec", str(spec), "--models", "logit,plain", "--repeats", "2",
        "--folds", "3", "--boot", "200", "--oof", str(oof), "--json", "--no-tracking",
        "--quiet", "--jobs", "1", *extra,
    ]  # fmt: skip
    return main(args), oof


def test_folds_grouped_by_the_spec_area_by_default_with_paired_intervals(
    area_spec, tmp_path, capsys
):
    code, oof_file = _run(area_spec, tmp_path)
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["protocol"]["group_by"] == "area" and out["protocol"]["seed"] == REPORT_SEED
    assert out["folds"].startswith("grouped by area")
    oof = pd.read_csv(oof_file)
    area = pd.read_csv(area_spec.parent / "area.csv").set_index("hhid")["district"]
    for _, part in oof.groupby("repeat"):
        assert (part.groupby(part["id"].map(area))["fold"].nunique() == 1).all()
    paired = pd.DataFrame(out["paired"])
    row = paired[(paired.model == "logit") & (paired.metric == "auc")].iloc[0]
    assert row["reference"] == "plain" and row["n_units"] == 12
    assert row["low"] <= row["high"]
    # the difference is the table's AUC difference
    table = pd.DataFrame(out["models"]).set_index("model")
    assert row["difference"] == pytest.approx(table.loc["logit", "auc"] - table.loc["plain", "auc"])


def test_household_folds_only_on_request_and_labelled_optimistic(area_spec, tmp_path, capsys):
    code, _ = _run(area_spec, tmp_path, "--group-by", "household")
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["protocol"]["group_by"] == "household"
    assert "optimistic" in out["folds"]
    assert pd.DataFrame(out["paired"])["n_units"].iloc[0] == 360


def test_tuned_settings_are_declared_and_overlap_is_flagged():
    seeds = TUNED_SETTINGS["ensemble"]["seeds"]
    same = tuning_notes("costa-rica-ipm", ["ensemble", "logit"], [seeds[0]], "household")
    assert set(same) == {"ensemble"} and same["ensemble"]["verdict"] == "optimistic"
    assert "near_weight" in same["ensemble"]["settings"]
    fresh = tuning_notes(
        "costa-rica-ipm", ["ensemble"], [REPORT_SEED, REPORT_SEED + 1], "household"
    )
    assert fresh["ensemble"]["verdict"] == "disjoint folds"
    assert REPORT_SEED not in seeds
    assert tuning_notes("other", ["ensemble"], [0], "area")["ensemble"]["verdict"] == "other data"


def test_mlflow_run_records_paired_intervals_and_tuned_settings(area_spec, tmp_path):
    import mlflow

    from targeting.data.adapters import load_data_spec, load_dataset
    from targeting.evaluation.paired import paired_bootstrap, resampling_units
    from targeting.evaluation.zoo import evaluate_zoo
    from targeting.pmt.build import load_specs
    from targeting.tracking.evaluation import log_evaluation

    data = load_dataset(load_data_spec(area_spec))
    res = evaluate_zoo(data, load_specs(names=["logit", "plain"]), n_splits=3, n_repeats=1,
                       group_by="area", seed=REPORT_SEED)  # fmt: skip
    units = resampling_units(res.oof["id"], data.ids, data.groups, "area")
    paired = paired_bootstrap(res.oof, units, ["logit", "plain"], ["plain"], n_boot=100)
    tuning = {"logit": {"settings": "C", "tuned_on": "test folds", "verdict": "optimistic"}}
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    logged = log_evaluation(res, "protocol-test", uri, paired=paired, tuning=tuning)
    client = mlflow.MlflowClient(uri)
    parent = client.get_run(logged["run_id"])
    assert parent.data.tags["tuned_settings"] == "logit: optimistic"
    child = client.get_run(logged["model_runs"]["logit"])
    assert child.data.tags["tuning_verdict"] == "optimistic"
    m = child.data.metrics
    assert m["d_auc_vs_plain_low"] <= m["d_auc_vs_plain_high"]
    assert "d_ee_at_true_share_vs_plain" in m and "d_auc_vs_plain" in m
    files = {f.path for f in client.list_artifacts(logged["run_id"])}
    assert {"paired_differences.csv", "tuning.json"} <= files
