"""A refit after one round keeps the unreached stock near the truth (the map does not extrapolate
from the top-ranked visits to the bulk the field never saw)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from targeting.data import schema
from targeting.data.eligibility import eligible_for_ranking
from targeting.data.synthetic import FieldOutcomeSimulator, generate_city
from targeting.feedback import ingest as feedback
from targeting.feedback import rounds as loop
from targeting.feedback.refit import recalibrate_on_outcomes
from targeting.plan.ranking import PlanCapacity, build_plan
from targeting.pmt.calibration import clipped_logit


@pytest.fixture(scope="module")
def one_round() -> dict:
    city = generate_city(30_000, seed=7)
    registry = schema.validate_registry(city.registry, mode="quarantine").valid
    survey = schema.validate_survey(city.survey, mode="strict").valid
    base = loop.fit_champion(survey, "ols", seed=7)
    scores = loop.fast_scores(base, registry, None)
    # 12 operators x 2 visits x 16 days: about the full city's share of households per round
    plan = build_plan(registry, scores, PlanCapacity(operators=12, workdays=16))
    outcomes = FieldOutcomeSimulator(city.truth, seed=7).respond(plan.plan)
    ingest = feedback.ingest_outcomes(registry, outcomes, None)
    after = ingest.registry
    eligible = eligible_for_ranking(after)
    truth = city.truth.set_index("household_id")["extreme"]
    true_stock = int(truth.reindex(after.loc[eligible, "household_id"].astype(str)).sum())
    return {
        "base": base,
        "registry": registry,
        "ledger": ingest.ledger,
        "survey": survey,
        "true_stock": true_stock,
    }


def test_refit_stock_interval_covers_the_truth(one_round: dict) -> None:
    result = recalibrate_on_outcomes(
        one_round["base"],
        one_round["registry"],
        one_round["ledger"],
        base_label="ols fitted on the survey",
        n_boot=20,
        seed=7,
        survey=one_round["survey"],
    )
    m = result.metrics
    truth = one_round["true_stock"]
    assert m["expected_unreached_extreme_after_low"] <= truth
    assert truth <= m["expected_unreached_extreme_after_high"]
    assert m["expected_unreached_extreme_after_low"] < m["expected_unreached_extreme_after"]
    assert m["expected_unreached_extreme_after"] < m["expected_unreached_extreme_after_high"]
    # the labels are the unreached households' (the plan's), never those verified while reached
    assert m["n_labels"] <= len(one_round["ledger"])
    # below the labels' range the refit fades back to the survey model (DEFAULT_FADE_OFFSETS):
    # far below, the map, the kelurahan offsets and the proxy terms have all faded, so p is the
    # base model's, whose level the survey checked
    model = result.model
    low, _ = model.support_range_
    X = loop.model_input(one_round["registry"], "kelurahan")
    p0 = model.base_proba(X)
    far = clipped_logit(p0) < low - model.taper_ - 1e-9
    assert far.sum() > len(p0) / 2
    assert model.fade_offsets and np.abs(list(model.group_offsets_.values())).max() > 0
    assert 0 < model.offset_floor_ < 0.05
    # (as the base's log-odds, clipped as every recalibration clips them)
    base_far = expit(clipped_logit(p0[far]))
    np.testing.assert_allclose(model.predict_proba(X.loc[far])[:, 1], base_far, rtol=1e-9)
    # in the labels' range they act: the refit moves the households the field saw
    inside = clipped_logit(p0) >= low
    assert not np.allclose(model.predict_proba(X.loc[inside])[:, 1], p0[inside], rtol=1e-3)


def test_refit_everywhere_moves_the_bulk_more(one_round: dict) -> None:
    # the former behaviour (the map applied to every household) is kept as an option; its stock
    # moves further from the base model's than the default's, which only moves the visited range
    kwargs = {"base_label": "ols", "n_boot": 0, "seed": 7}
    args = (one_round["base"], one_round["registry"], one_round["ledger"])
    visited = recalibrate_on_outcomes(*args, **kwargs).metrics
    everywhere = recalibrate_on_outcomes(*args, support="everywhere", **kwargs).metrics
    registry = feedback.apply_ledger(one_round["registry"], one_round["ledger"])
    eligible = eligible_for_ranking(registry).to_numpy()
    base_stock = float(
        one_round["base"].predict_proba(registry.loc[eligible, schema.MODEL_COLUMNS])[:, 1].sum()
    )
    gap_visited = abs(visited["expected_unreached_extreme_after"] - base_stock)
    gap_everywhere = abs(everywhere["expected_unreached_extreme_after"] - base_stock)
    assert gap_visited < gap_everywhere
