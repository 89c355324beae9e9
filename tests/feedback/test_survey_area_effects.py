"""The survey's kelurahan effects on log consumption recover the generator's planted ones."""

from __future__ import annotations

import numpy as np
import pytest

from targeting.data import schema
from targeting.data.synthetic import generate_city
from targeting.feedback.area_effects import survey_area_effects


def test_survey_area_effects_recover_the_planted_kelurahan_effects() -> None:
    # 40,000 households with a 25 % survey: ~150 survey households per kelurahan, as the full
    # city's 5 % survey has
    city = generate_city(40_000, seed=5, survey_fraction=0.25)
    survey = schema.validate_survey(city.survey, mode="strict").valid
    est = survey_area_effects(survey)
    planted = city.kelurahan.set_index("kelurahan")["area_effect"].reindex(est.index)
    assert len(est) == 67 and planted.notna().all()
    assert np.corrcoef(est, planted)[0, 1] > 0.9
    # within 0.03 on average of effects of sd 0.08 (the kecamatan is a model input, and the
    # generator centres the effects within each kecamatan)
    assert np.abs(est - planted).mean() < 0.03
    # shrunk, never inflated: the estimate's spread is at most the planted one's
    assert est.std() <= planted.std() * 1.1


def test_survey_area_effects_name_the_missing_column() -> None:
    city = generate_city(2_000, seed=1)
    with pytest.raises(ValueError, match="consumption_pc"):
        survey_area_effects(city.survey.drop(columns=["consumption_pc"]))
