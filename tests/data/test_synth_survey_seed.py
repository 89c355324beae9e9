"""An independent survey of the same synthetic city (the plan-yield proxy oracle's data)."""

from __future__ import annotations

import pandas as pd

from targeting.data.synthetic import generate_city


def test_survey_seed_draws_other_households_of_the_same_city() -> None:
    base = generate_city(n_households=3_000, seed=5)
    other = generate_city(n_households=3_000, seed=5, survey_seed=9)
    again = generate_city(n_households=3_000, seed=5, survey_seed=9)
    # the city (registry, truth) is the same; the survey households are new, and reproducible
    pd.testing.assert_frame_equal(base.registry, other.registry)
    pd.testing.assert_frame_equal(base.truth, other.truth)
    pd.testing.assert_frame_equal(other.survey, again.survey)
    assert not base.survey["consumption_pc"].equals(other.survey["consumption_pc"])
    # same strata sizes, so the same weights
    assert base.survey["weight"].tolist() == other.survey["weight"].tolist()
