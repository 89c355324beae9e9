"""A calibrated consumption model (the forest spec) inside selection-aware estimation."""

from __future__ import annotations

import numpy as np

from targeting.data import schema
from targeting.data.synthetic import generate_city
from targeting.feedback.rounds import fit_champion
from targeting.pmt.calibration import CalibratedPMT
from targeting.pmt.selection import SelectionAwarePMT


def test_forest_fits_as_selection_aware_champion() -> None:
    # the forest spec is calibrated (CalibratedPMT around a consumption model); selection-aware
    # estimation labels the survey with the wrapped model's line, which the wrapper must give
    city = generate_city(n_households=6_000, seed=3, survey_fraction=0.5)
    model = fit_champion(city.survey, "forest")
    found = [m for m in _walk(model) if isinstance(m, SelectionAwarePMT)]
    assert found and isinstance(found[0].estimator, CalibratedPMT)
    assert found[0].estimator.line == found[0].estimator.estimator.line
    p = model.predict_proba(city.registry[schema.MODEL_COLUMNS].head(200))[:, 1]
    assert np.all((p >= 0) & (p <= 1)) and p.std() > 0


def _walk(model: object) -> list[object]:
    out = [model]
    for step in getattr(model, "steps", []):
        out.extend(_walk(step[1]))
    return out
