"""A small planned working state: a spec, a scored registry, a plan and the field's answers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from targeting.data import schema, state
from targeting.data.synthetic import FieldOutcomeSimulator, generate_city
from targeting.feedback import rounds as loop
from targeting.plan.ranking import PlanCapacity, build_plan
from tests.helpers import REPO


def planned_state(
    tmp: Path, n: int = 3_000, adjust_plan: Callable[[Any, Any, Any], Any] | None = None
) -> dict[str, Any]:
    """Write a tiny spec, plan a small synthetic city into ``tmp/state`` and simulate the field.

    Parameters
    ----------
    tmp : pathlib.Path
    n : int
        Households of the synthetic city.
    adjust_plan : callable, optional
        ``adjust_plan(plan, registry, scores)`` returns the plan to write (e.g. with an audit
        sample added); it is called before the state is written.

    Returns
    -------
    dict
        ``tmp``, ``spec`` (path), ``state`` (folder), ``plan``, ``registry``, ``scores``,
        ``outcomes`` (CSV path of the simulated field results).
    """
    raw = yaml.safe_load((REPO / "experiments" / "serang-2026.yaml").read_text())
    raw["data"]["n_households"] = n
    raw["output"] = str(tmp / "state")
    spec_path = tmp / "experiments" / "tiny.yaml"
    spec_path.parent.mkdir()
    spec_path.write_text(yaml.safe_dump(raw))
    city = generate_city(n, seed=raw["seed"], survey_fraction=0.05)
    registry = schema.validate_registry(city.registry, mode="quarantine").valid
    survey = schema.validate_survey(city.survey, mode="strict").valid
    model = loop.fit_champion(survey, "ols", seed=raw["seed"])
    scores = loop.fast_scores(model, registry, None)
    plan = build_plan(registry, scores, PlanCapacity(operators=6, workdays=10))
    if adjust_plan is not None:
        plan = adjust_plan(plan, registry, scores)
    folder = tmp / "state"
    folder.mkdir()
    plan.plan.to_csv(folder / "plan.csv", index=False)
    state.write_status(registry, folder)
    state.write_scores(scores, folder)
    outcomes = FieldOutcomeSimulator(city.truth, seed=1).respond(plan.plan)
    outcomes.to_csv(tmp / "outcomes.csv", index=False)
    return {
        "tmp": tmp,
        "spec": spec_path,
        "state": folder,
        "plan": plan,
        "registry": registry,
        "scores": scores,
        "outcomes": tmp / "outcomes.csv",
    }
