"""Model specifications (``models/*.yaml``): the typed spec of one PMT model.

A spec names an estimator class of :mod:`targeting.pmt`, its parameters, a feature set of
:mod:`targeting.pmt.features` and whether P(extreme) is recalibrated. Example::

    name: ols
    estimator: LogConsumptionOLS
    description: Classic PMT ...
    params: {}
    features: full
    calibrate: false

A spec may declare settings to **tune** (issue 13, the honest protocol): a small grid of the
estimator's parameters, chosen inside every outer cross-validation fold by an inner CV on that
fold's training rows only (:func:`targeting.evaluation.cv.grouped_cross_validate`), and on all
rows for the final model (:func:`targeting.evaluation.cv.fit_final`)::

    tune:
      grid:
        near_weight: [0.0, 0.25, 0.35, 0.5, 0.75, 1.0]
      metric: ee_at_true_share     # what the inner CV minimises (or maximises, for auc)
      folds: 3                     # inner folds

Values in ``params`` stay the setting used when a spec is fitted without tuning; the grid is
tried in the order written (on a tie the earlier value wins).

This module checks the spec's shape (keys and types); the estimator's name and its parameters
are checked against the estimator classes by :func:`targeting.pmt.build.load_specs`, which
builds the pipelines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass

from targeting.config.errors import SpecError, problems_from_validation

# Re-exported for callers that read model specs: the one definition is the city profile's line.
from targeting.data.city import DEFAULT_LINE

__all__ = ["DEFAULT_LINE", "TUNE_METRICS", "ModelSpec", "TuneSpec", "read_model_spec"]

TuneMetric = Literal["ee_at_true_share", "ee_at_10", "ee_at_20", "ee_at_40", "auc"]
TUNE_METRICS: tuple[str, ...] = ("ee_at_true_share", "ee_at_10", "ee_at_20", "ee_at_40", "auc")
"""Metrics an inner loop may tune on: each depends only on the ranking within a fold, so a
monotone recalibration cannot change the choice (what makes the fast inner loop exact)."""


@dataclass(config=ConfigDict(extra="forbid"))
class TuneSpec:
    """Settings of a model chosen by an inner cross-validation (nested CV).

    Attributes
    ----------
    grid : dict of str to list
        Estimator parameter to the values tried (every combination is a candidate, in the order
        written).
    metric : str
        One of :data:`TUNE_METRICS`; each candidate's inner score is the mean over the inner
        folds of the metric computed within each fold.
    folds : int
        Inner folds (grouped and stratified like the outer folds).
    """

    grid: Annotated[dict[str, Annotated[list[Any], Field(min_length=1)]], Field(min_length=1)]
    metric: TuneMetric = "ee_at_true_share"
    folds: Annotated[int, Field(ge=2)] = 3

    def candidates(self) -> list[dict[str, Any]]:
        """Every combination of the grid, the first key varying slowest.

        Returns
        -------
        list of dict
        """
        out: list[dict[str, Any]] = [{}]
        for key, values in self.grid.items():
            out = [{**c, key: v} for c in out for v in values]
        return out


@dataclass(config=ConfigDict(extra="forbid", populate_by_name=True))
class ModelSpec:
    """One PMT model specification.

    Attributes
    ----------
    name : str
    estimator : str
        A key of :data:`targeting.pmt.build.ESTIMATORS`.
    params : dict
        Constructor parameters of the estimator.
    feature_set : str
        A key of :data:`targeting.pmt.features.FEATURE_SETS` (YAML key ``features``).
    calibrate : bool
        Recalibrate P(extreme) on held-out training areas (:class:`CalibratedPMT`).
    description : str
    tune : TuneSpec or None
        Parameters chosen by an inner CV inside every training fold (YAML key ``tune``).
    """

    name: str
    estimator: str
    params: dict[str, Any] = Field(default_factory=dict)
    feature_set: str = Field(default="full", alias="features")
    calibrate: bool = False
    description: str = ""
    tune: TuneSpec | None = None

    @classmethod
    def from_yaml(cls, path: str | Path) -> ModelSpec:
        """Read a spec from a YAML file (shape only; see the module docstring).

        Raises
        ------
        SpecError
            Listing every problem of the file.
        """
        return read_model_spec(path)


_ADAPTER = TypeAdapter(ModelSpec)


def read_model_spec(path: str | Path) -> ModelSpec:
    """Read and check the shape of one ``models/*.yaml`` file.

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    ModelSpec

    Raises
    ------
    SpecError
        Every problem of the file, one sentence each.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise SpecError(f"{path}: a model spec must be a mapping of keys (name:, estimator:, ...)")
    if "params" in data and data["params"] is None:
        data["params"] = {}
    if isinstance(data.get("description"), str):
        data["description"] = data["description"].strip()
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise SpecError.from_problems(str(path), problems_from_validation(exc, ModelSpec)) from None
