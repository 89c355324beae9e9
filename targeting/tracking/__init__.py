"""MLflow logging: the only package of the toolkit that imports ``mlflow``.

Submodules log one kind of result each (``targeting.tracking.<kind>``); this module holds the
store configuration and the cycle's logging.

Everything logged is an aggregate or a pseudonymous id: no name, NIK or address ever reaches the
tracking store (DESIGN.md §8). Models are logged with a synthetic input example.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

import targeting
from targeting.data import schema
from targeting.data.privacy import AreaPseudonyms
from targeting.tracking.connectivity import set_http_fail_fast
from targeting.tracking.quiet import quiet_mlflow, quietly

if TYPE_CHECKING:
    from targeting.pipeline import CycleResult

__all__ = [
    "DEFAULT_EXPERIMENT",
    "area_pseudonyms",
    "attach_artifact",
    "champion_uri",
    "configure",
    "default_tracking_uri",
    "ensure_experiment",
    "finite_metrics",
    "load_model",
    "log_cycle",
    "log_fan_chart",
    "log_frame",
    "log_registered_model",
    "mark_failed",
    "promote",
    "scenario_params",
    "store_health",
]

DEFAULT_EXPERIMENT = "serang-2026"
"""The experiment of the embedded default spec (``experiments/serang-2026.yaml``)."""


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
    import mlflow  # slow to import: only when used

    uri = tracking_uri or default_tracking_uri()

    set_http_fail_fast(uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def ensure_experiment(name: str, tracking_uri: str) -> str:
    """The id of the experiment ``name``, created (artifacts beside the store) if missing."""
    import mlflow  # slow to import: only when used

    existing = mlflow.get_experiment_by_name(name)
    if existing is not None:
        return existing.experiment_id
    return mlflow.create_experiment(name, artifact_location=_artifact_root(tracking_uri))


def log_frame(frame: pd.DataFrame, artifact_file: str) -> None:
    """Log a table as a CSV artifact of the active run."""
    import mlflow  # slow to import: only when used

    mlflow.log_text(frame.to_csv(index=False, lineterminator="\n"), artifact_file)


def area_pseudonyms(*frames: pd.DataFrame | None) -> AreaPseudonyms:
    """The pseudonyms of the unlisted area names of ``frames`` (their kecamatan and kelurahan).

    Everything a run logs passes through them: a place name the city profile lists is logged as
    it is, any other area text (a user's own city, a name typed into ``kelurahan``) only as its
    keyed pseudonym (:class:`targeting.data.privacy.AreaPseudonyms`).
    """
    names: set[object] = set()
    for frame in frames:
        if frame is None:
            continue
        for column in schema.AREA_COLUMNS:
            if column in frame:
                names.update(frame[column].dropna().unique().tolist())
    return AreaPseudonyms.for_areas(names)


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
    is_record = dataclasses.is_dataclass(scenario) and not isinstance(scenario, type)
    fields = dataclasses.asdict(scenario) if is_record else dict(scenario)
    return {k: json.dumps(v) if not isinstance(v, str) else v for k, v in fields.items()}


def _assert_no_pii(frame: pd.DataFrame, where: str) -> None:
    leaked = [c for c in schema.PII_COLUMNS if c in frame.columns]
    if leaked:
        raise RuntimeError(f"refusing to log {where}: it holds personal data columns {leaked}")


def log_registered_model(
    model: Any, input_example: pd.DataFrame, role: str, model_name: str, tags: dict[str, str]
) -> str:
    """Log and register one fitted pipeline in the active run; return the registered version.

    The alias is not moved here: callers move it once their whole run has been logged, so a run
    that fails half-way never leaves ``@champion`` on its model.
    """
    from targeting.tracking.model import log_pmt_model  # imports mlflow: only when used

    _assert_no_pii(input_example, "the model's input example")
    return log_pmt_model(model, input_example, f"model-{role}", model_name, tags=tags)


def _log_training_data(survey: pd.DataFrame, fingerprint: str, name: str) -> None:
    """Log the training survey as an MLflow dataset: its schema, size and digest, no rows."""
    import mlflow  # slow to import: only when used

    proxies = survey.drop(columns=[c for c in schema.PII_COLUMNS if c in survey.columns])
    # mlflow.data creates from_pandas at import time, so its type information lacks it
    dataset = mlflow.data.from_pandas(  # type: ignore[attr-defined]
        proxies, name=name, digest=fingerprint
    )
    mlflow.log_input(dataset, context="training")


def move_aliases(model_name: str, versions: dict[str, str]) -> str | None:
    """Point each alias (``champion``, ``challenger``) at its version; the champion it replaces
    becomes ``previous-champion``. Returns the previous champion's version (or None)."""
    import mlflow  # slow to import: only when used

    client = mlflow.MlflowClient()
    try:
        previous: str | None = client.get_model_version_by_alias(model_name, "champion").version
    except Exception:
        previous = None
    for alias, version in versions.items():
        client.set_registered_model_alias(model_name, alias, str(version))
    new = versions.get("champion")
    if previous is not None and new is not None and str(previous) != str(new):
        client.set_registered_model_alias(model_name, "previous-champion", str(previous))
    return previous


@quietly
def log_cycle(
    result: CycleResult,
    tracking_uri: str | None = None,
    report_path: Path | None = None,
    model_name: str | None = None,
    promote_models: bool = True,
) -> dict[str, Any]:
    """Log one cycle: a parent run with nested runs per model and per scenario.

    Parameters
    ----------
    result : targeting.pipeline.CycleResult
    tracking_uri : str, optional
        Default: :func:`default_tracking_uri`.
    report_path : pathlib.Path, optional
        The HTML report (aggregates only) to attach to the parent run.
    model_name : str, optional
        Registered model name; default ``<experiment>-pmt``
        (:func:`~targeting.tracking.model.registered_model_name`).
    promote_models : bool, default True
        Move the aliases at the end. False when the caller logs more to the run (the report):
        it then calls :func:`promote` once that succeeded, or :func:`mark_failed`.

    Returns
    -------
    dict
        ``run_id``, ``experiment_id``, ``tracking_uri``, ``champion_version``, ``versions``
        (alias to the version it is to point at).

    Notes
    -----
    A run whose logging fails is ended with status FAILED (MLflow's run context does it), never
    left RUNNING, and the aliases are moved only after the whole run has been logged.
    """
    uri = configure(tracking_uri)
    import mlflow  # slow to import: only when used

    from targeting.tracking.naming import registered_model_name

    spec = result.spec
    model_name = model_name or registered_model_name(spec.name)
    experiment_id = ensure_experiment(spec.name, uri)
    # no area text the city profile does not list leaves the machine as typed
    areas = area_pseudonyms(result.registry_status, result.plan.plan)
    tags = {
        "data_fingerprint": result.data_fingerprint,
        "spec_hash": spec.spec_hash,
        "targeting_version": targeting.__version__,
        "seed": str(spec.seed),
        "champion": result.champion,
        "primary_metric": spec.primary_metric,
    }
    out: dict[str, Any] = {
        "tracking_uri": uri,
        "experiment_id": experiment_id,
        "model_name": model_name,
    }
    versions: dict[str, str] = {}
    with mlflow.start_run(
        experiment_id=experiment_id, run_name=f"{spec.name}-cycle", tags={**tags, "kind": "cycle"}
    ) as parent:
        out["run_id"] = parent.info.run_id
        mlflow.log_params(
            {
                "models": ",".join(spec.models),
                "extreme_line": spec.extreme_line,
                "n_households": result.counts["households_in_registry"],
                **{
                    f"plan.{k}": v
                    for k, v in sorted(spec.plan.model_dump(exclude_unset=True).items())
                },
            }
        )
        mlflow.log_dict(areas.json(spec.raw), "spec.json")
        log_frame(result.model_table, "model_comparison.csv")
        log_frame(areas.frame(result.forecast_table), "forecast_summary.csv")
        plan_summary = result.plan.summary()
        mlflow.log_dict(
            areas.json(
                {
                    "plan": plan_summary,
                    "counts": result.counts,
                    "truth_check": result.plan_truth_check,
                }
            ),
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
        learning = getattr(result, "field_learning", None) or {}
        if learning:
            # what the run's model learnt beyond the survey, where an analyst reads first
            mlflow.set_tag("learnt_from", learning["description"])
            mlflow.set_tag(
                "mlflow.note.content",
                f"Champion {result.champion} {learning['description']}: the plan, the scores, "
                "the unreached stock and the forecast use the recalibrated model, which is the "
                "one registered as champion by this run (the model runs' CV metrics are the "
                "survey models', before the recalibration).",
            )
            mlflow.log_metrics(
                finite_metrics(
                    {
                        f"field_{k}": v
                        for k, v in learning.items()
                        if isinstance(v, int | float) and not isinstance(v, bool)
                    }
                )
            )
        by_kelurahan = (
            result.plan.plan.groupby(["kecamatan", "kelurahan"], sort=True)
            .agg(visits=("household_id", "size"), expected_finds=("p_extreme", "sum"))
            .reset_index()
        )
        _assert_no_pii(by_kelurahan, "the plan aggregates")
        log_frame(areas.frame(by_kelurahan), "plan_by_kelurahan.csv")

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
                        log_frame(areas.frame(result.group_ratios), "group_error_ratios.csv")
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
                log_frame(
                    areas.frame(forecast.quantiles(level="kecamatan")), "quantiles_kecamatan.csv"
                )
                log_fan_chart(forecast)
        if result.training_data is not None:
            _log_training_data(result.training_data, result.data_fingerprint, f"{spec.name}-survey")
        if result.input_example is not None:
            roles = {"champion": result.champion}
            if result.challenger and result.challenger in result.fitted:
                roles["challenger"] = result.challenger
            refit = getattr(result, "field_refit", None)
            for role, name in roles.items():
                row = result.model_table.set_index("model").loc[name]
                metric = spec.primary_metric
                version_tags = {
                    "model": name,
                    "spec_hash": spec.spec_hash,
                    "data_fingerprint": result.data_fingerprint,
                    "primary_metric": metric,
                    "primary_metric_value": str(row.get(metric, "")),
                    "run_id": parent.info.run_id,
                }
                model, example = result.fitted[name], result.input_example
                if role == "champion" and refit is not None:
                    # the model the plan was made with: the champion recalibrated on the field
                    # labels of the working state (it also takes the kelurahan); the CV metric
                    # above is the survey model's, before the recalibration
                    model, example = refit.model, refit.input_example
                    version_tags["learnt_from"] = result.field_learning["description"]
                versions[role] = log_registered_model(
                    model, example, role, model_name, version_tags
                )
                out[f"{role}_version"] = versions[role]
        if report_path is not None and Path(report_path).exists():
            mlflow.log_artifact(str(report_path))
    out["versions"] = versions
    # only now that every artifact of the run is logged do the aliases move
    if promote_models:
        promote(out)
    return out


@quietly
def promote(logged: dict[str, Any]) -> None:
    """Move the aliases of a logged cycle (:func:`log_cycle`'s answer) to its versions."""
    configure(logged["tracking_uri"])
    if logged.get("versions"):
        logged["previous_champion_version"] = move_aliases(logged["model_name"], logged["versions"])


@quietly
def mark_failed(run_id: str, tracking_uri: str | None = None) -> None:
    """Mark a finished run FAILED: what was to be logged after it (the report) was not."""
    configure(tracking_uri)
    import mlflow  # slow to import: only when used

    mlflow.MlflowClient().set_terminated(run_id, status="FAILED")


@quietly
def attach_artifact(run_id: str, path: str | Path, tracking_uri: str | None = None) -> None:
    """Attach a file (e.g. the HTML report) to an existing run."""
    configure(tracking_uri)
    import mlflow  # slow to import: only when used

    mlflow.MlflowClient().log_artifact(run_id, str(path))


def store_health(
    tracking_uri: str | None = None, experiment: str = DEFAULT_EXPERIMENT
) -> dict[str, Any]:
    """Check the tracking store without changing it: its experiments and one's champion.

    An embedded SQLite store is read through a read-only connection, so checking never creates
    ``mlflow.db`` nor migrates it; a store that does not exist yet is reported as not created.

    Returns
    -------
    dict
        ``tracking_uri``, ``created`` (False when the SQLite file does not exist yet),
        ``experiments`` (count of active experiments), ``model_name`` and
        ``champion_version`` (None if not registered) of ``experiment``.
    """
    from targeting.tracking.naming import registered_model_name

    uri = tracking_uri or default_tracking_uri()
    name = registered_model_name(experiment)
    if uri.startswith("sqlite:///"):
        return {
            "model_name": name,
            **_sqlite_health(uri, Path(uri.removeprefix("sqlite:///")), name),
        }
    configure(uri)
    import mlflow  # slow to import: only when a server is checked

    with quiet_mlflow():
        client = mlflow.MlflowClient()
        experiments = client.search_experiments(max_results=1000)
        try:
            champion = client.get_model_version_by_alias(name, "champion").version
        except Exception:
            champion = None
    return {
        "tracking_uri": uri,
        "created": True,
        "experiments": len(experiments),
        "model_name": name,
        "champion_version": champion,
    }


def champion_uri(experiment: str = DEFAULT_EXPERIMENT) -> str:
    """``models:/<experiment>-pmt@champion``: the champion model of an experiment."""
    from targeting.tracking.naming import registered_model_name

    return f"models:/{registered_model_name(experiment)}@champion"


def _sqlite_health(uri: str, db: Path, model_name: str) -> dict[str, Any]:
    """Read an embedded store's experiment count and champion through a read-only connection."""
    if not db.exists():
        return {"tracking_uri": uri, "created": False, "experiments": 0, "champion_version": None}
    with contextlib.closing(sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)) as con:
        experiments = con.execute(
            "SELECT COUNT(*) FROM experiments WHERE lifecycle_stage = 'active'"
        ).fetchone()[0]
        row = con.execute(
            "SELECT version FROM registered_model_aliases WHERE name = ? AND alias = 'champion'",
            (model_name,),
        ).fetchone()
    return {
        "tracking_uri": uri,
        "created": True,
        "experiments": int(experiments),
        "champion_version": None if row is None else str(row[0]),
    }


def load_model(model_uri: str, tracking_uri: str | None = None) -> Any:
    """Load a logged PMT pipeline (e.g. ``models:/serang-2026-pmt@champion``) as scikit-learn.

    A registered version of an embedded (SQLite) store is loaded with MLflow once, then from a
    copy beside the store (:mod:`targeting.tracking.model_cache`): the alias is still resolved
    in the store at every call, so a new champion is picked up.

    Raises
    ------
    ValueError
        If the model cannot be found, with the fix (run ``targeting run`` first).
    """
    from targeting.tracking.model_cache import read_cached_model, write_cached_model

    store = tracking_uri or default_tracking_uri()
    # a registered version loaded before from this embedded store: no MLflow import, no
    # SQLAlchemy store (most of a 'targeting score' start-up; see model_cache)
    cached = read_cached_model(model_uri, store)
    if cached is not None:
        return cached
    model = _load_model_with_mlflow(model_uri, tracking_uri)
    write_cached_model(model_uri, store, model)
    return model


@quietly
def _load_model_with_mlflow(model_uri: str, tracking_uri: str | None) -> Any:
    configure(tracking_uri)
    from targeting.tracking.model import load_pmt_model  # imports mlflow: only when used

    try:
        return load_pmt_model(model_uri)
    except Exception as exc:
        raise ValueError(
            f"cannot load model {model_uri!r} from {default_tracking_uri()} ({exc}); "
            "run 'targeting run' first, or pass --tracking-uri / --model"
        ) from exc


def log_fan_chart(forecast: Any) -> None:
    """Log a forecast's city fan chart as a PNG artifact of the active run."""
    import mlflow  # slow to import: only when used

    from targeting.forecast.stockflow import fan_chart

    figure = fan_chart(forecast, level="city")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fan_chart_city.png"
        figure.savefig(path, dpi=110, bbox_inches="tight")
        mlflow.log_artifact(str(path))
    import matplotlib.pyplot as plt  # slow to import: only when used

    plt.close(figure)


def _model_specs(result: CycleResult) -> list[Any]:
    # the spec types (pydantic) only when a cycle is logged: scoring imports this package too
    from targeting.pmt.registry import load_specs

    return load_specs(spec_path=result.spec.path, names=list(result.model_table["model"]))
