"""``targeting refit`` replaces ``scores.parquet`` under the state folder's lock, as a set.

A run (or an ingestion) on the same folder holds the lock for its whole length: a refit started
meanwhile must fail at once, naming the folder, and write nothing; a refit alone stages its
scores and swaps them in, leaving no staging folder behind.
"""

from __future__ import annotations

import pandas as pd
import pytest

from targeting.cli.main import main
from targeting.data import state
from targeting.data.outputs import OutputSet
from tests.helpers.state import planned_state


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    planned = planned_state(tmp_path_factory.mktemp("refit-lock"), 1_500)
    assert main(["ingest", str(planned["outcomes"]), "--state", str(planned["state"])]) == 0
    return planned


def _refit(setup) -> list[str]:
    return [
        "refit",
        str(setup["spec"]),
        "--state",
        str(setup["state"]),
        "--fit",
        "ols",
        "--n-boot",
        "10",
        "--no-tracking",
        "--json",
    ]


def test_refit_waits_for_nobody_and_overwrites_nothing_while_a_run_writes(setup, capsys) -> None:
    folder = setup["state"]
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    with OutputSet(folder):  # what a run or an ingestion holds while it writes the folder
        code = main(_refit(setup))
    captured = capsys.readouterr()
    assert code != 0
    assert "another targeting run or ingest is writing" in captured.err
    assert len(captured.err.strip().splitlines()) == 1 and "Traceback" not in captured.err
    after = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    assert after == before


def test_refit_alone_swaps_its_scores_in(setup, capsys) -> None:
    folder = setup["state"]
    before = pd.read_parquet(folder / state.SCORES_FILE)
    assert main(_refit(setup)) == 0
    capsys.readouterr()
    after = pd.read_parquet(folder / state.SCORES_FILE)
    assert len(after) == len(before) and not after["p_extreme"].equals(before["p_extreme"])
    leftovers = [p.name for p in folder.parent.iterdir() if ".staging-" in p.name]
    assert leftovers == []
    # and a run on the folder right after is not blocked by a stale lock
    with OutputSet(folder) as outset:
        assert outset.staging.exists()


def test_a_run_started_during_a_refit_stops_at_once(setup, capsys, monkeypatch) -> None:
    import targeting.pipeline as pipeline

    real = pipeline.recalibrate_on_outcomes
    during: dict[str, object] = {}

    def recalibrate_while_a_run_starts(*args, **kwargs):
        # the refit holds the state folder: a run on the same folder must not write into it
        during["code"] = main(["run", str(setup["spec"]), "--no-tracking", "--quiet"])
        during["err"] = capsys.readouterr().err
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "recalibrate_on_outcomes", recalibrate_while_a_run_starts)
    before = (setup["state"] / "plan.csv").read_bytes()
    assert main(_refit(setup)) == 0
    assert during["code"] == 2
    assert "another targeting run or ingest is writing" in str(during["err"])
    assert (setup["state"] / "plan.csv").read_bytes() == before
