"""Model specifications (``models/*.yaml``): the typed spec of one PMT model.

A spec names an estimator class of :mod:`targeting.pmt`, its parameters, a feature set of
:mod:`targeting.pmt.features` and whether P(extreme) is recalibrated. Example::

    name: ols
    estimator: LogConsumptionOLS
    description: Classic PMT ...
    params: {}
    features: full
    calibrate: false

This module checks the spec's shape (keys and types); the estimator's name and its parameters
are checked against the estimator classes by :func:`targeting.pmt.build.load_specs`, which
builds the pipelines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass

from targeting.config.errors import SpecError, problems_from_validation

# Re-exported for callers that read model specs: the one definition is the city profile's line.
from targeting.data.city import DEFAULT_LINE

__all__ = ["DEFAULT_LINE", "ModelSpec", "read_model_spec"]


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
    """

    name: str
    estimator: str
    params: dict[str, Any] = Field(default_factory=dict)
    feature_set: str = Field(default="full", alias="features")
    calibrate: bool = False
    description: str = ""

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
