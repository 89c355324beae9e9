"""The planner's report, step one: a cycle's aggregates as plain *report data*.

:func:`build_report_data` turns a :class:`~targeting.pipeline.CycleResult` into a plain, JSON-
serialisable dict of aggregates (no household row, no name, NIK or address); ``targeting run``
logs it to the parent MLflow run as ``report_data.json``, so that a report can be re-rendered later
from the tracking store alone by :func:`targeting.report.render.render_report`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from targeting.data.eligibility import eligible_for_ranking
from targeting.data.io import json_ready, json_records
from targeting.feedback.design_estimate import read_design_estimate
from targeting.feedback.progress import read_progress

if TYPE_CHECKING:
    from targeting.pipeline import CycleResult

__all__ = [
    "REPORT_DATA_VERSION",
    "build_report_data",
    "headline_by_kecamatan",
    "report_lead",
    "write_report_data",
]

REPORT_DATA_VERSION = 1
"""Version of the report data layout; :func:`targeting.report.render.render_report` refuses a
newer one."""

_TOP_KELURAHAN = 15


def headline_by_kecamatan(registry: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """Estimated unreached extreme-poor households per kecamatan, with the model interval.

    The estimate is the sum of P(extreme) over the unreached, unverified households; the interval
    sums the per-household interval bounds (a conservative band for the total).

    Parameters
    ----------
    registry : pandas.DataFrame
        ``household_id``, ``kecamatan``, programme status and ``verification_status``.
    scores : pandas.DataFrame
        Indexed by ``household_id``: ``p_extreme``, ``p_low``, ``p_high``.

    Returns
    -------
    pandas.DataFrame
        kecamatan, households (eligible), estimate, low, high (and a last row for the city).
    """
    eligible = eligible_for_ranking(registry)
    frame = registry.loc[eligible, ["household_id", "kecamatan"]].join(
        scores[["p_extreme", "p_low", "p_high"]], on="household_id"
    )
    table = (
        frame.groupby("kecamatan", sort=True)
        .agg(
            households=("household_id", "size"),
            estimate=("p_extreme", "sum"),
            low=("p_low", "sum"),
            high=("p_high", "sum"),
        )
        .reset_index()
    )
    total = pd.DataFrame(
        [
            {
                "kecamatan": "Kota Serang",
                "households": int(table["households"].sum()),
                **table[["estimate", "low", "high"]].sum().to_dict(),
            }
        ]
    )
    return pd.concat([table, total], ignore_index=True)


def report_lead(
    stock: dict[str, Any] | None,
    total: dict[str, Any],
    design: dict[str, Any] | None,
    scenarios: list[dict[str, Any]],
    capacity: list[dict[str, Any]],
    target_p: float,
    field: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The numbers the planner reads first (issue 12): stock, design estimate, capacity.

    Parameters
    ----------
    stock : dict or None
        The corrected estimate of the unreached extreme-poor stock with its interval
        (:class:`~targeting.evaluation.stock.StockEstimate` fields); without it the headline
        total and the sum of the per-household bounds stand in (``stock_source`` says which).
    total : dict
        The headline's city row (``estimate``, ``low``, ``high``).
    design : dict or None
        The audit sample's design estimate (:func:`~targeting.feedback.design_estimate.
        read_design_estimate`), None before any audit visit.
    scenarios : list of dict
        The forecast's rows (``scenario``, ``p_near_zero``, ``median_near_zero_month``...).
    capacity : list of dict
        :func:`targeting.pipeline.near_zero_capacity`'s rows (``scenario``, ``parameter``,
        ``value``...).
    target_p : float
        The chance of near zero the capacity is searched for.
    field : dict, optional
        What the run's model learnt from the field (``CycleResult.field_learning``: the
        recalibration on the working state's verified unreached households); when given, the
        lead says so (``field``: ``n_labels``, ``n_labels_extreme``, ``survey_only_estimate``).

    Returns
    -------
    dict
        ``estimate``, ``low``, ``high``, ``level``, ``stock_source``; ``field`` (only when the
        model learnt from the field); ``design`` (``estimate``,
        ``low``, ``high``, ``rounds``, ``model_outside``) or None; ``target_p``; ``scenarios``:
        per scenario ``scenario``, ``p_near_zero``, ``near_zero_month``, ``operators_needed``,
        ``visits_per_day_needed``, ``operators``, ``visits_per_day`` (its own capacity),
        ``operators_max``, ``visits_per_day_max`` (the top of each search).
    """
    if stock and stock.get("estimate") is not None:
        lead: dict[str, Any] = {
            "estimate": stock["estimate"],
            "low": stock["low"],
            "high": stock["high"],
            "level": stock.get("level", 0.9),
            "stock_source": "corrected",
        }
    else:
        lead = {
            "estimate": total.get("estimate"),
            "low": total.get("low"),
            "high": total.get("high"),
            "level": None,
            "stock_source": "sum_of_bounds",
        }
    if field:
        lead["field"] = {
            "n_labels": int(field["n_labels"]),
            "n_labels_extreme": int(field["n_labels_extreme"]),
            "survey_only_estimate": field["survey_only_stock"]["estimate"],
        }
    lead["design"] = None
    if design and design.get("design_estimate") is not None:
        lead["design"] = {
            "estimate": design["design_estimate"],
            "low": design.get("design_low"),
            "high": design.get("design_high"),
            "rounds": design.get("design_rounds"),
            "model_outside": bool(design.get("model_outside_design_interval")),
        }
    lead["target_p"] = target_p
    needed: dict[tuple[str, str], Any] = {
        (str(c["scenario"]), str(c["parameter"])): c.get("value") for c in capacity
    }
    searched: dict[tuple[str, str], Any] = {
        (str(c["scenario"]), str(c["parameter"])): c.get("max_value") for c in capacity
    }
    lead["scenarios"] = [
        {
            "scenario": row["scenario"],
            "p_near_zero": row.get("p_near_zero"),
            "near_zero_month": row.get("median_near_zero_month"),
            "operators_needed": needed.get((str(row["scenario"]), "operators")),
            "visits_per_day_needed": needed.get((str(row["scenario"]), "visits_per_day")),
            "operators": row.get("operators"),
            "visits_per_day": row.get("visits_per_day"),
            # the top of each search, shown when the capacity is not reachable within it
            "operators_max": searched.get((str(row["scenario"]), "operators")),
            "visits_per_day_max": searched.get((str(row["scenario"]), "visits_per_day")),
        }
        for row in scenarios
    ]
    return lead


def _calibration_curve(oof: pd.DataFrame | None, bins: int = 10) -> list[dict[str, Any]]:
    """Reliability curve of the first repeat's out-of-fold predictions, before and after
    calibration: the weighted bins of :func:`targeting.evaluation.metrics.reliability_bins`, the
    same bins the model card's ECE is computed from."""
    from targeting.evaluation.metrics import reliability_bins

    if oof is None or not len(oof) or "label" not in oof:
        return []
    first = oof[oof["repeat"] == oof["repeat"].min()] if "repeat" in oof else oof
    weight = first["weight"].to_numpy(dtype=float) if "weight" in first else None
    rows = []
    for column, kind in (("p_raw", "before"), ("p_extreme", "after")):
        if column not in first:
            continue
        table = reliability_bins(first["label"], first[column], sample_weight=weight, n_bins=bins)
        for row in table.itertuples(index=False):
            rows.append(
                {
                    "kind": kind,
                    "bin": int(row.bin),
                    "n": int(row.n),
                    "weight": float(row.weight),
                    "predicted": float(row.p_mean),
                    "observed": float(row.observed),
                }
            )
    return rows


def _scenario_settings(forecasts: dict[str, Any]) -> dict[str, str]:
    """Per scenario, the settings that differ from the first scenario's (e.g. operators 134)."""
    fields: dict[str, dict[str, Any]] = {}
    for name, forecast in forecasts.items():
        scenario = getattr(forecast, "scenario", None)
        if dataclasses.is_dataclass(scenario) and not isinstance(scenario, type):
            fields[name] = dataclasses.asdict(scenario)
    if not fields:
        return {}
    base = next(iter(fields.values()))
    out = {}
    for name, values in fields.items():
        diff = [
            f"{k} {v}"
            for k, v in values.items()
            if k not in {"name", "description"} and v != base.get(k)
        ]
        out[name] = ", ".join(diff) if diff else "–"
    return out


def build_report_data(
    result: CycleResult,
    run_id: str | None = None,
    state_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Collect the report's aggregates from a cycle into a plain, JSON-serialisable dict.

    Parameters
    ----------
    result : targeting.pipeline.CycleResult
    run_id : str, optional
        The parent MLflow run id (None when the run is not tracked).
    state_dir : path-like, optional
        Folder holding ``outcomes_ledger.parquet`` for the progress section; default the run's
        output folder.

    Returns
    -------
    dict
        Keys ``version``, ``run_id``, ``lead`` (:func:`report_lead`: what the page opens
        with), ``meta``, ``headline``, ``plan``, ``accounting``,
        ``progress`` (None until outcomes are ingested), ``forecast``, ``model_card``. Only
        aggregates: no household id, name, NIK or address. ``headline.unreached_stock`` is the
        corrected estimate with its interval; ``plan.pooling_finds`` the finds under the spec's
        and city-wide pooling; ``model_card.selection`` and ``model_card.calibration_unreached``
        the selection method and the calibration on the unreached survey households.
    """
    import targeting

    spec = result.spec
    registry = result.registry_status
    if registry is None:
        raise ValueError("the cycle result has no registry status; run the cycle again")
    head = headline_by_kecamatan(registry, result.scores)
    plan = result.plan.plan
    plan_summary = result.plan.summary()
    by_kel = (
        plan.groupby(["kecamatan", "kelurahan"], sort=True)
        .agg(visits=("household_id", "size"), expected_finds=("p_extreme", "sum"))
        .reset_index()
        .sort_values(["expected_finds", "kelurahan"], ascending=[False, True])
        .head(_TOP_KELURAHAN)
    )
    if state_dir is None and "summary" in result.outputs:
        state_dir = Path(result.outputs["summary"]).parent
    progress = read_progress(state_dir)
    design = read_design_estimate(state_dir, model_estimate=float(head.iloc[-1]["estimate"]))

    settings = _scenario_settings(result.forecasts)
    scenarios, fans = [], {}
    for row in json_records(result.forecast_table):
        name = str(row["scenario"])
        row["settings"] = settings.get(name, "–")
        scenario = getattr(result.forecasts.get(name), "scenario", None)
        # the scenario's own capacity, beside the capacity the search says it needs
        row["operators"] = getattr(scenario, "operators", None)
        row["visits_per_day"] = json_ready(getattr(scenario, "visits_per_day", None))
        scenarios.append(row)
    for name, forecast in result.forecasts.items():
        quantiles = forecast.quantiles(level="city")
        cols = ["month", *[c for c in ("q05", "q25", "q50", "q75", "q95") if c in quantiles]]
        fans[name] = json_records(quantiles[cols])
    deadline = scenarios[0].get("deadline") if scenarios else None

    champion_row = result.model_table.set_index("model").loc[result.champion]
    budgets = []
    for key in ("true_share", "10", "20", "40"):
        budgets.append(
            {
                "budget": key,
                "ee": json_ready(champion_row.get(f"ee_at_{key}", np.nan)),
                "ie": json_ready(champion_row.get(f"ie_at_{key}", np.nan)),
            }
        )
    model_cols = [
        c
        for c in [
            "model",
            "auc",
            "brier",
            "ece",
            "ee_at_true_share",
            "ie_at_true_share",
            "ee_at_20",
            "ee_at_40",
        ]
        if c in result.model_table
    ]
    calibration = None
    if result.calibration is not None and result.champion in set(result.calibration["model"]):
        calibration = json_ready(
            result.calibration.set_index("model").loc[result.champion].to_dict()
        )
    oof = getattr(result, "oof", None) or {}
    group_ratios = getattr(result, "group_ratios", None)
    stock = getattr(result, "unreached_stock", None) or None
    lead = report_lead(
        json_ready(stock),
        json_records(head.iloc[-1:])[0],
        json_ready(design),
        scenarios,
        json_ready(getattr(result, "capacity", None) or []),
        float(spec.forecast.capacity_search.target_p),
        field=json_ready(getattr(result, "field_learning", None) or None),
    )
    data = {
        "version": REPORT_DATA_VERSION,
        "run_id": run_id,
        "lead": lead,
        "meta": {
            "experiment": spec.name,
            "spec_hash": spec.spec_hash,
            "seed": spec.seed,
            "data_fingerprint": result.data_fingerprint,
            "vintage": spec.data.vintage or None,
            "source": spec.data.source,
            "targeting_version": targeting.__version__,
            "created": pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC"),
        },
        "headline": {
            "by_kecamatan": json_records(head.iloc[:-1]),
            "total": json_records(head.iloc[-1:])[0],
            # the corrected estimate (P(extreme | proxies, not reached)) and its 90 % interval
            "unreached_stock": json_ready(getattr(result, "unreached_stock", None) or None),
        },
        "plan": {
            "visits": len(plan),
            "operator_days": int(plan_summary.get("operator_days", 0)),
            "operators_used": int(plan_summary.get("operators_used", 0)),
            "capacity_visits": json_ready(plan_summary.get("capacity_visits")),
            "expected_finds": float(plan_summary.get("expected_finds", 0.0)),
            # 90 % interval of the finds (absent from a summary written before it existed)
            "expected_finds_low": json_ready(plan_summary.get("expected_finds_low")),
            "expected_finds_high": json_ready(plan_summary.get("expected_finds_high")),
            "expected_finds_per_visit": float(plan_summary.get("expected_finds_per_visit", 0.0)),
            "first_visit_date": plan_summary.get("first_visit_date"),
            "last_visit_date": plan_summary.get("last_visit_date"),
            "by_kelurahan": json_records(by_kel),
            # expected finds under the spec's pooling vs city-wide pooling, operators per pool
            "pooling_finds": json_ready(plan_summary.get("pooling_finds") or None),
            "audit_visits": int(plan_summary.get("audit_visits", 0)),
            "audit_expected_finds_given_up": float(
                plan_summary.get("audit_expected_finds_given_up", 0.0)
            ),
        },
        "design_estimate": json_ready(design),
        "accounting": json_ready(result.counts),
        "progress": progress,
        "forecast": {"deadline": deadline, "scenarios": scenarios, "fan": fans},
        "model_card": {
            "champion": result.champion,
            "challenger": result.challenger,
            "primary_metric": spec.primary_metric,
            "n_splits": spec.evaluation.n_splits,
            "group": spec.evaluation.group,
            "budgets": budgets,
            "models": json_records(result.model_table[model_cols]),
            "calibration": calibration,
            "calibration_curve": _calibration_curve(oof.get(result.champion)),
            "group_ratios": json_records(group_ratios) if group_ratios is not None else None,
            # how programme selection is accounted for, and calibration on the survey's
            # unreached households (reliability bins, ECE, predicted vs observed totals)
            "selection": getattr(result, "selection", None),
            "calibration_unreached": json_ready(
                getattr(result, "calibration_unreached", None) or None
            ),
        },
    }
    return data


def write_report_data(path: str | Path, data: dict[str, Any]) -> Path:
    """Write the report data as key-sorted JSON, atomically (aggregates only).

    Parameters
    ----------
    path : path-like
    data : dict
        From :func:`build_report_data`.

    Returns
    -------
    pathlib.Path
    """
    from targeting.data.io import write_json

    return write_json(data, path)
