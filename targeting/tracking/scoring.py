"""Scoring a registry file with a logged model (``targeting score``), light to start.

``targeting score`` on a million households used to spend about as long starting as scoring:
importing the whole cycle (:mod:`targeting.pipeline`: scikit-learn's model selection,
statsmodels, SciPy's statistics) to get one fitted pipeline. This module imports only what
scoring needs: the model cache (one read-only SQLite query), the streaming scorer
(:mod:`targeting.pmt.streaming`: pyarrow, numpy, the registry contract) and, for a linear
champion whose plain form is cached (:class:`targeting.pmt.plain.PlainScorer`), nothing of
scikit-learn, statsmodels or MLflow. Every other model, or a plain form that is missing or does
not verify, is loaded the full way (:func:`targeting.tracking.load_model`) with the same scores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["load_scorer", "score_registry"]


def load_scorer(model_uri: str, tracking_uri: str | None = None) -> Any:
    """The model to score a registry with.

    Its verified plain form when the model cache beside an embedded store holds one
    (:func:`targeting.tracking.model_cache.read_cached_scorer`; the full pipeline is attached,
    unpickled only if a batch needs it); else the full pipeline
    (:func:`targeting.tracking.load_model`), whose plain form (if it has one) is then written
    for the next run.

    Parameters
    ----------
    model_uri : str
        E.g. ``models:/serang-2026-pmt@champion``.
    tracking_uri : str, optional

    Returns
    -------
    targeting.pmt.plain.PlainScorer or sklearn.pipeline.Pipeline
    """
    from targeting.tracking import default_tracking_uri
    from targeting.tracking.model_cache import read_cached_scorer, write_cached_scorer

    store = tracking_uri or default_tracking_uri()
    scorer = read_cached_scorer(model_uri, store)
    if scorer is not None:
        return scorer
    from targeting.tracking import load_model  # the full way: scikit-learn, maybe MLflow

    model = load_model(model_uri, tracking_uri=tracking_uri)
    write_cached_scorer(model_uri, store, model)
    return model


def score_registry(
    registry: str | Path,
    output: str | Path,
    model_uri: str,
    tracking_uri: str | None = None,
    mode: str = "quarantine",
    seed: int = 2026,
    batch_rows: int = 100_000,
    engine: str = "local",
    progress: Any = None,
) -> dict[str, Any]:
    """Score a registry file of any size with a logged model (``targeting score``).

    The local engine streams the file in batches (memory bounded by ``batch_rows``) and writes
    the scores (no personal data) and, beside them, ``rejected.<suffix>`` for rows set aside by
    validation; the Spark engine scores a validated Parquet dataset with ``spark_udf``.

    Parameters
    ----------
    registry : path-like
        A registry file (.parquet, .csv or .xlsx; Parquet for Spark).
    output : path-like
        Where the scores go (.csv or .parquet; a folder for Spark).
    model_uri : str
        MLflow model URI (e.g. ``models:/serang-2026-pmt@champion``).
    tracking_uri : str, optional
    mode : {"quarantine", "strict"}
    seed : int, default 2026
        Seed of the interval simulation (models without an exact interval).
    batch_rows : int, default 100_000
    engine : {"local", "spark"}
    progress : callable, optional
        ``progress(rows done, rows scored, seconds)`` after each batch (local engine).

    Returns
    -------
    dict
        ``engine``, ``model``, ``households_in_file``, ``scored``, ``rejected``, ``seconds``,
        ``output``, ``rejected_output`` (JSON-ready; no personal data); locally also
        ``model_form``: ``plain`` (the cached plain form scored) or ``pipeline``.
    """
    if batch_rows < 1:
        raise ValueError(f"--batch-rows must be a whole number ≥ 1, got {batch_rows}")
    if engine == "spark":
        from targeting.tracking.spark import score_with_spark  # needs PySpark and Java

        summary = score_with_spark(model_uri, registry, output, tracking_uri=tracking_uri)
        return {"engine": "spark", "model": model_uri, **summary}
    from targeting.pmt.plain import PlainScorer
    from targeting.pmt.streaming import score_registry_file

    model = load_scorer(model_uri, tracking_uri=tracking_uri)
    form = "plain" if isinstance(model, PlainScorer) else "pipeline"
    result = score_registry_file(
        model,
        registry,
        output,
        batch_rows=batch_rows,
        mode=mode,
        seed=seed,
        progress=progress,
    )
    return {"engine": "local", "model": model_uri, "model_form": form, **result.as_dict()}
