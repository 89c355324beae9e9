"""Nested cross-validation (issue 13): a spec's ``tune:`` grid is chosen inside every outer
training fold, the choice is reported, and the fast inner loop computes what the naive one does."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata

from targeting.config.errors import SpecError
from targeting.config.model import TuneSpec, read_model_spec
from targeting.evaluation.cv import grouped_cross_validate, tune_settings
from targeting.evaluation.metrics import evaluate_scores
from targeting.evaluation.provenance import tuning_notes
from targeting.evaluation.zoo import data_feature_transformer, evaluate_zoo
from targeting.pmt.build import build_model, check_model_spec, fit_model, load_specs


def _data(n: int = 300, seed: int = 5) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(4)})
    latent = X["x0"] + 0.6 * X["x1"] - 0.4 * X["x2"] + rng.normal(0, 0.8, size=n)
    cuts = np.quantile(latent, [0.15, 0.35, 0.6])
    target4 = 4 - np.digitize(latent, cuts)  # 1 = poorest (highest latent)
    label = (target4 == 1).astype(int)
    groups = rng.integers(0, 30, size=n)
    return X, label, target4, groups


def _logit_spec(grid: dict) -> object:
    spec = load_specs(names=["logit"])[0]
    return dataclasses.replace(spec, tune=TuneSpec(grid=grid, metric="auc", folds=3))


def test_tune_grid_is_typed_and_checked_against_the_estimator(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nestimator: LogitPMT\ntune: {grid: {C: []}, metric: gini, fold: 3}\n")
    with pytest.raises(SpecError) as err:
        read_model_spec(bad)
    text = str(err.value)
    assert "tune.grid.C" in text and "tune.metric" in text and "tune.fold" in text
    typo = tmp_path / "typo.yaml"
    typo.write_text("name: typo\nestimator: LogitPMT\ntune: {grid: {max_iters: [100, 200]}}\n")
    problems = check_model_spec(read_model_spec(typo))
    assert (
        len(problems) == 1 and "tune.grid.max_iters" in problems[0] and "'max_iter'" in problems[0]
    )
    ens = load_specs(names=["ensemble"])[0]
    assert ens.tune is not None and "near_weight" in ens.tune.grid
    assert check_model_spec(ens) == []


def test_each_outer_fold_tunes_on_its_training_rows_only():
    X, label, _, groups = _data()
    spec = _logit_spec({"C": [0.001, 0.1, 10.0]})
    feats = data_feature_transformer(X)
    cv = grouped_cross_validate(spec, X, label, groups, n_splits=3, seed=4, features=feats)
    assert set(cv.fold_metrics["tuned"]) <= {json.dumps({"C": c}) for c in (0.001, 0.1, 10.0)}
    assert len(cv.tuning) == 3 * 3 and cv.tuning.groupby("fold")["chosen"].sum().eq(1).all()
    # the choice of fold k is the inner CV of exactly its training rows (same seed)
    from sklearn.model_selection import GroupKFold

    splits = list(GroupKFold(3, shuffle=True, random_state=4).split(X, label, groups))
    for fold, (train, test) in enumerate(splits):
        chosen, scores = tune_settings(
            spec, X.iloc[train], label[train], groups[train], features=feats, seed=4 + fold
        )
        assert cv.fold_metrics.loc[fold, "tuned"] == json.dumps(chosen)
        mine = cv.tuning[cv.tuning["fold"] == fold].reset_index(drop=True)
        np.testing.assert_allclose(mine["score"], scores["score"])
        # moving the test fold's labels cannot change the choice
        flipped = label.copy()
        flipped[test] = 1 - flipped[test]
        again, _ = tune_settings(
            spec, X.iloc[train], flipped[train], groups[train], features=feats, seed=4 + fold
        )
        assert again == chosen
    # one fold alone (as the zoo runs them in parallel) is the same fold
    only = grouped_cross_validate(
        spec, X, label, groups, n_splits=3, seed=4, features=feats, folds=[1]
    )
    full = cv.oof[cv.oof["fold"] == 1].reset_index(drop=True)
    np.testing.assert_allclose(only.oof["p_extreme"], full["p_extreme"])
    assert only.fold_metrics["tuned"].iloc[0] == cv.fold_metrics.loc[1, "tuned"]


def test_fast_inner_loop_equals_refitting_every_setting_with_calibration():
    X, label, target4, _ = _data(n=360, seed=11)
    ens = load_specs(names=["ensemble"])[0]
    small = {"n_estimators": 30, "max_iter": 30, "calibration_cv": 3}
    grid = [0.0, 0.5, 1.0]
    spec = dataclasses.replace(
        ens,
        params={**ens.params, **small},
        tune=TuneSpec(grid={"near_weight": grid}, metric="ee_at_true_share", folds=3),
    )
    feats = data_feature_transformer(X, scale=False, impute=False)
    hh = np.arange(len(X))
    chosen, scores = tune_settings(
        spec, X, label, hh, features=feats, stratify=True, y_ordinal=target4, seed=3
    )
    from sklearn.model_selection import StratifiedGroupKFold

    naive = {w: [] for w in grid}
    splits = StratifiedGroupKFold(3, shuffle=True, random_state=3).split(X, label, hh)
    for train, test in splits:
        for w in grid:
            s = dataclasses.replace(spec, params={**spec.params, "near_weight": w})
            pipe = build_model(s, features=feats, random_state=3)
            fit_model(pipe, X.iloc[train], label=label[train], y_ordinal=target4[train])
            assert pipe.steps[-1][1].platt_[1] > 0  # the map the fast loop skips is increasing
            p = pipe.predict_proba(X.iloc[test])[:, 1]
            naive[w].append(evaluate_scores(label[test], p)["ee_at_true_share"])
    np.testing.assert_allclose(scores["score"], [np.mean(naive[w]) for w in grid])
    means = [np.mean(naive[w]) for w in grid]
    assert chosen == {"near_weight": grid[int(np.argmin(means))]}


def test_zoo_reports_each_fold_choice_and_tuning_notes_say_how(capsys):
    X, label, target4, groups = _data()
    from targeting.data.household import HouseholdData

    data = HouseholdData(
        name="fabricated", X=X, label=label, groups=groups.astype(str),
        ids=np.array([f"h{i}" for i in range(len(X))], dtype=object), target4=target4,
    )  # fmt: skip
    spec = _logit_spec({"C": [0.01, 1.0]})
    res = evaluate_zoo(data, [spec], n_splits=3, n_repeats=2, seed=100, group_by="area")
    nested = res.nested()["logit"]
    assert nested["grid"] == {"C": [0.01, 1.0]} and nested["inner_folds"] == 3
    assert len(nested["chosen"]) == 6
    assert res.table.loc[0, "tuned"] == nested["summary"] and " x" in nested["summary"]
    notes = tuning_notes(res.data_name, ["logit"], [100, 101], "area", nested=res.nested())
    assert notes["logit"]["verdict"] == "nested"
    assert "inner 3-fold CV" in notes["logit"]["inner"]


def test_outer_ensemble_calibrates_on_the_inner_scores_and_ranks_as_if_refitted():
    from sklearn.model_selection import StratifiedGroupKFold

    from targeting.pmt.calibration import clipped_logit, fit_platt

    X, label, target4, _ = _data(n=300, seed=2)
    ens = load_specs(names=["ensemble"])[0]
    spec = dataclasses.replace(
        ens,
        params={**ens.params, "n_estimators": 20, "max_iter": 20},
        tune=TuneSpec(grid={"near_weight": [0.0, 1.0]}, folds=3),
    )
    feats = data_feature_transformer(X, scale=False, impute=False)
    hh = np.arange(len(X))
    cv = grouped_cross_validate(
        spec, X, label, hh, n_splits=3, seed=9, features=feats, stratify=True,
        y_ordinal=target4, folds=[0],
    )  # fmt: skip
    train, test = next(StratifiedGroupKFold(3, shuffle=True, random_state=9).split(X, label, hh))
    chosen = json.loads(cv.fold_metrics.loc[0, "tuned"])
    own = dataclasses.replace(spec, params={**spec.params, **chosen})
    pipe = build_model(own, features=feats, random_state=9)
    fit_model(pipe, X.iloc[train], label=label[train], y_ordinal=target4[train])
    # the members are the same fit, only the (increasing) Platt map differs: same ranking
    raw = pipe.steps[-1][1].score_households(pipe[:-1].transform(X.iloc[test]))
    own_p = pipe.predict_proba(X.iloc[test])[:, 1]
    np.testing.assert_array_equal(rankdata(cv.oof["p_extreme"]), rankdata(own_p))
    # and the Platt map is the one of the inner loop's out-of-fold scores
    from targeting.evaluation.cv import _tune

    _, _, inner = _tune(
        spec, X.iloc[train], label[train], hh[train], features=feats, stratify=True,
        y_ordinal=target4[train], seed=9,
    )  # fmt: skip
    coef, _ = fit_platt(clipped_logit(inner), label[train], np.ones(len(train)))
    expected = 1 / (1 + np.exp(-(coef[0] + coef[1] * clipped_logit(np.clip(raw, 0, 1)))))
    np.testing.assert_allclose(cv.oof["p_extreme"], expected, rtol=1e-6)


def test_evaluate_command_prints_and_returns_what_each_outer_fold_chose(tmp_path, capsys):
    from targeting.cli.main import main

    X, label, _, groups = _data(n=240, seed=8)
    frame = X.assign(hhid=[f"H{i:04d}" for i in range(len(X))], district=groups.astype(str))
    frame["status"] = np.where(label == 1, 1, 2)
    frame.to_csv(tmp_path / "s.csv", index=False)
    (tmp_path / "s.yaml").write_text(
        "name: s\npath: s.csv\nid_column: hhid\ngroup_column: district\n"
        "label: {type: class, column: status, extreme_value: 1}\n"
        "features: {numeric: [x0, x1, x2, x3]}\n"
    )
    models = tmp_path / "models"
    models.mkdir()
    (models / "logit.yaml").write_text(
        "name: logit\nestimator: LogitPMT\nparams: {C: 1.0}\nfeatures: full\n"
        "tune: {grid: {C: [0.01, 1.0]}, metric: auc, folds: 2}\n"
    )
    args = [
        "evaluate", "--data-spec", str(tmp_path / "s.yaml"), "--models-dir", str(models),
        "--models", "logit", "--folds", "3", "--boot", "0", "--no-tracking", "--jobs", "1",
    ]  # fmt: skip
    assert main([*args, "--json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    info = out["tuning"]["logit"]
    assert info["verdict"] == "nested" and len(info["nested"]["chosen"]) == 3
    assert "inner 2-fold CV" in info["inner"]
    # a progress line per outer fold names the inner loop's choice
    assert captured.err.count("inner 2-fold CV by auc") == 3
    assert main(args) == 0
    assert "nested: logit: C in [0.01, 1.0] chosen in each outer fold" in capsys.readouterr().out
