"""Costa Rica (issue 13): the ensemble on the new household features vs main's, on reported seeds.

The Costa Rica adapter gained member-row features (a Mincer-style earning-capacity index, the
spouse's schooling, the spread of adults' schooling and of ages, working-age tertiary education,
log rent per capita) and lost the raw housing one-hot groups that its ``ord_*`` scores already
collapse (:data:`targeting.data.costa_rica.COLLAPSED_COLUMNS`). Both were chosen on tuning fold
seeds 0–4 (:mod:`targeting.evaluation.provenance`); this script reports them once on fold seeds
disjoint from every tuning seed (default 100, 101, 102), with the protocol of
``benchmarks/quality.py`` (stratified 5-fold over households, pooled out-of-fold metrics, mean
over repeats):

* ``ensemble``: the packaged ``ensemble`` spec on today's adapter;
* ``ensemble_main``: the same spec on the adapter of commit ``--base`` (loaded from git into a
  temporary module), i.e. the current ensemble as ``benchmarks/README.md`` reports it;
* ``plain_raw``: the plain baseline (HGB defaults on the head rows' raw columns).

Paired bootstrap (:func:`targeting.evaluation.paired.paired_bootstrap`, households resampled, the
same draws for every model) of AUC and EE at the true share against ``plain_raw`` and
``ensemble_main``. ``--calibration-cv 3`` is the packaged model (its inner Platt map); the
default here, 0, skips the map and runs four times faster. The map is increasing, so each fold's
ranking is the calibrated model's, but the pooled out-of-fold metrics mix five folds with five
maps and move a little (seeds 100–102, main's adapter: AUC 0.818 / EE 0.650 raw against 0.817 /
0.649 calibrated); report figures come from ``--calibration-cv 3``. Brier and ECE are not printed.

Run ``python benchmarks/costa_rica_features.py`` (2 processes; ≈ 10–30 minutes on the shared
2-core machine depending on its load).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import dataclasses
import importlib.util
import pickle
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from quality import add_model, markdown, paired_table  # noqa: E402

from targeting.console import Progress  # noqa: E402
from targeting.data.costa_rica import load_costa_rica, load_costa_rica_raw_heads  # noqa: E402
from targeting.data.household import HouseholdData  # noqa: E402
from targeting.evaluation.paired import paired_bootstrap, resampling_units  # noqa: E402
from targeting.evaluation.provenance import REPORT_SEED, tuning_notes  # noqa: E402
from targeting.evaluation.zoo import ZooEvaluation, evaluate_zoo  # noqa: E402
from targeting.pmt.build import load_specs  # noqa: E402

BASE_COMMIT = "1294b0e"
"""main when the new features were built: its adapter is the 'current ensemble' reference."""

COLUMNS = [
    "model", "auc", "auc_sd", "ee_at_true_share", "ee_at_true_share_sd", "ee_at_10",
    "ee_at_20", "ee_at_40", "seconds",
]  # fmt: skip


def load_base_adapter(commit: str) -> HouseholdData:
    """Costa Rica as the adapter of ``commit`` built it (written to a temporary module)."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{commit}:targeting/data/costa_rica.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / f"costa_rica_{commit}.py"
        file.write_text(source, encoding="utf-8")
        spec = importlib.util.spec_from_file_location(file.stem, file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.load_costa_rica()


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=REPORT_SEED, help="first fold seed (default 100)")
    ap.add_argument("--repeats", type=int, default=3, help="CV repeats (default 3)")
    ap.add_argument("--jobs", type=int, default=2, help="parallel processes (default 2)")
    ap.add_argument("--boot", type=int, default=1000, help="paired bootstrap draws")
    ap.add_argument(
        "--calibration-cv",
        type=int,
        default=0,
        help="the ensemble's inner Platt folds (default 0: faster, pooled metrics move a little; "
        "3 is the packaged model)",
    )
    ap.add_argument("--base", default=BASE_COMMIT, help=f"reference commit ({BASE_COMMIT})")
    ap.add_argument("--oof", type=Path, default=None, help="write the out-of-fold scores (CSV)")
    ap.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="keep each evaluation here (pickle) so that an interrupted run resumes",
    )
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    progress = Progress()
    (spec,) = load_specs(names=["ensemble"])
    spec = dataclasses.replace(spec, params={**spec.params, "calibration_cv": args.calibration_cv})
    (plain,) = load_specs(names=["plain"])
    kw = dict(
        n_splits=5,
        n_repeats=args.repeats,
        seed=args.seed,
        stratify=True,
        group_by="household",
        progress=progress,
        macro_f1=False,
    )
    data = load_costa_rica()
    key = f"{args.seed}-{args.repeats}-{args.calibration_cv}-{args.base}"

    def cached(name: str, run: Callable[[], ZooEvaluation]) -> ZooEvaluation:
        if args.cache is None:
            return run()
        file = args.cache / f"{name}-{key}.pkl"
        if file.is_file():
            return pickle.loads(file.read_bytes())
        out = run()
        args.cache.mkdir(parents=True, exist_ok=True)
        file.write_bytes(pickle.dumps(out))
        return out

    res = cached("ensemble", lambda: evaluate_zoo(data, [spec], n_jobs=args.jobs, **kw))
    base = cached(
        "ensemble_main",
        lambda: evaluate_zoo(load_base_adapter(args.base), [spec], n_jobs=args.jobs, **kw),
    )
    res = add_model(res, base, {"ensemble": "ensemble_main"})
    raw = cached(
        "plain_raw", lambda: evaluate_zoo(load_costa_rica_raw_heads(), [plain], n_jobs=1, **kw)
    )
    res = add_model(res, raw, {"plain": "plain_raw"})
    with progress.step(f"Paired bootstrap ({args.boot} draws)"):
        units = resampling_units(res.oof["id"], data.ids, data.groups, "household")
        paired = paired_bootstrap(
            res.oof, units, ["ensemble", "ensemble_main"], ["plain_raw", "ensemble_main"],
            n_boot=args.boot,
        )  # fmt: skip
    paired = paired[paired["model"] != paired["reference"]]
    if args.oof is not None:
        res.oof.to_csv(args.oof, index=False)
    seeds = list(range(args.seed, args.seed + args.repeats))
    p = res.params
    print(
        f"\n## Costa Rica: {p['n_households']:,} households, extreme share "
        f"{p['true_share']:.4f}; {p['n_repeats']} x 5-fold over households, stratified, fold "
        f"seeds {seeds[0]}-{seeds[-1]}; ensemble calibration_cv={args.calibration_cv}; "
        f"reference adapter {args.base}"
    )
    table = res.table[COLUMNS]
    print(markdown(pd.DataFrame(table), digits=3))
    print()
    print(markdown(paired_table(paired)))
    for model, info in tuning_notes(res.data_name, ["ensemble"], seeds, "household").items():
        print(f"\ntuned: {model}: {info['settings']}; on {info['tuned_on']}: {info['verdict']}")
    print(f"\n{time.perf_counter() - t0:.0f} s in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
