"""Typed specs: each mistake a new user makes fails at once, before any data is read, with one
sentence naming the key and the values it allows."""

from __future__ import annotations

import contextlib
import io
import json
import time
from pathlib import Path

import pytest
import yaml

from targeting.config.dataset import DataSpec
from targeting.config.experiment import (
    ExperimentSpec,
    SpecError,
    experiment_json_schema,
    load_experiment_spec,
)
from targeting.data.adapters import DataSpecError, load_data_spec
from targeting.data.city import DEFAULT_LINE, load_city_profile
from targeting.evaluation.cv import DEFAULT_N_REPEATS, DEFAULT_N_SPLITS
from targeting.evaluation.metrics import greater_is_better
from targeting.forecast.scenarios import scenarios_from_spec
from targeting.plan.ranking import PlanCapacity
from targeting.pmt.build import load_specs

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "experiments").glob("*.yaml"))


@pytest.fixture
def no_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every way of reading or generating data fail loudly."""

    def read(*args: object, **kwargs: object) -> None:
        raise AssertionError("data was read before the spec was checked")

    monkeypatch.setattr("targeting.pipeline.load_cycle_data", read)
    monkeypatch.setattr("targeting.data.synthetic.generate_city", read)


def _project(tmp_path: Path, raw: dict, models: dict[str, dict] | None = None) -> Path:
    """An experiments/ folder with one spec and a models/ folder beside it."""
    (tmp_path / "experiments").mkdir()
    (tmp_path / "models").mkdir()
    for path in (REPO / "models").glob("*.yaml"):
        (tmp_path / "models" / path.name).write_text(path.read_text())
    for name, spec in (models or {}).items():
        (tmp_path / "models" / f"{name}.yaml").write_text(yaml.safe_dump(spec))
    spec_path = tmp_path / "experiments" / "x.yaml"
    spec_path.write_text(yaml.safe_dump(raw))
    return spec_path


def _cli(argv: list[str]) -> tuple[int, str]:
    from targeting.cli.main import main

    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, err.getvalue()


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        (
            "plan:\n  pooling: district\n",
            ["plan.pooling", "'kelurahan', 'kecamatan', 'city'", "'district'"],
        ),
        ("evaluation:\n  n_splits: five\n", ["evaluation.n_splits", "whole number >= 2"]),
        ("forecast:\n  n_paths: lots\n", ["forecast.n_paths", "whole number >= 1", "'lots'"]),
        ('plan:\n  start_date: "03-11-2025x"\n', ["plan.start_date", "YYYY-MM-DD"]),
        ('plan:\n  start_date: "2025-02-30"\n', ["plan.start_date", "calendar date"]),
        (
            "evalutaion:\n  n_splits: 5\n",
            ["unknown key evalutaion", "did you mean 'evaluation'", "allowed: name,"],
        ),
        (
            "evaluation:\n  primary_metric: ee_at_tru_share\n",
            ["evaluation.primary_metric", "'auc'", "did you mean 'ee_at_true_share'"],
        ),
        (
            "forecast:\n  scenarios:\n    - name: a\n      opertors: 3\n",
            ["forecast.scenarios[0].opertors", "did you mean 'operators'"],
        ),
        (
            "forecast:\n  scenarios:\n    - name: a\n      exit_rate_per_year: [0.1, x]\n",
            ["forecast.scenarios[0].exit_rate_per_year", "[low, high] pair"],
        ),
    ],
)
def test_each_mistake_is_one_sentence_naming_the_key(
    tmp_path: Path, text: str, needles: list[str]
) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("name: x\n" + text)
    started = time.perf_counter()
    with pytest.raises(SpecError) as info:
        load_experiment_spec(path)
    print(f"{text.splitlines()[-1].strip()!r} failed in {time.perf_counter() - started:.3f} s")
    message = str(info.value)
    assert "1 problem(s)" in message
    for needle in needles:
        assert needle in message
    # no pydantic wording or links leak through
    assert "pydantic" not in message and "Input should" not in message


def test_every_problem_at_once_and_no_long_value_echoed(tmp_path: Path) -> None:
    secret = "/home/operator/" + "x" * 80 + ".csv"
    path = tmp_path / "x.yaml"
    path.write_text(
        "name: x\nplan:\n  pooling: district\n  operators: -1\nevaluation:\n  n_splits: five\n"
        f"forecast:\n  n_paths: lots\ndata:\n  n_households: {json.dumps(secret)}\n"
    )
    with pytest.raises(SpecError) as info:
        load_experiment_spec(path)
    assert len(info.value.problems) == 5
    assert secret not in str(info.value) and "data.n_households" in str(info.value)


def test_model_param_typo_fails_at_load_with_suggestion(tmp_path: Path, no_data: None) -> None:
    forest = yaml.safe_load((REPO / "models" / "forest.yaml").read_text())
    forest["params"] = {"n_estimaters": 50}
    spec = _project(tmp_path, {"name": "x", "models": ["ols", "forest"]}, {"forest": forest})
    with pytest.raises(SpecError, match=r"params\.n_estimaters .*did you mean 'n_estimators'"):
        load_specs(tmp_path / "models", names=["forest"])
    started = time.perf_counter()
    code, err = _cli(["run", str(spec), "--no-tracking", "--quiet"])
    print(f"n_estimaters: run exited {code} in {time.perf_counter() - started:.3f} s")
    assert code == 2
    assert "n_estimaters" in err and "did you mean 'n_estimators'" in err
    assert "allowed: line, n_estimators" in err


def test_unknown_model_name_is_suggested(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"no model spec named 'bosting'.*did you mean 'boosting'"):
        load_specs(REPO / "models", names=["ols", "bosting"])


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["run", "--n-paths", "-5"], "--n-paths (forecast.n_paths) must be a whole number >= 1"),
        (["forecast", "--n-paths", "0"], "--n-paths (forecast.n_paths) must be a whole number"),
        (["forecast", "--capacity-paths", "-1"], "--capacity-paths"),
        (["forecast", "--seed", "-3"], "--seed (seed) must be a whole number >= 0"),
        (["simulate-rounds", "--households", "0"], "--households (data.n_households)"),
    ],
)
def test_cli_numbers_use_the_spec_types(
    tmp_path: Path, no_data: None, argv: list[str], needle: str
) -> None:
    spec = _project(tmp_path, {"name": "x"})
    command, options = argv[0], argv[1:]
    where = ["--spec", str(spec)] if command == "simulate-rounds" else [str(spec)]
    started = time.perf_counter()
    code, err = _cli([command, *where, *options, "--no-tracking"] if command != "simulate-rounds"
                     else [command, *where, *options])  # fmt: skip
    print(f"{' '.join(argv)}: exited {code} in {time.perf_counter() - started:.3f} s")
    assert code == 2
    assert needle in err


def test_overrides_keep_the_file_hash_and_check_types() -> None:
    spec = load_experiment_spec(REPO / "experiments" / "serang-2026.yaml")
    other = spec.with_overrides({"forecast.n_paths": 300, "seed": None})
    assert other.forecast.n_paths == 300 and spec.forecast.n_paths == 2000
    assert other.seed == spec.seed and other.spec_hash == spec.spec_hash
    assert other.path == spec.path
    with pytest.raises(SpecError, match=r"plan\.pooling"):
        spec.with_overrides({"plan.pooling": "district"})


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_specs_load_and_typed_scenarios_equal_raw_ones(path: Path) -> None:
    spec = load_experiment_spec(path)
    assert scenarios_from_spec(spec.forecast) == scenarios_from_spec(spec.raw)
    assert path.read_text().startswith("# yaml-language-server: $schema=experiment.schema.json")


def test_defaults_are_declared_once() -> None:
    spec = ExperimentSpec(name="x")
    assert PlanCapacity.from_spec(spec.plan) == PlanCapacity()
    assert spec.forecast.capacity_search.paths(2000) == 500
    assert spec.forecast.capacity_search.paths(100) == 100
    assert not greater_is_better(spec.primary_metric)
    assert spec.extreme_line == DEFAULT_LINE == load_city_profile().extreme_line
    assert (spec.evaluation.n_splits, spec.evaluation.n_repeats) == (
        DEFAULT_N_SPLITS,
        DEFAULT_N_REPEATS,
    )


def test_committed_json_schema_is_the_generated_one() -> None:
    committed = json.loads((REPO / "experiments" / "experiment.schema.json").read_text())
    assert committed == experiment_json_schema(), (
        "experiments/experiment.schema.json is stale; regenerate it with "
        "targeting.config.experiment.write_experiment_schema('experiments/experiment.schema.json')"
    )
    assert committed["additionalProperties"] is False
    plan = committed["$defs"]["PlanSection"]["properties"]
    assert plan["pooling"]["enum"] == ["kelurahan", "kecamatan", "city"]


def test_data_spec_reports_every_problem_and_suggests_adapter(tmp_path: Path) -> None:
    with pytest.raises(DataSpecError) as info:
        DataSpec.from_dict(
            {"name": "a", "path": "x.csv", "label": {"type": "class", "column": "c", "lin": 1},
             "features": {"bool": ["x"]}},
        )  # fmt: skip
    message = str(info.value)
    for needle in ("label.lin", "label.extreme_value is required", "did you mean 'boolean'",
                   "id_column is required", "group_column is required"):  # fmt: skip
        assert needle in message
    path = tmp_path / "d.yaml"
    path.write_text("name: a\npath: x.csv\nadapter: costa_rca\n")
    with pytest.raises(DataSpecError, match="did you mean 'costa_rica'"):
        load_data_spec(path)
