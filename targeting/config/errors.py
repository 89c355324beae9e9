"""One error type for every spec, and the translation of pydantic's errors into sentences.

Every problem of a spec is reported at once, one sentence each, naming the key path (for example
``plan.pooling``) and the values it allows. Long values are never echoed (a spec may hold paths
or names the user would rather not see in a log).
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import ValidationError

__all__ = ["SpecError", "did_you_mean", "key_path", "problems_from_validation"]

#: Values longer than this (as ``repr``) are not repeated in messages.
_MAX_ECHO = 30


class SpecError(ValueError):
    """A specification is invalid; the message lists every problem, each naming its key and fix.

    Parameters
    ----------
    message : str
        The whole message (a title line, then one problem per line).
    problems : list of str, optional
        The problems, one sentence each (kept for callers that merge several checks).
    """

    def __init__(self, message: str, problems: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.problems: list[str] = list(problems) if problems is not None else [message]

    @classmethod
    def from_problems(cls, source: str, problems: Sequence[str]) -> SpecError:
        """One error listing ``problems`` (one sentence each) under the title ``source``."""
        lines = "\n  ".join(problems)
        return cls(f"{source}: {len(problems)} problem(s):\n  {lines}", problems)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest of ``choices``, or ``""``."""
    close = difflib.get_close_matches(str(word), sorted(map(str, choices)), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def key_path(loc: Sequence[int | str]) -> str:
    """``("forecast", "scenarios", 2, "operators")`` -> ``forecast.scenarios[2].operators``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _echo(value: Any) -> str:
    if isinstance(value, dict | list | tuple | set):
        return ""
    shown = repr(value)
    return f" (got {shown})" if len(shown) <= _MAX_ECHO else ""


def _models_in(annotation: Any) -> list[Any]:
    """The pydantic models an annotation refers to (through Optional, list, Annotated, ...)."""
    if isinstance(annotation, type) and hasattr(annotation, "__pydantic_fields__"):
        return [annotation]
    found: list[Any] = []
    origin = typing.get_origin(annotation)
    if origin is not None or isinstance(annotation, types.UnionType):
        for arg in typing.get_args(annotation):
            found.extend(_models_in(arg))
    return found


def _model_at(root: Any, loc: Sequence[int | str]) -> Any | None:
    """The model class that holds the key at ``loc`` (its last part), or None."""
    current: Any | None = root
    for part in loc[:-1]:
        if isinstance(part, int) or current is None:
            continue
        field = _fields(current).get(part)
        if field is None:
            # a tagged-union member (e.g. label type 'class') appears in loc by its tag
            continue
        models = _models_in(field.annotation)
        current = models[0] if len(models) == 1 else None
        if len(models) > 1:
            # a union: pick the member whose tag is the next part of the path
            index = list(loc).index(part)
            tag = loc[index + 1] if index + 1 < len(loc) else None
            current = next((m for m in models if _tag(m) == tag), None)
    return current


def _bounds(root: Any, loc: Sequence[int | str]) -> str:
    """`` >= 1`` (and so on) for the field at ``loc``, from its declared constraints."""
    model = _model_at(root, loc)
    last = loc[-1] if loc else None
    field = _fields(model).get(last) if model is not None and isinstance(last, str) else None
    if field is None:
        return ""
    words = []
    for item in field.metadata:
        for attr, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            limit = getattr(item, attr, None)
            if limit is not None:
                words.append(f"{sign} {limit}")
    return (" " + " and ".join(words)) if words else ""


def _fields(model: Any) -> dict[str, Any]:
    return dict(getattr(model, "__pydantic_fields__", {}))


def _tag(model: Any) -> str | None:
    field = _fields(model).get("type")
    if field is None:
        return None
    args = typing.get_args(field.annotation)
    return str(args[0]) if len(args) == 1 else None


def _allowed_keys(model: Any | None) -> list[str]:
    if model is None:
        return []
    keys = []
    for name, field in _fields(model).items():
        keys.append(field.alias or name)
    return keys


def _sentence(error: dict[str, Any], root: Any, prefix: Sequence[str]) -> str:
    kind = error["type"]
    raw_loc = list(error["loc"])
    loc = [p for p in raw_loc if not (isinstance(p, str) and p in _union_tags(root))]
    path = key_path([*prefix, *loc])
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind in {"extra_forbidden", "unexpected_keyword_argument"}:
        model = _model_at(root, raw_loc)
        allowed = _allowed_keys(model)
        hint = did_you_mean(str(loc[-1]), allowed)
        where = f"; allowed: {', '.join(allowed)}" if allowed else ""
        return f"unknown key {path}{hint}{where}"
    if kind == "missing":
        return f"{path} is required"
    if kind == "literal_error":
        expected = ctx.get("expected", "")
        hint = did_you_mean(str(value), [e.strip(" '") for e in expected.split(",")])
        return f"{path} must be one of {expected.replace(' or ', ', ')}{_echo(value)}{hint}"
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return f"{path} must be a whole number{_bounds(root, raw_loc)}{_echo(value)}"
    if kind in {"float_parsing", "float_type", "finite_number"}:
        return f"{path} must be a number{_bounds(root, raw_loc)}{_echo(value)}"
    if kind in {"bool_parsing", "bool_type"}:
        return f"{path} must be true or false{_echo(value)}"
    if kind in {"string_type"}:
        return f"{path} must be text{_echo(value)}"
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return f"{path} must be a mapping of keys{_echo(value)}"
    if kind in {"list_type", "tuple_type"}:
        return f"{path} must be a list{_echo(value)}"
    if kind in {"too_short", "too_long"}:
        return f"{path} {error['msg'].lower().replace('list should', 'must')}"
    bounds = {
        "greater_than": ">", "greater_than_equal": ">=", "less_than": "<",
        "less_than_equal": "<=",
    }  # fmt: skip
    if kind in bounds:
        limit = next(iter(ctx.values()), "")
        whole = isinstance(limit, int) and isinstance(value, int)
        if whole and kind == "greater_than":
            # a whole number > 0 reads better as >= 1
            return f"{path} must be a whole number >= {int(limit) + 1}{_echo(value)}"
        noun = "a whole number " if whole else ""
        return f"{path} must be {noun}{bounds[kind]} {limit}{_echo(value)}"
    if kind == "spec_rule":
        return str(error["msg"])
    if kind == "value_error":
        message = str(error["msg"]).removeprefix("Value error, ")
        return (f"{path} {message}" if path else message) + _echo(value)
    if kind == "union_tag_invalid":
        expected = ctx.get("expected_tags", "")
        tag = ctx.get("tag", "")
        hint = did_you_mean(str(tag), [e.strip(" '") for e in expected.split(",")])
        key = str(ctx.get("discriminator", "type")).strip("'")
        return f"{path}.{key} must be one of {expected}{_echo(tag)}{hint}"
    if kind == "union_tag_not_found":
        return f"{path}.type is required (one of the label types)"
    return f"{path}: {error['msg']}"


def _union_tags(root: Any) -> set[str]:
    """Tags of tagged unions anywhere in ``root`` (pydantic adds them to error locations)."""
    tags: set[str] = set()
    seen: set[Any] = set()
    stack = [root]
    while stack:
        model = stack.pop()
        if model in seen:
            continue
        seen.add(model)
        for field in _fields(model).values():
            members = _models_in(field.annotation)
            if len(members) > 1:
                tags.update(t for t in map(_tag, members) if t)
            stack.extend(members)
    return tags


def problems_from_validation(
    exc: ValidationError, root: Any, prefix: Sequence[str] = ()
) -> list[str]:
    """Turn pydantic's errors into one sentence per problem (no pydantic wording or URLs).

    Parameters
    ----------
    exc : pydantic.ValidationError
    root : type of pydantic.BaseModel
        The model that was validated (used to list the keys a section allows).
    prefix : sequence of str
        Key path of ``root`` inside the whole spec.

    Returns
    -------
    list of str
        Sorted by key path, duplicates removed.
    """
    out: list[str] = []
    for error in exc.errors(include_url=False):
        # a rule across keys may report several problems, one per line
        for sentence in _sentence(dict(error), root, prefix).split("\n"):
            if sentence not in out:
                out.append(sentence)
    return out
