"""Data specs: bring your own survey as a small YAML file (the typed spec).

A data spec says where a survey file is, which column identifies a household, how the
extreme-poverty label is defined and which columns are proxies. This module checks it (every
problem at once); :func:`targeting.data.adapters.load_data_spec` reads the YAML and checks the
adapter name, and :func:`targeting.data.adapters.load_dataset` returns a
:class:`~targeting.data.household.HouseholdData` (one row per household).

Example (household-level file)::

    name: my-survey
    path: ${SHARED_DATA}/my-survey/households.csv   # or relative to this YAML file
    format: csv
    id_column: hhid
    group_column: district
    weight_column: weight            # optional
    label: {type: consumption, column: cons_pc, line: 400000}
    features:
      numeric: [hh_size, floor_area]
      boolean: [has_fridge]
      categorical: [floor_material]

Example (individual-level file aggregated to households)::

    household_column: idhogar
    aggregate: {head_column: parentesco1, head_value: 1, no_head: drop}
    label: {type: class, column: Target, extreme_value: 1}

or ``adapter: costa_rica`` to use an engineered adapter of :mod:`targeting.data.adapters`
(then ``features`` and ``label`` are not needed).

Label types
-----------
``class``       ``column == extreme_value`` (``extreme_value`` may be a list).
``consumption`` ``column < line`` (consumption or income per capita below the extreme line).
``quantile``    a relative line: ``column <`` its (survey-weighted) ``quantile`` (e.g. 0.2, the
                poorest 20 %). The quantile becomes the line in the column's units, so the
                consumption models (ols, quantile, poverty_weighted, forest) still run.

Derived columns
---------------
A survey rarely ships per-capita consumption. ``derived:`` computes columns, in order, from a
small declared vocabulary (no code), before anything else is read, so the label, features and
weights may name them::

    derived:
      - {name: hh_exp, op: exp, of: log_hh_exp}               # exp(log household expenditure)
      - {name: cons_pc, op: per_capita, of: hh_exp, by: hh_size}
      - {name: total, op: sum, of: [food, nonfood]}
      - {name: food_share, op: ratio, of: food, by: total}
      - {name: log_area, op: log, of: floor_area}

``per_capita`` and ``ratio`` divide ``of`` by ``by`` (which must be > 0); ``log`` needs values > 0;
``sum`` adds two or more columns (a missing component makes the sum missing).

Boolean columns
---------------
``features.boolean`` columns may be coded true/false, yes/no, ya/tidak, y/n, 1/0, or 1/2 (the BPS
convention: 1 = yes, 2 = no), in any case; anything else is an error naming the column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    PositiveFloat,
    PrivateAttr,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from targeting.config.errors import SpecError, problems_from_validation
from targeting.config.types import Section

__all__ = [
    "DERIVED_OPS",
    "LABEL_TYPES",
    "Aggregate",
    "ClassLabel",
    "ConsumptionLabel",
    "DataSpec",
    "DataSpecError",
    "Derived",
    "Features",
    "QuantileLabel",
]

LABEL_TYPES: tuple[str, ...] = ("class", "consumption", "quantile")
DERIVED_OPS: tuple[str, ...] = ("per_capita", "ratio", "log", "exp", "sum")


class DataSpecError(SpecError):
    """A data spec is invalid; the message names the key and how to fix it."""


Scalar = str | int | float | bool


class Aggregate(Section):
    """``aggregate:``: how an individual-level file becomes one row per household."""

    head_column: str = Field(..., description="the column flagging the household head")
    head_value: Scalar = Field(..., description="the value of head_column that marks the head")
    no_head: Literal["drop", "oldest"] = "drop"
    age_column: str | None = None

    @model_validator(mode="after")
    def _oldest_needs_age(self) -> Aggregate:
        if self.no_head == "oldest" and not self.age_column:
            raise PydanticCustomError(
                "spec_rule", "aggregate.age_column is required when aggregate.no_head is 'oldest'"
            )
        return self


class ClassLabel(Section):
    """``column == extreme_value`` (or in the list)."""

    type: Literal["class"]
    column: str
    extreme_value: Scalar | list[Scalar]


class ConsumptionLabel(Section):
    """``column < line``."""

    type: Literal["consumption"]
    column: str
    line: PositiveFloat


class QuantileLabel(Section):
    """``column <`` its (weighted) ``quantile``."""

    type: Literal["quantile"]
    column: str
    quantile: float = Field(..., gt=0, lt=1)


Label = Annotated[ClassLabel | ConsumptionLabel | QuantileLabel, Field(discriminator="type")]


class Derived(Section):
    """One entry of ``derived:``: a new column from existing ones (see the module docstring)."""

    name: str = Field(..., min_length=1, description="the new column")
    op: Literal["per_capita", "ratio", "log", "exp", "sum"]
    of: str | list[str] = Field(..., description="the source column (a list for sum)")
    by: str | None = Field(None, description="the divisor column of per_capita and ratio")

    # a ValueError (not a spec rule) so that the message is prefixed with derived[i]
    @model_validator(mode="after")
    def _operands(self) -> Derived:
        if self.op == "sum":
            if not isinstance(self.of, list) or len(self.of) < 2:
                raise ValueError("(op sum) needs of: a list of two or more columns")
        elif not isinstance(self.of, str):
            raise ValueError(f"(op {self.op}) needs of: one column name (a list is for op sum)")
        if self.op in ("per_capita", "ratio") and not self.by:
            hint = "by: hh_size" if self.op == "per_capita" else "by: total"
            raise ValueError(f"(op {self.op}) needs by: the divisor column, e.g. {hint}")
        if self.op not in ("per_capita", "ratio") and self.by is not None:
            raise ValueError(f"(op {self.op}) takes no by: (only per_capita and ratio); remove it")
        return self

    def sources(self) -> list[str]:
        """The columns this entry reads."""
        cols = list(self.of) if isinstance(self.of, list) else [self.of]
        return cols + ([self.by] if self.by else [])


class Features(Section):
    """``features:``: the proxy columns by kind."""

    numeric: list[str] = Field(default_factory=list)
    boolean: list[str] = Field(default_factory=list)
    categorical: list[str] = Field(default_factory=list)

    def columns(self) -> list[str]:
        """Every proxy column, numeric then boolean then categorical."""
        return [*self.numeric, *self.boolean, *self.categorical]


_NEEDED_WITHOUT_ADAPTER = {
    "id_column": "name the household id column, e.g. id_column: household_id",
    "group_column": "name the area column used to group folds, e.g. group_column: district",
    "label": "define it, e.g. label: {type: class, column: Target, extreme_value: 1}",
    "features": "list the proxies, e.g. features: {numeric: [hh_size], boolean: [has_fridge]} "
    "(or use adapter: costa_rica)",
}


def _missing_without_adapter(raw: dict[str, Any]) -> list[str]:
    """The keys a spec without an adapter must give, one sentence each."""
    if raw.get("adapter") is not None:
        return []
    return [
        f"{key} is required without an adapter; {hint}"
        for key, hint in _NEEDED_WITHOUT_ADAPTER.items()
        if raw.get(key) in (None, "")
    ]


_DERIVED_WORDS = ("per_capita", "transform", "log", "exp", "sum", "ratio", "divide", "size")


def _derived_hint(problem: str) -> str:
    """Point a misplaced transformation (``label: {per_capita: ...}``) to ``derived:``."""
    if problem.startswith("unknown key ") and not problem.startswith("unknown key derived"):
        key = problem.split()[2].rsplit(".", 1)[-1]
        if any(word in key for word in _DERIVED_WORDS):
            return (
                f"{problem}; transformations are declared under derived:, e.g. derived: "
                "[{name: cons_pc, op: per_capita, of: hh_exp, by: hh_size}] and then "
                "label: {column: cons_pc}"
            )
    return problem


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


class DataSpec(Section):
    """A checked data spec (see the module docstring for the keys).

    ``path`` is kept as written; :func:`targeting.data.adapters.resolve_data_path` expands
    ``${SHARED_DATA}`` and resolves it against :attr:`base`, the folder of the YAML file.
    """

    name: str = Field(..., min_length=1, description="a short name of the data set")
    description: str = ""
    path: str = Field(
        ..., min_length=1, description="the file (relative, absolute, ${SHARED_DATA})"
    )
    format: Annotated[Literal["csv"], BeforeValidator(_lower)] = "csv"
    adapter: str | None = Field(None, description="an engineered adapter, e.g. costa_rica")
    id_column: str | None = None
    group_column: str | None = None
    household_column: str | None = None
    aggregate: Aggregate | None = None
    label: Label | None = None
    features: Features | None = None
    weight_column: str | None = None
    group_columns: list[str] = Field(default_factory=list)
    derived: list[Derived] = Field(default_factory=list)

    _base: Path = PrivateAttr(default_factory=Path.cwd)
    _source: str = PrivateAttr(default="<dict>")

    @property
    def base(self) -> Path:
        """The folder relative paths are resolved against."""
        return self._base

    @property
    def source(self) -> str:
        """The spec file (for messages)."""
        return self._source

    @model_validator(mode="after")
    def _complete(self) -> DataSpec:
        if self.adapter is not None:
            return self
        problems = _missing_without_adapter(self.model_dump())
        if self.aggregate is not None and self.household_column is None:
            problems.append(
                "aggregate needs household_column (the column grouping individuals into households)"
            )
        if self.household_column is not None and self.aggregate is None:
            problems.append(
                "household_column needs aggregate: {head_column, head_value} (how to find the head)"
            )
        if self.features is not None:
            used = self.features.columns()
            if not used:
                problems.append("features lists no column; give numeric, boolean or categorical")
            forbidden = {c for c in (self.id_column, self.household_column) if c is not None}
            if self.label is not None:
                forbidden.add(self.label.column)
            leak = sorted(forbidden & set(used))
            if leak:
                problems.append(
                    f"features {leak} is the label source or an id; remove it from features"
                )
        names = [d.name for d in self.derived]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            problems.append(f"derived defines {twice} more than once; give each a new name")
        for i, d in enumerate(self.derived):
            later = [s for s in d.sources() if s in names[i:]]
            if later:
                problems.append(
                    f"derived[{i}] ({d.name}) reads {later}, defined at or after it; "
                    "list derived columns in the order they are computed"
                )
        if problems:
            raise PydanticCustomError("spec_rule", "\n".join(problems))
        return self

    @classmethod
    def from_dict(cls, raw: Any, base: Path | None = None, source: str = "<dict>") -> DataSpec:
        """Check a parsed spec.

        Parameters
        ----------
        raw : dict
        base : pathlib.Path, optional
            Folder relative paths are resolved against (default: the working folder).
        source : str
            Name used in error messages.

        Returns
        -------
        DataSpec

        Raises
        ------
        DataSpecError
            Every problem at once.
        """
        if not isinstance(raw, dict):
            raise DataSpecError(f"{source}: a data spec must be a YAML mapping of keys")
        try:
            spec = cls.model_validate(raw)
        except ValidationError as exc:
            problems = problems_from_validation(exc, cls)
            # the rule across keys runs only on sound values: add its part about missing keys
            problems += [p for p in _missing_without_adapter(raw) if p not in problems]
            problems = [_derived_hint(p) for p in problems]
            raise DataSpecError.from_problems(source, problems) from None
        spec._base = base or Path.cwd()
        spec._source = source
        return spec
