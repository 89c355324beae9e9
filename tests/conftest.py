"""Shared fixtures: one small tracked cycle per test session (report, serving, compare, privacy).

``small_cycle`` runs ``targeting run --json`` once on a small synthetic city into a temporary
SQLite MLflow store and is shared by every test that asks for it (the cycle's own checks, report,
serving, compare, privacy): the suite runs this cycle once.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from tests.helpers.cli import run_cli, small_spec

SMALL_CYCLE_HOUSEHOLDS = 8_000
"""Registry size of the shared cycle (the synthetic city is generated with the spec's seed)."""


@pytest.fixture(scope="session")
def small_cycle(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One ``targeting run --json`` on a small synthetic city, tracked in a temporary store.

    Returns
    -------
    dict
        ``summary`` (the run's JSON), ``folder``, ``uri`` (sqlite tracking URI), ``out`` (local
        outputs), ``run_id``, ``experiment``, ``spec`` (the raw spec dict), ``n_households``,
        ``seed``.
    """
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

    folder = tmp_path_factory.mktemp("shared-cycle")

    def shrink(raw: dict) -> None:
        raw["data"]["n_households"] = SMALL_CYCLE_HOUSEHOLDS
        # models are compared on the survey's unreached households: a quarter of the small city
        # gives them a few dozen extreme-poor ones to learn from (5 % would give about seven)
        raw["data"]["survey_fraction"] = 0.25
        # two quick models, plus any model a forecast scenario ranks by
        ranked_by = [s["model"] for s in raw["forecast"].get("scenarios", []) if s.get("model")]
        raw["models"] = list(dict.fromkeys(["ols", "logit", *ranked_by]))
        raw["evaluation"]["n_splits"] = 3
        raw["forecast"]["n_paths"] = 200

    spec_path, raw = small_spec(folder, "serang-shared", shrink)
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    out = folder / "outputs"
    code, stdout, _ = run_cli(
        ["run", str(spec_path), "--json", "--quiet", "--output", str(out), "--tracking-uri", uri]
    )
    assert code == 0
    summary = json.loads(stdout)
    return {
        "summary": summary,
        "folder": folder,
        "uri": uri,
        "out": out,
        "run_id": summary["mlflow"]["run_id"],
        "experiment": raw["name"],
        "spec": raw,
        "n_households": SMALL_CYCLE_HOUSEHOLDS,
        "seed": int(raw["seed"]),
    }
