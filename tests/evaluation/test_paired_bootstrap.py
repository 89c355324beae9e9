"""Paired bootstrap of model differences (issue 13: the honest comparison protocol)."""

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from targeting.evaluation.metrics import targeting_errors
from targeting.evaluation.paired import bootstrap_auc, bootstrap_ee_at_share, paired_bootstrap


def _oof(n=400, repeats=2, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.15).astype(int)
    frames = []
    for r in range(repeats):
        good = y * 1.5 + rng.normal(size=n)
        bad = y * 0.2 + rng.normal(size=n)
        frames.append(
            pd.DataFrame(
                {
                    "id": np.arange(n),
                    "repeat": r,
                    "fold": 0,
                    "label": y,
                    "p_good": good,
                    "p_bad": bad,
                    "p_ties": np.round(good),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_vectorised_metrics_match_the_metrics_module_with_weights():
    rng = np.random.default_rng(1)
    y = (rng.random(300) < 0.2).astype(int)
    score = np.round(rng.normal(size=300) + y, 1)  # many ties
    w = rng.integers(0, 3, size=(4, 300)).astype(float) * rng.uniform(0.5, 2, size=300)
    auc = bootstrap_auc(y, score, w)
    ee = bootstrap_ee_at_share(y, score, w)
    for b in range(4):
        assert np.isclose(auc[b], roc_auc_score(y, score, sample_weight=w[b]))
        share = np.average(y, weights=w[b])
        assert np.isclose(ee[b], targeting_errors(y, score, share, w[b])[0])


def test_better_model_has_an_interval_on_the_right_side_and_self_pairs_are_skipped():
    oof = _oof()
    units = oof["id"].to_numpy()
    out = paired_bootstrap(oof, units, ["good", "bad"], ["bad", "absent"], n_boot=300, seed=3)
    assert set(zip(out["model"], out["reference"], strict=True)) == {("good", "bad")}
    auc = out[out["metric"] == "auc"].iloc[0]
    ee = out[out["metric"] == "ee_at_true_share"].iloc[0]
    assert auc["low"] > 0 and auc["low"] <= auc["difference"] <= auc["high"]
    assert ee["high"] < 0 and ee["p_worse"] < 0.05


def test_resampling_areas_widens_the_interval_when_areas_differ():
    oof = _oof(n=600, seed=5)
    n = 600
    area = np.arange(n) % 12
    # the "bad" model is good in half the areas: the difference depends on which areas are drawn
    mask = np.isin(np.tile(area, 2), np.arange(6))
    oof.loc[mask, "p_bad"] = oof.loc[mask, "p_good"] + 0.01
    by_hh = paired_bootstrap(oof, oof["id"], ["good"], ["bad"], n_boot=400, seed=0)
    by_area = paired_bootstrap(oof, np.tile(area, 2), ["good"], ["bad"], n_boot=400, seed=0)
    width = lambda t: float((t["high"] - t["low"]).iloc[0])  # noqa: E731
    assert width(by_area[by_area.metric == "auc"]) > width(by_hh[by_hh.metric == "auc"])
    assert by_area["n_units"].iloc[0] == 12
