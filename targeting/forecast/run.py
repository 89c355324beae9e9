"""The forecast of an experiment spec as plain Python (no MLflow here): ``targeting forecast``.

Steps: load the spec's data (:func:`targeting.pipeline.load_cycle_data`), get the PMT model that
scores the registry, score it, build the starting :class:`~targeting.forecast.CityState`
(:func:`targeting.pipeline.build_city_state`), then run every scenario of ``forecast.scenarios``
with common random numbers (same seed), search the capacity needed for an 80 % chance, and
measure which uncertain parameter moves the forecast most (tornado).

Which model scores the registry (``model=``):

* ``None`` (default): the champion is chosen exactly as ``targeting run`` chooses it: grouped
  cross-validation of every model of ``models:`` and the lowest (or highest) ``primary_metric``.
  This needs nothing but the spec, so a forecast is reproducible from the spec alone.
* a model name of ``models/*.yaml`` (e.g. ``"logit"``): that model, fitted on the whole survey,
  without cross-validation (fast).
* a model URI (``"models:/targeting-pmt@champion"``): the registered champion of a previous
  ``targeting run`` loaded via :func:`targeting.tracking.load_model` (the only MLflow access,
  and only when asked for).

Scenarios with ``model: NAME`` rank the visits by that model's scores (fitted on the survey)
while the yield is still measured with the scoring model's probabilities.

The tornado is computed on the **median unreached stock at the deadline** of the first scenario
(``tornado_metric='deadline_median'``): at the default capacity P(goal) and P(near zero) are 0
in nearly every path whatever the parameter, so their swings are all 0 and say nothing; the
deadline median moves with every parameter and reads in households.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from targeting.config.experiment import ExperimentSpec
from targeting.console import Progress
from targeting.data import schema
from targeting.data.io import json_ready, json_records

__all__ = ["ForecastInputs", "ForecastRun", "prepare_forecast", "run_forecast", "write_outputs"]


@dataclass
class ForecastInputs:
    """The starting states of a forecast.

    Attributes
    ----------
    scoring_model : str
        Name (or URI) of the model whose probabilities give the yield curves.
    how : str
        ``'cross-validated champion'``, ``'named model'`` or ``'registered model'``.
    states : dict
        ``None`` → state ranked by the scoring model; ``name`` → state ranked by that model.
    data_fingerprint : str
    vintage : str
        ``data.vintage`` of the spec (or ``'unknown'``).
    registry_households : int
    model_table : pandas.DataFrame or None
        Cross-validated metrics, when the champion was chosen by CV.
    """

    scoring_model: str
    how: str
    states: dict[str | None, Any]
    data_fingerprint: str
    vintage: str
    registry_households: int
    model_table: pd.DataFrame | None = None


@dataclass
class ForecastRun:
    """Everything ``targeting forecast`` computed (aggregates only, no personal data)."""

    spec: ExperimentSpec
    inputs: ForecastInputs
    scenarios: list[Any]
    results: dict[str, Any]
    table: pd.DataFrame
    goal_months: pd.DataFrame
    capacity: list[dict[str, Any]]
    tornado: pd.DataFrame
    tornado_metric: str
    seed: int
    n_paths: int
    calibration: Any = None
    outputs: dict[str, Path] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary: per scenario P(goal) ± MC error, median goal month, capacity."""
        scen = []
        for row in self.table.replace({np.nan: None}).to_dict(orient="records"):
            name = row["scenario"]
            row["capacity_needed"] = [c for c in self.capacity if c["scenario"] == name]
            scen.append({k: json_ready(v) for k, v in row.items()})
        out = {
            "experiment": self.spec.name,
            "spec_hash": self.spec.spec_hash,
            "seed": self.seed,
            "n_paths": self.n_paths,
            "data_fingerprint": self.inputs.data_fingerprint,
            "data_vintage": self.inputs.vintage,
            "scoring_model": self.inputs.scoring_model,
            "scoring_model_how": self.inputs.how,
            "registry_households": self.inputs.registry_households,
            "start_stock_expected": float(self.inputs.states[None].unreached_extreme.sum()),
            "scenarios": scen,
            "goal_month_distribution": json_records(self.goal_months),
            "tornado": {
                "scenario": self.scenarios[0].name if self.scenarios else None,
                "metric": self.tornado_metric,
                "rows": json_records(self.tornado),
            },
            "outputs": {k: str(v) for k, v in sorted(self.outputs.items())},
        }
        if self.calibration is not None:
            out["calibration"] = self.calibration.summary()
        return out


def prepare_forecast(
    spec: ExperimentSpec,
    model: str | None = None,
    tracking_uri: str | None = None,
    progress: Progress | None = None,
) -> ForecastInputs:
    """Load the data, get the scoring model, score the registry and build the city states.

    Parameters
    ----------
    spec : ExperimentSpec
    model : str, optional
        None (cross-validated champion), a model name, or a ``models:/`` URI (module docstring).
    tracking_uri : str, optional
        Used only with a ``models:/`` URI.
    progress : Progress, optional

    Returns
    -------
    ForecastInputs
    """
    from targeting.config.model import load_specs
    from targeting.evaluation.champion import select_champion
    from targeting.forecast.scenarios import scenarios_from_spec
    from targeting.pipeline import (
        SurveyArrays,
        build_city_state,
        cross_validate_spec,
        data_fingerprint,
        fit_spec,
        load_cycle_data,
        models_dir,
    )

    progress = progress or Progress(enabled=False)
    with progress.step("Loading and validating the survey and registry"):
        data = load_cycle_data(spec, progress)
    survey, registry = data.survey, data.registry
    arrays = SurveyArrays.from_survey(survey, spec)
    scenarios = scenarios_from_spec(spec.raw)
    ranking_models = sorted({s.model for s in scenarios if s.model})
    all_specs = {s.name: s for s in load_specs(models_dir(spec))}

    def fit(name: str) -> Any:
        if name not in all_specs:
            raise ValueError(f"no model spec named {name!r} in models/; known: {sorted(all_specs)}")
        return fit_spec(all_specs[name], arrays, spec)

    model_table = None
    fitted: dict[str, Any] = {}
    if model is not None and model.startswith("models:/"):
        from targeting.tracking import load_model

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
        scoring_name = select_champion(model_table, spec.primary_metric)
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


def run_forecast(
    spec: ExperimentSpec,
    n_paths: int | None = None,
    seed: int | None = None,
    model: str | None = None,
    tracking_uri: str | None = None,
    capacity_paths: int | None = None,
    calibrate: bool = False,
    progress: Progress | None = None,
    inputs: ForecastInputs | None = None,
) -> ForecastRun:
    """Run every scenario of the spec with common random numbers, plus the inverse questions.

    Parameters
    ----------
    spec : ExperimentSpec
    n_paths : int, optional
        Monte Carlo paths per scenario (default ``forecast.n_paths``, else 2000).
    seed : int, optional
        Seed of the common random numbers (default the spec's seed).
    model : str, optional
        Scoring model (see :func:`prepare_forecast`).
    tracking_uri : str, optional
    capacity_paths : int, optional
        Paths per evaluation of the capacity search and the tornado (default
        ``forecast.capacity_search.n_paths``, else ``min(n_paths, 500)``).
    calibrate : bool
        Also run the rejection ABC of :mod:`targeting.forecast.calibrate` (Kota Serang 2023)
        and add the first scenario with the fitted ranges as ``<name>_calibrated``.
    progress : Progress, optional
    inputs : ForecastInputs, optional
        Reuse prepared states (skips loading and fitting).

    Returns
    -------
    ForecastRun
        ``capacity`` holds, per scenario, the smallest ``operators`` and ``visits_per_day``
        for P(goal) >= ``target_p`` (default 0.8), and the same for P(near zero), each with
        ``value`` None and a ``reason`` when unreachable within ``max_value``.
    """
    from targeting.forecast.scenarios import scenarios_from_spec
    from targeting.forecast.stockflow import capacity_needed, simulate, tornado

    progress = progress or Progress(enabled=False)
    inputs = inputs or prepare_forecast(spec, model, tracking_uri, progress)
    seed = int(spec.seed if seed is None else seed)
    paths = int(n_paths or spec.forecast.get("n_paths", 2000))
    search = dict(spec.forecast.get("capacity_search") or {})
    cpaths = int(capacity_paths or search.get("n_paths", min(paths, 500)))
    target_p = float(search.get("target_p", 0.8))
    scenarios = scenarios_from_spec(spec.raw)
    cal = None
    if calibrate:
        from targeting.forecast.calibrate import calibrate_serang_2023

        with progress.step("Calibrating visits/day and rates to Kota Serang 2023 (ABC)"):
            cal = calibrate_serang_2023(seed=seed)
        # the fitted ranges are applied, not only reported: the first scenario again, with every
        # parameter the 2023 counts inform replaced by its posterior 5-95 % range
        first = scenarios[0]
        scenarios = [
            *scenarios,
            cal.calibrated_scenario(first).replace(name=f"{first.name}_calibrated"),
        ]

    def state_for(sc: Any) -> Any:
        return inputs.states.get(sc.model if sc.model != inputs.scoring_model else None)

    results: dict[str, Any] = {}
    rows, capacity = [], []
    for sc in scenarios:
        st = state_for(sc)
        if st is None:
            raise ValueError(f"scenario {sc.name!r}: no state for model {sc.model!r}")
        with progress.step(f"Scenario {sc.name}: {paths:,} paths"):
            res = simulate(st, sc, n_paths=paths, seed=seed)
        results[sc.name] = res
        s = res.summary()
        rows.append(
            {
                "scenario": sc.name,
                "model": sc.model or inputs.scoring_model,
                **{k: v for k, v in s.items() if k != "scenario"},
            }
        )
        with progress.step(f"Scenario {sc.name}: capacity for P >= {target_p:g}"):
            for goal in ("goal", "near_zero"):
                for lever, max_v in (
                    ("operators", search.get("max_operators")),
                    ("visits_per_day", search.get("max_visits_per_day")),
                ):
                    c = capacity_needed(
                        st,
                        sc,
                        target_p=target_p,
                        parameter=lever,
                        n_paths=cpaths,
                        seed=seed,
                        max_value=max_v,
                        goal=goal,
                    )
                    capacity.append({"scenario": sc.name, **c})
    table = pd.DataFrame(rows)
    goal_months = pd.concat(
        [r.goal_month_distribution().rename(name).to_frame().T for name, r in results.items()]
    )
    goal_months = goal_months.loc[:, (goal_months > 0).any(axis=0)]
    goal_months.index.name = "scenario"
    goal_months = goal_months.reset_index()
    metric = str(search.get("tornado_metric", "deadline_median"))
    with progress.step(f"Tornado of {scenarios[0].name} on {metric}"):
        tor = tornado(
            state_for(scenarios[0]), scenarios[0], n_paths=cpaths, seed=seed, metric=metric
        )
    return ForecastRun(
        spec=spec,
        inputs=inputs,
        scenarios=scenarios,
        results=results,
        table=table,
        goal_months=goal_months,
        capacity=capacity,
        tornado=tor,
        tornado_metric=metric,
        seed=seed,
        n_paths=paths,
        calibration=cal,
    )


def write_outputs(run: ForecastRun, out_dir: str | Path) -> dict[str, Path]:
    """Write the forecast's tables and figures (aggregates only) to ``out_dir``.

    Files: ``forecast_summary.csv``, ``forecast_capacity.csv``, ``forecast_goal_months.csv``,
    ``forecast_tornado.csv``, ``forecast_quantiles_{city,kecamatan,kelurahan}.csv`` (all
    scenarios), ``fan_<scenario>_city.png``, ``fan_<first scenario>_<kecamatan>.png``,
    ``goal_months.png``, ``tornado.png`` (kecamatan fans for the first scenario only) and,
    with calibration, ``calibration.csv``.

    Returns
    -------
    dict of str to Path
    """
    from targeting.data.io import write_table
    from targeting.forecast.stockflow import fan_chart, goal_month_chart, tornado_chart

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    paths["forecast_summary"] = write_table(run.table, out / "forecast_summary.csv")
    paths["forecast_capacity"] = write_table(
        pd.DataFrame(run.capacity), out / "forecast_capacity.csv"
    )
    paths["forecast_goal_months"] = write_table(run.goal_months, out / "forecast_goal_months.csv")
    paths["forecast_tornado"] = write_table(run.tornado, out / "forecast_tornado.csv")
    for level in ("city", "kecamatan", "kelurahan"):
        q = pd.concat(
            [r.quantiles(level=level).assign(scenario=n) for n, r in run.results.items()],
            ignore_index=True,
        )
        paths[f"forecast_quantiles_{level}"] = write_table(
            q, out / f"forecast_quantiles_{level}.csv"
        )
    for i, (name, res) in enumerate(run.results.items()):
        p = out / f"fan_{name}_city.png"
        fan_chart(res, level="city", path=str(p))
        paths[f"fan_{name}_city"] = p
        # kecamatan fans for the first scenario (the baseline); the quantile CSVs hold all
        for kec in sorted(set(res.kecamatan.tolist())) if i == 0 else []:
            slug = kec.lower().replace(" ", "_")
            p = out / f"fan_{name}_{slug}.png"
            fan_chart(res, level="kecamatan", area=kec, path=str(p))
            paths[f"fan_{name}_{slug}"] = p
    paths["goal_months_chart"] = out / "goal_months.png"
    goal_month_chart(run.results, path=str(paths["goal_months_chart"]))
    paths["tornado_chart"] = out / "tornado.png"
    tornado_chart(run.tornado, path=str(paths["tornado_chart"]), title=f"({run.scenarios[0].name})")
    if run.calibration is not None:
        paths["calibration"] = write_table(run.calibration.table(), out / "calibration.csv")
    run.outputs.update(paths)
    return paths
