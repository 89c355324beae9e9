"""The survey's estimate of each area's effect on log consumption (an input of the refit).

The survey model sees the kecamatan but not the kelurahan (its cross-validation holds whole
kelurahan out), so what makes one kelurahan poorer than its proxies and kecamatan say is left in
its households' residuals. The survey measures consumption, not only the extreme label: the mean
residual of log consumption of a kelurahan's ~150 survey households estimates its effect far more
precisely than its two or three extremely poor households could. :func:`survey_area_effects`
returns that estimate, shrunk toward 0 by its reliability, for the refit to use as an area-level
covariate of the field labels (:class:`~targeting.pmt.recalibrated.RecalibratedPMT`,
``group_covariate``): the field labels then say how much of it shows in P(extreme), and correct
it where it is off.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.pipeline import make_pipeline

from targeting.data import schema
from targeting.pmt.features import make_feature_set
from targeting.pmt.linear import LogConsumptionOLS

__all__ = ["survey_area_effects"]


def survey_area_effects(
    survey: pd.DataFrame, group_column: str = "kelurahan", features: str = "full"
) -> pd.Series:
    """Each area's effect on log consumption beyond the proxies, estimated on the survey.

    A weighted least-squares regression of log consumption on the proxies (feature set
    ``features``, with the kecamatan) over all survey households; residuals are winsorised at
    three robust standard deviations (median ± 3 × 1.4826 MAD); each area's weighted mean
    residual ``r_g`` is shrunk by its reliability, ``σ²_b / (σ²_b + v_g)``, with ``v_g`` the
    sampling variance of ``r_g`` (Kish effective size) and ``σ²_b`` the between-area variance
    by the method of moments (truncated at 0).

    Parameters
    ----------
    survey : pandas.DataFrame
        Validated survey: the model columns, ``consumption_pc``, ``weight`` and ``group_column``.
    group_column : str, default "kelurahan"
    features : str, default "full"
        Feature set of :func:`targeting.pmt.features.make_feature_set`.

    Returns
    -------
    pandas.Series
        Index: area (str); value: shrunk effect on log consumption (positive: richer than the
        proxies say). Named ``"area_effect"``.

    Raises
    ------
    ValueError
        If a required column is missing from the survey.
    """
    needed = [*schema.MODEL_COLUMNS, "consumption_pc", "weight", group_column]
    missing = [c for c in needed if c not in survey.columns]
    if missing:
        raise ValueError(
            f"the survey lacks column(s) {', '.join(missing)}: the area effects need the model "
            "inputs, consumption_pc, weight and the area column"
        )
    consumption = survey["consumption_pc"].to_numpy(dtype=float)
    weight = survey["weight"].to_numpy(dtype=float)
    model = make_pipeline(make_feature_set(features), LogConsumptionOLS())
    X = survey[schema.MODEL_COLUMNS]
    model.fit(X, consumption, logconsumptionols__sample_weight=weight)
    residual = np.log(consumption) - model.predict(X)
    # transitory shocks (illness, job loss) are large, rare and unrelated to the area: a few
    # per kelurahan would dominate its mean, so residuals are winsorised at 3 robust sd
    centre_r = float(np.median(residual))
    spread = 3.0 * 1.4826 * float(np.median(np.abs(residual - centre_r)))
    residual = np.clip(residual, centre_r - spread, centre_r + spread)
    frame = pd.DataFrame(
        {"g": survey[group_column].astype(str).to_numpy(), "r": residual, "w": weight}
    )
    frame["wr"] = frame["w"] * frame["r"]
    frame["w2"] = frame["w"] ** 2
    sums = frame.groupby("g", sort=True)[["w", "wr", "w2"]].sum()
    mean = sums["wr"] / sums["w"]
    # within-area variance of the residuals, pooled; an area's mean has variance s² / n_eff
    within = float(np.average((frame["r"] - frame["g"].map(mean)) ** 2, weights=frame["w"]))
    n_eff = sums["w"] ** 2 / sums["w2"]
    sampling = within / n_eff
    centre = float(np.average(mean, weights=sums["w"]))
    between = max(float(np.mean((mean - centre) ** 2) - np.mean(sampling)), 0.0)
    reliability = between / (between + sampling) if between > 0 else sampling * 0.0
    return ((mean - centre) * reliability).rename("area_effect").rename_axis(group_column)
