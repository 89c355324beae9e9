"""The plain form of a linear champion: the pipeline's scores bit for bit, files that verify."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from targeting.data import schema
from targeting.data.synthetic import generate_city
from targeting.feedback.rounds import fit_champion
from targeting.pmt.compiled import compile_pipeline, plain_matches, plain_scorer
from targeting.pmt.plain import GridInterp, PlainScorer
from targeting.pmt.recalibrated import RecalibratedPMT
from targeting.pmt.scoring import score_households
from targeting.pmt.streaming import score_registry_file


@pytest.fixture(scope="module")
def city():
    # half the households surveyed: enough unreached extreme-poor ones for the champion's
    # cross-fitted residual recalibration map (the default), which the plain form carries
    return generate_city(n_households=6_000, seed=53, survey_fraction=0.5)


@pytest.fixture(scope="module")
def survey(city):
    return schema.validate_survey(city.survey, mode="strict").valid


@pytest.fixture(scope="module")
def ols(survey):
    return fit_champion(survey, "ols", seed=53)


@pytest.fixture(scope="module")
def saved(ols, tmp_path_factory) -> Path:
    scorer = plain_scorer(ols)
    assert scorer is not None
    base = tmp_path_factory.mktemp("plain") / "model.plain"
    scorer.save(base)
    return base


def _defective_registry(city) -> pd.DataFrame:
    reg = city.registry.drop(columns=["head_name", "address"]).head(3_000).copy()
    ids = reg["household_id"].astype(object)
    reg.loc[5, "floor_material"] = "Earth "  # valid once cleaned: validated the pandas way
    reg.loc[7, "floor_material"] = "marble"  # not a level
    reg.loc[11, "hh_size"] = 0
    reg.loc[17, "household_id"] = ids[3]  # repeated within a batch
    reg.loc[2_900, "household_id"] = ids[19]  # repeated across batches
    reg.loc[21, "household_id"] = "  " + ids[21]  # id cleaned by validation
    reg.loc[1_201, "nik_head"] = "123"  # flagged only: the household stays
    return reg


def test_the_plain_form_scores_as_the_pipeline_bit_for_bit(city, ols, saved: Path) -> None:
    scorer = PlainScorer.load(saved)
    assert scorer is not None
    assert plain_matches(scorer, ols)
    X = schema.validate_registry(city.registry, mode="quarantine").valid[
        list(ols.feature_names_in_)
    ]
    codes, ok = scorer.codes_of(X)
    assert ok.all()
    numbers = {n: X[n].to_numpy() for n in scorer.numeric}
    compiled = compile_pipeline(ols)
    np.testing.assert_array_equal(
        scorer.features(codes, numbers), np.asarray(ols[:-1].transform(X), dtype=float)
    )
    # several chunks, as the pipeline chunks them
    got = pd.DataFrame(scorer.score(codes, numbers, chunk_size=1_500), index=X.index)
    expected = score_households(ols, X, chunk_size=1_500)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, rtol=0, atol=0)
    again = compiled.score(codes, numbers, chunk_size=1_500)
    for key, values in again.items():
        np.testing.assert_array_equal(got[key].to_numpy(), values)


def test_files_that_do_not_verify_are_not_read(saved: Path, tmp_path: Path) -> None:
    npz, meta = saved.with_name(saved.name + ".npz"), saved.with_name(saved.name + ".json")
    # a changed byte of the arrays
    base = tmp_path / "a.plain"
    content = bytearray(npz.read_bytes())
    content[len(content) // 2] ^= 0x01
    base.with_name("a.plain.npz").write_bytes(bytes(content))
    base.with_name("a.plain.json").write_text(meta.read_text())
    assert PlainScorer.load(base) is None
    # a changed number of the structure (the hash is of both files)
    other = tmp_path / "b.plain"
    other.with_name("b.plain.npz").write_bytes(npz.read_bytes())
    changed = json.loads(meta.read_text())
    changed["alpha"] = 0.1
    other.with_name("b.plain.json").write_text(json.dumps(changed))
    assert PlainScorer.load(other) is None
    # another format, and missing files
    changed = json.loads(meta.read_text())
    changed["format"] = "targeting-plain-linear/999"
    other.with_name("b.plain.json").write_text(json.dumps(changed))
    assert PlainScorer.load(other) is None
    assert PlainScorer.load(tmp_path / "absent.plain") is None


def test_a_logit_has_no_plain_form_and_a_quantile_model_has_one(survey, ols) -> None:
    assert plain_scorer(fit_champion(survey, "logit", seed=53)) is None
    # the champion recalibrated on field outcomes (area offsets) is scored by its pipeline
    assert plain_scorer(RecalibratedPMT(ols)) is None
    # the quantile model's link is its residual quantiles (checked bit for bit when built)
    quantile = plain_scorer(fit_champion(survey, "quantile", seed=53))
    assert quantile is not None and quantile.link == "interp"


def test_streaming_with_the_plain_form_writes_the_same_bytes(
    city, ols, saved: Path, tmp_path: Path
) -> None:
    source = tmp_path / "registry.parquet"
    _defective_registry(city).to_parquet(source, index=False)
    loaded = []

    def full() -> object:
        loaded.append(True)
        return ols

    runs = {
        "pandas": (ols, {"numeric": False}),
        "pipeline": (ols, {}),
        "plain": (PlainScorer.load(saved).attach_loader(full), {}),
        "plain again": (PlainScorer.load(saved).attach_loader(full), {}),
    }
    files = {}
    for name, (model, options) in runs.items():
        out = tmp_path / name / "scores.parquet"
        summary = score_registry_file(model, source, out, batch_rows=700, **options)
        assert summary.scored + summary.rejected == summary.households_in_file == 3_000
        files[name] = (out.read_bytes(), out.with_name("rejected.parquet").read_bytes())
    # the plain form scored every row: its pipeline was never needed
    assert not loaded
    assert files["plain"] == files["pipeline"] == files["plain again"]
    # the pandas way writes the same numbers (its files carry pandas' schema metadata)
    a = pd.read_parquet(tmp_path / "pandas" / "scores.parquet")
    b = pd.read_parquet(tmp_path / "plain" / "scores.parquet")
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "pandas" / "rejected.parquet"),
        pd.read_parquet(tmp_path / "plain" / "rejected.parquet"),
    )


def test_a_batch_the_lookups_cannot_code_takes_the_attached_pipeline(
    city, ols, saved: Path, tmp_path: Path
) -> None:
    reg = city.registry.drop(columns=["head_name", "address"]).head(400).copy()
    # another city's registry: its kecamatan are valid there but have no code in the lookups
    reg["kecamatan"] = "Lebak"
    source = tmp_path / "odd.parquet"
    reg.to_parquet(source, index=False)
    loaded = []

    def full() -> object:
        loaded.append(True)
        return ols

    plain = PlainScorer.load(saved).attach_loader(full)
    score_registry_file(plain, source, tmp_path / "plain.parquet", batch_rows=150)
    score_registry_file(ols, source, tmp_path / "full.parquet", batch_rows=150)
    assert (tmp_path / "plain.parquet").read_bytes() == (tmp_path / "full.parquet").read_bytes()
    # zero draws asks for a zero-width interval: only the pipeline gives it
    score_registry_file(plain, source, tmp_path / "p0.parquet", n_boot=0)
    score_registry_file(ols, source, tmp_path / "f0.parquet", n_boot=0)
    assert (tmp_path / "p0.parquet").read_bytes() == (tmp_path / "f0.parquet").read_bytes()
    assert loaded


def test_the_grid_search_gives_numpys_interpolation_or_says_it_does_not() -> None:
    rng = np.random.default_rng(7)
    grid = np.linspace(-40.0, 10.0, 2001)
    values = np.sort(rng.uniform(0.0, 1.0, grid.size))
    interp = GridInterp(grid, values)
    assert interp.matches()
    x = np.concatenate([rng.normal(-2.0, 4.0, 50_000), grid, [-np.inf, np.inf, np.nan]])
    np.testing.assert_array_equal(interp(x), np.interp(x, grid, values))
    # on a grid that is not evenly spaced the one-step correction is not enough: refused
    uneven = np.cumsum(rng.exponential(1.0, 2001) ** 3)
    assert not GridInterp(uneven, values).matches()


def test_the_champions_residual_map_is_searched_on_its_grid(ols, saved: Path) -> None:
    scorer = PlainScorer.load(saved)
    assert scorer is not None
    assert scorer.calibrator == "residual" and scorer.link == "normal"
    assert scorer.meta["residual_interp"] == "grid" and scorer.grid_interp is not None
