"""MLflow logging of a refit on verified field outcomes (issue #4).

:func:`log_refit` opens one run (``kind=refit``) in the experiment's MLflow experiment, logs the
number of labels, the realised vs predicted hit rate before and after recalibration and the
calibration intercept/slope, registers the recalibrated model as a new version of
``<experiment>-pmt``, moves the alias ``champion`` to it and gives the previous champion the alias
``previous-champion``. Only aggregates and a synthetic input example are logged.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

import targeting
from targeting.tracking import (
    configure,
    ensure_experiment,
    finite_metrics,
    log_frame,
    log_registered_model,
    move_aliases,
)
from targeting.tracking.naming import registered_model_name
from targeting.tracking.quiet import quietly

__all__ = ["log_refit"]


@quietly
def log_refit(
    model: Any,
    metrics: dict[str, Any],
    input_example: pd.DataFrame,
    experiment: str,
    tracking_uri: str | None = None,
    model_name: str | None = None,
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
    model_name : str, optional
        Default ``<experiment>-pmt``.
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
    import mlflow  # slow to import: only when used

    model_name = model_name or registered_model_name(experiment)
    client = mlflow.MlflowClient()
    try:
        previous = client.get_model_version_by_alias(model_name, "champion").version
    except Exception:
        previous = None
    experiment_id = ensure_experiment(experiment, uri)
    out: dict[str, Any] = {
        "tracking_uri": uri,
        "model_name": model_name,
        "previous_champion_version": previous,
    }
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
        version = log_registered_model(
            model,
            input_example,
            "champion",
            model_name,
            {"kind": "refit", "run_id": run.info.run_id, "previous_champion": str(previous)},
        )
        out["champion_version"] = version
        mlflow.set_tag("champion_version", version)
    # the alias moves only once the refit run has been logged in full
    move_aliases(model_name, {"champion": version})
    return out
