"""``targeting score`` from the cached plain form: no scikit-learn, same bytes, safe fallback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from targeting.data import schema
from targeting.data.synthetic import generate_city
from targeting.feedback.rounds import fit_champion
from targeting.tracking.model_cache import cache_path, read_cached_scorer

HEAVY = ("sklearn", "statsmodels", "mlflow", "scipy.stats", "targeting.pipeline")
"""Modules a plain-form scoring must not import."""


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    import mlflow
    from mlflow import MlflowClient

    from targeting.tracking.model import log_pmt_model

    folder: Path = tmp_path_factory.mktemp("plain-cache")
    city = generate_city(n_households=3_000, seed=61, survey_fraction=0.3)
    survey = schema.validate_survey(city.survey).valid
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    experiment = mlflow.create_experiment("plain", artifact_location=(folder / "a").as_uri())
    versions = {}
    for spec in ("ols", "logit"):
        model = fit_champion(survey, spec, seed=61)
        with mlflow.start_run(experiment_id=experiment):
            example = city.registry[list(model.feature_names_in_)].head(5)
            versions[spec] = log_pmt_model(model, example, "model", "plain-pmt")
    MlflowClient().set_registered_model_alias("plain-pmt", "champion", versions["ols"])
    registry = city.registry.drop(columns=["head_name", "address"]).copy()
    registry.loc[7, "floor_material"] = "marble"  # set aside
    registry.loc[9, "floor_material"] = "Earth "  # validated the pandas way, then scored
    source = folder / "registry.parquet"
    registry.to_parquet(source, index=False)
    return folder, uri, versions, source


def _score(uri: str, model_uri: str, source: Path, output: Path) -> dict:
    """``targeting score`` in a fresh process: its summary and the heavy modules it imported."""
    code = (
        "import contextlib, io, json, sys\nfrom targeting.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        f"    code = main(['score', {str(source)!r}, '--model', {model_uri!r}, "
        f"'--tracking-uri', {uri!r}, '--output', {str(output)!r}, '--batch-rows', '700', "
        "'--json'])\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(json.dumps({'code': code, 'heavy': heavy, 'summary': json.loads(out.getvalue())}))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600
    )
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_score_reads_the_plain_form_and_falls_back_when_it_does_not_verify(
    store, tmp_path: Path
) -> None:
    _, uri, _, source = store
    model_uri = "models:/plain-pmt@champion"
    # first run: loaded through MLflow, the copy and its plain form written
    first = _score(uri, model_uri, source, tmp_path / "first.parquet")
    assert first["code"] == 0 and first["summary"]["rejected"] == 1
    assert first["summary"]["model_form"] == "pipeline"
    path = cache_path(model_uri, uri)
    assert path is not None
    npz, meta = (path.with_name(path.stem + ".plain" + s) for s in (".npz", ".json"))
    assert npz.is_file() and meta.is_file()
    assert read_cached_scorer(model_uri, uri) is not None
    # second run: the plain form, none of the heavy modules, the same bytes
    second = _score(uri, model_uri, source, tmp_path / "second.parquet")
    assert second["heavy"] == [] and second["summary"]["model_form"] == "plain"
    expected = (tmp_path / "first.parquet").read_bytes()
    assert (tmp_path / "second.parquet").read_bytes() == expected
    assert (tmp_path / "rejected.parquet").is_file()
    # a plain form whose arrays changed does not verify: the full model scores, alike, and
    # the plain form is written again
    content = bytearray(npz.read_bytes())
    content[-40] ^= 0x01
    npz.write_bytes(bytes(content))
    assert read_cached_scorer(model_uri, uri) is None
    third = _score(uri, model_uri, source, tmp_path / "third.parquet")
    assert "sklearn" in third["heavy"]
    assert (tmp_path / "third.parquet").read_bytes() == expected
    assert read_cached_scorer(model_uri, uri) is not None
    # a missing plain form: the same
    npz.unlink()
    fourth = _score(uri, model_uri, source, tmp_path / "fourth.parquet")
    assert "sklearn" in fourth["heavy"]
    assert (tmp_path / "fourth.parquet").read_bytes() == expected
    assert read_cached_scorer(model_uri, uri) is not None


def test_a_model_without_a_plain_form_is_scored_in_full(store, tmp_path: Path) -> None:
    _, uri, versions, source = store
    model_uri = f"models:/plain-pmt/{versions['logit']}"
    for name in ("a", "b"):
        run = _score(uri, model_uri, source, tmp_path / f"{name}.parquet")
        assert run["code"] == 0 and "sklearn" in run["heavy"]
    assert read_cached_scorer(model_uri, uri) is None
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
