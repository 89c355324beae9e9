"""The copy of a loaded model beside the store: same scores, no MLflow, a moved alias followed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from targeting.data import schema
from targeting.data.synthetic import generate_city
from targeting.feedback.rounds import fit_champion
from targeting.pmt.scoring import score_households
from targeting.tracking import load_model
from targeting.tracking.model_cache import cache_path


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    import mlflow
    from mlflow import MlflowClient

    from targeting.tracking.model import log_pmt_model

    folder: Path = tmp_path_factory.mktemp("model-cache")
    city = generate_city(n_households=2_000, seed=11, survey_fraction=0.2)
    survey = schema.validate_survey(city.survey).valid
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    experiment = mlflow.create_experiment("cache", artifact_location=(folder / "a").as_uri())
    versions = []
    for seed in (11, 12):
        model = fit_champion(survey, "ols", seed=seed)
        with mlflow.start_run(experiment_id=experiment):
            example = city.registry[list(model.feature_names_in_)].head(5)
            versions.append(log_pmt_model(model, example, "model", "cache-pmt"))
    MlflowClient().set_registered_model_alias("cache-pmt", "champion", versions[0])
    return folder, uri, versions, city.registry


def test_a_second_load_reads_the_copy_without_mlflow_and_scores_alike(store) -> None:
    folder, uri, _, registry = store
    model_uri = "models:/cache-pmt@champion"
    first = load_model(model_uri, tracking_uri=uri)
    path = cache_path(model_uri, uri)
    assert path is not None and path.is_file() and path.parent.parent == folder
    X = registry[list(first.feature_names_in_)].head(500)
    expected = score_households(first, X, n_boot=20, seed=3)
    source = folder / "x.parquet"
    X.to_parquet(source)
    code = (
        "import json, sys\nimport pandas as pd\n"
        "from targeting.tracking import load_model\n"
        "from targeting.pmt.scoring import score_households\n"
        f"model = load_model({model_uri!r}, tracking_uri={uri!r})\n"
        f"got = score_households(model, pd.read_parquet({str(source)!r}), n_boot=20, seed=3)\n"
        "print(json.dumps({'mlflow': 'mlflow' in sys.modules, "
        "'scores': got.to_dict(orient='list')}))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    answer = json.loads(run.stdout.strip().splitlines()[-1])
    assert answer["mlflow"] is False
    got = pd.DataFrame(answer["scores"])
    pd.testing.assert_frame_equal(got, expected.reset_index(drop=True), check_dtype=False)


def test_a_moved_alias_is_followed(store) -> None:
    from mlflow import MlflowClient

    _, uri, versions, _ = store
    model_uri = "models:/cache-pmt@champion"
    before = cache_path(model_uri, uri)
    MlflowClient().set_registered_model_alias("cache-pmt", "champion", versions[1])
    try:
        after = cache_path(model_uri, uri)
        assert after is not None and after != before
        assert after == cache_path(f"models:/cache-pmt/{versions[1]}", uri)
        moved = load_model(model_uri, tracking_uri=uri)
        again = load_model(f"models:/cache-pmt/{versions[1]}", tracking_uri=uri)
        assert moved.named_steps.keys() == again.named_steps.keys()
    finally:
        MlflowClient().set_registered_model_alias("cache-pmt", "champion", versions[0])


def test_other_stores_and_uris_are_not_cached(tmp_path: Path) -> None:
    assert cache_path("models:/x@champion", "http://localhost:5000") is None
    assert cache_path("runs:/abc/model", f"sqlite:///{tmp_path / 'mlflow.db'}") is None
    assert cache_path("models:/x/1", f"sqlite:///{tmp_path / 'absent.db'}") is None
