"""The report data in MLflow: log it with a cycle's parent run, find it again to re-render.

``targeting run`` logs the report's aggregates (:func:`targeting.report.data.build_report_data`) to
the parent run as ``report_data.json``, beside the rendered HTML, and the headline numbers as
metrics (``report_headline_estimate``, ``report_headline_low``, ``report_headline_high``) so the
MLflow UI shows them too. ``targeting report`` downloads the JSON and renders it again.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from targeting.tracking import configure

__all__ = [
    "REPORT_DATA_FILE",
    "ReportNotFoundError",
    "latest_cycle_run",
    "load_report_data",
    "log_report",
]

REPORT_DATA_FILE = "report_data.json"
"""Artifact name of the report data on the parent (``kind=cycle``) run."""


class ReportNotFoundError(LookupError):
    """The run, experiment or report data asked for is not in the tracking store."""


def log_report(
    run_id: str,
    data: dict[str, Any],
    report_path: str | Path | None = None,
    tracking_uri: str | None = None,
) -> None:
    """Attach the report data (and the rendered HTML) to an existing parent run.

    Parameters
    ----------
    run_id : str
        The cycle's parent run.
    data : dict
        From :func:`targeting.report.data.build_report_data` (aggregates only).
    report_path : path-like, optional
        The rendered HTML page to attach as well.
    tracking_uri : str, optional
    """
    configure(tracking_uri)
    import mlflow

    client = mlflow.MlflowClient()
    client.log_text(
        run_id, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False), REPORT_DATA_FILE
    )
    total = (data.get("headline") or {}).get("total") or {}
    for key in ("estimate", "low", "high"):
        value = total.get(key)
        if isinstance(value, int | float):
            client.log_metric(run_id, f"report_headline_{key}", float(value))
    if report_path is not None and Path(report_path).exists():
        client.log_artifact(run_id, str(report_path))


def latest_cycle_run(experiment: str | None = None, tracking_uri: str | None = None) -> str:
    """The id of the most recent finished parent run (tag ``kind=cycle``).

    Parameters
    ----------
    experiment : str, optional
        Experiment name; default every experiment of the store.
    tracking_uri : str, optional

    Returns
    -------
    str

    Raises
    ------
    ReportNotFoundError
        When the experiment does not exist or holds no finished cycle run.
    """
    uri = configure(tracking_uri)
    import mlflow

    client = mlflow.MlflowClient()
    if experiment is not None:
        found = client.get_experiment_by_name(experiment)
        if found is None:
            names = sorted(e.name for e in client.search_experiments(max_results=200))
            raise ReportNotFoundError(
                f"no experiment named {experiment!r} in {uri}; "
                f"known: {', '.join(names) or 'none (run targeting run first)'}"
            )
        ids = [found.experiment_id]
    else:
        ids = [e.experiment_id for e in client.search_experiments(max_results=1000)]
    runs = client.search_runs(
        ids,
        filter_string="tags.kind = 'cycle' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs:
        where = f"experiment {experiment!r}" if experiment else uri
        raise ReportNotFoundError(f"no finished cycle run in {where}; run 'targeting run' first")
    return runs[0].info.run_id


def load_report_data(
    run_id: str | None = None,
    experiment: str | None = None,
    tracking_uri: str | None = None,
) -> dict[str, Any]:
    """Download a cycle run's ``report_data.json``.

    Parameters
    ----------
    run_id : str, optional
        The parent run; default the latest cycle run (of ``experiment`` if given).
    experiment : str, optional
    tracking_uri : str, optional

    Returns
    -------
    dict
        The report data, with ``run_id`` set to the run it came from.

    Raises
    ------
    ReportNotFoundError
        When the run does not exist or has no report data.
    """
    uri = configure(tracking_uri)
    import mlflow

    run_id = run_id or latest_cycle_run(experiment, uri)
    client = mlflow.MlflowClient()
    try:
        client.get_run(run_id)
    except Exception as exc:
        raise ReportNotFoundError(f"no run {run_id!r} in {uri}") from exc
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=REPORT_DATA_FILE, dst_path=tmp
            )
        except Exception as exc:
            raise ReportNotFoundError(
                f"run {run_id} has no {REPORT_DATA_FILE} (was it logged by 'targeting run' of "
                "this version?)"
            ) from exc
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    data["run_id"] = run_id
    return data
