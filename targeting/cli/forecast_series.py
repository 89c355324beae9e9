"""``targeting forecast-series``: the statistical baseline of the official poverty series."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from targeting.cli.common import Formatter, print_json, table

__all__ = ["register", "shared_data_folder"]

_FOLDER = "indonesia-bps-poverty"


def shared_data_folder() -> Path:
    """The shared data folder (see :func:`targeting.data.paths.shared_data_dir`)."""
    # imported on use, so that 'targeting --help' answers without loading them
    from targeting.data.paths import shared_data_dir

    return shared_data_dir()


def kota_serang_series(folder: Path) -> pd.Series:
    """Kota Serang's P0 (percent) by year from the press figures and the 2014–2015 table.

    Annual points only (one per year; the BPS figure preferred to the press quote where both
    exist, derived values kept and flagged in the source file). Returns an empty series if the
    files are missing.
    """
    points: dict[int, float] = {}
    kab = folder / "banten_kabkota_2014_2015.csv"
    if kab.exists():
        t = pd.read_csv(kab)
        code = t.get("kode_bps")
        if code is not None:
            from targeting.data.city import load_city_profile

            t = t[code.astype(str) == load_city_profile().bps_code]
            for _, r in t.iterrows():
                year = int(str(r["period"])[-4:]) if "period" in t else None
                if year is not None:
                    points[year] = float(r["p0_percent"])
    press = folder / "official_figures_from_press.csv"
    if press.exists():
        t = pd.read_csv(press)
        m = t["geography"].str.startswith("Kota Serang") & (t["indicator"] == "p0_percent")
        t = t[m].copy()
        t["year"] = t["period"].astype(str).str.extract(r"(\d{4})")[0].astype(int)
        # Mar 2022: BPS Kota Serang 5.94 preferred over the press's 6.12 (see the data README)
        for year, g in t.groupby("year"):
            vals = pd.to_numeric(g["value"], errors="coerce").dropna()
            if year == 2022 and (vals - 5.94).abs().min() < 1e-9:
                points[int(year)] = 5.94
            elif len(vals) and int(year) not in points:
                points[int(year)] = float(vals.iloc[0])
    return pd.Series(points, dtype=float).sort_index()


def consecutive_tail(series: pd.Series) -> pd.Series:
    """The last run of consecutive years (the drift needs equally spaced points)."""
    if len(series) == 0:
        return series
    years = series.index.to_numpy()
    start = len(years) - 1
    while start > 0 and years[start - 1] == years[start] - 1:
        start -= 1
    return series.iloc[start:]


def _cmd(args: argparse.Namespace) -> int:
    # imported on use, so that 'targeting --help' answers without loading them
    from targeting.forecast.series import (
        SHORT_SERIES_METHOD,
        backtest,
        forecast_rate,
        load_provincial_panel,
    )

    folder = Path(args.data) if args.data else shared_data_folder() / _FOLDER
    panel_path = folder / "provinsi_p0_maret_2019_2024.csv"
    if not panel_path.exists():
        raise FileNotFoundError(
            f"{panel_path} not found; set TARGETING_SHARED_DATA or pass --data FOLDER"
        )
    panel = load_provincial_panel(panel_path)
    methods = ("ets", "llt", "naive", "drift")
    bt = backtest(panel, methods=methods, min_train=3, horizon=args.horizon_backtest)
    winner = str(bt.sort_values(["MASE", "CRPS"]).iloc[0]["method"])
    if winner != SHORT_SERIES_METHOD and winner not in ("ets", "llt"):
        print(
            f"note: the backtest winner is now {winner}, but forecast_rate(method='auto') uses "
            f"{SHORT_SERIES_METHOD} for short series; update SHORT_SERIES_METHOD",
            file=sys.stderr,
        )
    banten = panel[panel["province_code"] == 36].set_index("year")["p0"]
    fc_banten = forecast_rate(banten, args.horizon, method="auto", level=args.level)
    serang = kota_serang_series(folder)
    fc_serang = None
    serang_used = consecutive_tail(serang)
    if len(serang_used) >= 2:
        # the years are irregular (2010, 2014, 2015, 2019-2024): forecast the consecutive tail
        fc_serang = forecast_rate(serang_used, args.horizon, method="auto", level=args.level)
    out: dict[str, Any] = {
        "panel": str(panel_path),
        "backtest": bt.to_dict(orient="records"),
        "backtest_winner_by_mase": winner,
        "auto_short_series_method": fc_banten["method_used"].iloc[0],
        "banten": {
            "observed": {int(k): float(v) for k, v in banten.dropna().items()},
            "forecast": fc_banten.to_dict(orient="records"),
        },
        "kota_serang": {
            "observed": {int(k): float(v) for k, v in serang.items()},
            "years_used": [int(k) for k in serang_used.index],
            "forecast": None if fc_serang is None else fc_serang.to_dict(orient="records"),
        },
    }
    if args.json:
        print_json(out)
        return 0
    print(
        f"Rolling-origin backtest on {panel['province_code'].nunique()} provinces "
        f"({panel_path.name}; MASE, {args.level:.0%} interval coverage, CRPS in points):"
    )
    print(table(bt))
    print(
        f"winner by MASE: {winner}; forecast_rate(method='auto') uses "
        f"{out['auto_short_series_method']} for short series"
    )
    cols = ["period", "median", "lower", "upper", "method_used"]
    print(f"\nBanten P0 (%), observed {dict(out['banten']['observed'])}:")
    print(table(fc_banten[cols], floatfmt="{:.2f}"))
    if fc_serang is not None:
        print(f"\nKota Serang P0 (%), observed {dict(out['kota_serang']['observed'])}:")
        print(table(fc_serang[cols], floatfmt="{:.2f}"))
    return 0


def register(sub: Any) -> None:
    """Add the ``forecast-series`` sub-command."""
    p = sub.add_parser(
        "forecast-series",
        help="backtest and forecast the official BPS poverty-rate series",
        formatter_class=Formatter,
        description=(
            "Rolling-origin backtest of the provincial P0 panel (ETS, local linear trend, naive, "
            "drift on the log-odds) by MASE, interval coverage and CRPS, then forecasts of "
            "Banten's and Kota Serang's rate with intervals."
        ),
        epilog="Example:\n  targeting forecast-series --json",
    )
    p.add_argument("--data", help=f"folder of the BPS tables (default <shared data>/{_FOLDER})")
    p.add_argument("--horizon", type=int, default=3, help="years ahead (default 3)")
    p.add_argument("--horizon-backtest", type=int, default=1, help="backtest steps (default 1)")
    p.add_argument("--level", type=float, default=0.8, help="interval probability (default 0.8)")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(handler=_cmd)
