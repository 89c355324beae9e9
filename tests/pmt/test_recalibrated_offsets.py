"""RecalibratedPMT, support="visited": area offsets fade with the map, or hold everywhere."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from targeting.pmt.recalibrated import RecalibratedPMT
from tests.helpers.prefit import StoredProbability


def _labels() -> tuple[pd.DataFrame, np.ndarray]:
    # labels only at the top of the ranking (base log-odds around -0.5), area C poorer than A
    rng = np.random.default_rng(5)
    n = 4_000
    z = rng.normal(-0.5, 0.5, n)
    area = rng.choice(["A", "C"], n)
    effect = np.where(area == "C", 1.0, -1.0)
    y = (rng.random(n) < expit(z + effect)).astype(int)
    return pd.DataFrame({"p": expit(z), "kelurahan": area}), y


def test_kept_offsets_reach_households_far_below_the_labels_range() -> None:
    X, y = _labels()
    kept = RecalibratedPMT(
        StoredProbability(), group_column="kelurahan", support="visited", fade_offsets=False
    ).fit(X, y)
    faded = RecalibratedPMT(StoredProbability(), group_column="kelurahan", support="visited").fit(
        X, y
    )
    # far below the range (log-odds -8), the map itself has faded out in both models
    bulk = pd.DataFrame({"p": expit([-8.0, -8.0]), "kelurahan": ["A", "C"]})
    u = kept.group_offsets_
    assert u["C"] - u["A"] > 0.5
    np.testing.assert_allclose(
        kept.decision_function(bulk), [-8.0 + u["A"], -8.0 + u["C"]], atol=1e-9
    )
    np.testing.assert_allclose(faded.decision_function(bulk), [-8.0, -8.0], atol=1e-9)
    # the ranking within an area is never reversed by the fading
    grid = np.linspace(-9.0, 1.0, 400)
    for area in ("A", "C"):
        frame = pd.DataFrame({"p": expit(grid), "kelurahan": area})
        assert np.all(np.diff(kept.decision_function(frame)) > 0)
    assert logit(kept.predict_proba(bulk)[1, 1]) > logit(kept.predict_proba(bulk)[0, 1])
