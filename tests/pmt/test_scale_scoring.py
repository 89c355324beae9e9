"""Scoring at scale: fixed desil cut-points, streaming = whole file, Spark = pandas, pyfunc."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from targeting.data import schema
from targeting.data.synthetic import generate_city
from targeting.evaluation.cv import fit_final
from targeting.feedback.rounds import fit_champion
from targeting.pmt.build import load_specs
from targeting.pmt.scoring import (
    DESIL_ATTRIBUTE,
    assign_desil,
    desil_cutpoints,
    score_households,
)
from targeting.pmt.streaming import score_registry_file


@pytest.fixture(scope="module")
def city_and_model():
    city = generate_city(n_households=6_000, seed=31)
    survey = schema.validate_survey(city.survey, mode="strict").valid
    model = fit_champion(survey, "ols", seed=31)
    return city, survey, model


def test_desil_cutpoints_split_the_weighted_survey_in_tenths() -> None:
    rng = np.random.default_rng(0)
    p = rng.beta(1, 8, size=20_000)
    w = rng.uniform(0.5, 3.0, size=p.size)
    cuts = desil_cutpoints(p, w)
    assert cuts.shape == (9,) and np.all(np.diff(cuts) <= 0)
    desil = assign_desil(p, cuts)
    shares = np.array([w[desil == d].sum() for d in range(1, 11)]) / w.sum()
    np.testing.assert_allclose(shares, 0.1, atol=0.002)
    # desil 1 holds the highest probabilities
    assert p[desil == 1].min() >= p[desil == 2].max()


def test_desil_does_not_depend_on_the_batch(city_and_model) -> None:
    city, _, model = city_and_model
    X = city.registry[schema.MODEL_COLUMNS].head(3_000)
    whole = score_households(model, X, n_boot=30, seed=1)
    parts = pd.concat(
        [
            score_households(model, X.iloc[i : i + 250], n_boot=30, seed=1)
            for i in range(0, 3000, 250)
        ]
    )
    pd.testing.assert_frame_equal(whole, parts)
    # a single very poor batch is not re-spread over ten desils
    top = whole.sort_values("p_extreme", ascending=False).head(100)
    alone = score_households(model, X.loc[top.index], n_boot=30, seed=1)
    assert alone["desil"].max() <= 3


def test_model_fitted_by_the_toolkit_carries_cutpoints(city_and_model) -> None:
    _, survey, model = city_and_model
    cuts = getattr(model, DESIL_ATTRIBUTE)
    p = model.predict_proba(survey[schema.MODEL_COLUMNS])[:, 1]
    np.testing.assert_array_equal(cuts, desil_cutpoints(p, survey["weight"].to_numpy()))


def _registry_with_defects(city) -> pd.DataFrame:
    registry = city.registry.head(2_500).astype(str)
    registry.loc[10, "hh_size"] = "banyak"  # invalid value
    registry.loc[1_500, "household_id"] = registry.loc[20, "household_id"]  # duplicate id
    return registry


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_streaming_equals_whole_file(city_and_model, tmp_path: Path, suffix: str) -> None:
    city, _, model = city_and_model
    registry = _registry_with_defects(city)
    source = tmp_path / f"registry{suffix}"
    if suffix == ".parquet":
        registry.to_parquet(source, index=False)
    else:
        registry.to_csv(source, index=False)
    small = score_registry_file(model, source, tmp_path / "a.parquet", batch_rows=333, n_boot=20)
    large = score_registry_file(model, source, tmp_path / "b.parquet", batch_rows=10**6, n_boot=20)
    a = pd.read_parquet(tmp_path / "a.parquet")
    b = pd.read_parquet(tmp_path / "b.parquet")
    pd.testing.assert_frame_equal(a, b)
    # the same scores as CSV, rejected rows beside them
    score_registry_file(model, source, tmp_path / "c.csv", batch_rows=333, n_boot=20)
    c = pd.read_csv(tmp_path / "c.csv", dtype={"household_id": str})
    np.testing.assert_allclose(
        c[["p_extreme", "p_low", "p_high"]], a[["p_extreme", "p_low", "p_high"]]
    )
    assert c["household_id"].tolist() == a["household_id"].tolist()
    assert len(pd.read_csv(tmp_path / "rejected.csv")) == 3
    assert small.batches > 1 and large.batches == 1
    # every household accounted for: scored or rejected, with the file's row numbers
    assert small.scored + small.rejected == len(registry) == small.households_in_file
    rejected = pd.read_parquet(tmp_path / "rejected.parquet")
    assert sorted(rejected["row"].tolist()) == [11, 21, 1501]
    # the same rows as one whole-file validation and scoring
    checked = schema.validate_registry(registry, mode="quarantine")
    whole = score_households(model, checked.valid[schema.MODEL_COLUMNS], n_boot=20, seed=2026)
    np.testing.assert_allclose(a["p_extreme"], whole["p_extreme"])
    np.testing.assert_array_equal(a["desil"], whole["desil"])
    assert a["household_id"].tolist() == checked.valid["household_id"].astype(str).tolist()


def _log_model(model, tmp_path: Path, example: pd.DataFrame) -> str:
    import mlflow

    from targeting.tracking import configure
    from targeting.tracking.model import log_pmt_model

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    configure(uri)
    mlflow.set_experiment("scale-test")
    with mlflow.start_run():
        version = log_pmt_model(model, example, "model-champion", "scale-test-pmt")
    return f"models:/scale-test-pmt/{version}"


def test_pyfunc_returns_named_scores(city_and_model, tmp_path: Path) -> None:
    import mlflow

    city, survey, model = city_and_model
    uri = _log_model(model, tmp_path, survey[schema.MODEL_COLUMNS].head(5).reset_index(drop=True))
    X = city.registry[schema.MODEL_COLUMNS].head(200)
    served = mlflow.pyfunc.load_model(uri).predict(X)
    assert list(served.columns) == ["p_extreme", "p_low", "p_high", "desil"]
    expected = score_households(model, X, seed=2026).reset_index(drop=True)
    pd.testing.assert_frame_equal(served, expected, check_dtype=False)
    with pytest.raises(Exception, match="personal-data columns") as info:
        mlflow.pyfunc.load_model(uri).unwrap_python_model().predict(None, city.registry.head(3))
    assert city.registry["nik_head"].iloc[0] not in str(info.value)


def _java() -> str | None:
    return shutil.which("java")


@pytest.mark.slow
def test_spark_scores_equal_pandas(city_and_model, tmp_path: Path) -> None:
    if _java() is None:
        pytest.skip("no Java runtime: Debian's openjdk could not be installed here")
    pytest.importorskip("pyspark", reason="PySpark is in the [spark] extra")
    from targeting.tracking.spark import score_with_spark, spark_session

    city, survey, model = city_and_model
    uri = _log_model(model, tmp_path, survey[schema.MODEL_COLUMNS].head(5).reset_index(drop=True))
    registry = schema.validate_registry(city.registry.head(1_200), mode="strict").valid
    source = tmp_path / "registry.parquet"
    registry.drop(columns=[c for c in schema.PII_COLUMNS if c in registry]).to_parquet(
        source, index=False
    )
    local = tmp_path / "local.parquet"
    score_registry_file(model, source, local, batch_rows=500)
    spark = spark_session(cores=2)
    try:
        summary = score_with_spark(uri, source, tmp_path / "spark_out", spark=spark)
        from_spark = spark.read.parquet(str(tmp_path / "spark_out")).toPandas()
    finally:
        spark.stop()
    assert summary["scored"] == len(registry)
    a = pd.read_parquet(local).set_index("household_id").sort_index()
    b = from_spark.set_index("household_id").sort_index()[a.columns]
    np.testing.assert_allclose(
        b[["p_extreme", "p_low", "p_high"]], a[["p_extreme", "p_low", "p_high"]]
    )
    np.testing.assert_array_equal(b["desil"].astype(int), a["desil"].astype(int))


@pytest.mark.slow
def test_logged_model_loads_where_targeting_is_not_installed(
    city_and_model, tmp_path: Path
) -> None:
    """A fresh virtual environment gets the model's pinned requirements from the package index
    and none of this project: the model's own code (``code_paths``) must be enough."""
    import mlflow

    city, survey, model = city_and_model
    uri = _log_model(model, tmp_path, survey[schema.MODEL_COLUMNS].head(5).reset_index(drop=True))
    local = Path(
        mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(tmp_path / "m"))
    )
    requirements = (local / "requirements.txt").read_text()
    assert "targeting" not in requirements.replace("targeting-", "")
    rows = city.registry[schema.MODEL_COLUMNS].head(100)
    rows.to_parquet(tmp_path / "rows.parquet")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "-r", str(local / "requirements.txt")],
        capture_output=True,
        text=True,
    )
    if install.returncode != 0:
        pytest.fail(f"the model's requirements did not install:\n{install.stderr[-2000:]}")
    script = (
        "import importlib.util, sys, pandas as pd, mlflow\n"
        "assert importlib.util.find_spec('targeting') is None, 'targeting is installed'\n"
        f"m = mlflow.pyfunc.load_model({str(local)!r})\n"
        f"m.predict(pd.read_parquet({str(tmp_path / 'rows.parquet')!r})).to_parquet("
        f"{str(tmp_path / 'fresh.parquet')!r})\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    run = subprocess.run(
        [str(python), "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-3000:]
    fresh = pd.read_parquet(tmp_path / "fresh.parquet")
    expected = score_households(model, rows, seed=2026).reset_index(drop=True)
    pd.testing.assert_frame_equal(fresh, expected, check_dtype=False)


@pytest.mark.parametrize("estimator", ["ols", "logit"])
def test_exact_interval_equals_the_limit_of_the_draws(city_and_model, estimator: str) -> None:
    """The closed-form interval of a linear model is what its coefficient draws converge to."""
    from scipy.special import expit, ndtr

    from targeting.pmt.linear import linear_predictor_draws, linear_predictor_interval

    city, survey, champion = city_and_model
    # the plain linear model (the plan's champion wraps it for selection, tested below)
    consumption = survey["consumption_pc"].to_numpy(dtype=float)
    model = fit_final(
        load_specs(names=[estimator])[0],
        survey[schema.MODEL_COLUMNS],
        label=(consumption < 400_000).astype(int),
        consumption=consumption,
        sample_weight=survey["weight"].to_numpy(dtype=float),
        seed=31,
    )
    final = model.steps[-1][1]
    Xt = np.asarray(model[:-1].transform(city.registry[schema.MODEL_COLUMNS].head(300)), float)
    args = (Xt, final.intercept_, final.coef_, final._cov_factor_)
    low, high = linear_predictor_interval(*args, alpha=0.2)
    draws = linear_predictor_draws(*args, n_draws=20_000, random_state=7)
    mc_low, mc_high = np.quantile(draws, [0.1, 0.9], axis=1)
    # Monte Carlo standard error of a 10 % quantile of a normal from 20,000 draws
    se = draws.std(axis=1) * np.sqrt(0.1 * 0.9 / 20_000) / 0.1755
    assert np.all(np.abs(mc_low - low) < 4.5 * se)
    assert np.all(np.abs(mc_high - high) < 4.5 * se)
    p_low, p_high = final.proba_interval(Xt, alpha=0.2)
    if estimator == "ols":
        gap = np.log(final.line)
        np.testing.assert_allclose(p_low, ndtr((gap - high) / final.sigma_))
        np.testing.assert_allclose(p_high, ndtr((gap - low) / final.sigma_))
    else:
        np.testing.assert_allclose(p_low, expit(low))
        np.testing.assert_allclose(p_high, expit(high))
    p = final.predict_proba(Xt)[:, 1]
    assert np.all((p_low <= p) & (p <= p_high))
    # the selection-aware champion carries its inner model's exact interval through its
    # increasing maps: the interval still brackets its own P
    wrapped = champion.steps[-1][1]
    Xc = champion[:-1].transform(city.registry[schema.MODEL_COLUMNS].head(300))
    c_low, c_high = wrapped.proba_interval(Xc, alpha=0.2)
    c_p = wrapped.predict_proba(Xc)[:, 1]
    assert np.all((c_low <= c_p + 1e-12) & (c_p <= c_high + 1e-12)) and np.any(c_low < c_high)
