"""Model specifications (``models/*.yaml``) and the pipelines built from them.

A spec names an estimator class of :mod:`targeting.pmt`, its parameters, a feature set of
:mod:`targeting.pmt.features` and whether P(extreme) is recalibrated. Example::

    name: ols
    estimator: LogConsumptionOLS
    description: Classic PMT ...
    params: {}
    features: full
    calibrate: false
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from targeting.pmt.calibration import CalibratedPMT
from targeting.pmt.classifiers import BoostingPMT, LogitPMT
from targeting.pmt.features import make_feature_set
from targeting.pmt.linear import DEFAULT_LINE, LogConsumptionOLS, PovertyWeightedPMT, QuantilePMT

__all__ = ["DEFAULT_LINE", "ESTIMATORS", "ModelSpec", "build_model", "fit_model", "load_specs"]


def _estimators() -> dict[str, type]:
    from targeting.pmt.ensemble import OrdinalEnsemblePMT
    from targeting.pmt.forest import ForestPMT
    from targeting.pmt.scorecard import ScorecardPMT

    return {
        "LogConsumptionOLS": LogConsumptionOLS,
        "QuantilePMT": QuantilePMT,
        "PovertyWeightedPMT": PovertyWeightedPMT,
        "LogitPMT": LogitPMT,
        "BoostingPMT": BoostingPMT,
        "ForestPMT": ForestPMT,
        "ScorecardPMT": ScorecardPMT,
        "OrdinalEnsemblePMT": OrdinalEnsemblePMT,
    }


ESTIMATORS: dict[str, type] = _estimators()
"""Estimator classes a spec may name."""

_KEYS = {"name", "estimator", "params", "features", "feature_set", "calibrate", "description"}


@dataclass
class ModelSpec:
    """One PMT model specification.

    Attributes
    ----------
    name : str
    estimator : str
        A key of :data:`ESTIMATORS`.
    params : dict
        Constructor parameters of the estimator.
    feature_set : str
        A key of :data:`targeting.pmt.features.FEATURE_SETS` (YAML key ``features``).
    calibrate : bool
        Recalibrate P(extreme) on held-out training areas (:class:`CalibratedPMT`).
    description : str
    """

    name: str
    estimator: str
    params: dict[str, Any] = field(default_factory=dict)
    feature_set: str = "full"
    calibrate: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        if self.estimator not in ESTIMATORS:
            raise ValueError(
                f"model {self.name!r}: unknown estimator {self.estimator!r}; "
                f"known: {', '.join(sorted(ESTIMATORS))}"
            )
        self.params = dict(self.params or {})

    @classmethod
    def from_yaml(cls, path: str | Path) -> ModelSpec:
        """Read a spec from a YAML file.

        Parameters
        ----------
        path : str or pathlib.Path

        Returns
        -------
        ModelSpec

        Raises
        ------
        ValueError
            On unknown keys or an unknown estimator (the message names the file and the key).
        """
        path = Path(path)
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a model spec must be a mapping")
        unknown = set(data) - _KEYS
        if unknown:
            raise ValueError(f"{path}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_KEYS)}")
        for key in ("name", "estimator"):
            if key not in data:
                raise ValueError(f"{path}: missing key {key!r}")
        return cls(
            name=str(data["name"]),
            estimator=str(data["estimator"]),
            params=dict(data.get("params") or {}),
            feature_set=str(data.get("features", data.get("feature_set", "full"))),
            calibrate=bool(data.get("calibrate", False)),
            description=str(data.get("description", "")).strip(),
        )


def _models_folder(folder: str | Path) -> Path:
    path = Path(folder)
    if path.is_dir() or path.is_absolute():
        return path
    repo = Path(__file__).resolve().parents[2] / path
    return repo if repo.is_dir() else path


def load_specs(folder: str | Path = "models", names: list[str] | None = None) -> list[ModelSpec]:
    """Load the model specs of a folder.

    Parameters
    ----------
    folder : str or pathlib.Path, default "models"
        A relative folder that does not exist in the working directory is looked up in the
        source tree's root.
    names : list of str, optional
        Keep only these specs, in this order.

    Returns
    -------
    list of ModelSpec

    Raises
    ------
    FileNotFoundError
        If the folder does not exist.
    KeyError
        If a requested name has no spec.
    """
    path = _models_folder(folder)
    if not path.is_dir():
        raise FileNotFoundError(f"no model folder {path}")
    specs = {s.name: s for s in (ModelSpec.from_yaml(p) for p in sorted(path.glob("*.yaml")))}
    if names is None:
        return list(specs.values())
    missing = [n for n in names if n not in specs]
    if missing:
        raise KeyError(f"no model spec named {missing} in {path}; known: {sorted(specs)}")
    return [specs[n] for n in names]


def build_model(
    spec: ModelSpec,
    line: float = DEFAULT_LINE,
    features: ColumnTransformer | None = None,
    calibrate: bool | None = None,
    random_state: int | None = 0,
) -> Pipeline:
    """Build the (unfitted) pipeline of a spec.

    Parameters
    ----------
    spec : ModelSpec
    line : float, default DEFAULT_LINE (the city profile's extreme line)
        Extreme-poverty line (IDR per person per month), given to consumption models.
    features : ColumnTransformer, optional
        A feature transformer to use instead of the spec's feature set (cloned).
    calibrate : bool, optional
        Override ``spec.calibrate``.
    random_state : int or None, default 0
        Seed of the calibration hold-out (and of estimators with a ``random_state``, unless the
        spec sets one).

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``features`` and ``model``; ``predict_proba(X)[:, 1]`` is P(extreme).
    """
    cls = ESTIMATORS[spec.estimator]
    params = dict(spec.params)
    accepted = inspect.signature(cls.__init__).parameters
    if "line" in accepted:
        params["line"] = float(line)
    if "random_state" in accepted:
        params.setdefault("random_state", random_state)
    estimator = cls(**params)
    transformer = make_feature_set(spec.feature_set) if features is None else clone(features)
    transformer.set_output(transform="pandas")
    do_calibrate = spec.calibrate if calibrate is None else calibrate
    model = CalibratedPMT(estimator, random_state=random_state) if do_calibrate else estimator
    return Pipeline([("features", transformer), ("model", model)])


def fit_model(
    pipeline_or_spec: Pipeline | ModelSpec,
    X: Any,
    consumption: Any = None,
    label: Any = None,
    sample_weight: Any = None,
    groups: Any = None,
    line: float = DEFAULT_LINE,
    y_ordinal: Any = None,
) -> Pipeline:
    """Fit a pipeline (or a spec's pipeline) on the target its model needs.

    Parameters
    ----------
    pipeline_or_spec : Pipeline or ModelSpec
    X : pandas.DataFrame
        Proxies.
    consumption : array-like, optional
        Consumption per capita (IDR); required by consumption models.
    label : array-like, optional
        The 0/1 extreme label; derived as ``consumption < line`` when not given.
    sample_weight : array-like, optional
    groups : array-like, optional
        Areas, used by the calibration hold-out.
    line : float, default DEFAULT_LINE (the city profile's extreme line)
        Used to build a spec's pipeline and to derive the label.
    y_ordinal : array-like, optional
        An ordered label whose lowest class is the extreme class (Costa Rica's 4-level
        ``Target``; on a consumption survey see
        :func:`targeting.evaluation.zoo.ordinal_from_consumption`). Passed to models whose ``fit``
        accepts ``y_ordinal`` (:class:`~targeting.pmt.ensemble.OrdinalEnsemblePMT`), ignored
        by the others.

    Returns
    -------
    sklearn.pipeline.Pipeline
        The fitted pipeline.

    Raises
    ------
    ValueError
        If the target the model needs is not given.
    """
    if isinstance(pipeline_or_spec, ModelSpec):
        pipeline = build_model(pipeline_or_spec, line=line)
    else:
        pipeline = pipeline_or_spec
    model = pipeline.steps[-1][1]
    if getattr(model, "target_kind", "label") == "consumption":
        if consumption is None:
            raise ValueError("this model is fitted on consumption: pass consumption=")
        y = np.asarray(consumption, dtype=float)
    else:
        if label is None:
            if consumption is None:
                raise ValueError("this model is fitted on the extreme label: pass label=")
            label = np.asarray(consumption, dtype=float) < line
        y = np.asarray(label).astype(int)
    params: dict[str, Any] = {}
    if sample_weight is not None:
        params["model__sample_weight"] = np.asarray(sample_weight, dtype=float)
    if groups is not None and isinstance(model, CalibratedPMT):
        params["model__groups"] = np.asarray(groups)
    if y_ordinal is not None and "y_ordinal" in inspect.signature(model.fit).parameters:
        params["model__y_ordinal"] = np.asarray(y_ordinal)
    return pipeline.fit(X, y, **params)
