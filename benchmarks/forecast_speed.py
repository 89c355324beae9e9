"""Speed, memory and statistical equivalence of the stock-flow forecast, new against old.

Run: ``python benchmarks/forecast_speed.py [--paths 10000] [--months 36] [--repeats 3]``.

One table, one run, side by side: the current ``targeting.forecast.stockflow`` and the baseline
implementation loaded from git (``--baseline``, default a2ebe68, the last commit before the
speed-up; its text is written to a temporary module, never committed twice). Every simulation
runs in its own child process, so its peak resident memory (``ru_maxrss``, imports included) is
its own; the runs of the two implementations alternate, and the table gives the median of the
repeats of wall time, CPU time (``time.process_time``, all threads: less sensitive to a busy
machine than wall time) and peak RSS.

The city is synthetic and Kota Serang-sized: 67 kelurahan, about 182,000 eligible unreached
households whose ``p_extreme`` sum to about 3,784 (DESIGN §7). The second table compares the
two implementations' city statistics (same seed, but the new code draws other random streams,
so the two samples are independent): P(goal) at the scenario's tolerance, P(goal) at a
tolerance near the median deadline stock (a probability away from 0 and 1, so the check has
power), P(near zero), and quantiles of the city stock at the deadline and at the end. A
quantile is compared through the share of the new paths at or below the baseline's value
(mid-rank for ties), whose Monte Carlo error is ``sqrt(2 p (1 - p) / n)``; ``z`` is the
difference over its Monte Carlo error (the "MC error" of a quantile is shown in households: the
probability error times the slope of the baseline's quantile function).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
#: Module paths the baseline's text may use that have moved since (old -> new).
MOVED = {"targeting.scenarios": "targeting.forecast.scenarios"}
START = "2025-10"


def serang_like_state(city_state: type, seed: int = 0):
    """A synthetic state with Kota Serang's size (67 kelurahan in 6 kecamatan)."""
    rng = np.random.default_rng(seed)
    kec_sizes = {
        "Serang": 12,
        "Kasemen": 10,
        "Walantaka": 14,
        "Curug": 10,
        "Cipocok Jaya": 8,
        "Taktakan": 13,
    }
    kecamatan = np.repeat(list(kec_sizes), list(kec_sizes.values()))
    k = len(kecamatan)
    eligible = rng.integers(1_800, 3_700, k)
    curves = [np.sort(rng.beta(0.4, 19.0, n))[::-1] for n in eligible]
    mu = np.array([c.sum() for c in curves])
    return city_state(
        kecamatan=kecamatan,
        kelurahan=np.array([f"kel{i:02d}" for i in range(k)]),
        unreached_extreme=mu,
        eligible=eligible,
        near_poor=eligible * 0.12,
        yield_curves=curves,
        enrolled_extreme=mu * 1.3,
    )


def load_module(path: str | None):
    """The current stock-flow module, or the baseline's text at ``path`` as a module."""
    if path is None:
        from targeting.forecast import stockflow

        return stockflow
    spec = importlib.util.spec_from_file_location("stockflow_baseline", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def child(args: argparse.Namespace) -> None:
    """Run one simulation and print its timings and statistics as one JSON line."""
    from targeting.forecast.scenarios import Scenario

    sf = load_module(args.module_file)
    state = serang_like_state(sf.CityState)
    end = str(pd.Period(START, freq="M") + (args.months - 1))
    sc = Scenario(start=START, end=end)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    c0, t0 = time.process_time(), time.perf_counter()
    res = sf.simulate(state, sc, n_paths=args.paths, seed=0)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    city = res.city_paths()
    t = int(sc.deadline_period.ordinal - res.months[0].ordinal)
    np.savez(args.out, deadline=city[:, t], end=city[:, -1], start=city[:, 0])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"wall": wall, "cpu": cpu, "peak_mb": peak, "rss_before_mb": rss_before}))


def run_child(module_file: str | None, args: argparse.Namespace, out: str) -> dict:
    cmd = [sys.executable, __file__, "--child", "--paths", str(args.paths)]
    cmd += ["--months", str(args.months), "--out", out]
    if module_file is not None:
        cmd += ["--module-file", module_file]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def baseline_text(rev: str) -> str:
    text = subprocess.run(
        ["git", "show", f"{rev}:targeting/forecast/stockflow.py"],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    for old, new in MOVED.items():
        text = text.replace(f"from {old} import", f"from {new} import")
    return text


def mid_cdf(x: np.ndarray, v: float) -> float:
    return float(((x < v).sum() + 0.5 * (x == v).sum()) / len(x))


def equivalence(base: dict, new: dict) -> pd.DataFrame:
    """Statistics of the city stock, baseline against current, with Monte Carlo z-scores."""
    n_b, n_n = len(base["deadline"]), len(new["deadline"])
    rows = []

    def prob(name: str, hit_b: np.ndarray, hit_n: np.ndarray) -> None:
        pb, pn = float(hit_b.mean()), float(hit_n.mean())
        se = np.sqrt(pb * (1 - pb) / n_b + pn * (1 - pn) / n_n)
        rows.append(
            {
                "statistic": name,
                "baseline": round(pb, 4),
                "current": round(pn, 4),
                "difference": round(pn - pb, 4),
                "MC error": round(se, 4),
                "z": round((pn - pb) / se, 2) if se > 0 else 0.0,
            }
        )

    prob("P(goal), tolerance 0", base["deadline"] <= 0, new["deadline"] <= 0)
    mid = int(np.median(base["deadline"]))
    prob(f"P(deadline stock <= {mid})", base["deadline"] <= mid, new["deadline"] <= mid)
    prob(
        "P(near zero: <= 5 % of start)",
        base["deadline"] <= 0.05 * base["start"],
        new["deadline"] <= 0.05 * new["start"],
    )
    for when in ("start", "deadline", "end"):
        for q in (0.05, 0.5, 0.95):
            vb = float(np.quantile(base[when], q))
            vn = float(np.quantile(new[when], q))
            f = mid_cdf(new[when], vb)  # share of the new paths at or below the old quantile
            se = np.sqrt(q * (1 - q) / n_b + q * (1 - q) / n_n)
            # in households: the probability error times the quantile function's slope
            slope = np.diff(np.quantile(base[when], [q - 0.02, q + 0.02]))[0] / 0.04
            rows.append(
                {
                    "statistic": f"q{round(q * 100):02d} city stock, {when}",
                    "baseline": round(vb, 1),
                    "current": round(vn, 1),
                    "difference": round(vn - vb, 1),
                    "MC error": round(se * slope, 1),
                    "z": round((q - f) / se, 2),
                }
            )
    out = pd.DataFrame(rows)
    out["within 3 MC errors"] = out["z"].abs() < 3
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=10_000)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--baseline", default="a2ebe68", help="git revision of the old code")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--module-file", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        base_file = str(Path(tmp) / "stockflow_baseline.py")
        Path(base_file).write_text(baseline_text(args.baseline))
        impls = {f"baseline ({args.baseline})": base_file, "current": None}
        runs: dict[str, list[dict]] = {name: [] for name in impls}
        arrays: dict[str, dict] = {}
        for r in range(args.repeats):
            for name, module_file in impls.items():
                out = str(Path(tmp) / f"{len(arrays)}-{r}.npz")
                runs[name].append(run_child(module_file, args, out))
                if r == 0:
                    with np.load(out) as z:
                        arrays[name] = {k: z[k] for k in z.files}
        rows = []
        for name, rs in runs.items():
            a = arrays[name]
            rows.append(
                {
                    "implementation": name,
                    "paths": args.paths,
                    "kelurahan": 67,
                    "months": args.months,
                    "wall s (median)": round(float(np.median([x["wall"] for x in rs])), 2),
                    "wall s (runs)": " ".join(f"{x['wall']:.2f}" for x in rs),
                    "CPU s (median)": round(float(np.median([x["cpu"] for x in rs])), 2),
                    "peak MB": round(float(np.median([x["peak_mb"] for x in rs]))),
                    "MB before simulate": round(float(np.median([x["rss_before_mb"] for x in rs]))),
                    "P(goal)": float((a["deadline"] <= 0).mean()),
                    "median U at deadline": float(np.median(a["deadline"])),
                }
            )
        names = list(impls)
        eq = equivalence(arrays[names[0]], arrays[names[1]])
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(pd.DataFrame(rows).to_string(index=False))
        print()
        print(eq.to_string(index=False))
    print(
        f"\nstatistically equivalent (every |z| < 3): {bool(eq['within 3 MC errors'].all())}; "
        f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )


if __name__ == "__main__":
    main()
