"""The PMT model as MLflow stores it: a pyfunc that scores anywhere, with named outputs.

A fitted PMT pipeline is logged as an MLflow *pyfunc* wrapping it (:class:`PMTScorer`), so that
``mlflow.pyfunc.load_model``, ``mlflow models serve`` and ``mlflow.pyfunc.spark_udf`` all return
the four columns ``targeting score`` writes: ``p_extreme``, ``p_low``, ``p_high`` and ``desil``
(with the desil cut-points fixed when the model was fitted). The logged model carries the
``targeting`` package itself (``code_paths``) and pinned requirements that install from PyPI, so
it loads on a machine that never installed this project.
"""

from __future__ import annotations

import logging
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

import targeting
from targeting.data import schema
from targeting.pmt.compiled import compile_pipeline
from targeting.pmt.scoring import score_households
from targeting.tracking.naming import registered_model_name

__all__ = [
    "SCORE_COLUMNS",
    "PMTScorer",
    "model_requirements",
    "model_signature",
    "registered_model_name",
]

SCORE_COLUMNS: tuple[str, ...] = ("p_extreme", "p_low", "p_high", "desil")
"""What every scoring path returns, in this order."""

# distributions a logged model imports when it is unpickled and scores (pinned to this machine's)
_RUNTIME_DISTRIBUTIONS = (
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "statsmodels",
    "quantile-forest",
    "pyarrow",
    "pyyaml",
    "cloudpickle",
)


def model_requirements() -> list[str]:
    """Pinned pip requirements of a logged model (the versions installed here)."""
    pins = []
    for dist in _RUNTIME_DISTRIBUTIONS:
        try:
            pins.append(f"{dist}=={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            continue
    return pins


class PMTScorer(PythonModel):
    """Pyfunc wrapper of a fitted PMT pipeline: proxies in, named score columns out.

    Parameters
    ----------
    model : sklearn.pipeline.Pipeline
        The fitted PMT pipeline (its ``desil_cutpoints_`` fix the desils).
    n_boot : int, default 200
        Parameter draws for the interval (as ``targeting score``).
    alpha : float, default 0.2
        The interval is the central ``1 - alpha`` range of the draws.
    seed : int, default 2026
        Seed of the interval draws (the same for every batch, so batches agree).
    """

    def __init__(self, model: Any, n_boot: int = 200, alpha: float = 0.2, seed: int = 2026):
        self.model = model
        self.n_boot = n_boot
        self.alpha = alpha
        self.seed = seed

    def _compiled(self) -> Any:
        """The model compiled for the numeric path (once per loaded model), or None."""
        if "_compiled_model" not in self.__dict__:
            self.__dict__["_compiled_model"] = compile_pipeline(self.model)
        return self.__dict__["_compiled_model"]

    def __getstate__(self) -> dict[str, Any]:
        # the compiled form is rebuilt where the model is loaded, never stored with it
        state = dict(self.__dict__)
        state.pop("_compiled_model", None)
        return state

    @property
    def columns(self) -> list[str]:
        """The input columns the model takes, in order."""
        names = getattr(self.model, "feature_names_in_", schema.PROXY_COLUMNS)
        return [str(c) for c in names]

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Score households: one row of ``p_extreme, p_low, p_high, desil`` per input row.

        Personal-data columns are refused by name only (their values are never echoed).
        """
        frame = pd.DataFrame(model_input)
        personal = sorted(set(map(str, frame.columns)) & set(schema.PII_COLUMNS))
        if personal:
            raise ValueError(
                f"the input holds personal-data columns {personal}; send the proxies only"
            )
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise ValueError(f"the input lacks the column(s) {missing}; send every proxy column")
        # the signature lets any value through (so MLflow's own type check, which echoes the
        # offending value in its HTTP 400 answer, never runs): the values are checked here, and
        # the answer names columns and rows, never a value
        typed, problems = schema.parse_proxies(frame[self.columns], self.columns)
        if problems:
            raise ValueError(
                "the input has values of the wrong type or range: "
                + "; ".join(
                    f"{p.column} in row(s) {', '.join(map(str, p.rows[:5]))}"
                    + (" ..." if len(p.rows) > 5 else "")
                    + f" (expected {p.expected})"
                    for p in problems
                )
                + "; correct these rows (their values are not repeated here)"
            )
        compiled = self._compiled()
        if compiled is not None:
            # the numeric path (category codes through lookups), as ``targeting score`` uses:
            # a Spark partition or a served request gets the same numbers
            scores = compiled.score_frame(
                typed[self.columns], alpha=self.alpha, n_boot=self.n_boot, seed=self.seed
            )
        else:
            scores = score_households(
                self.model,
                typed[self.columns],
                alpha=self.alpha,
                n_boot=self.n_boot,
                seed=self.seed,
            )
        out = scores[list(SCORE_COLUMNS)].reset_index(drop=True)
        out["desil"] = out["desil"].astype(np.int64)
        return out


def model_signature(scorer: PMTScorer, input_example: pd.DataFrame) -> Any:
    """The model signature: the proxies in, the four named score columns out.

    The inputs are named (Spark and the served model select the proxies by name) and typed
    ``any``: MLflow's schema enforcement answers a value of the wrong type with an HTTP 400
    that repeats the value (a NIK typed into ``hh_size``), so :meth:`PMTScorer.predict` checks
    the values instead, by the registry's rules, naming rows only. The personal-data columns
    are declared as optional inputs so that a request carrying them reaches
    :meth:`PMTScorer.predict`, which refuses it (MLflow would drop them silently).
    """
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types.schema import AnyType, ColSpec, Schema, TensorSpec

    with warnings.catch_warnings():
        # the proxies' counts are integers by contract and validated before scoring
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
        outputs = infer_signature(input_example, scorer.predict(None, input_example)).outputs
    columns: list[ColSpec | TensorSpec] = [
        ColSpec(AnyType(), str(c)) for c in input_example.columns
    ]
    columns += [
        ColSpec(AnyType(), c, required=False)
        for c in schema.PII_COLUMNS
        if c not in input_example.columns
    ]
    inputs = Schema(columns)
    return ModelSignature(inputs=inputs, outputs=outputs)


def log_pmt_model(
    model: Any,
    input_example: pd.DataFrame,
    name: str,
    registered_name: str,
    tags: dict[str, str] | None = None,
) -> str:
    """Log a fitted PMT pipeline as a pyfunc in the active run and register it.

    Returns
    -------
    str
        The registered version (aliases are moved by the caller, once its run has succeeded).
    """
    scorer = PMTScorer(model)
    package_dir = str(Path(targeting.__file__).resolve().parent)
    pyfunc_logger = logging.getLogger("mlflow.pyfunc")
    level = pyfunc_logger.level
    # the model object is ours (cloudpickle is how a pyfunc object is stored): the warning and
    # the input-example validation notice are noise in the planner's terminal
    pyfunc_logger.setLevel(logging.ERROR)
    try:
        info = mlflow.pyfunc.log_model(
            name=name,
            python_model=scorer,
            signature=model_signature(scorer, input_example),
            input_example=input_example,
            code_paths=[package_dir],
            pip_requirements=model_requirements(),
            registered_model_name=registered_name,
        )
    finally:
        pyfunc_logger.setLevel(level)
    version = str(info.registered_model_version)
    client = mlflow.MlflowClient()
    for key, value in (tags or {}).items():
        client.set_model_version_tag(registered_name, version, key, value)
    return version


def load_pmt_model(model_uri: str) -> Any:
    """The fitted scikit-learn pipeline of a logged PMT model (pyfunc or older sklearn flavour)."""
    # no check of the model's pinned requirements against this environment: the check scans
    # the metadata of every installed distribution (about a second at every 'targeting score')
    # only to warn; the project's own environment is the one the model was logged from
    loaded = mlflow.pyfunc.load_model(model_uri, suppress_warnings=True)
    try:
        inner = loaded.unwrap_python_model()
    except Exception:
        inner = None
    if isinstance(inner, PMTScorer):
        return inner.model
    return mlflow.sklearn.load_model(model_uri)
