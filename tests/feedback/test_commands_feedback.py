"""``targeting ingest``, ``refit`` and ``simulate-rounds`` end to end on a tiny synthetic city."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from targeting.cli.main import main
from targeting.data import schema, state
from targeting.data.synthetic import generate_city
from tests.helpers.state import planned_state

N = 3_000


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    return planned_state(tmp_path_factory.mktemp("feedback"), N)


def _run(capsys, argv: list[str]) -> dict:
    code = main([*argv, "--debug"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_ingest_is_idempotent(setup, capsys) -> None:
    argv = ["ingest", str(setup["outcomes"]), "--state", str(setup["state"]), "--json"]
    first = _run(capsys, argv)
    status_first = pd.read_parquet(setup["state"] / state.STATUS_FILE)
    ledger_first = pd.read_parquet(setup["state"] / state.LEDGER_FILE)
    second = _run(capsys, argv)
    assert first["new_rows"] == first["outcome_rows"] > 0 and first["status_changes"] > 0
    assert second["new_rows"] == 0 and second["duplicate_rows"] == first["outcome_rows"]
    assert second["status_changes"] == 0
    for key in ("hit_rate", "by_kelurahan", "by_desil", "by_operator", "flagged", "ledger_rows"):
        assert first[key] == second[key], key
    assert first["verification_status"] == second["verification_status"]
    pd.testing.assert_frame_equal(status_first, pd.read_parquet(setup["state"] / state.STATUS_FILE))
    pd.testing.assert_frame_equal(ledger_first, pd.read_parquet(setup["state"] / state.LEDGER_FILE))
    assert not set(schema.PII_COLUMNS) & set(status_first.columns)
    hit = first["hit_rate"]
    assert 0 <= hit["realised_low"] <= hit["realised_hit_rate"] <= hit["realised_high"] <= 1


def test_ingest_rejects_malformed_outcomes(setup, capsys) -> None:
    bad = pd.read_csv(setup["outcomes"]).head(3).assign(result="maybe")
    path = setup["tmp"] / "bad.csv"
    bad.to_csv(path, index=False)
    code = main(["ingest", str(path), "--state", str(setup["state"])])
    assert code == 2
    assert "result" in capsys.readouterr().err


def test_refit_registers_new_champion(setup, capsys) -> None:
    main(["ingest", str(setup["outcomes"]), "--state", str(setup["state"]), "--json"])
    capsys.readouterr()
    uri = f"sqlite:///{setup['tmp']}/mlflow.db"
    argv = [
        "refit",
        str(setup["spec"]),
        "--state",
        str(setup["state"]),
        "--fit",
        "ols",
        "--n-boot",
        "20",
        "--tracking-uri",
        uri,
        "--json",
    ]
    first = _run(capsys, argv)
    second = _run(capsys, argv)
    metrics = first["metrics"]
    assert metrics["n_labels"] > 0
    assert abs(metrics["predicted_hit_rate_after"] - metrics["realised_hit_rate"]) <= abs(
        metrics["predicted_hit_rate_before"] - metrics["realised_hit_rate"]
    )
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    name = second["mlflow"]["model_name"]
    champion = client.get_model_version_by_alias(name, "champion").version
    previous = client.get_model_version_by_alias(name, "previous-champion").version
    assert str(champion) == str(second["mlflow"]["champion_version"])
    assert str(previous) == str(first["mlflow"]["champion_version"])
    scores = pd.read_parquet(setup["state"] / state.SCORES_FILE)
    assert list(scores.columns) == ["household_id", "p_extreme", "p_low", "p_high", "desil"]
    assert len(scores) == N
    # the recalibrated champion (kelurahan offsets) scores a registry file like any model
    registry_file = setup["tmp"] / "registry.parquet"
    generate_city(N, seed=2026, survey_fraction=0.05).registry.to_parquet(registry_file)
    scored = _run(
        capsys,
        ["score", str(registry_file), "--output", str(setup["tmp"] / "s.csv")]
        + ["--tracking-uri", uri, "--json"],
    )
    assert scored["scored"] == N
    again = pd.read_csv(setup["tmp"] / "s.csv")
    assert again["p_extreme"].between(0, 1).all()


def test_simulate_rounds_json(setup, capsys) -> None:
    out = _run(
        capsys,
        [
            "simulate-rounds",
            "--spec",
            str(setup["spec"]),
            "--households",
            str(N),
            "--rounds",
            "2",
            "--quiet",
            "--json",
        ],
    )
    assert [r["round"] for r in out["rounds"]] == [1, 2]
    assert {"finds", "cumulative_share_found", "realised_hit_rate", "predicted_hit_rate"} <= set(
        out["rounds"][0]
    )
    assert "not_worse" in out["verdict"]
