"""The design estimate is of the recorded stock; back-check rates turn it into the true one."""

from __future__ import annotations

import pandas as pd
import pytest

from targeting.feedback.design_estimate import DesignEstimate, for_true_status


def _estimate() -> DesignEstimate:
    table = pd.DataFrame(
        {"kecamatan": ["A"], "estimate": [100.0], "se": [10.0], "low": [80.0], "high": [120.0]}
    )
    return DesignEstimate(
        estimate=100.0,
        se=10.0,
        low=80.0,
        high=120.0,
        level=0.9,
        model_estimate=90.0,
        recorded_finds=7,
        by_kecamatan=table,
    )


def test_recorded_is_the_default_target_and_true_status_rescales() -> None:
    est = _estimate()
    assert est.target == "recorded status" and est.summary()["design_target"] == est.target
    # 100 recorded, 10 % of them false: 90 true positives; the field finds 90 % of the truly
    # extremely poor, so 100 are truly extremely poor
    true = for_true_status(est, false_discovery=0.10, sensitivity=0.90)
    assert true.estimate == pytest.approx(100.0)
    fewer = for_true_status(est, false_discovery=0.20, sensitivity=1.0)
    assert fewer.estimate == pytest.approx(80.0)
    assert (fewer.low, fewer.high, fewer.se) == pytest.approx((64.0, 96.0, 8.0))
    assert fewer.by_kecamatan["estimate"].iloc[0] == pytest.approx(80.0)
    assert fewer.target == "true status" and fewer.model_estimate == 90.0
    with pytest.raises(ValueError, match="sensitivity"):
        for_true_status(est, false_discovery=0.1, sensitivity=0.0)
