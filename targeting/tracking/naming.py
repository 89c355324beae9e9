"""Names in the model registry (no mlflow import: cheap for the CLI and for ``doctor``)."""

from __future__ import annotations

__all__ = ["registered_model_name"]


def registered_model_name(experiment: str) -> str:
    """The registered model name of an experiment: ``<experiment>-pmt``.

    One name per experiment, so that running another spec never moves this one's champion.
    """
    return f"{experiment}-pmt"
