"""The planner's report: one self-contained HTML page (aggregates only).

The page opens offline: no external script, font or image; plots are embedded as base64 PNG.
It is written in Bahasa Indonesia by default, English with ``lang="en"``. No name, NIK or
address is ever put in it: it is built from aggregates of the cycle's results.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from targeting import schema
from targeting.io import atomic_path

if TYPE_CHECKING:
    from targeting.cycle import CycleResult

__all__ = ["TEXT", "headline_by_kecamatan", "render_report", "write_report"]

TEXT: dict[str, dict[str, str]] = {
    "id": {
        "title": "Laporan penargetan kemiskinan ekstrem",
        "headline": "Perkiraan rumah tangga miskin ekstrem yang belum terjangkau program",
        "estimate": "perkiraan",
        "interval": "rentang model",
        "kecamatan": "Kecamatan",
        "total": "Kota Serang",
        "plan": "Rencana verifikasi periode ini",
        "operator_days": "hari-operator",
        "visits": "rumah tangga dikunjungi",
        "expected_finds": "perkiraan temuan miskin ekstrem",
        "per_visit": "temuan per kunjungan",
        "by_kelurahan": "Kelurahan dengan perkiraan temuan terbanyak",
        "kelurahan": "Kelurahan",
        "progress": "Kemajuan dari hasil verifikasi",
        "no_outcomes": "Belum ada hasil verifikasi yang dimasukkan (targeting ingest).",
        "forecast": "Proyeksi: rumah tangga miskin ekstrem belum terjangkau, per bulan",
        "scenario": "Skenario",
        "p_goal": "Peluang nol pada tenggat",
        "p_near": "Peluang hampir nol (≤ 5 %)",
        "goal_month": "Bulan tercapai (median)",
        "never": "belum tercapai dalam horizon",
        "model_card": "Kartu model",
        "champion": "Model terpilih",
        "validation": "Validasi",
        "validation_text": "validasi silang {k}-lipat dikelompokkan menurut {group}: tidak ada wilayah yang sekaligus dilatih dan diuji",
        "metric": "Ukuran",
        "calibration": "Kalibrasi (ECE sebelum → sesudah)",
        "limits": "Keterbatasan",
        "limits_text": "Probabilitas berasal dari proksi, bukan konsumsi yang diamati; setiap rumah tangga tetap harus diverifikasi di lapangan. Data bawaan adalah sintetis.",
        "vintage": "Data",
        "run": "Run MLflow",
        "accounting": "Semua rumah tangga tercatat",
        "reasons": "alasan tidak diperingkat",
        "ee": "Kesalahan eksklusi",
        "ie": "Kesalahan inklusi",
        "budget": "Anggaran",
        "true_share": "porsi miskin ekstrem sebenarnya",
    },
    "en": {
        "title": "Extreme poverty targeting report",
        "headline": "Estimated extreme-poor households not yet reached by any programme",
        "estimate": "estimate",
        "interval": "model interval",
        "kecamatan": "Kecamatan",
        "total": "Kota Serang",
        "plan": "This period's verification plan",
        "operator_days": "operator-days",
        "visits": "households to visit",
        "expected_finds": "expected extreme-poor finds",
        "per_visit": "finds per visit",
        "by_kelurahan": "Kelurahan with the most expected finds",
        "kelurahan": "Kelurahan",
        "progress": "Progress from verification outcomes",
        "no_outcomes": "No verification outcomes ingested yet (targeting ingest).",
        "forecast": "Forecast: unreached extreme-poor households, by month",
        "scenario": "Scenario",
        "p_goal": "P(zero by the deadline)",
        "p_near": "P(near zero, ≤ 5 %)",
        "goal_month": "Month reached (median)",
        "never": "not reached within the horizon",
        "model_card": "Model card",
        "champion": "Chosen model",
        "validation": "Validation",
        "validation_text": "{k}-fold cross-validation grouped by {group}: no area is both trained and tested on",
        "metric": "Metric",
        "calibration": "Calibration (ECE before → after)",
        "limits": "Known limits",
        "limits_text": "Probabilities come from proxies, not observed consumption; every household must still be verified in the field. The embedded data are synthetic.",
        "vintage": "Data",
        "run": "MLflow run",
        "accounting": "Every household accounted for",
        "reasons": "not-ranked reasons",
        "ee": "Exclusion error",
        "ie": "Inclusion error",
        "budget": "Budget",
        "true_share": "true extreme share",
    },
}

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;max-width:980px;
color:#1d2433;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:2px solid #d8dee9;
padding-bottom:.2rem}.meta{color:#5b6578;font-size:.9rem}
.big{font-size:2.6rem;font-weight:700;color:#b3261e}.cards{display:flex;gap:1rem;flex-wrap:wrap}
.card{background:#f5f7fb;border-radius:8px;padding:.8rem 1rem;min-width:160px}
.card b{display:block;font-size:1.5rem}table{border-collapse:collapse;width:100%;margin:.6rem 0;font-size:.92rem}
th,td{border-bottom:1px solid #e3e8f0;padding:.3rem .5rem;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#eef2f8}img{max-width:100%}
"""


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        return f"{value:,.{digits}f}"
    return html.escape(str(value))


def _table(frame: pd.DataFrame, digits: dict[str, int] | None = None) -> str:
    digits = digits or {}
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = "".join(
            f"<td>{_fmt(v, digits.get(c, 0))}</td>" for c, v in zip(frame.columns, row, strict=True)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def headline_by_kecamatan(registry: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """Estimated unreached extreme-poor households per kecamatan, with the model interval.

    The estimate is the sum of P(extreme) over the unreached, unverified households; the interval
    sums the per-household interval bounds (a conservative band for the total).

    Returns
    -------
    pandas.DataFrame
        kecamatan, estimate, low, high (and a last row for the city).
    """
    eligible = ~schema.is_reached(registry) & (registry["verification_status"] == "unverified")
    frame = registry.loc[eligible, ["household_id", "kecamatan"]].join(
        scores[["p_extreme", "p_low", "p_high"]], on="household_id"
    )
    table = (
        frame.groupby("kecamatan", sort=True)[["p_extreme", "p_low", "p_high"]]
        .sum()
        .reset_index()
        .rename(columns={"p_extreme": "estimate", "p_low": "low", "p_high": "high"})
    )
    total = pd.DataFrame(
        [{"kecamatan": "Kota Serang", **table[["estimate", "low", "high"]].sum().to_dict()}]
    )
    return pd.concat([table, total], ignore_index=True)


def render_report(
    result: CycleResult,
    registry: pd.DataFrame,
    lang: str = "id",
    run_id: str | None = None,
    outcomes_summary: pd.DataFrame | None = None,
) -> str:
    """Render the report as one HTML string (aggregates only).

    Parameters
    ----------
    result : targeting.cycle.CycleResult
    registry : pandas.DataFrame
        The validated registry (only area columns and programme status are read).
    lang : {"id", "en"}
    run_id : str, optional
        The MLflow run id to print.
    outcomes_summary : pandas.DataFrame, optional
        Realised vs predicted hit rates from ingested outcomes.
    """
    if lang not in TEXT:
        raise ValueError(f"lang must be one of {sorted(TEXT)}, got {lang!r}")
    t = TEXT[lang]
    spec = result.spec
    head = headline_by_kecamatan(registry, result.scores)
    city = head.iloc[-1]
    head_shown = head.rename(
        columns={
            "kecamatan": t["kecamatan"],
            "estimate": t["estimate"],
            "low": "low",
            "high": "high",
        }
    )
    plan = result.plan.plan
    ps = result.plan.summary()
    by_kel = (
        plan.groupby(["kecamatan", "kelurahan"], sort=True)
        .agg(visits=("household_id", "size"), expected=("p_extreme", "sum"))
        .reset_index()
        .sort_values(["expected", "kelurahan"], ascending=[False, True])
        .head(15)
        .rename(
            columns={
                "kecamatan": t["kecamatan"],
                "kelurahan": t["kelurahan"],
                "visits": t["visits"],
                "expected": t["expected_finds"],
            }
        )
    )
    operator_days = int(plan.groupby(["operator", "visit_date"]).ngroups) if len(plan) else 0

    from targeting.forecast.stockflow import fan_chart

    fans = []
    for name, forecast in result.forecasts.items():
        fans.append(
            f"<h3>{html.escape(name)}</h3><img alt='fan chart {html.escape(name)}' "
            f"src='{_png(fan_chart(forecast, level='city'))}'>"
        )
    ft = result.forecast_table
    forecast_rows = pd.DataFrame(
        {
            t["scenario"]: ft["scenario"],
            t["p_goal"]: ft["p_goal"],
            "± MC": ft.get("p_goal_se", pd.Series([np.nan] * len(ft))),
            t["p_near"]: ft.get("p_near_zero", pd.Series([np.nan] * len(ft))),
            t["goal_month"]: [
                m if isinstance(m, str) else t["never"] for m in ft["median_goal_month"]
            ],
        }
    )
    champion_row = result.model_table.set_index("model").loc[result.champion]
    metric_rows = []
    for budget, key in [
        (t["true_share"], "true_share"),
        ("10 %", "10"),
        ("20 %", "20"),
        ("40 %", "40"),
    ]:
        metric_rows.append(
            {
                t["budget"]: budget,
                t["ee"]: champion_row.get(f"ee_at_{key}", np.nan),
                t["ie"]: champion_row.get(f"ie_at_{key}", np.nan),
            }
        )
    calib = (
        result.calibration.set_index("model").loc[result.champion]
        if result.calibration is not None
        else None
    )
    models_table = result.model_table[
        [
            c
            for c in ["model", "auc", "brier", "ee_at_true_share", "ie_at_true_share"]
            if c in result.model_table
        ]
    ]
    group_table = ""
    if getattr(result, "group_ratios", None) is not None and len(result.group_ratios):
        group_table = _table(result.group_ratios, {"ee_ratio": 2, "ee": 3})
    counts = result.counts
    reasons = ", ".join(
        f"{html.escape(k)} {v:,}" for k, v in counts["not_ranked_by_reason"].items()
    )
    progress_html = (
        _table(outcomes_summary, {c: 3 for c in outcomes_summary.columns})
        if outcomes_summary is not None and len(outcomes_summary)
        else f"<p>{t['no_outcomes']}</p>"
    )
    vintage = html.escape(str(spec.data.get("vintage", "")))
    parts = [
        f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{t['title']}</title><style>{_CSS}</style></head><body>",
        f"<h1>{t['title']}</h1>",
        f"<p class='meta'>{html.escape(spec.name)} · {t['vintage']} {vintage} · "
        f"{t['run']} <code id='run-id'>{html.escape(run_id or '–')}</code> · seed {spec.seed}</p>",
        f"<h2>{t['headline']}</h2>",
        f"<p><span class='big' id='headline-estimate'>{_fmt(float(city['estimate']))}</span> "
        f"({t['interval']} {_fmt(float(city['low']))}–{_fmt(float(city['high']))})</p>",
        _table(head_shown, {}),
        f"<h2>{t['plan']}</h2><div class='cards'>",
        f"<div class='card'><b id='plan-operator-days'>{operator_days:,}</b>{t['operator_days']}</div>",
        f"<div class='card'><b id='plan-visits'>{len(plan):,}</b>{t['visits']}</div>",
        f"<div class='card'><b id='plan-expected-finds'>{_fmt(float(ps['expected_finds']))}</b>{t['expected_finds']}</div>",
        f"<div class='card'><b>{_fmt(float(ps['expected_finds']) / max(len(plan), 1), 3)}</b>{t['per_visit']}</div>",
        "</div>",
        f"<p>{t['accounting']}: {counts['households_in_registry']:,} = {counts['planned']:,} + "
        f"{counts['not_ranked']:,} ({t['reasons']}: {reasons})</p>",
        f"<h3>{t['by_kelurahan']}</h3>",
        _table(by_kel, {t["expected_finds"]: 1}),
        f"<h2>{t['progress']}</h2>{progress_html}",
        f"<h2>{t['forecast']}</h2>",
        _table(forecast_rows, {t["p_goal"]: 3, "± MC": 3, t["p_near"]: 3}),
        *fans,
        f"<h2>{t['model_card']}</h2>",
        f"<p>{t['champion']}: <b id='champion'>{html.escape(result.champion)}</b> "
        f"({html.escape(spec.primary_metric)}). {t['validation']}: "
        + t["validation_text"].format(
            k=spec.evaluation.get("n_splits", 5),
            group=html.escape(str(spec.evaluation.get("group", "kelurahan"))),
        )
        + ".</p>",
        _table(pd.DataFrame(metric_rows), {t["ee"]: 3, t["ie"]: 3}),
        _table(models_table, {"auc": 3, "brier": 4, "ee_at_true_share": 3, "ie_at_true_share": 3}),
        (
            f"<p>{t['calibration']}: {_fmt(float(calib['ece_before']), 3)} → "
            f"{_fmt(float(calib['ece_after']), 3)}</p>"
            if calib is not None
            else ""
        ),
        group_table,
        f"<p><b>{t['limits']}</b>: {t['limits_text']}</p>",
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(path: str | Path, html_text: str) -> Path:
    """Write the report atomically; refuse if it contains a personal-data column name."""
    for column in ("nik_head", "head_name"):
        if column in html_text:
            raise RuntimeError(f"refusing to write a report that mentions {column!r}")
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(html_text, encoding="utf-8")
    return path
