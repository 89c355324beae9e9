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

from targeting.config.experiment import ExperimentSpec, SpecError
from targeting.console import Progress
from targeting.data import schema
from targeting.data import state as state_files
from targeting.data.eligibility import eligible_for_ranking
from targeting.data.header_mapping import apply_header_mapping, load_header_mapping
from targeting.data.io import (
    InputFileError,
    json_ready,
    json_records,
    read_table,
    write_json,
    write_table,
)
from targeting.data.outputs import RUN_DROPS, OutputSet
from targeting.data.privacy import public_rejected
from targeting.data.state import read_ledger, write_cycle, write_scores, write_state
from targeting.data.synthetic import generate_city
from targeting.evaluation.cv import fit_final, grouped_cross_validate, summarise_oof
from targeting.evaluation.metrics import group_error_ratios
from targeting.feedback.ingest import apply_ledger, pool_holds
from targeting.feedback.refit import RefitResult, recalibrate_on_outcomes
from targeting.feedback.rounds import (
    RoundsResult,
    field_labels,
    fit_champion,
    model_input,
    simulate_rounds,
)
from targeting.forecast.city import build_city_state
from targeting.forecast.run import ForecastInputs, ForecastRun, run_forecast
from targeting.forecast.run import write_outputs as write_forecast_outputs
from targeting.forecast.scenarios import scenarios_from_spec
from targeting.forecast.stockflow import capacity_needed, simulate
from targeting.plan import ranking, workbook
from targeting.plan.audit import add_audit_sample, write_audit_design
from targeting.pmt import reasons as explain
from targeting.pmt.registry import load_specs
from targeting.pmt.scoring import score_households
from targeting.pmt.selection import MIN_UNREACHED_EXTREME
from targeting.tracking import load_model
from targeting.tracking.scoring import score_registry

__all__ = [
    "CycleResult",
    "build_city_state",
    "check_experiment",
    "choose_champion",
    "data_fingerprint",
    "field_learning_summary",
    "forecast_experiment",
    "has_field_labels",
    "learn_from_field",
    "load_cycle_data",
    "model_frame",
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
    unreached_stock : dict
        The estimated unreached extreme-poor stock (:class:`~.evaluation.stock.StockEstimate`
        fields: ``estimate, low, high, sd_log, level, survey_ratio``).
    calibration_unreached : dict or None
        The champion's calibration on the survey's unreached households (out-of-fold; see
        :func:`~.evaluation.stock.unreached_calibration`); None without receipt in the survey.
    selection : str or None
        How selection was accounted for (``evaluation.selection``), None when it was not.
    capacity : list of dict
        Per scenario and lever (operators, visits per operator-day), the smallest capacity for
        P(near zero by the deadline) >= ``forecast.capacity_search.target_p``
        (:func:`~.forecast.stockflow.capacity_needed` with ``goal='near_zero'``).
    field_refit : targeting.feedback.refit.RefitResult or None
        The champion recalibrated on the working state's field labels
        (:func:`learn_from_field`): the model the plan, the scores, the stock and the forecast
        were made with, and the one registered as champion. None when the state holds no
        labels of both classes (then ``fitted[champion]``, the survey model, is that model).
    field_learning : dict
        What the model learnt from the field (empty without ``field_refit``): ``source``,
        ``description``, ``n_labels``, ``n_labels_extreme``, the recalibration's parameters and
        ``survey_only_stock`` (the stock the survey model alone estimated).
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
    counts: dict[str, Any]
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
    plan_id: str = ""
    cycle: dict[str, Any] = field(default_factory=dict)
    unreached_stock: dict[str, float] = field(default_factory=dict)
    calibration_unreached: dict[str, Any] | None = None
    selection: str | None = None
    capacity: list[dict[str, Any]] = field(default_factory=list)
    field_refit: RefitResult | None = None
    field_learning: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary: paths, metrics, counts (aggregates only, no personal data)."""
        return {
            "experiment": self.spec.name,
            "spec_hash": self.spec.spec_hash,
            "seed": self.spec.seed,
            "data_fingerprint": self.data_fingerprint,
            "plan_id": self.plan_id,
            "cycle": self.cycle,
            "champion": self.champion,
            "challenger": self.challenger,
            "primary_metric": self.spec.primary_metric,
            "models": json_records(self.model_table),
            "plan": self.plan.summary(),
            "plan_truth_check": self.plan_truth_check,
            "selection": self.selection,
            "unreached_stock": self.unreached_stock,
            # only when the run learnt from the field: a first run's summary is as before
            **({"field_learning": json_ready(self.field_learning)} if self.field_learning else {}),
            "forecast": json_records(self.forecast_table),
            "capacity_near_zero": json_ready(self.capacity),
            **self.counts,
            "outputs": {k: str(v) for k, v in sorted(self.outputs.items())},
        }


def near_zero_capacity(
    spec: ExperimentSpec,
    scenarios: list[Any],
    states: dict[str | None, Any],
    champion: str,
    seed: int,
    n_paths: int,
    progress: Progress,
) -> list[dict[str, Any]]:
    """The capacity each scenario needs for P(near zero by the deadline) >= the target.

    The planner's question when entrants keep the stock above exactly zero (DESIGN §6): how many
    operators (at the scenario's visits per day), or how many visits per operator-day (with the
    scenario's operators), give P(stock <= 5 % of the start at the deadline) >=
    ``forecast.capacity_search.target_p``. One bisection per lever under common random numbers
    (:func:`~.forecast.stockflow.capacity_needed`), ``capacity_search.n_paths`` paths each.

    Returns
    -------
    list of dict
        One per scenario and lever: ``scenario``, ``parameter``, ``value`` (None when not
        reachable within the search's maximum), ``p_goal`` (the probability of near zero at that
        value), ``target_p``, ``reason``...
    """
    search = spec.forecast.capacity_search
    cpaths = int(search.paths(n_paths))
    rows: list[dict[str, Any]] = []
    with progress.step(f"Capacity for P(near zero) >= {search.target_p:g}, {cpaths:,} paths"):
        for scenario in scenarios:
            key = scenario.model if scenario.model and scenario.model != champion else None
            for lever, max_value in (
                ("operators", search.max_operators),
                ("visits_per_day", search.max_visits_per_day),
            ):
                found = capacity_needed(
                    states[key],
                    scenario,
                    target_p=search.target_p,
                    parameter=lever,
                    n_paths=cpaths,
                    seed=seed,
                    max_value=max_value,
                    goal="near_zero",
                )
                rows.append({"scenario": scenario.name, **found})
    return rows


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
    if data.source == "synthetic":
        city = generate_city(
            n_households=data.n_households,
            seed=spec.seed,
            survey_fraction=data.survey_fraction,
            extreme_line=spec.extreme_line,
        )
        raw_registry, raw_survey, truth = city.registry, city.survey, city.truth
    else:
        # the spec's check guarantees both paths when the source is files
        raw_registry = read_table(spec.resolve(str(data.registry)))
        raw_survey = read_table(spec.resolve(str(data.survey)))
        mapping_path = data.header_mapping
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
        if data.truth:
            truth = read_table(spec.resolve(data.truth))
    registry_check = schema.validate_registry(raw_registry, mode="quarantine")
    malformed = list(raw_registry.attrs.get("malformed_lines", []))
    if malformed:
        # lines with more fields than the header: set aside (and accounted for) one by one
        registry_check.rejected = pd.concat(
            [
                registry_check.rejected,
                pd.DataFrame(
                    {
                        "row": [n - 1 for n in malformed],
                        "household_id": "",
                        "kecamatan": "",
                        "kelurahan": "",
                        "reason": [
                            f"line {n}: more fields than the header (an unquoted separator)"
                            for n in malformed
                        ],
                    }
                ),
            ],
            ignore_index=True,
        )
    survey_check = schema.validate_survey(raw_survey, mode="strict")
    if len(registry_check.rejected):
        progress.note(
            f"{len(registry_check.rejected)} registry row(s) set aside as invalid "
            "(see rejected.csv and validation_errors.csv in the output folder)"
        )
    blank = int(raw_registry.attrs.get("blank_rows", 0))
    if blank:
        progress.note(f"{blank} blank registry row(s) ignored")
    return CycleData(
        survey=survey_check.valid,
        registry=registry_check.valid,
        rejected=registry_check.rejected,
        truth=truth,
        n_input_households=len(raw_registry) + len(malformed),
        problems=schema.problems_frame(registry_check.problems, "registry"),
    )


def unreached_stock_and_calibration(
    registry: pd.DataFrame,
    probabilities: pd.Series,
    oof: pd.DataFrame,
    arrays: SurveyArrays,
) -> tuple[dict[str, float], dict[str, Any] | None]:
    """The unreached extreme-poor stock (estimate, 90 % interval) and the champion's calibration
    on the survey's unreached households.

    Parameters
    ----------
    registry : pandas.DataFrame
    probabilities : pandas.Series
        P(extreme | proxies, not reached) per household (index ``household_id``).
    oof : pandas.DataFrame
        The champion's out-of-fold predictions (:class:`~.evaluation.cv.CVResult` ``oof``).
    arrays : SurveyArrays

    Returns
    -------
    stock : dict
        :class:`~.evaluation.stock.StockEstimate` as a dict.
    calibration : dict or None
        :func:`~.evaluation.stock.unreached_calibration`; None when the survey has no receipt
        (then the interval uses all survey households).
    """
    from targeting.evaluation.stock import unreached_calibration, unreached_stock

    eligible = eligible_for_ranking(registry)
    p = probabilities.reindex(registry.loc[eligible, "household_id"]).to_numpy(dtype=float)
    y, q, w, groups = _survey_level_check(oof, arrays)
    stock = unreached_stock(p[np.isfinite(p)], y, q, w, groups)
    calibration = unreached_calibration(y, q, w) if arrays.reached is not None else None
    return stock.as_dict(), calibration


def _survey_level_check(
    oof: pd.DataFrame, arrays: SurveyArrays
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The survey households that check the survey model's level: label, out-of-fold P,
    weight and area of the unreached (every household without receipt columns)."""
    first = oof[oof["repeat"] == oof["repeat"].min()]
    if "reached" in first:
        first = first[~first["reached"].to_numpy(dtype=bool)]
    rows = first["row"].to_numpy()
    return (
        first["label"].to_numpy(dtype=float),
        first["p_extreme"].to_numpy(dtype=float),
        arrays.weight[rows],
        arrays.groups[rows],
    )


def plan_finds_interval(
    plan: ranking.VerificationPlan,
    planned: pd.DataFrame,
    oof: pd.DataFrame,
    arrays: SurveyArrays,
    field_refit: RefitResult | None,
    seed: int,
) -> tuple[float, float]:
    """The 90 % interval of a plan's finds, from the model that scored it.

    With the survey model, the level is checked on the survey's unreached households in the
    ranked visits' range, and on all of them for the audit sample's visits
    (:func:`~targeting.evaluation.stock.plan_finds`); with a model recalibrated on
    field labels, as its stock (:meth:`~targeting.feedback.refit.RefitResult.expected_count`:
    its parameters' uncertainty, the survey's level below the labels' range, the households'
    own randomness).

    Parameters
    ----------
    plan : VerificationPlan
    planned : pandas.DataFrame
        The registry rows of the plan's households, in the plan's order (model inputs and the
        area column).
    oof : pandas.DataFrame
        The champion's out-of-fold predictions.
    arrays : SurveyArrays
    field_refit : RefitResult or None
        :func:`learn_from_field`'s answer when the run learnt from the field.
    seed : int

    Returns
    -------
    tuple of float
        ``(low, high)``.
    """
    from targeting.evaluation.stock import plan_finds

    if field_refit is not None:
        X = model_input(planned, field_refit.group_column)
        _, low, high = field_refit.expected_count(X, seed)
        return low, high
    ranked = None
    if plan.audit is not None:
        part = plan.audit.units.set_index("household_id")["part"]
        ranked = (part.reindex(plan.plan["household_id"]) == "ranked").to_numpy()
    finds = plan_finds(plan.plan["p_extreme"], *_survey_level_check(oof, arrays), ranked=ranked)
    return finds.low, finds.high


@dataclass(frozen=True)
class SurveyArrays:
    """What the PMT models learn from: proxies, consumption, label, weights and CV areas."""

    X: pd.DataFrame
    consumption: np.ndarray
    label: np.ndarray
    weight: np.ndarray
    groups: np.ndarray
    reached: np.ndarray | None = None

    @classmethod
    def from_survey(cls, survey: pd.DataFrame, spec: ExperimentSpec) -> SurveyArrays:
        """Arrays of a validated survey; the label is ``consumption_pc < spec.extreme_line``;
        ``reached`` from the optional receipt columns (None without them)."""
        consumption = survey["consumption_pc"].to_numpy(dtype=float)
        return cls(
            X=survey[schema.MODEL_COLUMNS],
            consumption=consumption,
            label=(consumption < spec.extreme_line).astype(int),
            weight=survey["weight"].to_numpy(dtype=float),
            groups=survey[spec.evaluation.group].to_numpy(),
            reached=schema.survey_reached(survey),
        )


def model_frame(model: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """The columns of ``frame`` that ``model`` takes: the ones it was fitted on (a model
    recalibrated on field outcomes also takes ``kelurahan``), else the model inputs."""
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        return frame[schema.MODEL_COLUMNS]
    return frame[[str(c) for c in names]]


def selection_method(spec: ExperimentSpec, arrays: SurveyArrays) -> str | None:
    """The selection method of the spec (``evaluation.selection``, default
    :data:`~targeting.pmt.selection.DEFAULT_SELECTION`), or None (no receipt in the survey,
    fewer than :data:`~targeting.pmt.selection.MIN_UNREACHED_EXTREME` extreme-poor unreached
    survey households, or ``"none"``)."""
    method = str(spec.evaluation.selection)
    if method == "none" or arrays.reached is None or not arrays.reached.any():
        return None
    if int(arrays.label[~arrays.reached].sum()) < MIN_UNREACHED_EXTREME:
        return None
    return method


def selection_options(spec: ExperimentSpec, arrays: SurveyArrays) -> dict[str, Any] | None:
    """Parameters of :class:`~targeting.pmt.selection.SelectionAwarePMT` for the spec's models:
    ``method`` (:func:`selection_method`), ``calibration_cv`` (``evaluation.
    selection_calibration_cv``, default :data:`~targeting.pmt.selection.DEFAULT_CALIBRATION_CV`)
    and ``calibration_map`` (``evaluation.selection_calibration_map``); None when selection is
    not accounted for."""
    method = selection_method(spec, arrays)
    if method is None:
        return None
    cv = int(spec.evaluation.selection_calibration_cv)
    return {
        "method": method,
        "calibration_cv": cv,
        "calibration_map": str(spec.evaluation.selection_calibration_map),
        "calibration_locality": spec.evaluation.selection_calibration_locality,
    }


def unreached_summary(oof: pd.DataFrame, arrays: SurveyArrays) -> dict[str, float]:
    """Headline metrics of out-of-fold predictions on the unreached survey households.

    The plan ranks only the unreached, so the models are compared (and the champion chosen) on
    them. Pooled metrics are the mean over repeats; ``<metric>_sd`` is the spread over folds.
    """
    from targeting.evaluation.metrics import evaluate_scores

    part = oof[~oof["reached"].to_numpy(dtype=bool)]
    per_fold = []
    for _, chunk in part.groupby(["repeat", "fold"], sort=True):
        w = arrays.weight[chunk["row"].to_numpy()]
        per_fold.append(evaluate_scores(chunk["label"], chunk["p_extreme"], sample_weight=w))
    # the CV engine's one summary (pooled per repeat, mean over repeats; _sd over folds)
    summary, _, _ = summarise_oof(part, pd.DataFrame(per_fold), arrays.weight)
    return summary


def cross_validate_spec(model_spec: Any, arrays: SurveyArrays, spec: ExperimentSpec) -> Any:
    """Grouped CV of one model spec under the experiment's evaluation protocol (selection-aware
    when the survey records programme receipt)."""
    return grouped_cross_validate(
        model_spec,
        arrays.X,
        arrays.label,
        arrays.groups,
        consumption=arrays.consumption,
        sample_weight=arrays.weight,
        n_splits=spec.evaluation.n_splits,
        n_repeats=spec.evaluation.n_repeats,
        seed=spec.seed,
        line=spec.extreme_line,
        calibrate=spec.evaluation.calibrate,
        reached=arrays.reached,
        selection=selection_options(spec, arrays),
    )


def fit_spec(model_spec: Any, arrays: SurveyArrays, spec: ExperimentSpec) -> Any:
    """Fit one model spec on the whole survey, calibrated as in the CV."""
    return fit_final(
        model_spec,
        arrays.X,
        arrays.label,
        consumption=arrays.consumption,
        sample_weight=arrays.weight,
        calibrate=spec.evaluation.calibrate,
        groups=arrays.groups,
        seed=spec.seed,
        line=spec.extreme_line,
        reached=arrays.reached,
        selection=selection_options(spec, arrays),
    )


def output_dir(spec: ExperimentSpec, output: str | Path | None = None) -> Path:
    """The local output folder: ``output``, else the spec's ``output:``, else
    ``outputs/<name>``."""
    if output is not None:
        return Path(output)
    return Path(spec.output or Path("outputs") / spec.name)


def check_experiment(spec: ExperimentSpec) -> tuple[list[Any], list[Any]]:
    """Check what the typed spec cannot check alone, before any data is read.

    The model specs named in ``models:`` are loaded and checked against their estimators (an
    unknown parameter such as ``n_estimaters`` fails here), and the forecast scenarios are
    built (rates, ranges and months checked by :class:`~targeting.forecast.scenarios.Scenario`).

    Parameters
    ----------
    spec : ExperimentSpec

    Returns
    -------
    model_specs : list of ModelSpec
        In the order of ``models:``.
    scenarios : list of Scenario

    Raises
    ------
    SpecError
        Every problem at once.
    """
    problems: list[str] = []
    model_specs: list[Any] = []
    scenarios: list[Any] = []
    try:
        model_specs = load_specs(names=spec.models, spec_path=spec.path)
    except SpecError as exc:
        problems.extend(exc.problems)
    try:
        scenarios = scenarios_from_spec(spec.forecast)
    except ValueError as exc:
        problems.append(f"forecast: {exc}")
    if problems:
        raise SpecError.from_problems(str(spec.path or spec.name), problems)
    return model_specs, scenarios


def choose_champion(table: pd.DataFrame, spec: ExperimentSpec) -> tuple[str, str | None]:
    """The champion and challenger by the spec's primary metric (see
    :func:`targeting.evaluation.champion.rank_models`)."""
    from targeting.evaluation.champion import rank_models

    try:
        ordered = rank_models(table, spec.primary_metric)
    except ValueError as exc:
        raise ValueError(f"evaluation.primary_metric: {exc}") from exc
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
    # every problem of the spec and its model specs fails here, before any data is read
    _, scenarios = check_experiment(spec)
    with progress.step("Loading and validating the survey and registry"):
        data = load_cycle_data(spec, progress)
    survey, registry = data.survey, data.registry
    arrays = SurveyArrays.from_survey(survey, spec)
    ranking_models = sorted({s.model for s in scenarios if s.model})
    all_specs = {s.name: s for s in load_specs(spec_path=spec.path)}

    def fit(name: str) -> Any:
        if name not in all_specs:
            raise ValueError(f"no model spec named {name!r} in models/; known: {sorted(all_specs)}")
        return fit_spec(all_specs[name], arrays, spec)

    model_table = None
    champion_oof = None
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
        rows, oofs = [], {}
        selection = selection_method(spec, arrays)
        for name in spec.models:
            with progress.step(f"Cross-validating {name} to choose the champion"):
                cv = cross_validate_spec(all_specs[name], arrays, spec)
            summary = cv.summary if selection is None else unreached_summary(cv.oof, arrays)
            rows.append({"model": name, **{k: float(v) for k, v in summary.items()}})
            oofs[name] = cv.oof
        model_table = pd.DataFrame(rows)
        scoring_name, _ = choose_champion(model_table, spec)
        champion_oof = oofs[scoring_name]
        with progress.step(f"Fitting the champion {scoring_name} on the whole survey"):
            scorer = fitted[scoring_name] = fit(scoring_name)
        how = "cross-validated champion"

    ids = pd.Index(registry["household_id"].to_numpy(), name="household_id")
    with progress.step(f"Scoring {len(registry):,} registry households with {scoring_name}"):
        p = pd.Series(scorer.predict_proba(model_frame(scorer, registry))[:, 1], index=ids)
        if champion_oof is None:
            # no cross-validation for a named or registered model: the level check uses its
            # in-sample predictions on the survey (a slightly narrower interval)
            champion_oof = pd.DataFrame(
                {
                    "row": np.arange(len(survey)),
                    "repeat": 0,
                    "label": arrays.label,
                    "p_extreme": scorer.predict_proba(model_frame(scorer, survey))[:, 1],
                }
            )
            if arrays.reached is not None:
                champion_oof["reached"] = arrays.reached
        # the start stock is the corrected estimate, drawn per path from its uncertainty
        stock, _ = unreached_stock_and_calibration(registry, p, champion_oof, arrays)
        states: dict[str | None, Any] = {
            None: build_city_state(registry, p, start_sd_log=stock["sd_log"])
        }
    for name in ranking_models:
        if name == scoring_name:
            continue
        with progress.step(f"Ranking by {name} (fitted on the whole survey)"):
            other = fitted.get(name) or fit(name)
            order = pd.Series(other.predict_proba(registry[schema.MODEL_COLUMNS])[:, 1], index=ids)
            states[name] = build_city_state(registry, p, order, start_sd_log=stock["sd_log"])
    return ForecastInputs(
        scoring_model=scoring_name,
        how=how,
        states=states,
        data_fingerprint=data_fingerprint(survey, registry),
        vintage=str(spec.data.vintage),
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
    staging: OutputSet | None = None,
) -> RefitResult:
    """Recalibrate the champion on the verified outcomes of a working state (``targeting refit``).

    Reads the state's ledger, loads the registry (the spec's data, or ``registry``), gets the
    base model (``fit``: that model spec fitted on the survey; else ``model_uri`` loaded from
    the tracking store), recalibrates it (:func:`targeting.feedback.refit.recalibrate_on_outcomes`)
    and writes the re-scored registry into the state folder. Nothing is logged here.

    The state is read and ``scores.parquet`` replaced under the folder's lock, staged and
    swapped in as ``run`` and ``ingest`` do (:class:`targeting.data.outputs.OutputSet`): a
    refit beside a run on the same folder waits for nothing and overwrites nothing; the second
    one fails at once naming the folder.

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
    staging : targeting.data.outputs.OutputSet, optional
        An open output set of ``folder`` to write into (the caller logs the refit, then
        commits). Without one, the refit opens its own and commits it when done.

    Returns
    -------
    targeting.feedback.refit.RefitResult
    """
    if staging is None:
        with OutputSet(folder) as own:
            result = refit_experiment(
                spec,
                folder,
                model_uri=model_uri,
                fit=fit,
                registry=registry,
                method=method,
                group_offsets=group_offsets,
                n_boot=n_boot,
                tracking_uri=tracking_uri,
                staging=own,
            )
            own.commit()
        return result
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
        line=spec.extreme_line,
    )
    write_scores(result.scores, staging.staging)
    return result


def has_field_labels(registry: pd.DataFrame, ledger: pd.DataFrame | None) -> bool:
    """Whether the working state holds field labels to learn from: recorded visits, and
    verified unreached households of both classes (extreme and not)."""
    if ledger is None or not len(ledger):
        return False
    return bool(field_labels(registry)["label"].nunique() == 2)


def learn_from_field(
    base: Any,
    champion: str,
    registry: pd.DataFrame,
    ledger: pd.DataFrame | None,
    survey: pd.DataFrame,
    spec: ExperimentSpec,
    n_boot: int = 200,
) -> RefitResult | None:
    """The champion recalibrated on the field labels of the working state, as ``refit`` does.

    A run that continues from a working state plans with what the field found: the verified
    unreached households (:func:`~targeting.feedback.rounds.field_labels`) recalibrate the
    champion fitted on the survey by the one routine ``targeting refit`` uses
    (:func:`~targeting.feedback.refit.recalibrate_on_outcomes`, with ``refit``'s defaults), so
    the run's scores equal the refit's and its stock is the refit's, with its interval.

    Parameters
    ----------
    base : estimator
        The champion fitted on the survey.
    champion : str
        Its model name (recorded as the base).
    registry : pandas.DataFrame
        The registry with the working state carried over (:func:`carry_state`).
    ledger : pandas.DataFrame or None
        The working state's outcomes ledger.
    survey : pandas.DataFrame
        The validated survey (desil cut-points, the survey level's uncertainty).
    spec : ExperimentSpec
    n_boot : int, default 200
        Interval draws when scoring (as the run and ``refit`` score).

    Returns
    -------
    RefitResult or None
        None without a ledger, or when the verified unreached households are not of both
        classes (nothing to recalibrate on).
    """
    if not has_field_labels(registry, ledger):
        return None
    return recalibrate_on_outcomes(
        base,
        registry,
        ledger,
        base_label=f"{champion} fitted on the survey",
        n_boot=n_boot,
        seed=spec.seed,
        survey=survey,
        line=spec.extreme_line,
    )


def field_learning_summary(refit: RefitResult, survey_stock: dict[str, float]) -> dict[str, Any]:
    """What a run's model learnt from the field, for the summary, the report and MLflow.

    Parameters
    ----------
    refit : RefitResult
        :func:`learn_from_field`'s answer.
    survey_stock : dict
        The unreached stock the survey model alone estimated (before the field).

    Returns
    -------
    dict
        ``source`` ("working state"), ``description``, ``n_labels``, ``n_labels_extreme``,
        ``realised_hit_rate``, ``predicted_hit_rate_before``, ``predicted_hit_rate_after``,
        ``recalibration_intercept``, ``recalibration_slope``, ``support``, ``support_low``,
        ``support_high`` and ``survey_only_stock`` (``estimate``, ``low``, ``high``).
    """
    m = refit.metrics
    keys = (
        "n_labels",
        "n_labels_extreme",
        "realised_hit_rate",
        "predicted_hit_rate_before",
        "predicted_hit_rate_after",
        "recalibration_intercept",
        "recalibration_slope",
    )
    return {
        "source": "working state",
        "description": f"{refit.learnt_from()} from the working state",
        **{k: m[k] for k in keys},
        "support": refit.params["support"],
        "support_low": refit.params["support_low"],
        "support_high": refit.params["support_high"],
        "survey_only_stock": {k: survey_stock[k] for k in ("estimate", "low", "high")},
    }


def plan_capacity(spec: ExperimentSpec) -> ranking.PlanCapacity:
    """The field capacity of the spec's ``plan:`` section (operators x visits/day x workdays)."""
    return ranking.PlanCapacity.from_spec(spec.plan)


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
            audit_share=float(spec.plan.audit_share),
            survey=survey,
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


def run_cycle(
    spec: ExperimentSpec,
    output: str | Path | None = None,
    progress: Progress | None = None,
    n_paths: int | None = None,
    state: str | Path | None = None,
    fresh: bool = False,
    start: str | None = None,
    staging: Any = None,
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
    state : path-like, optional
        The working state to continue from (default: the output folder).
    fresh : bool
        Ignore the working state: plan as if nobody had been visited.
    start : str, optional
        First plan day ``YYYY-MM-DD`` (default: after the last plan once its results were
        ingested, the same period when they were not, else the spec's ``plan.start_date``).
    staging : targeting.data.outputs.OutputSet, optional
        An open output set to write into (the caller adds its files, e.g. the report, and
        commits). Without one, the run opens its own and commits it when done, so the output
        folder only ever holds complete sets.

    Returns
    -------
    CycleResult
    """
    with threadpool_limits(limits=spec.evaluation.threads):
        if staging is not None:
            return _run_cycle(spec, output, progress, n_paths, state, fresh, start, staging)
        with OutputSet(output_dir(spec, output), drop=RUN_DROPS) as own:
            result = _run_cycle(spec, output, progress, n_paths, state, fresh, start, own)
            own.commit()
        return result


@dataclass
class CarriedState:
    """What a run takes over from the working state of the previous one."""

    registry: pd.DataFrame
    left_registry: pd.DataFrame
    ledger: pd.DataFrame | None
    audit: pd.DataFrame | None
    cycle: dict[str, Any] | None
    start_date: str


def plan_start(spec: ExperimentSpec, cycle: dict[str, Any] | None, start: str | None = None) -> str:
    """The first day of the next plan.

    ``start`` when given; else, once the current plan's results were ingested, the next workday
    after its last visit date; else the current plan's first day (a re-run re-plans the same
    period); else the spec's ``plan.start_date``.
    """
    if start:
        np.datetime64(start, "D")  # raises on a malformed date
        return str(start)
    if cycle and cycle.get("last_visit_date"):
        if cycle.get("ingested"):
            last = np.datetime64(str(cycle["last_visit_date"]), "D")
            return str(np.busday_offset(last, 1, roll="forward"))
        if cycle.get("first_visit_date"):
            return str(cycle["first_visit_date"])
    return str(spec.plan.start_date)


def carry_state(
    registry: pd.DataFrame,
    rejected: pd.DataFrame,
    folder: Path | None,
    spec: ExperimentSpec,
    start: str | None = None,
) -> CarriedState:
    """Merge the working state of ``folder`` into a newly loaded registry snapshot.

    Households merge by ``household_id``. A household's status is the latest conclusive
    outcome of the ledger, else a verified status the state already had, else the snapshot's.
    Households with inconclusive visits get ``pool_hold`` (``retry_later`` /
    ``attempts_exhausted``, :func:`targeting.feedback.ingest.pool_holds`). Households of the
    previous snapshot that this one lacks (neither valid nor rejected) are returned in
    ``left_registry`` with their last status.
    """
    registry = registry.copy()
    empty_left = pd.DataFrame(columns=["household_id", "kecamatan", "kelurahan", "last_status"])
    if folder is None or not Path(folder).is_dir():
        start_date = plan_start(spec, None, start)
        return CarriedState(registry, empty_left, None, None, None, start_date)
    cycle = state_files.read_cycle(folder)
    ledger = state_files.read_ledger(folder)
    audit = state_files.read_audit(folder)
    start_date = plan_start(spec, cycle, start)
    ids = registry["household_id"].astype(str)
    left = empty_left
    if (Path(folder) / state_files.STATUS_FILE).exists():
        prior = state_files.read_status(folder)
        verified = prior[prior["verification_status"] != "unverified"]
        carried = ids.map(verified.set_index("household_id")["verification_status"])
        registry["verification_status"] = carried.fillna(registry["verification_status"]).astype(
            object
        )
        known = set(ids) | set(rejected.get("household_id", pd.Series(dtype=str)).astype(str))
        gone = prior[~prior["household_id"].isin(known)]
        left = pd.DataFrame(
            {
                "household_id": gone["household_id"].astype(str).to_numpy(),
                "kecamatan": gone.get("kecamatan", pd.Series("", index=gone.index)).to_numpy(),
                "kelurahan": gone.get("kelurahan", pd.Series("", index=gone.index)).to_numpy(),
                "last_status": gone["verification_status"].astype(str).to_numpy(),
            }
        )
    if ledger is not None and len(ledger):
        registry = apply_ledger(registry, ledger)
        holds = pool_holds(ledger, start_date)
        registry["pool_hold"] = ids.map(holds).fillna("").astype(object).to_numpy()
    return CarriedState(registry, left, ledger, audit, cycle, start_date)


def make_plan_id(plan: pd.DataFrame, start_date: str) -> str:
    """A plan's id: its first day and a digest of who is visited when by whom.

    The same plan made twice has the same id, so a re-run does not orphan a printed workbook;
    any change of households, dates or operators gives another id.
    """
    digest = hashlib.sha256(start_date.encode())
    cols = [c for c in ("household_id", "visit_date", "operator") if c in plan]
    digest.update(pd.util.hash_pandas_object(plan[cols].astype(str), index=False).to_numpy())
    return f"{start_date}-{digest.hexdigest()[:8]}"


def _run_cycle(
    spec: ExperimentSpec,
    output: str | Path | None = None,
    progress: Progress | None = None,
    n_paths: int | None = None,
    state: str | Path | None = None,
    fresh: bool = False,
    start: str | None = None,
    staging: Any = None,
) -> CycleResult:
    """The body of :func:`run_cycle`, run under its thread limit, writing into ``staging``."""
    progress = progress or Progress(enabled=False)
    final_dir = output_dir(spec, output)
    out_dir = staging.staging  # every output of the set is written here, then swapped in
    seed = spec.seed
    # every problem of the spec and its model specs fails here, before any data is read
    model_specs, scenarios = check_experiment(spec)

    with progress.step("Loading and validating the survey and registry"):
        try:
            data = load_cycle_data(spec, progress)
        except schema.DataValidationError as exc:
            # the error report goes beside the previous set (this run has no outputs)
            schema.write_problems(exc, final_dir / "validation_errors.csv")
            raise
        survey, registry = data.survey, data.registry
        _stop_when_empty(data, final_dir)
        progress.note(
            f"survey: {len(survey):,} households; registry: {len(registry):,} valid of "
            f"{data.n_input_households:,}"
        )
    fingerprint = data_fingerprint(survey, registry)
    state_dir = None if fresh else Path(state) if state is not None else final_dir
    carried = carry_state(registry, data.rejected, state_dir, spec, start)
    registry = carried.registry
    if carried.ledger is not None:
        progress.note(
            f"working state: {len(carried.ledger):,} recorded visits; "
            f"{int((registry['verification_status'] != 'unverified').sum()):,} households "
            f"verified; {len(carried.left_registry):,} no longer in the registry"
        )

    arrays = SurveyArrays.from_survey(survey, spec)
    label, weight = arrays.label, arrays.weight
    group_col = spec.evaluation.group
    selection = selection_method(spec, arrays)
    if selection is None:
        progress.note(
            "the survey has no programme receipt (receives_pkh, receives_bpnt), or fewer than "
            f"{MIN_UNREACHED_EXTREME} extreme-poor households among its unreached: the models "
            "estimate P(extreme | proxies) on all households, which over-states poverty among "
            "the unreached when programmes reached households on what the proxies miss"
        )
    else:
        progress.note(
            f"models estimate P(extreme | proxies, not reached) (selection: {selection}); "
            "metrics are on the survey's unreached households"
        )

    rows, fold_metrics, calibration_rows, oof_by_model = [], {}, [], {}
    for model_spec in model_specs:
        with progress.step(f"Cross-validating {model_spec.name} (grouped by {group_col})"):
            cv = cross_validate_spec(model_spec, arrays, spec)
        row = {"model": model_spec.name}
        summary = cv.summary if selection is None else unreached_summary(cv.oof, arrays)
        for key, value in summary.items():
            row[key] = float(value)
        rows.append(row)
        fold_metrics[model_spec.name] = cv.fold_metrics
        oof_by_model[model_spec.name] = cv.oof
        calibration_rows.append(
            {"model": model_spec.name, "ece_before": cv.ece_before, "ece_after": cv.ece_after}
        )
    model_table = pd.DataFrame(rows)
    champion, challenger = choose_champion(model_table, spec)
    progress.note(f"champion by {spec.primary_metric}: {champion}")
    group_ratios = _group_ratios(survey, label, weight, oof_by_model[champion])

    fitted: dict[str, Any] = {}
    needed = {champion} | spec.forecast.ranking_models()
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

    # the working state's field labels (verified unreached households of both classes)
    # recalibrate the champion as 'targeting refit' does: the plan, the scores, the stock and
    # the forecast then use what the field found, not the survey model alone
    learns = has_field_labels(registry, carried.ledger)
    scoring = (
        f"Recalibrating {champion} on the field labels of the working state and scoring "
        f"{len(registry):,} registry households"
        if learns
        else f"Scoring {len(registry):,} registry households with {champion}"
    )
    field_refit: RefitResult | None = None
    with progress.step(scoring):
        ids = pd.Index(registry["household_id"].to_numpy(), name="household_id")
        if learns:
            field_refit = learn_from_field(
                fitted[champion], champion, registry, carried.ledger, survey, spec
            )
        if field_refit is not None:
            scores = field_refit.scores.reindex(ids.astype(str))
            scores.index = ids
        else:
            scores = score_households(fitted[champion], registry[schema.MODEL_COLUMNS], seed=seed)
            scores.index = ids
        other_scores = {
            name: pd.Series(
                model.predict_proba(registry[schema.MODEL_COLUMNS])[:, 1],
                index=scores.index,
            )
            for name, model in fitted.items()
            if name != champion
        }

    field_learning: dict[str, Any] = {}
    if field_refit is None:
        stock, calibration_unreached = unreached_stock_and_calibration(
            registry, scores["p_extreme"], oof_by_model[champion], arrays
        )
        if carried.ledger is not None and len(carried.ledger):
            # visits recorded but no labels of both classes yet: say why nothing was learnt
            progress.note(
                f"the working state holds {len(field_labels(registry)):,} verified unreached "
                "household(s), not of both classes (extreme and not): the model is the "
                "survey's, not recalibrated on them"
            )
    else:
        # the survey's ratio check holds for the survey model's level, not the recalibrated
        # one: the stock is the refit's, whose interval keeps the survey's level uncertainty
        # for the households below the labels' range; the survey model's stock is kept beside
        unreached = registry.loc[eligible_for_ranking(registry)]
        survey_p = pd.Series(
            fitted[champion].predict_proba(unreached[schema.MODEL_COLUMNS])[:, 1],
            index=unreached["household_id"].to_numpy(),
        )
        survey_stock, calibration_unreached = unreached_stock_and_calibration(
            registry, survey_p, oof_by_model[champion], arrays
        )
        stock = field_refit.stock()
        field_learning = field_learning_summary(field_refit, survey_stock)
        progress.note(
            f"the model learnt from the field: {field_learning['description']}; unreached "
            f"extreme-poor estimate {stock['estimate']:,.0f} (90 % {stock['low']:,.0f}–"
            f"{stock['high']:,.0f}; the survey model alone: {survey_stock['estimate']:,.0f})"
        )

    capacity = dataclasses.replace(plan_capacity(spec), start_date=carried.start_date)
    with progress.step(
        f"Planning {capacity.total_visits:,} visits ({capacity.operators} operators x "
        f"{capacity.visits_per_day:g} visits/day x {capacity.workdays} workdays)"
    ):
        # the rejected rows' area cells may hold anything (a name typed into kelurahan): only
        # rejected.csv, a personal-data file, shows them as they were
        plan = ranking.build_plan(
            registry, scores, capacity, rejected=public_rejected(data.rejected)
        )
        plan = add_audit_sample(
            plan,
            registry,
            scores,
            share=float(spec.plan.audit_share),
            seed=seed,
        )
        planned_ids = plan.plan["household_id"]
        planned_rows = registry.set_index("household_id").loc[planned_ids]
        reasons = explain.reason_codes(
            fitted[champion],
            planned_rows[schema.MODEL_COLUMNS].reset_index(drop=True),
            top=3,
            reference=registry[schema.MODEL_COLUMNS].sample(
                n=min(20_000, len(registry)), random_state=seed
            ),
        )
        reason_cols = [f"reason_{i}" for i in (1, 2, 3)]
        plan.plan = plan.plan.drop(columns=[c for c in reason_cols if c in plan.plan])
        plan.plan[reason_cols] = reasons[reason_cols].to_numpy()
        plan.finds_interval = plan_finds_interval(
            plan, planned_rows, oof_by_model[champion], arrays, field_refit, seed
        )
    plan_id = make_plan_id(plan.plan, carried.start_date)
    cycle = _next_cycle(carried.cycle, plan_id, plan.summary())
    counts: dict[str, Any] = {
        "households_in_registry": int(data.n_input_households),
        "planned": len(plan.plan),
        "not_ranked": len(plan.not_ranked),
        "not_ranked_by_reason": {
            str(k): int(v) for k, v in plan.not_ranked["reason"].value_counts().sort_index().items()
        },
        "left_registry": len(carried.left_registry),
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
        eligible = eligible_for_ranking(registry)
        hits = truth.reindex(plan.plan["household_id"]).fillna(False).astype(bool)
        plan_truth_check = {
            "true_unreached_extreme": int(
                truth.reindex(registry.loc[eligible, "household_id"]).sum()
            ),
            "planned_true_finds": int(hits.sum()),
            "planned_expected_finds": float(plan.plan["p_extreme"].sum()),
            "realised_hit_rate": float(hits.mean()) if len(hits) else float("nan"),
        }

    if plan_truth_check:
        plan_truth_check["estimated_unreached_extreme"] = stock["estimate"]
        plan_truth_check["estimated_unreached_extreme_low"] = stock["low"]
        plan_truth_check["estimated_unreached_extreme_high"] = stock["high"]

    paths = int(n_paths or spec.forecast.n_paths)
    forecasts: dict[str, Any] = {}
    forecast_rows = []
    states: dict[str | None, Any] = {}
    with progress.step(f"Forecasting {len(scenarios)} scenario(s), {paths:,} paths each"):
        for scenario in scenarios:
            key = scenario.model if scenario.model and scenario.model != champion else None
            if key not in states:
                states[key] = build_city_state(
                    registry,
                    scores["p_extreme"],
                    other_scores.get(key) if key else None,
                    start_sd_log=stock["sd_log"],
                )
            simulated = simulate(states[key], scenario, n_paths=paths, seed=seed)
            forecasts[scenario.name] = simulated
            row = {"scenario": scenario.name}
            row.update(
                {k: json_ready(v) for k, v in simulated.summary().items() if k != "scenario"}
            )
            forecast_rows.append(row)
    forecast_table = pd.DataFrame(forecast_rows)
    near_zero = near_zero_capacity(spec, scenarios, states, champion, seed, paths, progress)

    with progress.step(f"Writing the plan and tables to {out_dir}"):
        outputs = _write_outputs(
            out_dir, registry, plan, data.rejected, model_table, forecast_table, forecasts, plan_id
        )
        outputs["validation_errors"] = write_table(data.problems, out_dir / "validation_errors.csv")
        outputs["left_registry"] = write_table(carried.left_registry, out_dir / "left_registry.csv")
        outputs.update(_carry_files(carried, out_dir))

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
        plan_id=plan_id,
        cycle=cycle,
        unreached_stock=stock,
        calibration_unreached=calibration_unreached,
        selection=selection,
        capacity=near_zero,
        field_refit=field_refit,
        field_learning=field_learning,
    )
    result.outputs.update(write_state(result, out_dir))
    result.outputs["cycle"] = write_cycle(cycle, out_dir)
    result.outputs["summary"] = out_dir / "summary.json"
    # paths as they will be once the set is committed
    result.outputs = {k: staging.final(v) for k, v in result.outputs.items()}
    write_json(result.summary(), out_dir / "summary.json")
    return result


def _stop_when_empty(data: CycleData, folder: Path) -> None:
    """Stop before any model is fitted when nothing valid is left to work on.

    An empty or header-only file, or one whose every row is set aside (NIKs in scientific
    notation, a wrong separator), otherwise fails deep inside a model fit. The set-aside rows
    and their reasons are written beside the previous outputs first.
    """
    if len(data.registry) and len(data.survey):
        return
    if len(data.survey) == 0:
        raise InputFileError(
            "the survey has no rows; give data.survey a file with a header and households"
        )
    write_table(data.rejected, folder / "rejected.csv")
    write_table(data.problems, folder / "validation_errors.csv")
    raise InputFileError(
        f"the registry has no valid household ({data.n_input_households:,} row(s) read, "
        f"all set aside); see rejected.csv and validation_errors.csv in {folder}, fix the "
        "export and run again"
    )


def _next_cycle(
    previous: dict[str, Any] | None, plan_id: str, summary: dict[str, Any]
) -> dict[str, Any]:
    """The state's record of the current plan (``cycle.json``)."""
    earlier = list((previous or {}).get("earlier_plan_ids", []))
    if previous and previous.get("plan_id") and previous["plan_id"] != plan_id:
        earlier.append(str(previous["plan_id"]))
    last = previous or {}
    same = last.get("plan_id") == plan_id
    return {
        "plan_id": plan_id,
        "first_visit_date": summary.get("first_visit_date"),
        "last_visit_date": summary.get("last_visit_date"),
        "ingested": bool(same and last.get("ingested")),
        "earlier_plan_ids": earlier,
    }


def _carry_files(carried: CarriedState, out_dir: Path) -> dict[str, Path]:
    """Keep the ledger and its audit trail in the output folder (they are the state)."""
    written: dict[str, Path] = {}
    if carried.ledger is not None:
        written["ledger"] = state_files.write_ledger(carried.ledger, out_dir)
    if carried.audit is not None:
        written["audit"] = state_files.write_audit(carried.audit, out_dir)
    return written


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
    return city.survey[schema.MODEL_COLUMNS].head(5).reset_index(drop=True)


def _write_outputs(
    out_dir: Path,
    registry: pd.DataFrame,
    plan: Any,
    rejected: pd.DataFrame,
    model_table: pd.DataFrame,
    forecast_table: pd.DataFrame,
    forecasts: dict[str, Any],
    plan_id: str = "",
) -> dict[str, Path]:
    """Write the planner's local outputs. By-name lists stay in this folder only.

    ``plan.csv`` and the workbook carry ``plan_id``; ``plan.csv``, the workbook and
    ``rejected.csv`` are the only files with personal data."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pii = [c for c in schema.PII_COLUMNS if c in registry]
    field_plan = plan.plan.merge(registry[["household_id", *pii]], on="household_id", how="left")
    field_plan.insert(0, "plan_id", plan_id)
    by_name = dataclasses.replace(plan, plan=field_plan)
    outputs: dict[str, Path] = {}
    outputs.update(workbook.write_plan_csv(by_name, out_dir))
    if plan.audit is not None:
        outputs.update(write_audit_design(plan.audit, out_dir))
    outputs["plan_workbook"] = workbook.write_plan_workbook(
        by_name, out_dir / "verification_plan.xlsx", plan_id=plan_id
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
