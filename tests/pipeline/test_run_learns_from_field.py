"""The next ``targeting run`` learns from what the field found (issue 12).

A small synthetic city, as README's planner walk-through: run → the field simulator answers the
plan → ingest → refit → run again. The second run plans with the champion recalibrated on the
working state's verified unreached households by the same routine as ``refit``: its scores are
the refit's, its summary and report say what it learnt from, and the model it registers scores a
registry file as the plan was scored. A run without labels (``--fresh``) is the first run.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from targeting.data import state
from targeting.data.synthetic import FieldOutcomeSimulator, generate_city
from tests.helpers.cli import quick_cycle, run_cli, small_spec

N = 3_000
SEED = 2026
START = "2026-08-03"


def _edit(raw: dict) -> None:
    raw["data"]["n_households"] = N
    quick_cycle(raw)


def _cli(argv: list[str]) -> dict:
    code, stdout, stderr = run_cli([*argv, "--debug"])
    assert code == 0, stderr
    return json.loads(stdout)


def _scores(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / state.SCORES_FILE).set_index("household_id").sort_index()


@pytest.fixture(scope="module")
def cycle(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("learns")
    spec, raw = small_spec(folder, "learns", _edit)
    assert raw["seed"] == SEED
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    out = folder / "out"
    track = ["--tracking-uri", uri]
    first = _cli(
        ["run", str(spec), "--json", "--quiet", "--output", str(out), "--start", START, *track]
    )
    first = {**first, "plan": (out / "plan.csv").read_bytes(), "scores": _scores(out)}
    first["summary_file"] = json.loads((out / "summary.json").read_text())
    city = generate_city(N, seed=SEED, survey_fraction=0.05)
    plan = pd.read_csv(out / "plan.csv", dtype=str)
    answers = FieldOutcomeSimulator(city.truth, seed=1).respond(plan)
    answers.to_csv(folder / "outcomes.csv", index=False)
    _cli(["ingest", str(folder / "outcomes.csv"), "--state", str(out), "--json"])
    refit = _cli(["refit", str(spec), "--state", str(out), *track, "--json"])
    refit_scores = _scores(out)
    second = _cli(["run", str(spec), "--json", "--quiet", "--output", str(out), *track])
    report_data = json.loads((out / "report_data.json").read_text())
    report = (out / "report_id.html").read_text(encoding="utf-8")
    second_scores = _scores(out)
    registry_file = folder / "registry.parquet"
    city.registry.to_parquet(registry_file)
    scored = _cli(
        ["score", str(registry_file), "--output", str(folder / "scored.csv"), *track, "--json"]
        + ["--experiment", "learns"]
    )
    # a run that ignores the working state plans as the first run did
    fresh_out = folder / "fresh"
    shutil.copytree(out, fresh_out)
    fresh = _cli(
        ["run", str(spec), "--json", "--quiet", "--output", str(fresh_out), "--no-tracking"]
        + ["--fresh", "--start", START]
    )
    return {
        "uri": uri,
        "spec": spec,
        "first": first,
        "refit": refit,
        "refit_scores": refit_scores,
        "second": second,
        "second_scores": second_scores,
        "report_data": report_data,
        "report": report,
        "scored": scored,
        "scored_frame": pd.read_csv(folder / "scored.csv", dtype={"household_id": str}),
        "fresh": fresh,
        "fresh_plan": (fresh_out / "plan.csv").read_bytes(),
        "fresh_scores": _scores(fresh_out),
        "fresh_summary_file": json.loads((fresh_out / "summary.json").read_text()),
    }


def test_second_run_scores_with_the_refits_model(cycle: dict) -> None:
    refit, second = cycle["refit_scores"], cycle["second_scores"]
    first = cycle["first"]["scores"]
    assert list(second.index) == list(refit.index)
    # the same model as the refit's: the same probabilities, intervals and desils
    pd.testing.assert_frame_equal(second, refit, check_exact=False, rtol=1e-12, atol=0)
    # and not the survey model's any more
    assert not np.allclose(second["p_extreme"], first["p_extreme"])


def test_second_run_says_what_it_learnt_from(cycle: dict) -> None:
    metrics = cycle["refit"]["metrics"]
    learnt = cycle["second"]["field_learning"]
    n, e = int(metrics["n_labels"]), int(metrics["n_labels_extreme"])
    assert n > 0 and 0 < e < n
    assert (learnt["n_labels"], learnt["n_labels_extreme"]) == (n, e)
    assert learnt["description"] == (
        f"recalibrated on {n:,} verified unreached households ({e:,} extreme) "
        "from the working state"
    )
    assert learnt["source"] == "working state"
    # the stock the run leads with is the refit's (its interval), not the survey-only ratio
    stock = cycle["second"]["unreached_stock"]
    assert stock["low"] < stock["estimate"] < stock["high"]
    assert stock["estimate"] != pytest.approx(learnt["survey_only_stock"]["estimate"], rel=1e-6)
    # the run leaves out households held back after an inconclusive visit (the refit counts them)
    assert stock["estimate"] <= metrics["expected_unreached_extreme_after"] + 1e-6
    assert stock["estimate"] == pytest.approx(
        cycle["second"]["plan_truth_check"]["estimated_unreached_extreme"]
    )
    lead = cycle["report_data"]["lead"]
    assert lead["estimate"] == pytest.approx(stock["estimate"])
    assert (lead["field"]["n_labels"], lead["field"]["n_labels_extreme"]) == (n, e)
    assert "id='lead-field'" in cycle["report"]
    assert f"{n:,}".replace(",", ".") in cycle["report"]


def test_registered_champion_scores_as_the_plan(cycle: dict) -> None:
    import mlflow

    scored = cycle["scored_frame"].set_index("household_id").sort_index()
    second = cycle["second_scores"]
    np.testing.assert_allclose(
        scored["p_extreme"].to_numpy(), second.loc[scored.index, "p_extreme"].to_numpy(), rtol=1e-9
    )
    client = mlflow.MlflowClient(tracking_uri=cycle["uri"], registry_uri=cycle["uri"])
    version = client.get_model_version_by_alias("learns-pmt", "champion")
    assert str(version.version) == str(cycle["second"]["mlflow"]["champion_version"])
    assert version.tags["learnt_from"] == cycle["second"]["field_learning"]["description"]


def test_a_run_without_labels_is_the_first_run(cycle: dict) -> None:
    first, fresh = cycle["first"], cycle["fresh"]
    assert "field_learning" not in first and "field_learning" not in fresh
    assert cycle["fresh_plan"] == first["plan"]
    pd.testing.assert_frame_equal(cycle["fresh_scores"], first["scores"])

    def comparable(summary: dict) -> dict:
        return {k: v for k, v in summary.items() if k != "outputs"}

    assert comparable(cycle["fresh_summary_file"]) == comparable(first["summary_file"])


def test_forecast_with_the_registered_recalibrated_champion(cycle: dict, tmp_path: Path) -> None:
    # the run's champion takes the kelurahan beside the proxies: a forecast scored with it runs
    out = _cli(
        ["forecast", str(cycle["spec"]), "--model", "models:/learns-pmt@champion"]
        + ["--tracking-uri", cycle["uri"], "--no-tracking", "--n-paths", "20"]
        + ["--capacity-paths", "20", "--output", str(tmp_path), "--json", "--quiet"]
    )
    assert out["scoring_model_how"] == "registered model"
    assert out["start_stock_expected"] > 0


def test_both_plans_carry_an_interval_of_their_finds(cycle: dict) -> None:
    for run in ("first", "second"):
        plan = cycle[run]["plan"] if run == "second" else cycle["first"]["summary_file"]["plan"]
        low, high = plan["expected_finds_low"], plan["expected_finds_high"]
        assert 0 <= low < plan["expected_finds"] < high
    second = cycle["second"]["plan"]
    report_plan = cycle["report_data"]["plan"]
    assert report_plan["expected_finds_low"] == pytest.approx(second["expected_finds_low"])
    assert "id='plan-finds-interval'" in cycle["report"]
