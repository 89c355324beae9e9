"""Field types shared by the specs: strict dates, months and the base of every section."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator, WithJsonSchema

__all__ = [
    "Count",
    "IsoDate",
    "IsoDateOrMonth",
    "IsoMonth",
    "LagRange",
    "Range",
    "Section",
    "Share",
]

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONTH = re.compile(r"\d{4}-\d{2}")


class Section(BaseModel):
    """Base of every spec section: unknown keys are errors, and values are checked on change."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)


def _iso_date(value: Any) -> str:
    # YAML reads an unquoted 2025-11-03 as a date; a quoted one stays text
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    if not _DATE.fullmatch(text):
        raise ValueError("must be a date written YYYY-MM-DD, e.g. 2025-11-03")
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError("is not a calendar date (YYYY-MM-DD)") from None
    return text


def _iso_month(value: Any) -> str:
    if isinstance(value, dt.date):
        raise ValueError('must be a month written YYYY-MM (quoted), e.g. "2026-03"')
    text = str(value)
    if not _MONTH.fullmatch(text) or not 1 <= int(text[5:]) <= 12:
        raise ValueError('must be a month written YYYY-MM (quoted), e.g. "2026-03"')
    return text


def _iso_date_or_month(value: Any) -> str:
    if isinstance(value, str) and _MONTH.fullmatch(value):
        return _iso_month(value)
    try:
        return _iso_date(value)
    except ValueError:
        raise ValueError("must be a date YYYY-MM-DD or a month YYYY-MM") from None


IsoDate = Annotated[
    str,
    BeforeValidator(_iso_date),
    WithJsonSchema({"type": "string", "format": "date", "pattern": _DATE.pattern}),
]
"""A calendar date, ``YYYY-MM-DD`` only (kept as that text)."""

IsoMonth = Annotated[
    str,
    BeforeValidator(_iso_month),
    WithJsonSchema({"type": "string", "pattern": _MONTH.pattern}),
]
"""A month, ``YYYY-MM`` only."""

IsoDateOrMonth = Annotated[
    str,
    BeforeValidator(_iso_date_or_month),
    WithJsonSchema({"type": "string", "pattern": r"\d{4}-\d{2}(-\d{2})?"}),
]
"""A date ``YYYY-MM-DD`` or a month ``YYYY-MM``."""

Share = Annotated[float, Field(gt=0, le=1)]
"""A share in (0, 1]."""

Count = Annotated[int, Field(ge=1)]
"""A whole number >= 1."""


def _number(value: Any, whole: bool) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError
    if whole:
        if int(value) != value or value < 0:
            raise TypeError
        return int(value)
    return float(value)


def _range_of(whole: bool) -> Any:
    kind = "whole number >= 0" if whole else "number"

    def check(value: Any) -> Any:
        try:
            if isinstance(value, list | tuple):
                if len(value) != 2:
                    raise TypeError
                low, high = (_number(v, whole) for v in value)
                if low > high:
                    raise ValueError("is a [low, high] range whose low is above its high")
                return (low, high)
            return _number(value, whole)
        except TypeError:
            raise ValueError(f"must be a {kind} or a [low, high] pair of them") from None

    return check


_NUMBER_SCHEMA = {"type": "number"}
_PAIR_SCHEMA = {"type": "array", "items": _NUMBER_SCHEMA, "minItems": 2, "maxItems": 2}

Range = Annotated[
    float | tuple[float, float],
    PlainValidator(_range_of(whole=False)),
    WithJsonSchema({"anyOf": [_NUMBER_SCHEMA, _PAIR_SCHEMA]}),
]
"""A number, or a ``[low, high]`` range drawn per Monte Carlo path."""

LagRange = Annotated[
    int | tuple[int, int],
    PlainValidator(_range_of(whole=True)),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {
                    "type": "array",
                    "items": {"type": "integer", "minimum": 0},
                    "minItems": 2,
                    "maxItems": 2,
                },
            ]
        }
    ),
]
"""A whole number of months >= 0, or a ``[low, high]`` range of them."""
