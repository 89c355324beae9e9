"""The whole cycle of DESIGN.md §1–2 as plain Python (no MLflow here).

survey → fit PMT → score the registry → rank the unreached → plan → forecast. ``run_cycle``
returns every result in memory and writes the planner's local outputs; ``targeting.tracking``
then logs the aggregates to MLflow.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from targeting.config.experiment import DEFAULT_AUDIT_SHARE, ExperimentSpec
from targeting.config.model import load_specs
from targeting.console import Progress
from targeting.data import schema
from targeting.data.header_mapping import apply_header_mapping, load_header_mapping
from targeting.data.io import (
    json_ready,
    json_records,
    read_table,
    remove_stale_parts,
    write_json,
    write_table,
)
from targeting.data.state import read_ledger, write_scores, write_state
from targeting.data.synthetic import generate_city
from targeting.evaluation.cv import fit_final, grouped_cross_validate
from targeting.evaluation.metrics import group_error_ratios
from targeting.feedback.refit import RefitResult, recalibrate_on_outcomes
from targeting.feedback.rounds import RoundsResult, fit_champion, simulate_rounds
from targeting.forecast.city import build_city_state
from targeting.forecast.run import ForecastInputs, ForecastRun, run_forecast
from targeting.forecast.run import write_outputs as write_forecast_outputs
from targeting.forecast.scenarios import scenarios_from_spec
from targeting.forecast.stockflow import simulate
from targeting.plan import ranking, workbook
from targeting.plan.audit import add_audit_sample, write_audit_design
from targeting.pmt import reasons as explain
from targeting.pmt.scoring import score_households
from targeting.pmt.streaming import score_registry_file
from targeting.tracking import load_model

__all__ = [
    "CycleResult",
    "build_city_state",
    "data_fingerprint",
    "forecast_experiment",
    "load_cycle_data",
    "output_dir",
    "plan_capacity",
    "prepare_forecast",
    "refit_experiment",
    "run_cycle",
    "score_registry",
    "simulate_feedback_rounds",
]

_STATUS_COLUMNS = [
    "household_id",
    "kecamatan",
    "kelurahan",
    "receives_pkh",
    "receives_bpnt",
    "verification_status",
]


@dataclass
class CycleData:
    """The inputs of one cycle, validated."""

    survey: pd.DataFrame
    registry: pd.DataFrame
    rejected: pd.DataFrame
    truth: pd.DataFrame | None
    n_input_households: int
    problems: pd.DataFrame


@dataclass
class CycleResult:
    """Everything one run of the cycle produced.

    Attributes
    ----------
    model_table : pandas.DataFrame
        One row per model: cross-validated metrics (pooled out-of-fold) and their fold spread.
    champion : str
        The model chosen by the spec's primary metric.
    scores : pandas.DataFrame
        Per registry household (index ``household_id``): p_extreme, p_low, p_high, desil.
    plan : targeting.plan.ranking.VerificationPlan
    forecasts : dict of str to targeting.forecast.stockflow.ForecastResult
    counts : dict
        Accounting: input households = planned + not ranked (rejected rows are not ranked with
        reason ``invalid_row``).
    outputs : dict of str to Path
        Local files written (by-name lists stay here; they never go to MLflow).
    """

    spec: ExperimentSpec
    data_fingerprint: str
    model_table: pd.DataFrame
    champion: str
    challenger: str | None
    fitted: dict[str, Any]
    scores: pd.DataFrame
    plan: Any
    forecasts: dict[str, Any]
    forecast_table: pd.DataFrame
    counts: dict[str, int]
    calibration: pd.DataFrame | None
    outputs: dict[str, Path] = field(default_factory=dict)
    plan_truth_check: dict[str, float] = field(default_factory=dict)
    fold_metrics: dict[str, pd.DataFrame] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    input_example: pd.DataFrame | None = None
    registry_status: pd.DataFrame | None = None
    group_ratios: pd.DataFrame | None = None
    oof: dict[str, pd.DataFrame] = field(default_factory=dict)
    training_data: pd.DataFrame | None = None

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary: paths, metrics, counts (aggregates only, no personal data)."""
        return {
            "experiment": self.spec.name,
            "spec_hash": self.spec.spec_hash,
            "seed": self.spec.seed,
            "data_fingerprint": self.data_fingerprint,
            "champion": self.champion,
            "challenger": self.challenger,
            "primary_metric": self.spec.primary_metric,
            "models": json_records(self.model_table),
            "plan": self.plan.summary(),
            "plan_truth_check": self.plan_truth_check,
            "forecast": json_records(self.forecast_table),
            **self.counts,
            "outputs": {k: str(v) for k, v in sorted(self.outputs.items())},
        }


def data_fingerprint(*frames: pd.DataFrame) -> str:
    """SHA-256 (first 16 hex digits) of the frames' contents, independent of file format."""
    digest = hashlib.sha256()
    for frame in frames:
        digest.update(",".join(map(str, frame.columns)).encode())
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def load_cycle_data(spec: ExperimentSpec, progress: Progress | None = None) -> CycleData:
    """Generate or read the survey and registry named by the spec, and validate them.

    The registry is validated in quarantine mode (bad rows are set aside with their reasons);
    the survey strictly.
    """
    progress = progress or Progress(enabled=False)
    data = spec.data
    truth = None
    if data.get("source", "synthetic") == "synthetic":
        city = generate_city(
            n_households=int(data.get("n_households", 206_600)),
            seed=spec.seed,
            survey_fraction=float(data.get("survey_fraction", 0.05)),
            extreme_line=spec.extreme_line,
        )
        raw_registry, raw_survey, truth = city.registry, city.survey, city.truth
    else:
        raw_registry = read_table(spec.resolve(data["registry"]))
        raw_survey = read_table(spec.resolve(data["survey"]))
        mapping_path = data.get("header_mapping", "default")
        if mapping_path not in (None, "none"):
            mapping = load_header_mapping(
                None if mapping_path == "default" else spec.resolve(mapping_path)
            )
            raw_registry, changes = apply_header_mapping(raw_registry, mapping)
            raw_survey, _ = apply_header_mapping(raw_survey, mapping)
            if len(changes):
                n_headers = int((changes["kind"] == "header").sum())
                n_values = int((changes["kind"] == "value").sum())
                progress.note(
                    f"header mapping ({mapping.source}): {n_headers} header(s) renamed, "
                    f"{n_values} value code(s) recoded"
                )
        if data.get("truth"):
            truth = read_table(spec.resolve(data["truth"]))
    registry_check = schema.validate_registry(raw_registry, mode="quarantine")
    survey_check = schema.validate_survey(raw_survey, mode="strict")
    if len(registry_check.rejected):
        progress.note(
            f"{len(registry_check.rejected)} registry row(s) set aside as invalid "
            "(see rejected.csv and validation_errors.csv in the output folder)"
        )
    return CycleData(
        survey=survey_check.valid,
        registry=registry_check.valid,
        rejected=registry_check.rejected,
        truth=truth,
        n_input_households=len(raw_registry),
        problems=schema.problems_frame(registry_check.problems, "registry"),
    )


@dataclass(frozen=True)
class SurveyArrays:
    """What the PMT models learn from: proxies, consumption, label, weights and CV areas."""

    X: pd.DataFrame
    consumption: np.ndarray
    label: np.ndarray
    weight: np.ndarray
    groups: np.ndarray

    @classmethod
    def from_survey(cls, survey: pd.DataFrame, spec: ExperimentSpec) -> SurveyArrays:
        """Arrays of a validated survey; the label is ``consumption_pc < spec.extreme_line``."""
        consumption = survey["consumption_pc"].to_numpy(dtype=float)
        return cls(
            X=survey[schema.PROXY_COLUMNS],
            consumption=consumption,
            label=(consumption < spec.extreme_line).astype(int),
            weight=survey["weight"].to_numpy(dtype=float),
            groups=survey[spec.evaluation.get("group", "kelurahan")].to_numpy(),
        )


def cross_validate_spec(model_spec: Any, arrays: SurveyArrays, spec: ExperimentSpec) -> Any:
    """Grouped CV of one model spec under the experiment's evaluation protocol."""
    return grouped_cross_validate(
        model_spec,
        arrays.X,
        arrays.label,
        arrays.groups,
        consumption=arrays.consumption,
        sample_weight=arrays.weight,
        n_splits=int(spec.evaluation.get("n_splits", 5)),
        n_repeats=int(spec.evaluation.get("n_repeats", 1)),
        seed=spec.seed,
        line=spec.extreme_line,
        calibrate=spec.evaluation.get("calibrate"),
    )


def fit_spec(model_spec: Any, arrays: SurveyArrays, spec: ExperimentSpec) -> Any:
    """Fit one model spec on the whole survey, calibrated as in the CV."""
    return fit_final(
        model_spec,
        arrays.X,
        arrays.label,
        consumption=arrays.consumption,
        sample_weight=arrays.weight,
        calibrate=spec.evaluation.get("calibrate"),
        groups=arrays.groups,
        seed=spec.seed,
        line=spec.extreme_line,
    )


def output_dir(spec: ExperimentSpec, output: str | Path | None = None) -> Path:
    """The local output folder: ``output``, else the spec's ``output:``, else
    ``outputs/<name>``."""
    if output is not None:
        return Path(output)
    return Path(spec.raw.get("output") or Path("outputs") / spec.name)


def _choose_champion(table: pd.DataFrame, spec: ExperimentSpec) -> tuple[str, str | None]:
    metric = spec.primary_metric
    if metric not in table:
        raise ValueError(
            f"evaluation.primary_metric {metric!r} is not a reported metric; "
            f"choose one of {', '.join(c for c in table.columns if c != 'model')}"
        )
    ordered = table.sort_values(
        [metric, "auc", "model"], ascending=[spec.primary_lower_is_better, False, True]
    )["model"].tolist()
    return ordered[0], (ordered[1] if len(ordered) > 1 else None)


def prepare_forecast(
    spec: ExperimentSpec,
    model: str | None = None,
    tracking_uri: str | None = None,
    progress: Progress | None = None,
) -> ForecastInputs:
    """Load the data, get the scoring model, score the registry and build the city states.

    Which model scores the registry (``model``):

    * ``None`` (default): the champion is chosen exactly as ``targeting run`` chooses it:
      grouped cross-validation of every model of ``models:`` and the best ``primary_metric``.
      This needs nothing but the spec, so a forecast is reproducible from the spec alone.
    * a model name of ``models/*.yaml`` (e.g. ``"logit"``): that model, fitted on the whole
      survey, without cross-validation (fast).
    * a model URI (``"models:/serang-2026-pmt@champion"``): the registered champion of a previous
      ``targeting run`` loaded via :func:`targeting.tracking.load_model` (the only MLflow
      access, and only when asked for).

    Parameters
    ----------
    spec : ExperimentSpec
    model : str, optional
        None (cross-validated champion), a model name, or a ``models:/`` URI (above).
    tracking_uri : str, optional
        Used only with a ``models:/`` URI.
    progress : Progress, optional

    Returns
    -------
    ForecastInputs
    """
    progress = progress or Progress(enabled=False)
    with progress.step("Loading and validating the survey and registry"):
        data = load_cycle_data(spec, progress)
    survey, registry = data.survey, data.registry
    arrays = SurveyArrays.from_survey(survey, spec)
    scenarios = scenarios_from_spec(spec.raw)
    ranking_models = sorted({s.model for s in scenarios if s.model})
    all_specs = {s.name: s for s in load_specs(spec_path=spec.path)}

    def fit(name: str) -> Any:
        if name not in all_specs:
            raise ValueError(f"no model spec named {name!r} in models/; known: {sorted(all_specs)}")
        return fit_spec(all_specs[name], arrays, spec)

    model_table = None
    fitted: dict[str, Any] = {}
    if model is not None and model.startswith("models:/"):
        with progress.step(f"Loading {model}"):
            scorer = load_model(model, tracking_uri=tracking_uri)
        scoring_name, how = model, "registered model"
    elif model is not None:
        with progress.step(f"Fitting {model} on the whole survey"):
            scorer = fitted[model] = fit(model)
        scoring_name, how = model, "named model"
    else:
        rows = []
        for name in spec.models:
            with progress.step(f"Cross-validating {name} to choose the champion"):
                cv = cross_validate_spec(all_specs[name], arrays, spec)
            rows.append({"model": name, **{k: float(v) for k, v in cv.summary.items()}})
        model_table = pd.DataFrame(rows)
        scoring_name, _ = _choose_champion(model_table, spec)
        with progress.step(f"Fitting the champion {scoring_name} on the whole survey"):
            scorer = fitted[scoring_name] = fit(scoring_name)
        how = "cross-validated champion"

    ids = pd.Index(registry["household_id"].to_numpy(), name="household_id")
    with progress.step(f"Scoring {len(registry):,} registry households with {scoring_name}"):
        p = pd.Series(scorer.predict_proba(registry[schema.PROXY_COLUMNS])[:, 1], index=ids)
        states: dict[str | None, Any] = {None: build_city_state(registry, p)}
    for name in ranking_models:
        if name == scoring_name:
            continue
        with progress.step(f"Ranking by {name} (fitted on the whole survey)"):
            other = fitted.get(name) or fit(name)
            order = pd.Series(other.predict_proba(registry[schema.PROXY_COLUMNS])[:, 1], index=ids)
            states[name] = build_city_state(registry, p, order)
    return ForecastInputs(
        scoring_model=scoring_name,
        how=how,
        states=states,
        data_fingerprint=data_fingerprint(survey, registry),
        vintage=str(spec.data.get("vintage", "unknown")),
        registry_households=int(data.n_input_households),
        model_table=model_table,
    )


def forecast_experiment(
    spec: ExperimentSpec,
    output: str | Path | None = None,
    n_paths: int | None = None,
    seed: int | None = None,
    model: str | None = None,
    tracking_uri: str | None = None,
    capacity_paths: int | None = None,
    calibrate: bool = False,
    progress: Progress | None = None,
) -> ForecastRun:
    """The forecast of an experiment: :func:`prepare_forecast`, every scenario, then the tables
    and charts written to the output folder (``targeting forecast``; nothing logged here).

    Parameters
    ----------
    spec : ExperimentSpec
    output : path-like, optional
        Output folder (default as :func:`output_dir`).
    n_paths, seed, capacity_paths, calibrate
        As in :func:`targeting.forecast.run.run_forecast`.
    model, tracking_uri
        As in :func:`prepare_forecast`.
    progress : Progress, optional

    Returns
    -------
    targeting.forecast.run.ForecastRun
        With ``outputs`` filled.
    """
    progress = progress or Progress(enabled=False)
    inputs = prepare_forecast(spec, model=model, tracking_uri=tracking_uri, progress=progress)
    run = run_forecast(
        spec,
        inputs,
        n_paths=n_paths,
        seed=seed,
        capacity_paths=capacity_paths,
        calibrate=calibrate,
        progress=progress,
    )
    out_dir = output_dir(spec, output)
    with progress.step(f"Writing tables and charts to {out_dir}"):
        write_forecast_outputs(run, out_dir)
    return run


def refit_experiment(
    spec: ExperimentSpec,
    folder: str | Path,
    model_uri: str | None = None,
    fit: str | None = None,
    registry: str | Path | None = None,
    method: str = "platt",
    group_offsets: bool = True,
    n_boot: int = 200,
    tracking_uri: str | None = None,
) -> RefitResult:
    """Recalibrate the champion on the verified outcomes of a working state (``targeting refit``).

    Reads the state's ledger, loads the registry (the spec's data, or ``registry``), gets the
    base model (``fit``: that model spec fitted on the survey; else ``model_uri`` loaded from
    the tracking store), recalibrates it (:func:`targeting.feedback.refit.recalibrate_on_outcomes`)
    and writes the re-scored registry into the state folder. Nothing is logged here.

    Parameters
    ----------
    spec : ExperimentSpec
    folder : path-like
        The working-state folder.
    model_uri : str, optional
        MLflow URI of the model to recalibrate (used when ``fit`` is not given).
    fit : str, optional
        A model spec name to fit on the survey instead of loading a model.
    registry : path-like, optional
        A registry file with the proxies (default: the spec's data).
    method : {"platt", "intercept"}
    group_offsets : bool, default True
        Shrunk kelurahan offsets; False for one map for the city.
    n_boot : int, default 200
    tracking_uri : str, optional

    Returns
    -------
    targeting.feedback.refit.RefitResult
    """
    ledger = read_ledger(folder)
    if ledger is None or not len(ledger):
        raise ValueError(f"no outcomes ingested in {folder}: run 'targeting ingest' first")
    survey = None
    if registry is not None:
        frame = schema.validate_registry(read_table(registry), mode="quarantine").valid
    else:
        data = load_cycle_data(spec)
        frame, survey = data.registry, data.survey
    if survey is None:
        survey = load_cycle_data(spec).survey
    if fit:
        base = fit_champion(survey, fit, seed=spec.seed, line=spec.extreme_line)
        base_label = f"{fit} fitted on the survey"
    else:
        if model_uri is None:
            raise ValueError("give a model URI (--model) or a model spec to fit (--fit)")
        base = load_model(model_uri, tracking_uri=tracking_uri)
        base_label = model_uri
    result = recalibrate_on_outcomes(
        base,
        frame,
        ledger,
        base_label=base_label,
        method=method,
        group_column="kelurahan" if group_offsets else None,
        n_boot=n_boot,
        seed=spec.seed,
        survey=survey,
    )
    write_scores(result.scores, folder)
    return result


def plan_capacity(spec: ExperimentSpec) -> ranking.PlanCapacity:
    """The field capacity of the spec's ``plan:`` section (operators x visits/day x workdays)."""
    return ranking.PlanCapacity(
        operators=int(spec.plan.get("operators", 67)),
        visits_per_day=float(spec.plan.get("visits_per_day", 2.0)),
        workdays=int(spec.plan.get("workdays", 20)),
        pooling=str(spec.plan.get("pooling", "kecamatan")),
        start_date=str(spec.plan.get("start_date", "2025-11-03")),
    )


@dataclass
class SimulatedRounds:
    """``targeting simulate-rounds``: the rounds, the capacity per round and the verdict."""

    rounds: RoundsResult
    capacity: ranking.PlanCapacity
    seed: int
    verdict: dict[str, Any]


def simulate_feedback_rounds(
    spec: ExperimentSpec,
    households: int,
    model: str = "ols",
    rounds: int = 3,
    seed: int | None = None,
    method: str = "platt",
    group_offsets: bool = True,
    progress: Progress | None = None,
) -> SimulatedRounds:
    """The feedback loop on a synthetic city of ``households`` under the spec's capacity.

    Generates the city, fits ``model`` on its survey, and runs
    :func:`targeting.feedback.rounds.simulate_rounds`. The verdict compares the last round's
    true hit rate with the one the plan would have had without learning from the field ("not
    worse" allows half a point of noise).

    Parameters
    ----------
    spec : ExperimentSpec
        Gives the capacity, the line and (unless ``seed``) the seed.
    households : int
    model : str, default "ols"
        The model spec to start from.
    rounds : int, default 3
    seed : int, optional
    method : {"platt", "intercept"}
    group_offsets : bool, default True
    progress : Progress, optional

    Returns
    -------
    SimulatedRounds
    """
    progress = progress or Progress(enabled=False)
    seed = spec.seed if seed is None else seed
    with progress.step(f"Generating synthetic Serang ({households:,} households)"):
        city = generate_city(n_households=households, seed=seed, extreme_line=spec.extreme_line)
        registry = schema.validate_registry(city.registry, mode="quarantine").valid
        survey = schema.validate_survey(city.survey, mode="strict").valid
    with progress.step(f"Fitting {model} on the survey"):
        base = fit_champion(survey, model, seed=seed, line=spec.extreme_line)
    capacity = plan_capacity(spec)
    with progress.step(f"Simulating {rounds} round(s) of {capacity.total_visits:,} visits"):
        result = simulate_rounds(
            registry,
            city.truth,
            base,
            capacity,
            rounds=rounds,
            seed=seed,
            method=method,
            group_column="kelurahan" if group_offsets else None,
            audit_share=float(spec.plan.get("audit_share", DEFAULT_AUDIT_SHARE)),
        )
    last = result.table.iloc[-1]
    verdict = {
        "round": int(last["round"]),
        "feedback_rounds_before": int(last["round"]) - 1,
        "true_hit_rate": float(last["true_hit_rate"]),
        "true_hit_rate_without_feedback": float(last["true_hit_rate_without_feedback"]),
        "not_worse": bool(last["feedback_gain"] >= -0.005),
    }
    return SimulatedRounds(rounds=result, capacity=capacity, seed=seed, verdict=verdict)


def score_registry(
    registry: str | Path,
    output: str | Path,
    model_uri: str,
    tracking_uri: str | None = None,
    mode: str = "quarantine",
    seed: int = 2026,
    batch_rows: int = 100_000,
    engine: str = "local",
    progress: Any = None,
) -> dict[str, Any]:
    """Score a registry file of any size with a logged model (``targeting score``).

    The local engine streams the file in batches (memory bounded by ``batch_rows``) and writes
    the scores (no personal data) and, beside them, ``rejected.<suffix>`` for rows set aside by
    validation; the Spark engine scores a validated Parquet dataset with ``spark_udf``.

    Parameters
    ----------
    registry : path-like
        A registry file (.parquet, .csv or .xlsx; Parquet for Spark).
    output : path-like
        Where the scores go (.csv or .parquet; a folder for Spark).
    model_uri : str
        MLflow model URI (e.g. ``models:/serang-2026-pmt@champion``).
    tracking_uri : str, optional
    mode : {"quarantine", "strict"}
    seed : int, default 2026
        Seed of the interval simulation (models without an exact interval).
    batch_rows : int, default 100_000
    engine : {"local", "spark"}
    progress : callable, optional
        ``progress(rows done, rows scored, seconds)`` after each batch (local engine).

    Returns
    -------
    dict
        ``engine``, ``model``, ``households_in_file``, ``scored``, ``rejected``, ``seconds``,
        ``output``, ``rejected_output`` (JSON-ready; no personal data).
    """
    if batch_rows < 1:
        raise ValueError(f"--batch-rows must be a whole number ≥ 1, got {batch_rows}")
    if engine == "spark":
        from targeting.tracking.spark import score_with_spark  # needs PySpark and Java

        summary = score_with_spark(model_uri, registry, output, tracking_uri=tracking_uri)
        return {"engine": "spark", "model": model_uri, **summary}
    model = load_model(model_uri, tracking_uri=tracking_uri)
    result = score_registry_file(
        model,
        registry,
        output,
        batch_rows=batch_rows,
        mode=mode,
        seed=seed,
        progress=progress,
    )
    return {"engine": "local", "model": model_uri, **result.as_dict()}


def run_cycle(
    spec: ExperimentSpec,
    output: str | Path | None = None,
    progress: Progress | None = None,
    n_paths: int | None = None,
) -> CycleResult:
    """Run survey → PMT → score → plan → forecast for one experiment spec.

    Model fitting uses ``evaluation.threads`` native threads (default 1): histogram boosting's
    OpenMP threads slow down many-fold when the machine is busy, and one thread also keeps the
    results independent of the machine's core count.

    Parameters
    ----------
    spec : ExperimentSpec
    output : path-like, optional
        Local output folder (default: the spec's ``output`` or ``outputs/<name>``).
    progress : Progress, optional
    n_paths : int, optional
        Override the forecast's number of Monte Carlo paths.

    Returns
    -------
    CycleResult
    """
    with threadpool_limits(limits=int(spec.evaluation.get("threads", 1))):
        return _run_cycle(spec, output, progress, n_paths)


def _run_cycle(
    spec: ExperimentSpec,
    output: str | Path | None = None,
    progress: Progress | None = None,
    n_paths: int | None = None,
) -> CycleResult:
    """The body of :func:`run_cycle`, run under its thread limit."""
    progress = progress or Progress(enabled=False)
    out_dir = output_dir(spec, output)
    seed = spec.seed

    with progress.step("Loading and validating the survey and registry"):
        try:
            data = load_cycle_data(spec, progress)
        except schema.DataValidationError as exc:
            schema.write_problems(exc, out_dir / "validation_errors.csv")
            raise
        survey, registry = data.survey, data.registry
        progress.note(
            f"survey: {len(survey):,} households; registry: {len(registry):,} valid of "
            f"{data.n_input_households:,}"
        )
    fingerprint = data_fingerprint(survey, registry)

    arrays = SurveyArrays.from_survey(survey, spec)
    label, weight = arrays.label, arrays.weight
    group_col = spec.evaluation.get("group", "kelurahan")
    model_specs = load_specs(names=spec.models, spec_path=spec.path)

    rows, fold_metrics, calibration_rows, oof_by_model = [], {}, [], {}
    for model_spec in model_specs:
        with progress.step(f"Cross-validating {model_spec.name} (grouped by {group_col})"):
            cv = cross_validate_spec(model_spec, arrays, spec)
        row = {"model": model_spec.name}
        for key, value in cv.summary.items():
            row[key] = float(value)
        rows.append(row)
        fold_metrics[model_spec.name] = cv.fold_metrics
        oof_by_model[model_spec.name] = cv.oof
        calibration_rows.append(
            {"model": model_spec.name, "ece_before": cv.ece_before, "ece_after": cv.ece_after}
        )
    model_table = pd.DataFrame(rows)
    champion, challenger = _choose_champion(model_table, spec)
    progress.note(f"champion by {spec.primary_metric}: {champion}")
    group_ratios = _group_ratios(survey, label, weight, oof_by_model[champion])

    fitted: dict[str, Any] = {}
    needed = {champion} | {
        s.get("model") for s in spec.forecast.get("scenarios", []) if s.get("model")
    }
    if challenger:
        needed.add(challenger)
    unknown = sorted(m for m in needed if m not in {s.name for s in model_specs})
    if unknown:
        raise ValueError(
            f"forecast scenario(s) rank by model(s) {unknown} that the spec does not evaluate; "
            f"add them to 'models:' (evaluated: {', '.join(s.name for s in model_specs)})"
        )
    with progress.step(f"Fitting {', '.join(sorted(needed))} on the whole survey"):
        for model_spec in model_specs:
            if model_spec.name in needed:
                fitted[model_spec.name] = fit_spec(model_spec, arrays, spec)

    with progress.step(f"Scoring {len(registry):,} registry households with {champion}"):
        scores = score_households(fitted[champion], registry[schema.PROXY_COLUMNS], seed=seed)
        scores.index = pd.Index(registry["household_id"].to_numpy(), name="household_id")
        other_scores = {
            name: pd.Series(
                model.predict_proba(registry[schema.PROXY_COLUMNS])[:, 1],
                index=scores.index,
            )
            for name, model in fitted.items()
            if name != champion
        }

    capacity = plan_capacity(spec)
    with progress.step(
        f"Planning {capacity.total_visits:,} visits ({capacity.operators} operators x "
        f"{capacity.visits_per_day:g} visits/day x {capacity.workdays} workdays)"
    ):
        plan = ranking.build_plan(registry, scores, capacity, rejected=data.rejected)
        plan = add_audit_sample(
            plan,
            registry,
            scores,
            share=float(spec.plan.get("audit_share", DEFAULT_AUDIT_SHARE)),
            seed=seed,
        )
        planned_ids = plan.plan["household_id"]
        planned_rows = registry.set_index("household_id").loc[planned_ids]
        reasons = explain.reason_codes(
            fitted[champion],
            planned_rows[schema.PROXY_COLUMNS].reset_index(drop=True),
            top=3,
            reference=registry[schema.PROXY_COLUMNS].sample(
                n=min(20_000, len(registry)), random_state=seed
            ),
        )
        reason_cols = [f"reason_{i}" for i in (1, 2, 3)]
        plan.plan = plan.plan.drop(columns=[c for c in reason_cols if c in plan.plan])
        plan.plan[reason_cols] = reasons[reason_cols].to_numpy()
    counts = {
        "households_in_registry": int(data.n_input_households),
        "planned": len(plan.plan),
        "not_ranked": len(plan.not_ranked),
        "not_ranked_by_reason": {
            str(k): int(v) for k, v in plan.not_ranked["reason"].value_counts().sort_index().items()
        },
        "rejected_rows": len(data.rejected),
        "rejected_by_column": {
            str(c): int(n) for c, n in data.problems["column"].value_counts().sort_index().items()
        }
        if len(data.problems)
        else {},
    }
    if counts["households_in_registry"] != counts["planned"] + counts["not_ranked"]:
        raise RuntimeError(
            "accounting failed: "
            f"{counts['households_in_registry']} registry rows but {counts['planned']} planned + "
            f"{counts['not_ranked']} not ranked; this is a bug, please report it"
        )

    plan_truth_check: dict[str, float] = {}
    if data.truth is not None:
        truth = data.truth.set_index("household_id")["extreme"]
        eligible = ~schema.is_reached(registry) & (registry["verification_status"] == "unverified")
        hits = truth.reindex(plan.plan["household_id"]).fillna(False).astype(bool)
        plan_truth_check = {
            "true_unreached_extreme": int(
                truth.reindex(registry.loc[eligible, "household_id"]).sum()
            ),
            "planned_true_finds": int(hits.sum()),
            "planned_expected_finds": float(plan.plan["p_extreme"].sum()),
            "realised_hit_rate": float(hits.mean()) if len(hits) else float("nan"),
        }

    scenarios = scenarios_from_spec(spec.raw)
    paths = int(n_paths or spec.forecast.get("n_paths", 2000))
    forecasts: dict[str, Any] = {}
    forecast_rows = []
    states: dict[str | None, Any] = {}
    with progress.step(f"Forecasting {len(scenarios)} scenario(s), {paths:,} paths each"):
        for scenario in scenarios:
            key = scenario.model if scenario.model and scenario.model != champion else None
            if key not in states:
                states[key] = build_city_state(
                    registry, scores["p_extreme"], other_scores.get(key) if key else None
                )
            result = simulate(states[key], scenario, n_paths=paths, seed=seed)
            forecasts[scenario.name] = result
            row = {"scenario": scenario.name}
            row.update({k: json_ready(v) for k, v in result.summary().items() if k != "scenario"})
            forecast_rows.append(row)
    forecast_table = pd.DataFrame(forecast_rows)

    with progress.step(f"Writing the plan and tables to {out_dir}"):
        outputs = _write_outputs(
            out_dir, registry, plan, data.rejected, model_table, forecast_table, forecasts
        )
        outputs["validation_errors"] = write_table(data.problems, out_dir / "validation_errors.csv")

    result = CycleResult(
        spec=spec,
        data_fingerprint=fingerprint,
        model_table=model_table,
        champion=champion,
        challenger=challenger,
        fitted=fitted,
        scores=scores,
        plan=plan,
        forecasts=forecasts,
        forecast_table=forecast_table,
        counts=counts,
        calibration=pd.DataFrame(calibration_rows),
        outputs=outputs,
        plan_truth_check=plan_truth_check,
        fold_metrics=fold_metrics,
        timings=dict(progress.timings),
        input_example=_synthetic_input_example(seed),
        training_data=survey.drop(columns=[c for c in schema.PII_COLUMNS if c in survey]),
        registry_status=registry[_STATUS_COLUMNS].copy(),
        group_ratios=group_ratios,
        oof=oof_by_model,
    )
    result.outputs.update(write_state(result, out_dir))
    write_json(result.summary(), out_dir / "summary.json")
    result.outputs["summary"] = out_dir / "summary.json"
    return result


def _group_ratios(
    survey: pd.DataFrame, label: np.ndarray, weight: np.ndarray, oof: pd.DataFrame
) -> pd.DataFrame:
    """EE by group (kecamatan, female head, elderly head, disability) as a ratio to overall EE,
    from the champion's pooled out-of-fold predictions at the true extreme share."""
    first = oof[oof["repeat"] == oof["repeat"].min()].sort_values("row")
    rows = first["row"].to_numpy()
    groups = pd.DataFrame(
        {
            "kecamatan": survey["kecamatan"].to_numpy()[rows],
            "female_head": survey["head_female"].to_numpy()[rows],
            "elderly_head": (survey["head_age"].to_numpy()[rows] >= 60),
            "disability": (survey["n_disabled"].to_numpy()[rows] > 0),
        }
    )
    share = float(np.average(label, weights=weight))
    return group_error_ratios(
        label[rows], first["p_extreme"].to_numpy(), groups, budget=share, sample_weight=weight[rows]
    )


def _synthetic_input_example(seed: int) -> pd.DataFrame:
    """Five synthetic proxy rows for the logged model (never a registry row)."""
    city = generate_city(n_households=2_000, seed=seed + 1, survey_fraction=0.05)
    return city.survey[schema.PROXY_COLUMNS].head(5).reset_index(drop=True)


def _write_outputs(
    out_dir: Path,
    registry: pd.DataFrame,
    plan: Any,
    rejected: pd.DataFrame,
    model_table: pd.DataFrame,
    forecast_table: pd.DataFrame,
    forecasts: dict[str, Any],
) -> dict[str, Path]:
    """Write the planner's local outputs. By-name lists stay in this folder only."""
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(out_dir)
    pii = [c for c in schema.PII_COLUMNS if c in registry]
    field_plan = plan.plan.merge(registry[["household_id", *pii]], on="household_id", how="left")
    by_name = dataclasses.replace(plan, plan=field_plan)
    outputs: dict[str, Path] = {}
    outputs.update(workbook.write_plan_csv(by_name, out_dir))
    if plan.audit is not None:
        outputs.update(write_audit_design(plan.audit, out_dir))
    outputs["plan_workbook"] = workbook.write_plan_workbook(
        by_name, out_dir / "verification_plan.xlsx"
    )
    outputs["rejected"] = write_table(rejected, out_dir / "rejected.csv")
    outputs["models"] = write_table(model_table, out_dir / "model_comparison.csv")
    outputs["forecast"] = write_table(forecast_table, out_dir / "forecast_summary.csv")
    quantiles = pd.concat(
        [r.quantiles(level="city").assign(scenario=name) for name, r in forecasts.items()],
        ignore_index=True,
    )
    outputs["forecast_quantiles"] = write_table(quantiles, out_dir / "forecast_city_quantiles.csv")
    return outputs
