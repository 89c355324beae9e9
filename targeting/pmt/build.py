"""The pipelines built from model specs.

:func:`build_model` and :func:`fit_model` build and fit the pipeline of a spec. The specs are
read and checked against their estimators by :mod:`targeting.pmt.registry` (re-exported here),
which imports no estimator, so a spec typo answers before the scientific imports.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from targeting.config.model import ModelSpec
from targeting.data.city import DEFAULT_LINE
from targeting.pmt.calibration import CalibratedPMT
from targeting.pmt.features import make_feature_set
from targeting.pmt.registry import ESTIMATORS, check_model_spec, load_specs
from targeting.pmt.selection import SelectionAwarePMT

__all__ = [
    "DEFAULT_LINE",
    "ESTIMATORS",
    "ModelSpec",
    "build_model",
    "check_model_spec",
    "fit_model",
    "load_specs",
]


def build_model(
    spec: ModelSpec,
    line: float = DEFAULT_LINE,
    features: ColumnTransformer | None = None,
    calibrate: bool | None = None,
    random_state: int | None = 0,
    selection: str | dict[str, Any] | None = None,
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
    selection : {"unreached", "input", "two_part"} or dict, optional
        Wrap the (calibrated) model in :class:`~targeting.pmt.selection.SelectionAwarePMT`
        (a method name, or a dict of its parameters: ``method``, ``calibration_cv``...), so
        ``predict_proba(X)[:, 1]`` is P(extreme | proxies, not reached) once fitted with
        ``reached=``; None keeps P(extreme | proxies).

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
    if selection is not None:
        options = {"method": selection} if isinstance(selection, str) else dict(selection)
        model = SelectionAwarePMT(model, **options)
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
    reached: Any = None,
    calibration_scores: Any = None,
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
    reached : array-like of bool, optional
        Programme reach of each row, passed to models whose ``fit`` accepts ``reached``
        (:class:`~targeting.pmt.selection.SelectionAwarePMT`), ignored by the others.
    calibration_scores : array-like, optional
        Out-of-fold scores of the rows from a nested CV's inner loop, passed to models whose
        ``fit`` accepts ``calibration_scores`` (the ensemble learns its Platt map from them
        instead of cross-fitting again), ignored by the others.

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
    fit_parameters = inspect.signature(model.fit).parameters
    if reached is not None and "reached" in fit_parameters:
        params["model__reached"] = np.asarray(reached).astype(bool)
    if groups is not None and "groups" in fit_parameters:
        params["model__groups"] = np.asarray(groups)
    if y_ordinal is not None and "y_ordinal" in inspect.signature(model.fit).parameters:
        params["model__y_ordinal"] = np.asarray(y_ordinal)
    if calibration_scores is not None and "calibration_scores" in fit_parameters:
        params["model__calibration_scores"] = np.asarray(calibration_scores, dtype=float)
    return pipeline.fit(X, y, **params)
