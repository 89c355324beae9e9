"""MLflow logging: the only package of the toolkit that imports ``mlflow``.

Submodules log one kind of result each (``targeting.tracking.<kind>``); this module holds the
store configuration and the cycle's logging.

Everything logged is an aggregate or a pseudonymous id: no name, NIK or address ever reaches the
tracking store (DESIGN.md §8). Models are logged with a synthetic input example.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

import targeting
from targeting.data import schema

if TYPE_CHECKING:
    from targeting.pipeline import CycleResult

__all__ = [
    "MODEL_NAME",
    "attach_artifact",
    "configure",
    "default_tracking_uri",
    "ensure_experiment",
    "finite_metrics",
    "load_model",
    "log_cycle",
    "log_fan_chart",
    "log_frame",
    "log_registered_model",
    "scenario_params",
    "store_health",
]

MODEL_NAME = "targeting-pmt"
"""The registered model name; ``models:/targeting-pmt@champion`` is the best model."""


def default_tracking_uri(folder: str | Path | None = None) -> str:
    """Return ``MLFLOW_TRACKING_URI`` if set, else ``sqlite:///<folder>/mlflow.db``.

    Parameters
    ----------
    folder : path-like, optional
        Where the embedded store lives (default: the working folder).
    """
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    base = Path(folder or Path.cwd()).resolve()
    return f"sqlite:///{base / 'mlflow.db'}"


def _artifact_root(tracking_uri: str) -> str | None:
    """For an embedded SQLite store, artifacts live beside the database in ``mlartifacts/``."""
    if tracking_uri.startswith("sqlite:///"):
        db = Path(tracking_uri.removeprefix("sqlite:///"))
        return (db.parent / "mlartifacts").resolve().as_uri()
    return None


def configure(tracking_uri: str | None = None) -> str:
    """Point MLflow at the tracking store and switch telemetry off.

    Returns
    -------
    str
        The tracking URI in use.
    """
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow

    uri = tracking_uri or default_tracking_uri()
    from targeting.tracking.connectivity import set_http_fail_fast

    set_http_fail_fast(uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def ensure_experiment(name: str, tracking_uri: str) -> str:
    """The id of the experiment ``name``, created (artifacts beside the store) if missing."""
    import mlflow

    existing = mlflow.get_experiment_by_name(name)
    if existing is not None:
        return existing.experiment_id
    return mlflow.create_experiment(name, artifact_location=_artifact_root(tracking_uri))


def log_frame(frame: pd.DataFrame, artifact_file: str) -> None:
    """Log a table as a CSV artifact of the active run."""
    import mlflow

    mlflow.log_text(frame.to_csv(index=False, lineterminator="\n"), artifact_file)


def finite_metrics(values: dict[str, Any]) -> dict[str, float]:
    """The finite numbers of ``values`` as floats (MLflow rejects NaN, inf and text)."""
    out = {}
    for key, value in values.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if number == number and abs(number) != float("inf"):
            out[key] = number
    return out


def scenario_params(scenario: Any) -> dict[str, str]:
    """A scenario's settings as MLflow parameters (non-text values as JSON)."""
    fields = dataclasses.asdict(scenario) if dataclasses.is_dataclass(scenario) else dict(scenario)
    return {k: json.dumps(v) if not isinstance(v, str) else v for k, v in fields.items()}


def _assert_no_pii(frame: pd.DataFrame, where: str) -> None:
    leaked = [c for c in schema.PII_COLUMNS if c in frame.columns]
    if leaked:
        raise RuntimeError(f"refusing to log {where}: it holds personal data columns {leaked}")


def log_registered_model(
    model: Any, input_example: pd.DataFrame, alias: str, model_name: str
) -> str:
    """Log and register one fitted pipeline; return the registered version."""
    import mlflow
    from mlflow.models import infer_signature

    _assert_no_pii(input_example, "the model's input example")
    import sklearn
    import statsmodels

    signature = infer_signature(input_example, model.predict_proba(input_example))
    info = mlflow.sklearn.log_model(
        model,
        name=f"model-{alias}",
        signature=signature,
        input_example=input_example,
        pyfunc_predict_fn="predict_proba",
        registered_model_name=model_name,
        serialization_format="cloudpickle",
        # explicit requirements: inferring them would import-trace the model in a subprocess
        pip_requirements=[
            f"scikit-learn=={sklearn.__version__}",
            f"statsmodels=={statsmodels.__version__}",
            f"pandas=={pd.__version__}",
            f"targeting=={targeting.__version__}",
        ],
    )
    version = str(info.registered_model_version)
    mlflow.MlflowClient().set_registered_model_alias(model_name, alias, version)
    return version


def log_cycle(
    result: CycleResult,
    tracking_uri: str | None = None,
    report_path: Path | None = None,
    model_name: str = MODEL_NAME,
) -> dict[str, Any]:
    """Log one cycle: a parent run with nested runs per model and per scenario.

    Parameters
    ----------
    result : targeting.pipeline.CycleResult
    tracking_uri : str, optional
        Default: :func:`default_tracking_uri`.
    report_path : pathlib.Path, optional
        The HTML report (aggregates only) to attach to the parent run.
    model_name : str
        Registered model name.

    Returns
    -------
    dict
        ``run_id``, ``experiment_id``, ``tracking_uri``, ``champion_version``.

    Notes
    -----
    A run whose logging fails is ended with status FAILED (MLflow's run context does it), never
    left RUNNING.
    """
    uri = configure(tracking_uri)
    import mlflow

    spec = result.spec
    experiment_id = ensure_experiment(spec.name, uri)
    tags = {
        "data_fingerprint": result.data_fingerprint,
        "spec_hash": spec.spec_hash,
        "targeting_version": targeting.__version__,
        "seed": str(spec.seed),
        "champion": result.champion,
        "primary_metric": spec.primary_metric,
    }
    out: dict[str, Any] = {"tracking_uri": uri, "experiment_id": experiment_id}
    with mlflow.start_run(
        experiment_id=experiment_id, run_name=f"{spec.name}-cycle", tags={**tags, "kind": "cycle"}
    ) as parent:
        out["run_id"] = parent.info.run_id
        mlflow.log_params(
            {
                "models": ",".join(spec.models),
                "extreme_line": spec.extreme_line,
                "n_households": result.counts["households_in_registry"],
                **{f"plan.{k}": v for k, v in sorted(spec.plan.items())},
            }
        )
        mlflow.log_dict(spec.raw, "spec.json")
        log_frame(result.model_table, "model_comparison.csv")
        log_frame(result.forecast_table, "forecast_summary.csv")
        plan_summary = result.plan.summary()
        mlflow.log_dict(
            {"plan": plan_summary, "counts": result.counts, "truth_check": result.plan_truth_check},
            "plan_summary.json",
        )
        mlflow.log_metrics(
            finite_metrics(
                {
                    "households_in_registry": result.counts["households_in_registry"],
                    "planned": result.counts["planned"],
                    "not_ranked": result.counts["not_ranked"],
                    "rejected_rows": result.counts["rejected_rows"],
                    **{f"plan_{k}": v for k, v in plan_summary.items()},
                    **{f"truth_{k}": v for k, v in result.plan_truth_check.items()},
                }
            )
        )
        by_kelurahan = (
            result.plan.plan.groupby(["kecamatan", "kelurahan"], sort=True)
            .agg(visits=("household_id", "size"), expected_finds=("p_extreme", "sum"))
            .reset_index()
        )
        _assert_no_pii(by_kelurahan, "the plan aggregates")
        log_frame(by_kelurahan, "plan_by_kelurahan.csv")

        for _, row in result.model_table.iterrows():
            name = str(row["model"])
            with mlflow.start_run(
                experiment_id=experiment_id,
                run_name=f"model-{name}",
                nested=True,
                tags={**tags, "kind": "model", "model": name},
            ):
                model_spec = next((s for s in _model_specs(result) if s.name == name), None)
                if model_spec is not None:
                    mlflow.log_params(
                        {
                            "estimator": model_spec.estimator,
                            "features": getattr(model_spec, "feature_set", ""),
                            **{f"param.{k}": v for k, v in sorted(model_spec.params.items())},
                        }
                    )
                mlflow.log_metrics(finite_metrics(row.drop(labels=["model"]).to_dict()))
                if name in result.fold_metrics:
                    log_frame(result.fold_metrics[name], "fold_metrics.csv")
                if name == result.champion:
                    mlflow.set_tag("role", "champion")
                    if result.group_ratios is not None:
                        log_frame(result.group_ratios, "group_error_ratios.csv")
                elif name == result.challenger:
                    mlflow.set_tag("role", "challenger")
        for name, forecast in result.forecasts.items():
            with mlflow.start_run(
                experiment_id=experiment_id,
                run_name=f"scenario-{name}",
                nested=True,
                tags={**tags, "kind": "scenario", "scenario": name},
            ):
                mlflow.log_params(scenario_params(forecast.scenario))
                summary = forecast.summary()
                mlflow.log_metrics(finite_metrics(summary))
                mlflow.set_tag("median_goal_month", str(summary.get("median_goal_month")))
                log_frame(forecast.quantiles(level="city"), "quantiles_city.csv")
                log_frame(forecast.quantiles(level="kecamatan"), "quantiles_kecamatan.csv")
                log_fan_chart(forecast)
        if result.input_example is not None:
            out["champion_version"] = log_registered_model(
                result.fitted[result.champion], result.input_example, "champion", model_name
            )
            if result.challenger and result.challenger in result.fitted:
                out["challenger_version"] = log_registered_model(
                    result.fitted[result.challenger], result.input_example, "challenger", model_name
                )
        if report_path is not None and Path(report_path).exists():
            mlflow.log_artifact(str(report_path))
    return out


def attach_artifact(run_id: str, path: str | Path, tracking_uri: str | None = None) -> None:
    """Attach a file (e.g. the HTML report) to an existing run."""
    configure(tracking_uri)
    import mlflow

    mlflow.MlflowClient().log_artifact(run_id, str(path))


def store_health(tracking_uri: str | None = None) -> dict[str, Any]:
    """Check that the tracking store answers; report its experiments and the champion.

    Returns
    -------
    dict
        ``tracking_uri``, ``experiments`` (count), ``champion_version`` (None if not registered).
    """
    uri = configure(tracking_uri)
    import mlflow

    client = mlflow.MlflowClient()
    experiments = client.search_experiments(max_results=1000)
    try:
        champion = client.get_model_version_by_alias(MODEL_NAME, "champion").version
    except Exception:
        champion = None
    return {"tracking_uri": uri, "experiments": len(experiments), "champion_version": champion}


def load_model(model_uri: str, tracking_uri: str | None = None) -> Any:
    """Load a logged PMT pipeline (e.g. ``models:/targeting-pmt@champion``) as scikit-learn.

    Raises
    ------
    ValueError
        If the model cannot be found, with the fix (run ``targeting run`` first).
    """
    configure(tracking_uri)
    import mlflow

    try:
        return mlflow.sklearn.load_model(model_uri)
    except Exception as exc:
        raise ValueError(
            f"cannot load model {model_uri!r} from {default_tracking_uri()} ({exc}); "
            "run 'targeting run' first, or pass --tracking-uri / --model"
        ) from exc


def log_fan_chart(forecast: Any) -> None:
    """Log a forecast's city fan chart as a PNG artifact of the active run."""
    import mlflow

    from targeting.forecast.stockflow import fan_chart

    figure = fan_chart(forecast, level="city")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fan_chart_city.png"
        figure.savefig(path, dpi=110, bbox_inches="tight")
        mlflow.log_artifact(str(path))
    import matplotlib.pyplot as plt

    plt.close(figure)


def _model_specs(result: CycleResult) -> list[Any]:
    from targeting.config.model import load_specs
    from targeting.pipeline import models_dir

    return load_specs(models_dir(result.spec), names=list(result.model_table["model"]))
