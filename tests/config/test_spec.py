"""Experiment specs are checked in full before any work."""

from __future__ import annotations

from pathlib import Path

import pytest

from targeting.config.experiment import SpecError, load_experiment_spec
from tests.helpers import REPO


def test_default_spec_loads() -> None:
    spec = load_experiment_spec(REPO / "experiments" / "serang-2026.yaml")
    assert spec.name == "serang-2026"
    assert spec.primary_metric == "ee_at_true_share"
    assert len(spec.spec_hash) == 12
    assert {"baseline", "double_capacity"} <= {s.name for s in spec.forecast.scenarios}


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: x\nmodelz: [ols]\nplan:\n  operators: 0\n  visits: 2\ndata:\n  source: files\n"
    )
    with pytest.raises(SpecError) as info:
        load_experiment_spec(path)
    message = str(info.value)
    for needle in ("modelz", "plan.operators", "plan.visits", "data.registry", "data.survey"):
        assert needle in message


def test_hash_changes_with_content(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text("name: x\nseed: 1\n")
    b.write_text("name: x\nseed: 2\n")
    assert load_experiment_spec(a).spec_hash != load_experiment_spec(b).spec_hash


def test_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(SpecError, match="mapping"):
        load_experiment_spec(path)
