"""Experiment specs (``experiments/*.yaml``): typed, checked in full, each default declared once.

Every section is a pydantic model whose fields carry the one default of each setting; the rest
of the toolkit reads ``spec.plan.operators``, never ``spec.plan.get("operators", 67)``. A spec
is read once and checked in full: unknown keys (with a "did you mean"), ill-typed values, bad
dates and out-of-range numbers are all reported together in one :class:`SpecError`, one sentence
each, before any data is read. Command-line numbers go through the same types
(:meth:`ExperimentSpec.with_overrides`). :func:`experiment_json_schema` gives the JSON Schema
that ``experiments/experiment.schema.json`` holds for editor completion.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    Field,
    NonNegativeInt,
    PositiveFloat,
    PrivateAttr,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from targeting.config.errors import SpecError, problems_from_validation
from targeting.config.types import (
    Count,
    IsoDate,
    IsoDateOrMonth,
    IsoMonth,
    LagRange,
    Range,
    Section,
    Share,
)
from targeting.data.city import DEFAULT_LINE, load_city_profile

__all__ = [
    "AUTO",
    "DEFAULT_AUDIT_SHARE",
    "DEFAULT_N_REPEATS",
    "DEFAULT_N_SPLITS",
    "DEFAULT_SPEC_NAME",
    "DEFAULT_STRATIFY",
    "POOLINGS",
    "PRIMARY_METRICS",
    "CapacitySearch",
    "DataSection",
    "EvaluationSection",
    "ExperimentSpec",
    "ForecastSection",
    "PlanSection",
    "ScenarioSpec",
    "SpecError",
    "experiment_json_schema",
    "load_experiment_spec",
    "resolve_relative_dates",
    "write_experiment_schema",
]

DEFAULT_SPEC_NAME = "experiments/serang-2026.yaml"

DEFAULT_AUDIT_SHARE = 0.05
"""Default ``plan.audit_share``: the share of each plan's visits given to the audit sample."""

AUTO = "auto"
"""A date key set to ``auto`` follows the calendar (see :func:`resolve_relative_dates`)."""

#: How operators are tied to places (see :class:`targeting.plan.ranking.PlanCapacity`).
Pooling = Literal["kelurahan", "kecamatan", "city"]
POOLINGS: tuple[str, ...] = ("kelurahan", "kecamatan", "city")

#: The metrics the cross-validation reports for each model, any of which may choose the champion.
PrimaryMetric = Literal[
    "ee_at_true_share",
    "ie_at_true_share",
    "ee_at_10",
    "ie_at_10",
    "ee_at_20",
    "ie_at_20",
    "ee_at_40",
    "ie_at_40",
    "auc",
    "brier",
    "ece",
]
PRIMARY_METRICS: tuple[str, ...] = PrimaryMetric.__args__  # type: ignore[attr-defined]
# Their direction has one owner: targeting.evaluation.metrics.greater_is_better.

# The one cross-validation protocol (targeting.evaluation.cv re-exports these): the spec's
# evaluation section, 'targeting evaluate' and the CV engine all default to them.
DEFAULT_N_SPLITS = 5
"""Folds per repeat when neither the spec nor the command line says otherwise."""
DEFAULT_N_REPEATS = 1
"""Repeats of the fold assignment by default."""
DEFAULT_STRATIFY = False
"""Whether folds balance the extreme share by default (``StratifiedGroupKFold``)."""


class DataSection(Section):
    """``data:``: where the survey and registry come from."""

    source: Literal["synthetic", "files"] = Field(
        "synthetic", description="'synthetic' (the embedded city) or 'files' (registry+survey)"
    )
    n_households: Count = Field(
        load_city_profile().households, description="synthetic registry size (the city's)"
    )
    survey_fraction: Share = Field(0.05, description="synthetic survey share of the registry")
    extreme_line: PositiveFloat = Field(
        DEFAULT_LINE, description="extreme-poverty line, IDR per person per month"
    )
    vintage: str | None = Field(None, description="data vintage shown in reports, e.g. '2025-10'")
    registry: str | None = Field(None, description="registry file (source: files)")
    survey: str | None = Field(None, description="survey file (source: files)")
    truth: str | None = Field(None, description="optional truth file (synthetic checks)")
    header_mapping: str | None = Field(
        "default", description="'default', 'none' or a header-mapping YAML path"
    )

    @model_validator(mode="after")
    def _files_need_paths(self) -> DataSection:
        if self.source == "files":
            missing = [k for k in ("registry", "survey") if getattr(self, k) is None]
            if missing:
                names = " and ".join(f"data.{k}" for k in missing)
                raise PydanticCustomError(
                    "spec_rule", f"{names} required when data.source is 'files'"
                )
        return self


class EvaluationSection(Section):
    """``evaluation:``: the cross-validation protocol and the champion's metric."""

    n_splits: int = Field(
        DEFAULT_N_SPLITS, ge=2, description="folds of the grouped cross-validation"
    )
    n_repeats: Count = Field(DEFAULT_N_REPEATS, description="repeats of the cross-validation")
    group: Literal["kelurahan", "kecamatan"] = Field(
        "kelurahan", description="the area folds are grouped by"
    )
    primary_metric: PrimaryMetric = Field(
        "ee_at_true_share", description="the metric the champion is chosen by"
    )
    calibrate: bool | None = Field(
        None, description="recalibrate every model (default: as each model spec says)"
    )
    threads: Count = Field(1, description="native threads for model fitting")
    # chosen by benchmarks/selection_methods.py on seeds not reported (see pmt/selection.py)
    selection: Literal["unreached", "input", "two_part", "none"] = Field(
        "unreached",
        description=(
            "how models estimate P(extreme | proxies, not reached) when the survey records "
            "programme receipt ('none': P(extreme | proxies) on all households)"
        ),
    )
    selection_calibration_cv: NonNegativeInt = Field(
        5, description="folds of the out-of-fold recalibration of selection-aware models (0: off)"
    )
    # map and locality chosen by benchmarks/unreached_bias.py on seeds 101-104 (see
    # pmt/selection.py and benchmarks/README.md), not on the reported seeds 2026-2035
    selection_calibration_map: Literal["residual", "beta"] = Field(
        "residual",
        description=(
            "the out-of-fold recalibration map: 'residual' (the distribution of standardised "
            "residuals replaces the normal one) or 'beta' (three parameters on the labels)"
        ),
    )
    selection_calibration_locality: PositiveFloat | None = Field(
        1.0,
        description=(
            "'residual' map only: kernel width (in residual standard deviations) over which "
            "the residual distribution may change along the range (none: one distribution)"
        ),
    )


class PlanSection(Section):
    """``plan:``: the field capacity of one plan period."""

    operators: Count = Field(67, description="field operators")
    visits_per_day: PositiveFloat = Field(2.0, description="visits per operator-day")
    workdays: Count = Field(20, description="workdays in the plan period")
    pooling: Pooling = Field("kecamatan", description="how operators are tied to places")
    start_date: IsoDate = Field(
        "2025-11-03", description="first workday, YYYY-MM-DD (or 'auto': the next workday)"
    )
    allocation: Literal["finds", "eligible"] = Field(
        "finds",
        description="spread operators over pools by expected finds, or by eligible households",
    )
    pool_floor: bool = Field(True, description="at least one operator per pool")
    audit_share: float = Field(
        DEFAULT_AUDIT_SHARE,
        ge=0.0,
        lt=1.0,
        description="share of each plan's visits given to the random audit sample",
    )


class ScenarioSpec(Section):
    """One forecast scenario (or ``forecast.defaults``): every key optional.

    The defaults live in :class:`targeting.forecast.scenarios.Scenario`; a key given here
    overrides ``forecast.defaults``, which overrides those.
    """

    name: str | None = None
    operators: NonNegativeInt | None = None
    visits_per_day: Range | None = None
    workdays_per_month: NonNegativeInt | None = None
    enrolment_lag_months: LagRange | None = None
    exit_rate_per_year: Range | None = None
    entry_rate_per_year: Range | None = None
    graduation_rate_per_year: Range | None = None
    shock_month: IsoMonth | None = None
    shock_size: Range | None = None
    start: IsoMonth | None = None
    end: IsoMonth | None = None
    deadline: IsoDateOrMonth | None = None
    tolerance: NonNegativeInt | None = None
    model: str | None = Field(None, description="rank the visits by this model of 'models:'")

    def given(self) -> dict[str, Any]:
        """The keys the YAML gave (the others fall back to the defaults)."""
        return self.model_dump(exclude_unset=True)


class CapacitySearch(Section):
    """``forecast.capacity_search:``: the inverse question (capacity for a chance of the goal)."""

    target_p: float = Field(0.8, gt=0, lt=1, description="chance of the goal to reach")
    n_paths: Count | None = Field(
        None, description="paths per evaluation (default min(forecast.n_paths, 500))"
    )
    max_operators: Count | None = None
    max_visits_per_day: PositiveFloat | None = None
    tornado_metric: Literal["p_goal", "p_near_zero", "deadline_median"] = "deadline_median"

    def paths(self, n_paths: int) -> int:
        """Paths per evaluation when the forecast runs ``n_paths`` paths per scenario."""
        return self.n_paths if self.n_paths is not None else min(n_paths, 500)


class ForecastSection(Section):
    """``forecast:``: Monte Carlo paths, scenario defaults, scenarios, capacity search."""

    n_paths: Count = Field(2000, description="Monte Carlo paths per scenario")
    defaults: ScenarioSpec = Field(default_factory=ScenarioSpec)
    scenarios: list[ScenarioSpec] = Field(
        default_factory=list, description="what-ifs; none = one scenario of the defaults"
    )
    capacity_search: CapacitySearch = Field(default_factory=CapacitySearch)

    @model_validator(mode="after")
    def _unique_names(self) -> ForecastSection:
        names = [s.name for s in self.scenarios if s.name is not None]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise PydanticCustomError(
                "spec_rule",
                "forecast.scenarios names must be unique; repeated: {dup}",
                {"dup": ", ".join(dup)},
            )
        return self

    def ranking_models(self) -> set[str]:
        """Models the scenarios rank visits by (besides the champion)."""
        return {s.model for s in [self.defaults, *self.scenarios] if s.model}


class ExperimentSpec(Section):
    """A checked experiment specification.

    ``raw`` is the YAML as read (hashed into :attr:`spec_hash` and logged), ``path`` the file it
    came from; relative data paths are resolved against its folder (:meth:`resolve`).
    """

    name: str = Field(..., min_length=1, description="also the MLflow experiment name")
    description: str = ""
    seed: NonNegativeInt = Field(2026, description="seed of every random draw")
    data: DataSection = Field(default_factory=DataSection)
    models: list[str] = Field(
        ["ols", "logit", "boosting"], min_length=1, description="model specs (files in models/)"
    )
    evaluation: EvaluationSection = Field(default_factory=EvaluationSection)
    plan: PlanSection = Field(default_factory=PlanSection)
    forecast: ForecastSection = Field(default_factory=ForecastSection)
    output: str | None = Field(None, description="output folder (default outputs/<name>)")

    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)
    _path: Path | None = PrivateAttr(default=None)

    @property
    def raw(self) -> dict[str, Any]:
        """The YAML as read."""
        return self._raw

    @property
    def path(self) -> Path | None:
        """The spec file, resolved (None for a spec built in memory)."""
        return self._path

    @property
    def spec_hash(self) -> str:
        """SHA-256 (first 12 hex digits) of the spec's canonical JSON: two runs with the same hash
        ran the same specification."""
        canonical = json.dumps(self._raw, sort_keys=True, default=str).encode()
        return hashlib.sha256(canonical).hexdigest()[:12]

    @property
    def primary_metric(self) -> str:
        """The metric the champion is chosen by."""
        return self.evaluation.primary_metric

    @property
    def extreme_line(self) -> float:
        """The extreme-poverty line, IDR per person per month."""
        return float(self.data.extreme_line)

    def resolve(self, relative: str | Path) -> Path:
        """Resolve a data path relative to the spec file's folder (or the working folder)."""
        candidate = Path(relative)
        if candidate.is_absolute() or self._path is None:
            return candidate
        beside = (self._path.parent / candidate).resolve()
        return beside if beside.exists() else candidate.resolve()

    def with_overrides(
        self, overrides: Mapping[str, Any], options: Mapping[str, str] | None = None
    ) -> ExperimentSpec:
        """A copy with some settings replaced, checked by the same types as the YAML.

        Parameters
        ----------
        overrides : mapping
            Dotted key paths to new values, e.g. ``{"forecast.n_paths": 500}``; None values
            are skipped (an option the user did not give).
        options : mapping, optional
            Key path to the command-line option that set it (``{"forecast.n_paths":
            "--n-paths"}``), named in the messages.

        Returns
        -------
        ExperimentSpec
            ``raw`` and ``spec_hash`` stay those of the file.

        Raises
        ------
        SpecError
            Listing every bad value.
        """
        given = {k: v for k, v in overrides.items() if v is not None}
        if not given:
            return self
        values = self.model_dump(exclude_unset=True)
        for dotted, value in given.items():
            parts = dotted.split(".")
            node = values
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = value
        try:
            copy = type(self).model_validate(values)
        except ValidationError as exc:
            problems = problems_from_validation(exc, type(self))
            labels = options or {}
            named = []
            for sentence in problems:
                for dotted, option in labels.items():
                    if sentence.startswith(dotted + " "):
                        sentence = f"{option} ({dotted}){sentence[len(dotted) :]}"
                named.append(sentence)
            raise SpecError.from_problems("command-line options", named) from None
        copy._raw, copy._path = self._raw, self._path
        return copy

    @classmethod
    def from_mapping(
        cls, raw: Mapping[str, Any], path: Path | None = None, source: str = "<spec>"
    ) -> ExperimentSpec:
        """Check a parsed spec (see :func:`load_experiment_spec`)."""
        values = dict(raw)
        if path is not None and values.get("name") in (None, ""):
            values["name"] = path.stem
        # YAML's 'key:' with nothing after it reads as None: the section's defaults
        for key in ("data", "evaluation", "plan", "forecast"):
            if key in values and values[key] is None:
                values[key] = {}
        try:
            spec = cls.model_validate(values)
        except ValidationError as exc:
            raise SpecError.from_problems(source, problems_from_validation(exc, cls)) from None
        spec._raw, spec._path = dict(raw), path
        return spec


def resolve_relative_dates(raw: dict[str, Any], today: Any = None) -> dict[str, Any]:
    """Replace ``auto`` dates of a raw spec by dates relative to ``today``, in place.

    ``data.vintage`` and the forecast's ``start`` (defaults and scenarios) become the current
    month; ``plan.start_date`` the next workday (Monday–Friday) after today. So the embedded
    default always plans and forecasts from the month a planner opens it, never a year ago.
    ``targeting run`` moves the plan's start on from the working state (the next period after
    the last plan) or ``--start``.

    Parameters
    ----------
    raw : dict
        The parsed YAML.
    today : date-like, optional
        Default the machine's date.

    Returns
    -------
    dict
        ``raw``.
    """
    import datetime as dt

    import numpy as np

    day = dt.date.fromisoformat(str(today)[:10]) if today is not None else dt.date.today()
    month = f"{day.year:04d}-{day.month:02d}"
    data = raw["data"] if isinstance(raw.get("data"), dict) else {}
    if data.get("vintage") == AUTO:
        data["vintage"] = month
    plan = raw["plan"] if isinstance(raw.get("plan"), dict) else {}
    if plan.get("start_date") == AUTO:
        nxt = np.busday_offset(np.datetime64(day, "D") + 1, 0, roll="forward")
        plan["start_date"] = str(nxt)
    forecast = raw["forecast"] if isinstance(raw.get("forecast"), dict) else {}
    items = [forecast.get("defaults") or {}, *(forecast.get("scenarios") or [])]
    for item in items:
        if isinstance(item, dict) and item.get("start") == AUTO:
            item["start"] = month
    return raw


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
        Listing every problem at once, each with the key and the values it allows.
    """
    path = Path(path)
    if not path.exists():
        raise SpecError(f"{path}: no such spec file; the default is {DEFAULT_SPEC_NAME}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: expected a mapping of keys (name:, data:, models:, ...)")
    resolve_relative_dates(raw)
    return ExperimentSpec.from_mapping(raw, path=path.resolve(), source=str(path))


def experiment_json_schema() -> dict[str, Any]:
    """The JSON Schema of an experiment spec (``experiments/experiment.schema.json``).

    Editors that read a ``# yaml-language-server: $schema=...`` line complete and check the
    keys of an experiment YAML with it.
    """
    schema = ExperimentSpec.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "targeting experiment spec"
    return schema


def write_experiment_schema(path: str | Path) -> Path:
    """Write :func:`experiment_json_schema` as indented, key-sorted JSON to ``path``."""
    path = Path(path)
    text = json.dumps(experiment_json_schema(), indent=2, sort_keys=True, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path
