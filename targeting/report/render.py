"""The planner's report: one self-contained HTML page (aggregates only).

Two steps, so that a report can be re-rendered later from the tracking store alone:

* :func:`build_report_data` turns a :class:`~targeting.pipeline.CycleResult` into a plain, JSON-
  serialisable *report data* dict of aggregates (no household row, no name, NIK or address);
  ``targeting run`` logs it to the parent MLflow run as ``report_data.json``.
* :func:`render_report` turns that dict into one HTML page: Bahasa Indonesia by default,
  English with ``lang="en"``. The page opens offline: no script, font or image is fetched;
  plots are embedded as base64 PNG drawn here from the aggregates.

Elements that tests and readers look up by id: ``headline-estimate``, ``plan-visits``,
``plan-expected-finds``, ``plan-operator-days``, ``champion``, ``run-id``, ``data-vintage``,
``p-goal-<scenario>``. Each number also carries its exact value in ``data-value``.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import io
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from targeting.data.eligibility import eligible_for_ranking
from targeting.data.io import atomic_path, json_ready, json_records
from targeting.evaluation.cv import DEFAULT_N_SPLITS
from targeting.feedback.progress import read_progress

if TYPE_CHECKING:
    from targeting.pipeline import CycleResult

__all__ = [
    "REPORT_DATA_VERSION",
    "TEXT",
    "build_report_data",
    "headline_by_kecamatan",
    "render_report",
    "write_report",
    "write_report_data",
]

REPORT_DATA_VERSION = 1
"""Version of the report data layout; :func:`render_report` refuses a newer one."""

_TOP_KELURAHAN = 15

TEXT: dict[str, dict[str, str]] = {
    "id": {
        "title": "Laporan penargetan kemiskinan ekstrem",
        "headline": "Perkiraan rumah tangga miskin ekstrem yang belum terjangkau program",
        "headline_note": "Jumlah peluang miskin ekstrem (model) atas rumah tangga yang belum menerima PKH/BPNT dan belum diverifikasi; rentang = jumlah batas bawah dan atas per rumah tangga.",
        "estimate": "Perkiraan",
        "low": "Batas bawah",
        "high": "Batas atas",
        "interval": "rentang model",
        "kecamatan": "Kecamatan",
        "plan": "Rencana verifikasi periode ini",
        "operator_days": "hari-operator",
        "visits": "rumah tangga dikunjungi",
        "expected_finds": "perkiraan temuan miskin ekstrem",
        "per_visit": "temuan per kunjungan",
        "period": "Periode kunjungan",
        "by_kelurahan": "Kelurahan dengan perkiraan temuan terbanyak",
        "kelurahan": "Kelurahan",
        "progress": "Kemajuan dari hasil verifikasi",
        "no_outcomes": "Belum ada hasil verifikasi yang dimasukkan (targeting ingest).",
        "progress_note": "Tingkat temuan nyata (hasil kunjungan yang konklusif) dibandingkan dengan yang diperkirakan model; rentang Wilson 90 %. Ditandai = selisih tidak mungkin karena kebetulan (koreksi Holm).",
        "realised": "Temuan nyata",
        "predicted": "Diperkirakan",
        "conclusive": "Konklusif",
        "finds": "Temuan",
        "flagged": "Ditandai",
        "all": "Semua",
        "forecast": "Proyeksi: rumah tangga miskin ekstrem belum terjangkau, per bulan",
        "forecast_note": "Pita: 5–95 % dan 25–75 % dari simulasi Monte Carlo; garis: median; garis putus-putus: tenggat.",
        "scenario": "Skenario",
        "settings": "Pengaturan",
        "p_goal": "Peluang nol pada tenggat",
        "p_near": "Peluang hampir nol (≤ 5 %)",
        "goal_month": "Bulan tercapai (median)",
        "deadline_stock": "Median pada tenggat",
        "never": "belum tercapai",
        "compare": "Perbandingan skenario",
        "model_card": "Kartu model",
        "champion": "Model terpilih",
        "challenger": "penantang",
        "validation": "Validasi",
        "validation_text": "validasi silang {k}-lipat dikelompokkan menurut {group}: tidak ada wilayah yang sekaligus dilatih dan diuji",
        "selected_by": "dipilih menurut",
        "models": "Semua model yang dibandingkan",
        "model": "Model",
        "calibration": "Kalibrasi (ECE sebelum → sesudah)",
        "calibration_plot": "Kalibrasi: peluang yang diperkirakan vs porsi miskin ekstrem yang teramati (prediksi di luar lipatan)",
        "no_calibration": "Kurva kalibrasi tidak tersedia untuk run ini.",
        "groups": "Rasio kesalahan eksklusi per kelompok (terhadap keseluruhan)",
        "groups_note": "Rasio > 1: kelompok ini lebih sering terlewat daripada rata-rata (dari prediksi di luar lipatan, pada anggaran porsi miskin ekstrem sebenarnya).",
        "no_groups": "Rasio per kelompok tidak tersedia: prediksi di luar lipatan tidak disimpan untuk run ini.",
        "grouping": "Pengelompokan",
        "group": "Kelompok",
        "n_poor": "Miskin ekstrem",
        "ratio": "Rasio",
        "limits": "Keterbatasan",
        "limit_proxy": "Peluang berasal dari proksi, bukan konsumsi yang diamati; setiap rumah tangga tetap harus diverifikasi di lapangan.",
        "limit_survey": "Validasi dilakukan pada survei, bukan pada registri; registri dapat berbeda dari survei.",
        "limit_interval": "Rentang pada judul adalah jumlah rentang per rumah tangga (konservatif), bukan selang kepercayaan total.",
        "limit_forecast": "Proyeksi bergantung pada asumsi laju keluar, masuk dan guncangan yang diambil dari rentang; lihat pengaturan skenario.",
        "limit_synthetic": "Data bawaan adalah sintetis (Kota Serang tiruan): angka ini bukan angka resmi.",
        "vintage": "Data",
        "run": "Run MLflow",
        "accounting": "Semua rumah tangga tercatat",
        "reasons": "alasan tidak diperingkat",
        "ee": "Kesalahan eksklusi",
        "ie": "Kesalahan inklusi",
        "budget": "Anggaran",
        "true_share": "porsi miskin ekstrem sebenarnya (anggaran program)",
        "aggregates": "Laporan ini hanya berisi angka agregat: tidak ada nama, NIK atau alamat.",
        "observed": "porsi teramati",
        "predicted_p": "peluang diperkirakan",
        "before": "sebelum kalibrasi",
        "after": "sesudah kalibrasi",
        "month": "bulan",
        "households": "rumah tangga",
        "g_kecamatan": "kecamatan",
        "g_female_head": "kepala keluarga perempuan",
        "g_elderly_head": "kepala keluarga lansia (≥ 60)",
        "g_disability": "ada anggota disabilitas",
        "v_True": "ya",
        "v_False": "tidak",
    },
    "en": {
        "title": "Extreme poverty targeting report",
        "headline": "Estimated extreme-poor households not yet reached by any programme",
        "headline_note": "Sum of the model's P(extreme poor) over households that receive neither PKH nor BPNT and are not yet verified; interval = sum of the per-household lower and upper bounds.",
        "estimate": "Estimate",
        "low": "Low",
        "high": "High",
        "interval": "model interval",
        "kecamatan": "Kecamatan",
        "plan": "This period's verification plan",
        "operator_days": "operator-days",
        "visits": "households to visit",
        "expected_finds": "expected extreme-poor finds",
        "per_visit": "finds per visit",
        "period": "Visit period",
        "by_kelurahan": "Kelurahan with the most expected finds",
        "kelurahan": "Kelurahan",
        "progress": "Progress from verification outcomes",
        "no_outcomes": "No verification outcomes ingested yet (targeting ingest).",
        "progress_note": "Realised hit rate (conclusive visits) against the model's prediction; 90 % Wilson interval. Flagged = deviation unlikely by chance (Holm correction).",
        "realised": "Realised",
        "predicted": "Predicted",
        "conclusive": "Conclusive",
        "finds": "Finds",
        "flagged": "Flagged",
        "all": "All",
        "forecast": "Forecast: unreached extreme-poor households, by month",
        "forecast_note": "Bands: 5–95 % and 25–75 % of the Monte Carlo paths; line: median; dashed line: deadline.",
        "scenario": "Scenario",
        "settings": "Settings",
        "p_goal": "P(zero by the deadline)",
        "p_near": "P(near zero, ≤ 5 %)",
        "goal_month": "Month reached (median)",
        "deadline_stock": "Median at the deadline",
        "never": "not reached",
        "compare": "Scenario comparison",
        "model_card": "Model card",
        "champion": "Chosen model",
        "challenger": "challenger",
        "validation": "Validation",
        "validation_text": "{k}-fold cross-validation grouped by {group}: no area is both trained and tested on",
        "selected_by": "selected by",
        "models": "All models compared",
        "model": "Model",
        "calibration": "Calibration (ECE before → after)",
        "calibration_plot": "Calibration: predicted probability vs observed extreme-poor share (out-of-fold predictions)",
        "no_calibration": "No calibration curve for this run.",
        "groups": "Exclusion error by group, as a ratio to the overall exclusion error",
        "groups_note": "Ratio > 1: this group is missed more often than average (out-of-fold predictions, at the true extreme share as budget).",
        "no_groups": "Group error ratios omitted: the cross-validation's out-of-fold predictions were not kept for this run.",
        "grouping": "Grouping",
        "group": "Group",
        "n_poor": "Extreme poor",
        "ratio": "Ratio",
        "limits": "Known limits",
        "limit_proxy": "Probabilities come from proxies, not observed consumption; every household must still be verified in the field.",
        "limit_survey": "Validation is on the survey, not the registry; the registry may differ from the survey.",
        "limit_interval": "The headline interval sums per-household intervals (conservative); it is not a confidence interval of the total.",
        "limit_forecast": "The forecast rests on assumed exit, entry and shock rates drawn from ranges; see each scenario's settings.",
        "limit_synthetic": "The embedded data are synthetic (a mock Kota Serang): these are not official figures.",
        "vintage": "Data",
        "run": "MLflow run",
        "accounting": "Every household accounted for",
        "reasons": "not-ranked reasons",
        "ee": "Exclusion error",
        "ie": "Inclusion error",
        "budget": "Budget",
        "true_share": "true extreme share (the programme's budget)",
        "aggregates": "This report holds aggregates only: no name, NIK or address.",
        "observed": "observed share",
        "predicted_p": "predicted probability",
        "before": "before calibration",
        "after": "after calibration",
        "month": "month",
        "households": "households",
        "g_kecamatan": "kecamatan",
        "g_female_head": "female head",
        "g_elderly_head": "elderly head (≥ 60)",
        "g_disability": "member with a disability",
        "v_True": "yes",
        "v_False": "no",
    },
}

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;max-width:1000px;
color:#1d2433;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:2px solid #d8dee9;
padding-bottom:.2rem}h3{font-size:1rem;margin-top:1.2rem}.meta,.note{color:#5b6578;font-size:.9rem}
.big{font-size:2.6rem;font-weight:700;color:#b3261e}.cards{display:flex;gap:1rem;flex-wrap:wrap}
.card{background:#f5f7fb;border-radius:8px;padding:.8rem 1rem;min-width:160px}
.card b{display:block;font-size:1.5rem}table{border-collapse:collapse;width:100%;margin:.6rem 0;font-size:.92rem}
th,td{border-bottom:1px solid #e3e8f0;padding:.3rem .5rem;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#eef2f8}td.t{text-align:left}tr.total td{font-weight:700;border-top:2px solid #c5cedb}img{max-width:100%}
.flag{color:#b3261e;font-weight:700}code{font-size:.85rem}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}img{break-inside:avoid}}
"""


# --------------------------------------------------------------------------- data


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
        if scenario is not None and dataclasses.is_dataclass(scenario):
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
        Keys ``version``, ``run_id``, ``meta``, ``headline``, ``plan``, ``accounting``,
        ``progress`` (None until outcomes are ingested), ``forecast``, ``model_card``. Only
        aggregates: no household id, name, NIK or address.
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

    settings = _scenario_settings(result.forecasts)
    scenarios, fans = [], {}
    for row in json_records(result.forecast_table):
        name = str(row["scenario"])
        row["settings"] = settings.get(name, "–")
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
    data = {
        "version": REPORT_DATA_VERSION,
        "run_id": run_id,
        "meta": {
            "experiment": spec.name,
            "spec_hash": spec.spec_hash,
            "seed": spec.seed,
            "data_fingerprint": result.data_fingerprint,
            "vintage": str(spec.data.get("vintage", "")) or None,
            "source": str(spec.data.get("source", "synthetic")),
            "targeting_version": targeting.__version__,
            "created": pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC"),
        },
        "headline": {
            "by_kecamatan": json_records(head.iloc[:-1]),
            "total": json_records(head.iloc[-1:])[0],
        },
        "plan": {
            "visits": len(plan),
            "operator_days": int(plan_summary.get("operator_days", 0)),
            "operators_used": int(plan_summary.get("operators_used", 0)),
            "capacity_visits": json_ready(plan_summary.get("capacity_visits")),
            "expected_finds": float(plan_summary.get("expected_finds", 0.0)),
            "expected_finds_per_visit": float(plan_summary.get("expected_finds_per_visit", 0.0)),
            "first_visit_date": plan_summary.get("first_visit_date"),
            "last_visit_date": plan_summary.get("last_visit_date"),
            "by_kelurahan": json_records(by_kel),
        },
        "accounting": json_ready(result.counts),
        "progress": progress,
        "forecast": {"deadline": deadline, "scenarios": scenarios, "fan": fans},
        "model_card": {
            "champion": result.champion,
            "challenger": result.challenger,
            "primary_metric": spec.primary_metric,
            "n_splits": int(spec.evaluation.get("n_splits", DEFAULT_N_SPLITS)),
            "group": str(spec.evaluation.get("group", "kelurahan")),
            "budgets": budgets,
            "models": json_records(result.model_table[model_cols]),
            "calibration": calibration,
            "calibration_curve": _calibration_curve(oof.get(result.champion)),
            "group_ratios": json_records(group_ratios) if group_ratios is not None else None,
        },
    }
    return data


# --------------------------------------------------------------------------- rendering


def _fmt(value: Any, digits: int = 0, lang: str = "en") -> str:
    """Format a number with the language's separators (id: 1.234,5; en: 1,234.5)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, bool | np.bool_):
        return html.escape(str(value))
    if isinstance(value, int | np.integer):
        text = f"{int(value):,}"
    elif isinstance(value, float | np.floating):
        text = f"{float(value):,.{digits}f}"
    else:
        return html.escape(str(value))
    if lang == "id":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text


def _pct(value: Any, lang: str, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return _fmt(100 * float(value), digits, lang) + " %"


def _num(element_id: str, value: Any, digits: int, lang: str, tag: str = "b", css: str = "") -> str:
    """A number with an id and its exact value in ``data-value``."""
    exact = "" if value is None else html.escape(repr(json_ready(value)))
    cls = f" class='{css}'" if css else ""
    return (
        f"<{tag} id='{html.escape(element_id)}'{cls} data-value='{exact}'>"
        f"{_fmt(value, digits, lang)}</{tag}>"
    )


def _table(
    rows: list[dict[str, Any]],
    columns: list[tuple[str, str, Any]],
    lang: str,
    total: dict[str, Any] | None = None,
) -> str:
    """An HTML table from records; ``columns`` are (key, header, formatter or digits)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for _, h, _ in columns)

    def cells(row: dict[str, Any]) -> str:
        out = []
        for key, _, how in columns:
            value = row.get(key)
            text = how(value) if callable(how) else _fmt(value, how, lang)
            left = " class='t'" if isinstance(value, str) and not isinstance(how, int) else ""
            out.append(f"<td{left}>{text}</td>")
        return "".join(out)

    body = "".join(f"<tr>{cells(r)}</tr>" for r in rows)
    if total is not None:
        body += f"<tr class='total'>{cells(total)}</tr>"
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _fan_figure(data: dict[str, Any], t: dict[str, str]) -> str | None:
    """Small multiples: one fan chart per scenario, shared y axis."""
    from matplotlib.figure import Figure

    fans = data["forecast"].get("fan") or {}
    names = [n for n, rows in fans.items() if rows]
    if not names:
        return None
    ncols = min(2, len(names))
    nrows = math.ceil(len(names) / ncols)
    figure = Figure(figsize=(5.2 * ncols, 3.3 * nrows))
    axes = figure.subplots(nrows, ncols, sharey=True, squeeze=False).ravel()
    deadline = data["forecast"].get("deadline")
    top = max(max((r.get("q95") or 0) for r in fans[n]) for n in names)
    for ax, name in zip(axes, names, strict=False):
        frame = pd.DataFrame(fans[name])
        x = pd.PeriodIndex(frame["month"], freq="M").to_timestamp()
        ax.fill_between(x, frame["q05"], frame["q95"], color="#f4b6b0", label="5–95 %")
        ax.fill_between(x, frame["q25"], frame["q75"], color="#e0645a", label="25–75 %")
        ax.plot(x, frame["q50"], color="#7a1a14", lw=2, label="median")
        if deadline:
            ax.axvline(pd.Period(deadline, freq="M").to_timestamp(), color="#1d2433", ls="--")
        ax.set_title(name, fontsize=11)
        ax.set_ylim(0, top * 1.05 if top > 0 else 1)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
        ax.set_ylabel(t["households"], fontsize=9)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    axes[0].legend(fontsize=8, loc="upper right")
    figure.autofmt_xdate()
    figure.tight_layout()
    return _png(figure)


def _calibration_figure(curve: list[dict[str, Any]], t: dict[str, str]) -> str | None:
    from matplotlib.figure import Figure

    if not curve:
        return None
    frame = pd.DataFrame(curve)
    figure = Figure(figsize=(4.6, 4.0))
    ax = figure.subplots()
    ax.plot([0, 1], [0, 1], color="#9aa3b2", ls=":", lw=1)
    styles = {"before": ("#9aa3b2", "o", t["before"]), "after": ("#1f5fa8", "s", t["after"])}
    for kind, part in frame.groupby("kind", sort=False):
        color, marker, label = styles.get(str(kind), ("#333333", "o", str(kind)))
        ax.plot(part["predicted"], part["observed"], marker=marker, color=color, label=label)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel(t["predicted_p"])
    ax.set_ylabel(t["observed"])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    figure.tight_layout()
    return _png(figure)


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in str(name))


def render_report(data: dict[str, Any], lang: str = "id") -> str:
    """Render the report data as one self-contained HTML page.

    Parameters
    ----------
    data : dict
        From :func:`build_report_data` (or ``report_data.json`` of an MLflow run).
    lang : {"id", "en"}
        Bahasa Indonesia (default) or English.

    Returns
    -------
    str
        The HTML page: no external request, plots embedded as PNG data URIs.

    Raises
    ------
    ValueError
        For an unknown language or report data of a newer layout.
    """
    if lang not in TEXT:
        raise ValueError(f"lang must be one of {sorted(TEXT)}, got {lang!r}")
    if int(data.get("version", 0)) > REPORT_DATA_VERSION:
        raise ValueError(
            f"report data version {data.get('version')} is newer than this toolkit supports "
            f"({REPORT_DATA_VERSION}); upgrade targeting"
        )
    t = TEXT[lang]
    e = html.escape
    meta = data["meta"]
    head, plan, card = data["headline"], data["plan"], data["model_card"]
    total = head["total"]
    run_id = data.get("run_id")

    parts = [
        f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "img-src data:; style-src 'unsafe-inline'\">",
        f"<title>{e(t['title'])} · {e(meta['experiment'])}</title><style>{_CSS}</style>"
        "</head><body>",
        f"<h1>{e(t['title'])}</h1>",
        f"<p class='meta'>{e(meta['experiment'])} · {e(t['vintage'])} "
        f"<span id='data-vintage'>{e(str(meta.get('vintage') or '–'))}</span> "
        f"({e(meta.get('source', ''))}, {e(meta.get('data_fingerprint', ''))}) · "
        f"{e(t['run'])} <code id='run-id'>{e(run_id or '–')}</code> · seed {meta['seed']} · "
        f"targeting {e(str(meta.get('targeting_version', '')))} · {e(meta.get('created', ''))}"
        "</p>",
        f"<p class='note'>{e(t['aggregates'])}</p>",
        # headline
        f"<h2>{e(t['headline'])}</h2>",
        f"<p>{_num('headline-estimate', total['estimate'], 0, lang, 'span', 'big')} "
        f"({e(t['interval'])} <span id='headline-low'>{_fmt(total['low'], 0, lang)}</span>–"
        f"<span id='headline-high'>{_fmt(total['high'], 0, lang)}</span>)</p>",
        _table(
            head["by_kecamatan"],
            [
                ("kecamatan", t["kecamatan"], e),
                ("estimate", t["estimate"], 0),
                ("low", t["low"], 0),
                ("high", t["high"], 0),
            ],
            lang,
            total=total,
        ),
        f"<p class='note'>{e(t['headline_note'])}</p>",
        # plan
        f"<h2>{e(t['plan'])}</h2><div class='cards'>",
        f"<div class='card'>{_num('plan-visits', plan['visits'], 0, lang)}{e(t['visits'])}</div>",
        f"<div class='card'>{_num('plan-expected-finds', plan['expected_finds'], 0, lang)}"
        f"{e(t['expected_finds'])}</div>",
        f"<div class='card'>{_num('plan-operator-days', plan['operator_days'], 0, lang)}"
        f"{e(t['operator_days'])}</div>",
        f"<div class='card'>{_num('plan-per-visit', plan['expected_finds_per_visit'], 3, lang)}"
        f"{e(t['per_visit'])}</div></div>",
        f"<p>{e(t['period'])}: {e(str(plan.get('first_visit_date') or '–'))} – "
        f"{e(str(plan.get('last_visit_date') or '–'))}</p>",
    ]
    counts = data.get("accounting") or {}
    if counts:
        reasons = ", ".join(
            f"{e(k)} {_fmt(v, 0, lang)}" for k, v in counts.get("not_ranked_by_reason", {}).items()
        )
        parts.append(
            f"<p>{e(t['accounting'])}: {_fmt(counts.get('households_in_registry'), 0, lang)} = "
            f"{_fmt(counts.get('planned'), 0, lang)} + {_fmt(counts.get('not_ranked'), 0, lang)}"
            f" ({e(t['reasons'])}: {reasons})</p>"
        )
    parts += [
        f"<h3>{e(t['by_kelurahan'])}</h3>",
        _table(
            plan["by_kelurahan"],
            [
                ("kecamatan", t["kecamatan"], e),
                ("kelurahan", t["kelurahan"], e),
                ("visits", t["visits"], 0),
                ("expected_finds", t["expected_finds"], 1),
            ],
            lang,
        ),
        f"<h2>{e(t['progress'])}</h2>",
    ]
    # progress
    progress = data.get("progress")
    if progress and progress.get("overall"):
        cols = [
            ("visits", t["visits"], 0),
            ("conclusive", t["conclusive"], 0),
            ("finds", t["finds"], 0),
            ("realised", t["realised"], lambda v: _pct(v, lang)),
            ("low", t["low"], lambda v: _pct(v, lang)),
            ("high", t["high"], lambda v: _pct(v, lang)),
            ("predicted", t["predicted"], lambda v: _pct(v, lang)),
            ("flagged", t["flagged"], lambda v: "<span class='flag'>●</span>" if v else ""),
        ]
        overall = [{**progress["overall"][0], "area": t["all"]}]
        parts += [
            _table(overall, [("area", "", e), *cols], lang),
            _table(
                progress.get("by_kelurahan", []), [("kelurahan", t["kelurahan"], e), *cols], lang
            ),
            f"<p class='note'>{e(t['progress_note'])}</p>",
        ]
    else:
        parts.append(f"<p id='progress-none'>{e(t['no_outcomes'])}</p>")
    # forecast
    forecast = data["forecast"]
    parts.append(f"<h2>{e(t['forecast'])}</h2>")
    fan = _fan_figure(data, t)
    if fan:
        parts.append(f"<img id='fan-chart' alt='fan chart' src='{fan}'>")
        parts.append(f"<p class='note'>{e(t['forecast_note'])}</p>")
    scen_rows = []
    for row in forecast["scenarios"]:
        name = str(row["scenario"])
        goal = row.get("median_goal_month")
        scen_rows.append(
            {
                **row,
                "p_goal_html": f"<span id='p-goal-{e(_slug(name))}' "
                f"data-value='{e(repr(row.get('p_goal')))}'>{_pct(row.get('p_goal'), lang)}</span>"
                + (
                    f" ± {_pct(row.get('p_goal_se'), lang)}"
                    if row.get("p_goal_se") is not None
                    else ""
                ),
                "goal_html": e(str(goal)) if isinstance(goal, str) and goal else e(t["never"]),
            }
        )
    parts += [
        f"<h3>{e(t['compare'])}</h3>",
        _table(
            scen_rows,
            [
                ("scenario", t["scenario"], e),
                ("settings", t["settings"], lambda v: e(str(v or "–"))),
                ("p_goal_html", t["p_goal"], lambda v: v),
                ("p_near_zero", t["p_near"], lambda v: _pct(v, lang)),
                ("goal_html", t["goal_month"], lambda v: v),
                ("deadline_stock_median", t["deadline_stock"], 0),
            ],
            lang,
        ),
    ]
    # model card
    calib = card.get("calibration")
    budget_label = {"true_share": t["true_share"], "10": "10 %", "20": "20 %", "40": "40 %"}
    parts += [
        f"<h2>{e(t['model_card'])}</h2>",
        f"<p>{e(t['champion'])}: <b id='champion'>{e(card['champion'])}</b> "
        f"({e(t['selected_by'])} {e(card['primary_metric'])}"
        + (f"; {e(t['challenger'])}: {e(card['challenger'])}" if card.get("challenger") else "")
        + f"). {e(t['validation'])}: "
        + e(t["validation_text"].format(k=card["n_splits"], group=card["group"]))
        + ".</p>",
        _table(
            [{**b, "budget": budget_label.get(b["budget"], b["budget"])} for b in card["budgets"]],
            [("budget", t["budget"], e), ("ee", t["ee"], 3), ("ie", t["ie"], 3)],
            lang,
        ),
        f"<h3>{e(t['models'])}</h3>",
        _table(
            card["models"],
            [("model", t["model"], e)]
            + [(k, k, 4 if k == "brier" else 3) for k in card["models"][0] if k != "model"]
            if card["models"]
            else [],
            lang,
        ),
    ]
    if calib:
        parts.append(
            f"<p>{e(t['calibration'])}: {_fmt(calib.get('ece_before'), 3, lang)} → "
            f"{_fmt(calib.get('ece_after'), 3, lang)}</p>"
        )
    calib_png = _calibration_figure(card.get("calibration_curve") or [], t)
    parts.append(f"<h3>{e(t['calibration_plot'])}</h3>")
    parts.append(
        f"<img id='calibration-plot' alt='calibration' src='{calib_png}' style='max-width:460px'>"
        if calib_png
        else f"<p class='note'>{e(t['no_calibration'])}</p>"
    )
    parts.append(f"<h3>{e(t['groups'])}</h3>")
    groups = card.get("group_ratios")
    if groups:
        parts += [
            _table(
                groups,
                [
                    ("grouping", t["grouping"], lambda v: e(t.get(f"g_{v}", str(v)))),
                    ("group", t["group"], lambda v: e(t.get(f"v_{v}", str(v)))),
                    ("n_poor", t["n_poor"], 0),
                    ("ee", t["ee"], 3),
                    ("ee_ratio", t["ratio"], 2),
                ],
                lang,
            ),
            f"<p class='note'>{e(t['groups_note'])}</p>",
        ]
    else:
        parts.append(f"<p class='note' id='groups-none'>{e(t['no_groups'])}</p>")
    limits = ["limit_proxy", "limit_survey", "limit_interval", "limit_forecast"]
    if meta.get("source") == "synthetic":
        limits.append("limit_synthetic")
    parts += [
        f"<h2>{e(t['limits'])}</h2><ul>",
        *[f"<li>{e(t[k])}</li>" for k in limits],
        "</ul>",
        f"<p class='meta'>spec {e(str(meta.get('spec_hash', '')))} · "
        f"{e(t['run'])} {e(run_id or '–')}</p>",
        "</body></html>",
    ]
    return "\n".join(parts)


def write_report(path: str | Path, html_text: str) -> Path:
    """Write the report atomically; refuse if it contains a personal-data column name.

    Parameters
    ----------
    path : path-like
    html_text : str

    Returns
    -------
    pathlib.Path
    """
    for column in ("nik_head", "head_name"):
        if column in html_text:
            raise RuntimeError(f"refusing to write a report that mentions {column!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(html_text, encoding="utf-8")
    return path


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
