"""Scoring at scale: ``targeting score`` against a plain scikit-learn Pipeline, and Spark.

For each registry size (default 1 M, 10 M and 35 M households) the script writes a synthetic
registry to Parquet in chunks (never whole in memory), then measures, each in its own process
so that peak memory is that process's own:

* ``targeting score`` (streaming: read, validate, score with interval and desil, write), wall
  time, rows/s and peak RSS, and its own clock after start-up (``scoring_s``: from opening the
  file to the last write, without imports and MLflow model loading);
* the baseline a user would write first: ``pandas.read_parquet`` of the whole file and a plain
  scikit-learn Pipeline (one-hot + logistic regression, fitted on the same survey)
  ``predict_proba``, up to ``--baseline-max`` households (it holds the file in memory: about
  3 GB per million); its ``scoring_s`` is read + predict after imports and unpickling;
* the Spark engine (``mlflow.pyfunc.spark_udf`` in local mode on 2 cores), up to ``--spark-max``.

Each row also records the child's CPU seconds and the machine's load average before and after
(the machine is shared), and is appended to ``results.jsonl`` in the work folder as it comes.

The synthetic registry cycles through ``--distinct`` independently generated chunks of 200,000
households with fresh ids (generating 35 M households one by one would take longer than
scoring them; repeated proxy values do not change the work a scorer does). Registries and the
fitted models are kept in ``--folder`` (default ``/tmp/targeting-scale-cache``) and reused; delete
``models.json`` there after changing the scoring code, so that Spark's workers load the model
with the new code (the logged model carries its own copy of ``targeting``). The first
``targeting score`` of a new model loads it through MLflow and writes the model cache and the
champion's plain form beside the store (``.targeting-model-cache/``); later runs score from the
plain form (column ``model_form``), so the first run after a refit is not the steady state.

Usage::

    python benchmarks/scale.py --sizes 1000000 10000000 35000000 --spark-max 1000000
    python benchmarks/scale.py --sizes 1000000 --spark-max 0     # quick: 1 M, no Spark
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

CHUNK = 200_000

_MEASURE = r"""
import json, sys, time
start = time.perf_counter()
result = {}
exec(sys.argv[1])
result["wall_s"] = time.perf_counter() - start
# VmHWM is this process's own peak (ru_maxrss would keep the launching process's size)
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")]
result["peak_rss_mb"] = int(hwm[0].split()[1]) / 1024 if hwm else float("nan")
print("RESULT " + json.dumps(result))
"""


def _measure(code: str, env: dict[str, str] | None = None) -> dict[str, float]:
    """Run ``code`` in a fresh Python process; its wall time, its own peak RSS and CPU time,
    and the machine's one-minute load average before and after (the machine is shared)."""
    load_before = os.getloadavg()[0]
    cpu_before = os.times()
    run = subprocess.run(
        [sys.executable, "-c", _MEASURE, code],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    if run.returncode != 0 or not lines:
        raise RuntimeError(f"benchmark step failed:\n{run.stderr[-3000:]}")
    cpu_after = os.times()
    result = json.loads(lines[-1][len("RESULT ") :])
    # the child's user + system seconds (a grandchild such as Spark's JVM only if waited for)
    result["cpu_s"] = (cpu_after.children_user - cpu_before.children_user) + (
        cpu_after.children_system - cpu_before.children_system
    )
    result["load_before"] = load_before
    result["load_after"] = os.getloadavg()[0]
    return result


def _log(folder: Path, row: dict[str, object]) -> None:
    """Print a measurement as it comes, and keep it (a long run that is stopped keeps its rows)."""
    print(row, file=sys.stderr, flush=True)
    with open(folder / "results.jsonl", "a") as handle:
        handle.write(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), **row}) + "\n")


def write_registry(path: Path, n: int, distinct: int, seed: int) -> None:
    """Write ``n`` synthetic registry households to Parquet, one chunk at a time.

    Each distinct chunk is generated once and converted to Arrow once; later chunks only get
    fresh ids, so writing 35 M households takes about a minute, not the generator's hours. The
    file is written beside ``path`` and renamed when complete (an interrupted run leaves no
    half file for the next run to reuse).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from targeting.data import schema
    from targeting.data.synthetic import generate_city

    bases = []
    for k in range(distinct):
        registry = generate_city(n_households=CHUNK, seed=seed + 1 + k).registry
        registry = registry.drop(columns=[c for c in schema.PII_COLUMNS if c in registry])
        bases.append(pa.Table.from_pandas(registry, preserve_index=False))
    tmp = path.with_suffix(".part")
    writer = None
    try:
        for i, start in enumerate(range(0, n, CHUNK)):
            base = bases[i % distinct]
            part = base.slice(0, min(CHUNK, n - start))
            ids = pa.array([f"B{start + j:010d}" for j in range(part.num_rows)], pa.large_string())
            part = part.set_column(part.schema.get_field_index("household_id"), "household_id", ids)
            if writer is None:
                writer = pq.ParquetWriter(tmp, part.schema)
            writer.write_table(part)
    finally:
        if writer is not None:
            writer.close()
    tmp.rename(path)


def fit_models(folder: Path, seed: int) -> tuple[str, Path]:
    """Fit the toolkit's OLS PMT (logged to a local MLflow store) and the plain baseline.

    Kept in ``folder`` (``models.json``) and reused by the next run with the same seed.
    """
    saved = folder / "models.json"
    if saved.exists():
        known = json.loads(saved.read_text())
        if known.get("seed") == seed and Path(known["baseline"]).exists():
            return known["model_ref"], Path(known["baseline"])
    import mlflow
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    from targeting.data import schema
    from targeting.data.synthetic import generate_city
    from targeting.feedback.rounds import fit_champion
    from targeting.tracking import configure
    from targeting.tracking.model import log_pmt_model

    city = generate_city(seed=seed)
    survey = schema.validate_survey(city.survey, mode="strict").valid
    model = fit_champion(survey, "ols", seed=seed)
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    configure(uri)
    mlflow.set_experiment("scale-benchmark")
    with mlflow.start_run():
        example = survey[schema.MODEL_COLUMNS].head(5).reset_index(drop=True)
        version = log_pmt_model(model, example, "model-champion", "scale-benchmark-pmt")
    categorical = [*schema.LOCATION_COLUMNS, *schema.CATEGORICAL_PROXIES, *schema.ORDERED_PROXIES]
    plain = make_pipeline(
        ColumnTransformer(
            [("onehot", OneHotEncoder(handle_unknown="ignore"), categorical)],
            remainder="passthrough",
        ),
        LogisticRegression(max_iter=300),
    )
    X = survey[schema.MODEL_COLUMNS]
    plain.fit(X, (survey["consumption_pc"] < 400_000).astype(int))
    baseline = folder / "plain.pkl"
    baseline.write_bytes(pickle.dumps(plain))
    model_ref = f"models:/scale-benchmark-pmt/{version}|{uri}"
    saved.write_text(json.dumps({"seed": seed, "model_ref": model_ref, "baseline": str(baseline)}))
    return model_ref, baseline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", nargs="+", default=["1000000,10000000,35000000"], help="e.g. 1000000 10000000"
    )
    parser.add_argument(
        "--baseline-max",
        type=int,
        default=1_000_000,
        help="largest size for the plain pipeline (it holds the file: ~3 GB per million)",
    )
    parser.add_argument("--spark-max", type=int, default=10_000_000)
    parser.add_argument("--distinct", type=int, default=3, help="distinct generated chunks")
    parser.add_argument("--batch-rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--folder",
        default=str(Path(tempfile.gettempdir()) / "targeting-scale-cache"),
        help="work folder; the registries and models written there are reused by later runs",
    )
    args = parser.parse_args()
    sizes = [int(float(s)) for arg in args.sizes for s in arg.split(",") if s]
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    env = {"MLFLOW_DISABLE_TELEMETRY": "true"}
    os.environ.update(env)
    print(f"work folder {folder}", file=sys.stderr)
    model_ref, baseline = fit_models(folder, args.seed)
    model_uri, tracking_uri = model_ref.split("|")
    rows = []
    for n in sizes:
        source = folder / f"registry_{n}_{args.distinct}_{args.seed}.parquet"
        if not source.exists():
            t0 = time.perf_counter()
            write_registry(source, n, args.distinct, args.seed)
            print(f"{n:,} households written in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        out = folder / f"scores_{n}.parquet"
        cli = [
            "score",
            str(source),
            "--model",
            model_uri,
            "--tracking-uri",
            tracking_uri,
            "--output",
            str(out),
            "--batch-rows",
            str(args.batch_rows),
            "--json",
        ]
        result = _measure(
            "import contextlib, io, json\nfrom targeting.cli import main\n"
            "printed = io.StringIO()\n"
            f"with contextlib.redirect_stdout(printed):\n"
            f"    assert main({cli!r}) == 0\n"
            # the command's own clock: from reading the file to the last write (no start-up)
            "summary = json.loads(printed.getvalue())\n"
            "result['scoring_s'] = summary['seconds']\n"
            # 'plain' once the model cache holds the champion's plain form (the second run on)
            "result['model_form'] = summary.get('model_form', '')\n",
            env,
        )
        rows.append({"households": n, "engine": "targeting score (streaming)", **result})
        _log(folder, rows[-1])
        if n <= args.baseline_max:
            result = _measure(
                "import pickle, pandas as pd\nfrom targeting.data import schema\n"
                f"model = pickle.load(open({str(baseline)!r}, 'rb'))\n"
                "began = time.perf_counter()\n"
                f"X = pd.read_parquet({str(source)!r}, columns=schema.MODEL_COLUMNS)\n"
                "p = model.predict_proba(X)[:, 1]\n"
                # read and predict, after imports and unpickling (as 'scoring_s' of ours)
                "result['scoring_s'] = time.perf_counter() - began\n",
                env,
            )
            rows.append({"households": n, "engine": "plain sklearn Pipeline", **result})
            _log(folder, rows[-1])
        if n <= args.spark_max:
            result = _measure(
                "from targeting.tracking.spark import score_with_spark, spark_session\n"
                "spark = spark_session(cores=2)\n"
                f"score_with_spark({model_uri!r}, {str(source)!r}, "
                f"{str(folder / f'spark_{n}')!r}, tracking_uri={tracking_uri!r}, spark=spark)\n"
                "spark.stop()\n",
                env,
            )
            # the JVM's memory is outside this process; the figure is the Python driver's
            rows.append({"households": n, "engine": "Spark local[2] (driver RSS)", **result})
            _log(folder, rows[-1])
    table = pd.DataFrame(rows)
    table["rows_per_s"] = table["households"] / table["wall_s"]
    if "scoring_s" in table:
        table["rows_per_s_after_start"] = table["households"] / table["scoring_s"]
    ours = table[table["engine"].str.startswith("targeting")].set_index("households")
    plain = table[table["engine"].str.startswith("plain")].set_index("households")
    speedup = (ours["rows_per_s"] / plain["rows_per_s"]).dropna()
    after = (ours["scoring_s"].rdiv(1) / plain["scoring_s"].rdiv(1)).dropna()
    print(table.to_string(index=False, float_format=lambda v: f"{v:,.1f}"))
    for n, ratio in speedup.items():
        print(
            f"targeting score / plain Pipeline rows/s at {n:,}: {ratio:.2f}x end to end, "
            f"{after.get(n, float('nan')):.2f}x after start-up (imports, model loading)"
        )
    if len(ours) > 1:
        first, last = ours.index.min(), ours.index.max()
        print(
            f"growth {first:,} -> {last:,} households (x{last / first:.0f}): time "
            f"x{ours.loc[last, 'wall_s'] / ours.loc[first, 'wall_s']:.1f}, peak RSS "
            f"x{ours.loc[last, 'peak_rss_mb'] / ours.loc[first, 'peak_rss_mb']:.2f}"
        )


if __name__ == "__main__":
    main()
