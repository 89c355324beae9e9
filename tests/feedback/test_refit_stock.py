"""A refit after one round keeps the unreached stock near the truth (the map does not extrapolate
from the top-ranked visits to the bulk the field never saw)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, ndtr, ndtri

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
    # below the labels' range the map fades back to the survey model: far below, p is the base's
    # moved only by its kelurahan's offset (kept by default, a level for the whole kelurahan),
    # which acts above the floor of transitory poverty only (the bulk at the floor keeps p)
    model = result.model
    low, _ = model.support_range_
    X = loop.model_input(one_round["registry"], "kelurahan")
    z = clipped_logit(model.base_proba(X))
    far = z < low - model.taper_ - 1e-9
    assert far.sum() > len(z) / 2
    u = X.loc[far, "kelurahan"].astype(str).map(model.group_offsets_).fillna(0.0).to_numpy()
    assert np.abs(u).max() > 0
    p0 = expit(z[far])
    f = np.minimum(model.offset_floor_, p0)
    assert 0 < model.offset_floor_ < 0.05
    q = (p0 - f) / (1 - f)
    with np.errstate(divide="ignore"):
        expected = f + (1 - f) * ndtr(ndtri(q) + u)
    np.testing.assert_allclose(model.predict_proba(X.loc[far])[:, 1], expected, rtol=1e-6)
    at_floor = p0 <= model.offset_floor_
    assert at_floor.sum() > 0
    np.testing.assert_allclose(
        model.predict_proba(X.loc[far][at_floor])[:, 1], p0[at_floor], rtol=1e-6
    )


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
