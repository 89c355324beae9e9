"""Speed and memory of the stock-flow forecast on a Kota Serang-sized city.

Run: ``python benchmarks/forecast_speed.py [--paths 1000 10000] [--months 27 36]``.
Prints one row per (paths, months): kelurahan, seconds, peak traced memory (tracemalloc, MB),
P(goal) and the median deadline stock. The city is synthetic: 67 kelurahan, about 182,000
eligible unreached households whose p_extreme sum to about 3,784 (DESIGN §7).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import pandas as pd

from targeting.forecast.scenarios import Scenario
from targeting.forecast.stockflow import CityState, simulate


def serang_like_state(seed: int = 0) -> CityState:
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
    return CityState(
        kecamatan=kecamatan,
        kelurahan=np.array([f"kel{i:02d}" for i in range(k)]),
        unreached_extreme=mu,
        eligible=eligible,
        near_poor=eligible * 0.12,
        yield_curves=curves,
        enrolled_extreme=mu * 1.3,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, nargs="+", default=[1_000, 10_000])
    ap.add_argument("--months", type=int, nargs="+", default=[27, 36])
    args = ap.parse_args()
    state = serang_like_state()
    rows = []
    for months in args.months:
        end = str(pd.Period("2025-10", freq="M") + (months - 1))
        sc = Scenario(end=end)
        for n in args.paths:
            tracemalloc.start()
            t0 = time.perf_counter()
            res = simulate(state, sc, n_paths=n, seed=0)
            secs = time.perf_counter() - t0
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            s = res.summary()
            rows.append(
                {
                    "paths": n,
                    "kelurahan": len(state.kelurahan),
                    "months": months,
                    "start stock": round(float(state.unreached_extreme.sum())),
                    "seconds": round(secs, 2),
                    "peak MB": round(peak / 2**20),
                    "P(goal)": s["p_goal"],
                    "deadline median": s["deadline_stock_median"],
                }
            )
            del res
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
