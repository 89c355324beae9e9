"""Experiment specifications (``experiments/*.yaml``): loading and checking.

A spec is read once, checked in full (every unknown or ill-typed key reported together), and
turned into plain dataclasses that the rest of the toolkit uses.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["ExperimentSpec", "SpecError", "load_experiment_spec"]


class SpecError(ValueError):
    """Raised when a specification file is malformed; the message names the key and the fix."""


_TOP_KEYS = {
    "name",
    "description",
    "seed",
    "data",
    "models",
    "evaluation",
    "plan",
    "forecast",
    "output",
}
_DATA_KEYS = {
    "source",
    "n_households",
    "survey_fraction",
    "extreme_line",
    "vintage",
    "registry",
    "survey",
    "truth",
    "header_mapping",
}
_EVAL_KEYS = {"n_splits", "n_repeats", "group", "primary_metric", "calibrate", "threads"}
_PLAN_KEYS = {"operators", "visits_per_day", "workdays", "pooling", "start_date"}
_FORECAST_KEYS = {"n_paths", "defaults", "scenarios", "capacity_search"}


@dataclass
class ExperimentSpec:
    """A checked experiment specification.

    Attributes
    ----------
    name : str
        Also the MLflow experiment name.
    raw : dict
        The YAML as read (used for hashing and for the scenario parser).
    path : pathlib.Path or None
        Where it was read from; relative data paths are resolved against its folder.
    """

    name: str
    raw: dict[str, Any]
    path: Path | None = None
    seed: int = 2026
    data: dict[str, Any] = field(default_factory=dict)
    models: list[str] = field(default_factory=lambda: ["ols", "logit", "boosting"])
    evaluation: dict[str, Any] = field(default_factory=dict)
    plan: dict[str, Any] = field(default_factory=dict)
    forecast: dict[str, Any] = field(default_factory=dict)

    @property
    def spec_hash(self) -> str:
        """SHA-256 (first 12 hex digits) of the spec's canonical JSON: two runs with the same hash
        ran the same specification."""
        canonical = json.dumps(self.raw, sort_keys=True, default=str).encode()
        return hashlib.sha256(canonical).hexdigest()[:12]

    @property
    def primary_metric(self) -> str:
        """The metric the champion is chosen by (default: EE at the true extreme share)."""
        return str(self.evaluation.get("primary_metric", "ee_at_true_share"))

    @property
    def extreme_line(self) -> float:
        """The extreme-poverty line, IDR per person per month."""
        from targeting.data.city import load_city_profile

        return float(self.data.get("extreme_line", load_city_profile().extreme_line))

    def resolve(self, relative: str | Path) -> Path:
        """Resolve a data path relative to the spec file's folder (or the working folder)."""
        candidate = Path(relative)
        if candidate.is_absolute() or self.path is None:
            return candidate
        beside = (self.path.parent / candidate).resolve()
        return beside if beside.exists() else candidate.resolve()


def _check_keys(section: str, given: dict[str, Any], allowed: set[str], errors: list[str]) -> None:
    for key in sorted(set(given) - allowed):
        errors.append(f"unknown key {section}{key!r}; allowed: {', '.join(sorted(allowed))}")


def load_experiment_spec(path: str | Path) -> ExperimentSpec:
    """Read and check an experiment spec.

    Parameters
    ----------
    path : path-like
        A YAML file such as ``experiments/serang-2026.yaml``.

    Returns
    -------
    ExperimentSpec

    Raises
    ------
    SpecError
        Listing every problem at once, each with the key and the fix.
    """
    path = Path(path)
    if not path.exists():
        raise SpecError(f"{path}: no such spec file; the default is experiments/serang-2026.yaml")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: expected a mapping of keys (name:, data:, models:, ...)")
    errors: list[str] = []
    _check_keys("", raw, _TOP_KEYS, errors)
    sections: dict[str, dict[str, Any]] = {}
    for key, allowed in [
        ("data", _DATA_KEYS),
        ("evaluation", _EVAL_KEYS),
        ("plan", _PLAN_KEYS),
        ("forecast", _FORECAST_KEYS),
    ]:
        value = raw.get(key, {}) or {}
        if not isinstance(value, dict):
            errors.append(f"{key!r} must be a mapping, got {type(value).__name__}")
            value = {}
        _check_keys(f"{key}.", value, allowed, errors)
        sections[key] = value
    name = raw.get("name") or path.stem
    if not isinstance(name, str) or not name.strip():
        errors.append("'name' must be a non-empty string (it names the MLflow experiment)")
    models = raw.get("models", ["ols", "logit", "boosting"])
    if not isinstance(models, list) or not models or not all(isinstance(m, str) for m in models):
        errors.append("'models' must be a non-empty list of model spec names (files in models/)")
        models = []
    seed = raw.get("seed", 2026)
    if not isinstance(seed, int) or isinstance(seed, bool):
        errors.append(f"'seed' must be a whole number, got {seed!r}")
        seed = 0
    source = sections["data"].get("source", "synthetic")
    if source not in {"synthetic", "files"}:
        errors.append(f"data.source must be 'synthetic' or 'files', got {source!r}")
    if source == "files":
        for needed in ("registry", "survey"):
            if needed not in sections["data"]:
                errors.append(f"data.{needed} is required when data.source is 'files'")
    plan = sections["plan"]
    for key in ("operators", "workdays"):
        if key in plan and (not isinstance(plan[key], int) or plan[key] < 1):
            errors.append(f"plan.{key} must be a whole number >= 1, got {plan[key]!r}")
    if "visits_per_day" in plan and not (
        isinstance(plan["visits_per_day"], int | float) and plan["visits_per_day"] > 0
    ):
        errors.append(f"plan.visits_per_day must be a number > 0, got {plan['visits_per_day']!r}")
    if errors:
        raise SpecError(f"{path}: {len(errors)} problem(s):\n  " + "\n  ".join(errors))
    return ExperimentSpec(
        name=str(name),
        raw=raw,
        path=path.resolve(),
        seed=int(seed),
        data=sections["data"],
        models=list(models),
        evaluation=sections["evaluation"],
        plan=plan,
        forecast=sections["forecast"],
    )
