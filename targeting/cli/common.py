"""Helpers shared by the sub-commands: output formatting and the help formatter."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

import pandas as pd

from targeting.data.packaged import DEFAULT_EXPERIMENT, experiment_path

if TYPE_CHECKING:
    from targeting.config.experiment import ExperimentSpec

__all__ = ["DEFAULT_SPEC", "Formatter", "load_spec", "print_json", "table"]

DEFAULT_SPEC = DEFAULT_EXPERIMENT


def load_spec(path: str | None) -> ExperimentSpec:
    """Load the experiment spec a command was given; a relative path missing from the working
    folder (such as the default) falls back to the packaged spec of the same name."""
    # the spec types (pydantic) load when a command reads a spec: 'targeting score' never does
    from targeting.config.experiment import load_experiment_spec

    return load_experiment_spec(experiment_path(path))


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples in each command's epilog as written."""


def print_json(payload: dict[str, Any]) -> None:
    """Print one JSON object (sorted keys) on standard output."""
    print(json.dumps(payload, indent=2, sort_keys=True, default=str, ensure_ascii=False))


def table(frame: pd.DataFrame, floatfmt: str = "{:.3f}") -> str:
    """Format a frame as a plain-text table, floats with ``floatfmt``."""
    shown = frame.copy()
    for column in shown.columns:
        if pd.api.types.is_float_dtype(shown[column]):
            shown[column] = shown[column].map(lambda v: "" if pd.isna(v) else floatfmt.format(v))
    return shown.to_string(index=False)
