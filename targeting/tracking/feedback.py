"""MLflow logging of a refit on verified field outcomes (issue #4).

:func:`log_refit` opens one run (``kind=refit``) in the experiment's MLflow experiment, logs the
number of labels, the realised vs predicted hit rate before and after recalibration and the
calibration intercept/slope, registers the recalibrated model as a new version of
``targeting-pmt``, moves the alias ``champion`` to it and gives the previous champion the alias
``previous-champion``. Only aggregates and a synthetic input example are logged.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

import targeting
from targeting.tracking import (
    MODEL_NAME,
    configure,
    ensure_experiment,
    finite_metrics,
    log_frame,
    log_registered_model,
)

__all__ = ["log_refit"]


def log_refit(
    model: Any,
    metrics: dict[str, Any],
    input_example: pd.DataFrame,
    experiment: str,
    tracking_uri: str | None = None,
    model_name: str = MODEL_NAME,
    params: dict[str, Any] | None = None,
    tables: dict[str, pd.DataFrame] | None = None,
) -> dict[str, Any]:
    """Log a recalibration and promote the recalibrated model to ``champion``.

    Parameters
    ----------
    model : estimator
        The fitted :class:`~targeting.pmt.recalibrated.RecalibratedPMT`.
    metrics : dict
        ``n_labels``, ``realised_hit_rate``, ``predicted_hit_rate_before``,
        ``predicted_hit_rate_after``, ``calibration_intercept_before``... (non-finite values
        are skipped).
    input_example : pandas.DataFrame
        A few synthetic rows of what the model takes (never registry rows).
    experiment : str
        MLflow experiment name (the experiment spec's name).
    tracking_uri : str, optional
    model_name : str
    params : dict, optional
        Logged as run parameters (method, prior strength...).
    tables : dict of str to DataFrame, optional
        Aggregate tables logged as CSV artifacts (e.g. hit rate per desil).

    Returns
    -------
    dict
        ``run_id``, ``tracking_uri``, ``champion_version``, ``previous_champion_version``.
    """
    uri = configure(tracking_uri)
    import mlflow

    client = mlflow.MlflowClient()
    try:
        previous = client.get_model_version_by_alias(model_name, "champion").version
    except Exception:
        previous = None
    experiment_id = ensure_experiment(experiment, uri)
    out: dict[str, Any] = {"tracking_uri": uri, "previous_champion_version": previous}
    with mlflow.start_run(
        experiment_id=experiment_id,
        run_name=f"{experiment}-refit",
        tags={
            "kind": "refit",
            "targeting_version": targeting.__version__,
            "previous_champion_version": str(previous),
        },
    ) as run:
        out["run_id"] = run.info.run_id
        if params:
            mlflow.log_params({k: str(v) for k, v in params.items()})
        mlflow.log_metrics(finite_metrics(metrics))
        for name, frame in (tables or {}).items():
            log_frame(frame, f"{name}.csv")
        version = log_registered_model(model, input_example, "champion", model_name)
        out["champion_version"] = version
        if previous is not None and str(previous) != str(version):
            client.set_registered_model_alias(model_name, "previous-champion", str(previous))
        mlflow.set_tag("champion_version", version)
    return out
