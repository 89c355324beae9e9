"""Scoring beyond one machine: the registered PMT model on a Spark DataFrame.

The model is applied through :func:`mlflow.pyfunc.spark_udf`, which returns the model's named
outputs as a struct (``p_extreme``, ``p_low``, ``p_high``, ``desil``); because the interval draws
are seeded per batch and the desil cut-points are stored in the model, a Spark partition scores a
household exactly as ``targeting score`` does on one machine.

The Spark engine scores a registry that has already been validated (e.g. a Parquet dataset
written by the registry's export pipeline after ``targeting``'s contract checks): Spark's schema
enforcement rejects a file whose columns do not match the model's signature.
PySpark is an optional dependency (``pip install 'targeting[spark]'``) and needs Java.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from targeting.tracking import configure
from targeting.tracking.quiet import quietly

__all__ = ["score_spark_frame", "score_with_spark", "spark_session"]


def spark_session(cores: int = 2) -> Any:
    """A local Spark session (no UI, quiet logs) for scoring on this machine's cores."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ValueError(
            "the Spark engine needs PySpark: pip install 'targeting[spark]' (and Java 17+)"
        ) from exc
    # the Python workers must be this interpreter (it has the model's packages), not PATH's
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("targeting-score")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(max(2, cores)))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


@quietly
def score_spark_frame(frame: Any, model_uri: str, spark: Any) -> Any:
    """Score a Spark DataFrame of registry rows: ``household_id`` plus the four score columns."""
    import mlflow
    from pyspark.sql import functions as F

    pyfunc_logger = logging.getLogger("mlflow.pyfunc")
    level = pyfunc_logger.level
    # env_manager="local" is deliberate (the workers run this environment); its warning is noise
    pyfunc_logger.setLevel(logging.ERROR)
    try:
        udf = mlflow.pyfunc.spark_udf(spark, model_uri, env_manager="local")
    finally:
        pyfunc_logger.setLevel(level)
    # the proxies; the optional inputs are the personal-data columns, declared so that the served
    # model can refuse them (targeting.tracking.model.model_signature), never sent
    inputs = mlflow.models.get_model_info(model_uri).signature.inputs.required_input_names()
    missing = [c for c in inputs if c not in frame.columns]
    if missing:
        raise ValueError(f"the registry lacks the column(s) {missing} that the model takes")
    scored = frame.withColumn("_score", udf(F.struct(*[F.col(c) for c in inputs])))
    return scored.select(
        F.col("household_id").cast("string").alias("household_id"),
        F.col("_score.p_extreme").alias("p_extreme"),
        F.col("_score.p_low").alias("p_low"),
        F.col("_score.p_high").alias("p_high"),
        F.col("_score.desil").cast("long").alias("desil"),
    )


@quietly
def score_with_spark(
    model_uri: str,
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    tracking_uri: str | None = None,
    spark: Any = None,
) -> dict[str, Any]:
    """Read a Parquet dataset with Spark, score it with the model, write Parquet by desil.

    Returns
    -------
    dict
        ``households_in_file``, ``scored``, ``rejected`` (0: the input is validated upstream),
        ``seconds``, ``output``, ``rejected_output`` (None).
    """
    start = time.perf_counter()
    configure(tracking_uri)
    spark = spark or spark_session()
    path = Path(source)
    if path.suffix.lower() == ".csv":
        raise ValueError(
            f"{path}: the Spark engine reads Parquet; convert the CSV first "
            "(or score it with --engine local)"
        )
    frame = spark.read.parquet(str(path))
    scored = score_spark_frame(frame, model_uri, spark)
    scored.write.mode("overwrite").partitionBy("desil").parquet(str(output))
    n = spark.read.parquet(str(output)).count()
    return {
        "households_in_file": int(frame.count()),
        "scored": int(n),
        "rejected": 0,
        "seconds": round(time.perf_counter() - start, 3),
        "output": str(output),
        "rejected_output": None,
    }
