"""The numeric scoring path gives the pandas path's numbers: features, scores, files, rejects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from targeting.data import schema
from targeting.data.batch_check import check_registry_batch, string_hashes
from targeting.data.synthetic import generate_city
from targeting.feedback.rounds import fit_champion
from targeting.pmt.compiled import compile_pipeline
from targeting.pmt.scoring import score_households
from targeting.pmt.streaming import duplicated_ids, score_registry_file


@pytest.fixture(scope="module")
def city():
    return generate_city(n_households=8_000, seed=47)


@pytest.fixture(scope="module")
def survey(city):
    return schema.validate_survey(city.survey, mode="strict").valid


@pytest.fixture(scope="module")
def ols(survey):
    return fit_champion(survey, "ols", seed=47)


def _valid(city) -> pd.DataFrame:
    return schema.validate_registry(city.registry, mode="quarantine").valid


@pytest.mark.parametrize("spec", ["ols", "logit", "forest"])
def test_compiled_scores_are_the_pipelines_bit_for_bit(city, survey, ols, spec) -> None:
    model = ols if spec == "ols" else fit_champion(survey, spec, seed=47)
    compiled = compile_pipeline(model)
    assert compiled is not None
    # the default champion is linear: scored as direct numpy, not through the estimator
    assert (compiled.linear is not None) == (spec == "ols")
    valid = _valid(city)
    X = valid[list(model.feature_names_in_)]
    # the kecamatan (a model input since issue 12) is looked up by code like any category
    assert "kecamatan" in compiled.coded
    codes, ok = compiled.codes_of(X)
    assert ok.all()
    features = compiled.features(codes, {n: X[n].to_numpy() for n in compiled.numeric})
    np.testing.assert_array_equal(features, np.asarray(model[:-1].transform(X), dtype=float))
    expected = score_households(model, X, seed=2026, n_boot=50)
    got = compiled.score_frame(X, seed=2026, n_boot=50)
    # the same floating-point operations on the same matrices: equal, not merely close
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, rtol=0, atol=0)


def test_an_unknown_kecamatan_never_reaches_the_model(city, ols) -> None:
    registry = city.registry.head(200).copy()
    registry.loc[registry.index[7], "kecamatan"] = "Atlantis"
    checked = schema.validate_registry(registry, mode="quarantine")
    assert len(checked.valid) == len(registry) - 1
    assert registry.loc[registry.index[7], "household_id"] not in set(checked.valid["household_id"])
    compiled = compile_pipeline(ols)
    _, ok = compiled.codes_of(checked.valid[list(ols.feature_names_in_)])
    assert ok.all()


def test_rows_without_codes_are_scored_the_pandas_way(city, ols) -> None:
    X = city.registry[schema.MODEL_COLUMNS].head(300).copy()
    X.loc[X.index[3], "floor_material"] = " Earth"  # accepted by the encoder, not a level
    X.loc[X.index[5], "head_sector"] = "astronaut"  # unknown: encoded as all zeros
    compiled = compile_pipeline(ols)
    _, ok = compiled.codes_of(X)
    assert ok.sum() == len(X) - 2
    got = compiled.score_frame(X, seed=1)
    expected = score_households(ols, X, seed=1)
    np.testing.assert_allclose(got[["p_extreme", "p_low", "p_high"]], expected.iloc[:, :3])
    np.testing.assert_array_equal(got["desil"], expected["desil"])


def _defective_registry(city) -> pd.DataFrame:
    reg = city.registry.drop(columns=["head_name", "address"]).copy()
    reg["n_elderly"] = reg["n_elderly"].astype("Int64")
    reg["head_works"] = reg["head_works"].astype("boolean")
    ids = reg["household_id"].astype(object)
    reg.loc[5, "floor_material"] = "Earth "  # valid once cleaned: validated the pandas way
    reg.loc[7, "floor_material"] = "marble"  # not a level
    reg.loc[11, "hh_size"] = 0
    reg.loc[13, "kecamatan"] = "Atlantis"  # unknown in a Kota Serang registry
    reg.loc[17, "household_id"] = ids[3]  # repeated within a batch
    reg.loc[2_900, "household_id"] = ids[19]  # repeated across batches
    reg.loc[21, "household_id"] = "  " + ids[21]  # id cleaned by validation
    reg.loc[23, "verification_status"] = "Unverified"
    reg.loc[29, "rt"] = " 7"
    reg.loc[31, "n_elderly"] = pd.NA
    reg.loc[37, "head_works"] = pd.NA
    reg.loc[41, "n_workers"] = 40  # more workers than members
    reg.loc[1_200, "kelurahan"] = ""
    reg.loc[1_201, "nik_head"] = "123"  # flagged only: the household stays
    return reg


@pytest.mark.parametrize("batch_rows", [1_000, 10**6])
def test_numeric_stream_writes_the_pandas_streams_files(
    city, ols, tmp_path: Path, batch_rows: int
) -> None:
    source = tmp_path / "registry.parquet"
    _defective_registry(city).to_parquet(source, index=False)
    tables = {}
    for numeric in (False, True):
        out = tmp_path / f"{numeric}" / "scores.parquet"
        out.parent.mkdir()
        summary = score_registry_file(
            ols, source, out, batch_rows=batch_rows, numeric=numeric, n_boot=50
        )
        tables[numeric] = (pq.read_table(out), pd.read_parquet(out.with_name("rejected.parquet")))
        assert summary.scored + summary.rejected == summary.households_in_file
    (scores_a, rejected_a), (scores_b, rejected_b) = tables[False], tables[True]
    assert scores_a.select(scores_b.column_names).equals(scores_b)
    pd.testing.assert_frame_equal(rejected_a, rejected_b)
    assert sorted(rejected_b["row"]) == [4, 8, 12, 14, 18, 20, 32, 38, 42, 1201, 2901]
    # the cleaned rows were scored under their cleaned id
    assert str(city.registry["household_id"].iloc[21]) in scores_b["household_id"].to_pylist()


def test_kecamatan_rule_follows_the_batch_not_the_rows_set_aside(city, ols, tmp_path: Path) -> None:
    """Another city's registry: Kota Serang's names in the rows validated the pandas way must
    not make an unknown kecamatan a defect there (and the reverse in a Kota Serang file)."""
    reg = _defective_registry(city).head(1_000).copy()
    reg["kecamatan"] = "Lebak"
    defects = list(range(100, 120))
    reg.loc[defects, "floor_material"] = "Ceramic"  # valid, but only the pandas way
    reg.loc[defects[:-1], "kecamatan"] = "Serang"  # 19 of the 20 set apart are Kota Serang's
    source = tmp_path / "other_city.parquet"
    reg.to_parquet(source, index=False)
    frames = []
    for numeric in (False, True):
        out = tmp_path / f"{numeric}.parquet"
        score_registry_file(ols, source, out, numeric=numeric, n_boot=20)
        frames.append(pd.read_parquet(out))
    pd.testing.assert_frame_equal(frames[0], frames[1])
    whole = schema.validate_registry(reg, mode="quarantine")
    assert len(frames[1]) == len(whole.valid)


def test_batch_check_sends_only_unusual_rows_to_pandas(city) -> None:
    reg = _defective_registry(city).head(2_000)
    batch = pa.RecordBatch.from_pandas(reg, preserve_index=False)
    check = check_registry_batch(batch)
    assert not check.whole_batch
    unclean = set(np.flatnonzero(~check.clean) + 1)
    # every row validation rejects is unclean, except repeated ids (rows 4 and 18, found by
    # the file's id scan); the other unclean rows are valid once cleaned (pandas decides)
    rejected = set(schema.validate_registry(reg, mode="quarantine").rejected["row"])
    assert rejected - {4, 18} <= unclean
    assert unclean == {6, 8, 12, 14, 22, 24, 30, 32, 38, 42, 1201}
    # a column of another type sends the whole batch to pandas (e.g. counts written as text)
    text = pa.RecordBatch.from_pandas(reg.astype({"hh_size": str}), preserve_index=False)
    assert check_registry_batch(text).whole_batch


def test_string_hashes_agree_across_widths_and_find_repeats(tmp_path: Path) -> None:
    same = pa.array(["KK01", "KK02", "KK01"])
    mixed = pa.array(["KK01", "K2", "", "KK02", "KK01x"])
    a, b = string_hashes(same), string_hashes(mixed)
    assert a[0] == a[2] == b[0] and a[1] == b[3]
    assert len({*a.tolist(), *b.tolist()}) == 5
    ids = [f"H{i}" for i in range(5_000)] + ["H17", " H42 "]
    pd.DataFrame({"household_id": ids}).to_parquet(tmp_path / "ids.parquet", index=False)
    assert duplicated_ids(tmp_path / "ids.parquet", batch_rows=700) == {"H17", "H42"}


def test_a_model_that_cannot_be_compiled_is_scored_the_pandas_way(
    city, ols, tmp_path: Path, monkeypatch
) -> None:
    from sklearn.pipeline import Pipeline

    # a bare estimator, or a feature step the probe cannot reproduce, is not compiled
    assert compile_pipeline(ols.steps[-1][1]) is None
    odd = Pipeline([("features", ols[0]), ("extra", ols[0]), ("model", ols.steps[-1][1])])
    assert compile_pipeline(odd) is None
    source = tmp_path / "registry.parquet"
    city.registry.head(500).to_parquet(source, index=False)
    score_registry_file(ols, source, tmp_path / "a.parquet", n_boot=20)
    # the stream falls back to the pandas way when compiling fails, with the same file
    monkeypatch.setattr("targeting.pmt.compiled.compile_pipeline", lambda model: None)
    summary = score_registry_file(ols, source, tmp_path / "b.parquet", n_boot=20)
    assert summary.scored == 500
    a, b = pq.read_table(tmp_path / "a.parquet"), pq.read_table(tmp_path / "b.parquet")
    assert b.select(a.column_names).equals(a)
