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

from targeting.config.experiment import ExperimentSpec
from targeting.console import Progress
from targeting.data import schema
from targeting.data.city import load_city_profile
from targeting.data.eligibility import eligible_for_ranking, is_reached
from targeting.data.io import (
    json_ready,
    json_records,
    read_table,
    remove_stale_parts,
    write_json,
    write_table,
)

__all__ = [
    "CycleResult",
    "build_city_state",
    "choose_champion",
    "data_fingerprint",
    "load_cycle_data",
    "models_dir",
    "run_cycle",
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
        from targeting.data.synthetic import generate_city

        city = generate_city(
            n_households=int(data.get("n_households", load_city_profile().households)),
            seed=spec.seed,
            survey_fraction=float(data.get("survey_fraction", 0.05)),
            extreme_line=spec.extreme_line,
        )
        raw_registry, raw_survey, truth = city.registry, city.survey, city.truth
    else:
        from targeting.data.header_mapping import apply_header_mapping, load_header_mapping

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


def build_city_state(
    registry: pd.DataFrame,
    probabilities: pd.Series,
    order_scores: pd.Series | None = None,
):
    """Build the forecast's starting point per kelurahan from a scored registry.

    Parameters
    ----------
    registry : pandas.DataFrame
        The validated registry.
    probabilities : pandas.Series
        Calibrated P(extreme) per household (index ``household_id``): the best estimate of who
        is extremely poor, used for the stock and for the yield of each visit.
    order_scores : pandas.Series, optional
        The scores that order the visits (another model's ranking); default ``probabilities``.
        The yield curve is then the champion's probabilities read in that model's order, so a
        worse ranking yields fewer finds per visit.

    Returns
    -------
    targeting.forecast.stockflow.CityState
    """
    from targeting.forecast.stockflow import CityState

    order_scores = probabilities if order_scores is None else order_scores
    eligible_mask = eligible_for_ranking(registry)
    frame = pd.DataFrame(
        {
            "kecamatan": registry["kecamatan"].to_numpy(),
            "kelurahan": registry["kelurahan"].to_numpy(),
            "household_id": registry["household_id"].to_numpy(),
            "p": probabilities.reindex(registry["household_id"]).to_numpy(),
            "order": order_scores.reindex(registry["household_id"]).to_numpy(),
            "eligible": eligible_mask.to_numpy(),
            "reached": is_reached(registry).to_numpy(),
        }
    )
    areas = (
        frame[["kecamatan", "kelurahan"]].drop_duplicates().sort_values(["kecamatan", "kelurahan"])
    )
    curves, orders, stock, eligible, near_poor, enrolled = [], [], [], [], [], []
    for kec, kel in areas.itertuples(index=False):
        sub = frame[(frame["kelurahan"] == kel) & (frame["kecamatan"] == kec)]
        elig = sub[sub["eligible"]].sort_values(["order", "household_id"], ascending=[False, True])
        curves.append(elig["p"].to_numpy(dtype=float))
        orders.append(elig["order"].to_numpy(dtype=float))
        stock.append(float(elig["p"].sum()))
        eligible.append(len(elig))
        # the near-poor pool that new entrants come from: households whose estimated risk is
        # material (p >= 5 %) but who are not counted as extremely poor
        near_poor.append(float(((sub["p"] >= 0.05) * (1 - sub["p"])).sum()))
        # extreme-poor households already on a programme: graduation sends some of them back
        enrolled.append(float(sub.loc[sub["reached"], "p"].sum()))
    return CityState(
        kecamatan=areas["kecamatan"].to_numpy(dtype=object),
        kelurahan=areas["kelurahan"].to_numpy(dtype=object),
        unreached_extreme=np.asarray(stock),
        eligible=np.asarray(eligible),
        near_poor=np.asarray(near_poor),
        yield_curves=curves,
        enrolled_extreme=np.asarray(enrolled),
        order_curves=None if order_scores is probabilities else orders,
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
    from targeting.evaluation.cv import (
        DEFAULT_N_REPEATS,
        DEFAULT_N_SPLITS,
        grouped_cross_validate,
    )

    return grouped_cross_validate(
        model_spec,
        arrays.X,
        arrays.label,
        arrays.groups,
        consumption=arrays.consumption,
        sample_weight=arrays.weight,
        n_splits=int(spec.evaluation.get("n_splits", DEFAULT_N_SPLITS)),
        n_repeats=int(spec.evaluation.get("n_repeats", DEFAULT_N_REPEATS)),
        seed=spec.seed,
        line=spec.extreme_line,
        calibrate=spec.evaluation.get("calibrate"),
    )


def fit_spec(model_spec: Any, arrays: SurveyArrays, spec: ExperimentSpec) -> Any:
    """Fit one model spec on the whole survey, calibrated as in the CV."""
    from targeting.evaluation.cv import fit_final

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


def models_dir(spec: ExperimentSpec) -> Path:
    """The ``models/`` folder: beside the spec's ``experiments/`` folder, else the working
    folder's, else the source checkout's."""
    candidates = [Path("models"), Path(__file__).resolve().parents[1] / "models"]
    if spec.path is not None:
        candidates.insert(0, spec.path.parent.parent / "models")
    for candidate in candidates:
        if candidate.is_dir() and any(candidate.glob("*.yaml")):
            return candidate
    raise FileNotFoundError(
        "no models/ folder with model specs found beside the experiment spec or in the "
        "working folder; run from the repository root"
    )


def choose_champion(table: pd.DataFrame, spec: ExperimentSpec) -> tuple[str, str | None]:
    """The champion and challenger by the spec's primary metric (see
    :func:`targeting.evaluation.champion.rank_models`)."""
    from targeting.evaluation.champion import rank_models

    try:
        ordered = rank_models(table, spec.primary_metric)
    except ValueError as exc:
        raise ValueError(f"evaluation.primary_metric: {exc}") from exc
    return ordered[0], (ordered[1] if len(ordered) > 1 else None)


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
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=int(spec.evaluation.get("threads", 1))):
        return _run_cycle(spec, output, progress, n_paths)


def _run_cycle(
    spec: ExperimentSpec,
    output: str | Path | None = None,
    progress: Progress | None = None,
    n_paths: int | None = None,
) -> CycleResult:
    """The body of :func:`run_cycle`, run under its thread limit."""
    from targeting.config.model import load_specs
    from targeting.forecast.scenarios import scenarios_from_spec
    from targeting.forecast.stockflow import simulate
    from targeting.plan import ranking
    from targeting.pmt import reasons as explain
    from targeting.pmt.scoring import score_households

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
    model_specs = load_specs(models_dir(spec), names=spec.models)

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
    champion, challenger = choose_champion(model_table, spec)
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

    capacity = ranking.PlanCapacity(
        operators=int(spec.plan.get("operators", 67)),
        visits_per_day=float(spec.plan.get("visits_per_day", 2.0)),
        workdays=int(spec.plan.get("workdays", 20)),
        pooling=str(spec.plan.get("pooling", "kecamatan")),
        start_date=str(spec.plan.get("start_date", "2025-11-03")),
    )
    with progress.step(
        f"Planning {capacity.total_visits:,} visits ({capacity.operators} operators x "
        f"{capacity.visits_per_day:g} visits/day x {capacity.workdays} workdays)"
    ):
        plan = ranking.build_plan(registry, scores, capacity, rejected=data.rejected)
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
        registry_status=registry[_STATUS_COLUMNS].copy(),
        group_ratios=group_ratios,
        oof=oof_by_model,
    )
    from targeting.data.state import write_state

    result.outputs.update(write_state(result, out_dir))
    write_json(result.summary(), out_dir / "summary.json")
    result.outputs["summary"] = out_dir / "summary.json"
    return result


def _group_ratios(
    survey: pd.DataFrame, label: np.ndarray, weight: np.ndarray, oof: pd.DataFrame
) -> pd.DataFrame:
    """EE by group (kecamatan, female head, elderly head, disability) as a ratio to overall EE,
    from the champion's pooled out-of-fold predictions at the true extreme share."""
    from targeting.evaluation.metrics import group_error_ratios

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
    from targeting.data.synthetic import generate_city

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
    from targeting.plan import workbook

    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(out_dir)
    pii = [c for c in schema.PII_COLUMNS if c in registry]
    field_plan = plan.plan.merge(registry[["household_id", *pii]], on="household_id", how="left")
    by_name = dataclasses.replace(plan, plan=field_plan)
    outputs: dict[str, Path] = {}
    outputs.update(workbook.write_plan_csv(by_name, out_dir))
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
