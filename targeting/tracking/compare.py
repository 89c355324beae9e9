"""Models and scenarios of one cycle run, side by side, read back from MLflow.

A cycle is a parent run (tag ``kind=cycle``) with nested runs tagged ``kind=model`` (cross-
validated metrics, parameters, ``role`` champion/challenger) and ``kind=scenario`` (forecast
metrics, parameters); see :func:`targeting.tracking.log_cycle`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from targeting.evaluation.metrics import HEADLINE_METRICS, greater_is_better
from targeting.tracking import configure
from targeting.tracking.quiet import quietly
from targeting.tracking.report import ReportNotFoundError, latest_cycle_run

__all__ = ["compare_cycle", "sort_table"]

_MODEL_FIRST = HEADLINE_METRICS
_SCENARIO_FIRST = [
    "p_goal",
    "p_goal_se",
    "p_near_zero",
    "start_stock_median",
    "deadline_stock_median",
    "end_q05",
    "end_q50",
    "end_q95",
]


def _frame(runs: list[Any], key: str, first: list[str], params: list[str]) -> pd.DataFrame:
    rows = []
    for run in runs:
        tags, metrics, run_params = run.data.tags, run.data.metrics, run.data.params
        row: dict[str, Any] = {key: tags.get(key, run.info.run_name)}
        if key == "model":
            row["role"] = tags.get("role", "")
        else:
            row["median_goal_month"] = tags.get("median_goal_month", "")
        row.update({p: run_params.get(p) for p in params if p in run_params})
        row.update(metrics)
        row["run_id"] = run.info.run_id
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    lead = [c for c in [key, "role", "median_goal_month", *params] if c in frame]
    ordered = [c for c in first if c in frame]
    rest = sorted(c for c in frame if c not in {*lead, *ordered, "run_id"})
    return frame[[*lead, *ordered, *rest, "run_id"]].sort_values(key, ignore_index=True)


@quietly
def compare_cycle(
    experiment: str,
    run_id: str | None = None,
    tracking_uri: str | None = None,
) -> dict[str, Any]:
    """Read one cycle's nested model and scenario runs into two tables.

    Parameters
    ----------
    experiment : str
        Experiment name (one per ``experiments/*.yaml``).
    run_id : str, optional
        The parent (cycle) run; default the experiment's latest finished cycle run.
    tracking_uri : str, optional

    Returns
    -------
    dict
        ``experiment``, ``run_id``, ``champion``, ``primary_metric``, ``models`` and
        ``scenarios`` (pandas.DataFrame, one row per nested run; metrics as columns).

    Raises
    ------
    ReportNotFoundError
        When the experiment or run does not exist, or the run is not a cycle of the experiment.
    """
    uri = configure(tracking_uri)
    import mlflow  # slow to import: only when used

    client = mlflow.MlflowClient()
    found = client.get_experiment_by_name(experiment)
    if found is None:
        names = sorted(e.name for e in client.search_experiments(max_results=200))
        raise ReportNotFoundError(
            f"no experiment named {experiment!r} in {uri}; "
            f"known: {', '.join(names) or 'none (run targeting run first)'}"
        )
    if run_id is None:
        run_id = latest_cycle_run(experiment, uri)
    try:
        parent = client.get_run(run_id)
    except Exception as exc:
        raise ReportNotFoundError(f"no run {run_id!r} in {uri}") from exc
    if parent.info.experiment_id != found.experiment_id or parent.data.tags.get("kind") != "cycle":
        raise ReportNotFoundError(
            f"run {run_id} is not a cycle run of experiment {experiment!r}; "
            "pass the parent run id that 'targeting run' printed"
        )
    children = client.search_runs(
        [found.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{run_id}'",
        max_results=1000,
    )
    models = [r for r in children if r.data.tags.get("kind") == "model"]
    scenarios = [r for r in children if r.data.tags.get("kind") == "scenario"]
    return {
        "experiment": experiment,
        "run_id": run_id,
        "champion": parent.data.tags.get("champion"),
        "primary_metric": parent.data.tags.get("primary_metric"),
        "models": _frame(models, "model", _MODEL_FIRST, ["estimator", "features"]),
        "scenarios": _frame(
            scenarios, "scenario", _SCENARIO_FIRST, ["operators", "visits_per_day", "model"]
        ),
    }


def sort_table(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Sort best first by ``metric``, in the direction of
    :func:`targeting.evaluation.metrics.greater_is_better` (missing values last).

    Parameters
    ----------
    frame : pandas.DataFrame
    metric : str

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    ValueError
        When ``metric`` has no direction (a descriptive figure such as ``true_share``).
    """
    ascending = not greater_is_better(metric)
    return frame.sort_values(metric, ascending=ascending, na_position="last", ignore_index=True)
