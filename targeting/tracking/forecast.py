"""MLflow logging of ``targeting forecast``: a parent run, a nested run per scenario.

Parent run (``<experiment>-forecast``, tag ``kind=forecast``): seed, paths, data vintage and
fingerprint, scoring model; artifacts ``forecast_summary.csv``, ``forecast_capacity.csv``,
``forecast_goal_months.csv``, ``forecast_tornado.csv``, ``tornado.png``, ``goal_months.png``,
``forecast_summary.json`` and, when calibrated, ``calibration.csv``.

Nested run per scenario (``scenario-<name>``, tag ``kind=scenario``): the scenario's parameters,
the seed and data vintage as params; P(goal), its Monte Carlo error, P(near zero) and the end
quantiles as metrics; the median goal month as a tag; the city and kecamatan quantile tables and
the city fan chart as artifacts.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

import targeting
from targeting.data.privacy import AreaPseudonyms
from targeting.forecast.stockflow import goal_month_chart, tornado_chart
from targeting.tracking import (
    configure,
    ensure_experiment,
    finite_metrics,
    log_fan_chart,
    log_frame,
    scenario_params,
)
from targeting.tracking.quiet import quietly

if TYPE_CHECKING:
    from targeting.forecast.run import ForecastRun

__all__ = ["log_forecast"]


@quietly
def log_forecast(run: ForecastRun, tracking_uri: str | None = None) -> dict[str, Any]:
    """Log a forecast: a parent run with a nested run per scenario.

    Parameters
    ----------
    run : targeting.forecast.run.ForecastRun
    tracking_uri : str, optional
        Default: :func:`targeting.tracking.default_tracking_uri`.

    Returns
    -------
    dict
        ``run_id`` (parent), ``experiment_id``, ``tracking_uri`` and ``scenario_runs``
        (scenario name → run id).
    """
    uri = configure(tracking_uri)
    import mlflow  # slow to import: only when used

    spec = run.spec
    experiment_id = ensure_experiment(spec.name, uri)
    tags = {
        "data_fingerprint": run.inputs.data_fingerprint,
        "data_vintage": run.inputs.vintage,
        "spec_hash": spec.spec_hash,
        "targeting_version": targeting.__version__,
        "seed": str(run.seed),
        "scoring_model": run.inputs.scoring_model,
    }
    out: dict[str, Any] = {"tracking_uri": uri, "experiment_id": experiment_id}
    # area names the city profile does not list are logged as keyed pseudonyms only
    areas = AreaPseudonyms.for_areas(
        {str(a) for r in run.results.values() for a in [*r.kecamatan, *r.kelurahan]}
    )
    scenario_runs: dict[str, str] = {}
    with mlflow.start_run(
        experiment_id=experiment_id,
        run_name=f"{spec.name}-forecast",
        tags={**tags, "kind": "forecast"},
    ) as parent:
        out["run_id"] = parent.info.run_id
        mlflow.log_params(
            {
                "seed": run.seed,
                "n_paths": run.n_paths,
                "data_vintage": run.inputs.vintage,
                "scoring_model": run.inputs.scoring_model,
                "scoring_model_how": run.inputs.how,
                "scenarios": ",".join(run.results),
                "tornado_metric": run.tornado_metric,
            }
        )
        mlflow.log_dict(spec.raw, "spec.json")
        mlflow.log_dict(run.summary(), "forecast_summary.json")
        log_frame(run.table, "forecast_summary.csv")
        log_frame(pd.DataFrame(run.capacity), "forecast_capacity.csv")
        log_frame(run.goal_months, "forecast_goal_months.csv")
        log_frame(run.tornado, "forecast_tornado.csv")
        if run.calibration is not None:
            log_frame(run.calibration.table(), "calibration.csv")
            log_frame(run.calibration.fit_table(), "calibration_targets.csv")
        _log_figures(run)
        for name, result in run.results.items():
            with mlflow.start_run(
                experiment_id=experiment_id,
                run_name=f"scenario-{name}",
                nested=True,
                tags={**tags, "kind": "scenario", "scenario": name},
            ) as child:
                scenario_runs[name] = child.info.run_id
                mlflow.log_params(
                    {
                        **scenario_params(result.scenario),
                        "seed": run.seed,
                        "n_paths": result.n_paths,
                        "data_vintage": run.inputs.vintage,
                    }
                )
                summary = result.summary()
                mlflow.log_metrics(finite_metrics(summary))
                mlflow.set_tag("median_goal_month", str(summary.get("median_goal_month")))
                caps = [c for c in run.capacity if c["scenario"] == name]
                mlflow.log_metrics(
                    finite_metrics(
                        {
                            f"capacity_{c['goal']}_{c['parameter']}": c["value"]
                            for c in caps
                            if c["value"] is not None
                        }
                    )
                )
                log_frame(result.quantiles(level="city"), "quantiles_city.csv")
                log_frame(
                    areas.frame(result.quantiles(level="kecamatan")), "quantiles_kecamatan.csv"
                )
                log_frame(
                    result.goal_month_distribution().reset_index(), "goal_month_distribution.csv"
                )
                log_fan_chart(result)
    out["scenario_runs"] = scenario_runs
    return out


def _log_figures(run: ForecastRun) -> None:
    import mlflow  # slow to import: only when used

    with tempfile.TemporaryDirectory() as tmp:
        tornado_path = Path(tmp) / "tornado.png"
        tornado_chart(run.tornado, path=str(tornado_path), title=f"({run.scenarios[0].name})")
        months_path = Path(tmp) / "goal_months.png"
        goal_month_chart(run.results, path=str(months_path))
        mlflow.log_artifact(str(tornado_path))
        mlflow.log_artifact(str(months_path))
