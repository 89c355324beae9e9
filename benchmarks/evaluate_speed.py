"""Speed of ``targeting evaluate`` on Costa Rica (issue 13: under 3 minutes on 2 cores).

One table, one run: the command as it is now beside a baseline, the package at an earlier commit
(default 1294b0e, before nested CV and per-fold tasks), extracted with ``git archive`` into a
temporary folder. Each implementation runs the same command line in its own child process,
alternately, ``--repeats`` times:

    python -m targeting.cli evaluate --data-spec experiments/data/costa-rica.yaml \
        --group-by household --no-tracking --json --quiet

(its defaults otherwise: every model, 5 folds, 1 repeat, seed 100, 2 processes, 1,000 paired
bootstrap draws; ``--group-by household`` is what the current command does by default on Costa
Rica, and makes the baseline, which silently folded Costa Rica by its 6 regions, fold alike).
Reported per implementation: wall time and CPU time (the child and
every process it waited for, from ``getrusage(RUSAGE_CHILDREN)``; less sensitive to a busy
machine than wall time), the load average when it started, and the ensemble's AUC and EE at the
true share with the setting its nested CV chose (the baseline fits ``near_weight`` 0.35 as
written). Usage::

    python benchmarks/evaluate_speed.py                 # one run of each, ~8 min on a busy machine
    python benchmarks/evaluate_speed.py --repeats 2 --baseline 1294b0e
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMAND = [
    "-m", "targeting.cli", "evaluate", "--data-spec", "experiments/data/costa-rica.yaml",
    "--group-by", "household", "--no-tracking", "--json", "--quiet",
]  # fmt: skip


def extract(commit: str, into: Path) -> Path:
    """Write the ``targeting`` package of ``commit`` under ``into``; return the folder."""
    blob = subprocess.run(
        ["git", "archive", "--format=tar", commit, "targeting"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(blob)) as tar:
        tar.extractall(into, filter="data")
    return into


def run_once(pythonpath: Path) -> dict[str, object]:
    """Run the command once from ``pythonpath`` (the folder holding ``targeting``).

    Returns wall and CPU time and the ensemble's figures. The data spec and the model specs are
    each package's packaged copies when the folder has no ``experiments/``, ``models/``.
    """
    env = {
        **os.environ,
        "PYTHONPATH": str(pythonpath),
        "MLFLOW_DISABLE_TELEMETRY": "true",
        # the shared data folder is found beside the checkout; the baseline is extracted elsewhere
        "TARGETING_SHARED_DATA": os.environ.get(
            "TARGETING_SHARED_DATA", str(ROOT.parent / "shared" / "data")
        ),
    }
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    # run from the package's own folder: 'python -m' puts the working folder first on sys.path
    done = subprocess.run(
        [sys.executable, *COMMAND], cwd=pythonpath, env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise RuntimeError(f"evaluate failed ({done.returncode}): {done.stderr[-2000:]}")
    out = json.loads(done.stdout)
    models = {m["model"]: m for m in out["models"]}
    ens = models.get("ensemble", {})
    return {
        "wall": wall,
        "cpu": cpu,
        "load": load,
        "auc": ens.get("auc", float("nan")),
        "ee": ens.get("ee_at_true_share", float("nan")),
        "tuned": ens.get("tuned", "") or "(near_weight 0.35 as written)",
        "champion": out["champion"],
    }


def main(argv: list[str] | None = None) -> int:
    """Run both implementations alternately and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", default="1294b0e", help="commit of the baseline package")
    ap.add_argument("--repeats", type=int, default=1, help="runs of each implementation")
    args = ap.parse_args(argv)
    rows: list[tuple[str, dict[str, object]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = extract(args.baseline, Path(tmp))
        for r in range(args.repeats):
            for name, path in ((f"baseline ({args.baseline})", base), ("current", ROOT)):
                res = run_once(path)
                rows.append((name, res))
                print(
                    f"run {r + 1}: {name}: wall {res['wall']:.1f} s, CPU {res['cpu']:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )
    print(
        "| implementation | wall s | CPU s | load at start | ensemble AUC | ensemble EE@share "
        "| ensemble setting | champion |"
    )
    print("|---|---:|---:|---:|---:|---:|---|---|")
    for name, res in rows:
        print(
            f"| {name} | {res['wall']:.1f} | {res['cpu']:.1f} | {res['load']:.1f} | "
            f"{res['auc']:.3f} | {res['ee']:.3f} | {res['tuned']} | {res['champion']} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
