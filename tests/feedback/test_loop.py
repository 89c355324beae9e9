"""The feedback loop on a small synthetic city: learning from the field does not hurt."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from targeting.data import schema, state
from targeting.data.synthetic import generate_city
from targeting.feedback import rounds as loop
from targeting.plan.ranking import PlanCapacity


@pytest.fixture(scope="module")
def city_and_model():
    city = generate_city(20_000, seed=7)
    registry = schema.validate_registry(city.registry, mode="quarantine").valid
    survey = schema.validate_survey(city.survey, mode="strict").valid
    return city, registry, loop.fit_champion(survey, "ols", seed=7)


def test_two_feedback_rounds_do_not_make_the_next_plan_worse(city_and_model) -> None:
    city, registry, model = city_and_model
    capacity = PlanCapacity(operators=7, workdays=20)
    result = loop.simulate_rounds(registry, city.truth, model, capacity, rounds=3, seed=7)
    table = result.table
    assert list(table["round"]) == [1, 2, 3]
    assert (table["visits"] == capacity.total_visits).all()
    first, third = table.iloc[0], table.iloc[2]
    # round 1 has learnt nothing yet: both plans are the same
    assert first["feedback_gain"] == 0
    # (d) after two feedback rounds the plan's hit rate is not worse than without feedback
    assert third["true_hit_rate"] >= third["true_hit_rate_without_feedback"] - 0.01
    # recalibration on field labels narrows the gap between predicted and realised hit rate
    gap_first = abs(first["predicted_hit_rate"] - first["realised_hit_rate"])
    gap_third = abs(third["predicted_hit_rate"] - third["realised_hit_rate"])
    assert gap_third < gap_first
    # cumulative share is increasing and every find was unreached at the start
    assert table["cumulative_share_found"].is_monotonic_increasing
    assert table["cumulative_finds"].iloc[-1] <= table["unreached_extreme_at_start"].iloc[0]
    assert third["labels"] > first["labels"] > 0


def test_refit_needs_both_classes_and_state_round_trips(city_and_model, tmp_path) -> None:
    _, registry, model = city_and_model
    unverified = registry.assign(verification_status="unverified")
    assert loop.refit_on_labels(model, unverified) is None  # nothing verified yet
    scores = loop.fast_scores(model, registry)
    state.write_status(registry, tmp_path)
    state.write_scores(scores, tmp_path)
    back = state.read_scores(tmp_path)
    assert back.index.equals(scores.index)
    status = state.read_status(tmp_path)
    assert set(status.columns) == set(state.STATUS_COLUMNS)
    assert not set(schema.PII_COLUMNS) & set(status.columns)
    predictions = state.read_predictions(tmp_path)
    assert {"household_id", "kelurahan", "desil", "p_extreme"} <= set(predictions.columns)


class _KnowsTheTruth:
    """A reference 'model' that knows who is extremely poor (and takes the kelurahan)."""

    group_column = "kelurahan"

    def __init__(self, extreme: pd.Series):
        self.extreme = extreme

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = np.where(self.extreme.reindex(X.index).to_numpy(dtype=bool), 0.99, 0.01)
        assert "kelurahan" in X.columns
        return np.column_stack([1 - p, p])


def test_a_learner_replaces_the_refit_and_plans_the_next_rounds(city_and_model) -> None:
    city, registry, model = city_and_model
    truth = city.truth.set_index("household_id")["extreme"].astype(bool)
    extreme = pd.Series(truth.reindex(registry["household_id"]).to_numpy(), index=registry.index)
    calls: list[int] = []

    def learner(current: pd.DataFrame) -> _KnowsTheTruth:
        calls.append(int((current["verification_status"] != "unverified").sum()))
        return _KnowsTheTruth(extreme)

    capacity = PlanCapacity(operators=7, workdays=20)
    table = loop.simulate_rounds(
        registry, city.truth, model, capacity, rounds=2, seed=7, learner=learner
    ).table
    # called after each round with the outcomes ingested
    assert len(calls) == 2 and 0 < calls[0] < calls[1]
    # round 2 is planned by the learner's model: nearly every planned household is truly
    # extreme (an operator-day stays in one kelurahan and pools may run out of them)
    assert table["true_hit_rate"].iloc[1] > 0.8
    assert table["true_hit_rate_without_feedback"].iloc[1] < 0.5
    # the refit's own columns are not filled in for a learner that is not a recalibration
    assert "recalibration_slope" not in table or table["recalibration_slope"].isna().all()
