"""The numeric scoring path applies validation's area and personal-data rules as pandas does.

A row the pandas path sets aside (an unlisted kelurahan, a NIK or the head's name as id) must
never be scored by the numeric path: both paths write the same scores and the same rejected
rows, reasons included, and neither writes a NIK in full.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from targeting.data import schema
from targeting.data.batch_check import check_registry_batch
from targeting.data.synthetic import generate_city
from targeting.feedback.rounds import fit_champion
from targeting.pmt.streaming import score_registry_file


@pytest.fixture(scope="module")
def city():
    return generate_city(n_households=4_000, seed=53)


@pytest.fixture(scope="module")
def ols(city):
    survey = schema.validate_survey(city.survey, mode="strict").valid
    return fit_champion(survey, "ols", seed=53)


def _planted_registry(city) -> pd.DataFrame:
    """Kota Serang's registry (names, NIKs, addresses kept) with the new rules' defects."""
    reg = city.registry.copy()
    reg["household_id"] = reg["household_id"].astype(object)
    other = next(
        k
        for k, kec in schema.KELURAHAN_OF.items()
        if kec.casefold() != str(reg.loc[4, "kecamatan"]).casefold()
    )
    reg.loc[3, "kelurahan"] = "Atlantis Raya"  # not a kelurahan the profile lists
    reg.loc[4, "kelurahan"] = other  # listed, but under another kecamatan
    reg.loc[5, "kelurahan"] = str(reg.loc[5, "kelurahan"]).upper()  # valid once cleaned
    reg.loc[6, "household_id"] = reg.loc[6, "nik_head"]  # the head's NIK as id
    reg.loc[8, "household_id"] = "367301281184000"  # a NIK Excel cut to 15 digits
    reg.loc[10, "household_id"] = reg.loc[10, "head_name"]  # the head's name as id
    reg.loc[12, "household_id"] = str(reg.loc[12, "address"])[:12]  # part of the address
    reg.loc[[14, 2_900], "household_id"] = "3673019999990001"  # one NIK as two rows' id
    # an id with a NIK inside is an id (only a NIK-shaped id is refused), but when it repeats,
    # the rejected file shows it masked as validation shows a rejected id
    reg.loc[[16, 2_901], "household_id"] = "KK 3673012811840001 X"
    reg.loc[18, "kecamatan"] = "Atlantis"  # unknown kecamatan in a Kota Serang registry
    reg["phone"] = None  # an empty personal-data column (Arrow's null type): nothing to hold
    return reg


def _both_paths(ols, source: Path, tmp_path: Path, batch_rows: int) -> list[tuple]:
    out = []
    for numeric in (False, True):
        target = tmp_path / f"{numeric}-{batch_rows}" / "scores.parquet"
        target.parent.mkdir()
        summary = score_registry_file(
            ols, source, target, batch_rows=batch_rows, numeric=numeric, n_boot=30
        )
        assert summary.scored + summary.rejected == summary.households_in_file
        rejected = target.with_name("rejected.parquet")
        if not rejected.exists():  # no rejected row: no file (on either path)
            out.append((pq.read_table(target), pd.DataFrame(), b""))
            continue
        out.append((pq.read_table(target), pd.read_parquet(rejected), rejected.read_bytes()))
    return out


@pytest.mark.parametrize("batch_rows", [1_000, 10**6])
def test_numeric_path_sets_aside_what_the_pandas_path_sets_aside(
    city, ols, tmp_path: Path, batch_rows: int
) -> None:
    reg = _planted_registry(city)
    source = tmp_path / "registry.parquet"
    reg.to_parquet(source, index=False)
    (scores_a, rejected_a, _), (scores_b, rejected_b, raw_b) = _both_paths(
        ols, source, tmp_path, batch_rows
    )
    assert scores_a.select(scores_b.column_names).equals(scores_b)
    pd.testing.assert_frame_equal(rejected_a, rejected_b)
    assert sorted(rejected_b["row"]) == [4, 5, 7, 9, 11, 13, 15, 17, 19, 2901, 2902]
    reasons = dict(zip(rejected_b["row"], rejected_b["reason"], strict=True))
    assert "kelurahan" in reasons[4] and "kelurahan" in reasons[5]
    assert "NIK" in reasons[7] and "NIK" in reasons[9]
    assert "head's name" in reasons[11] and "head's name" in reasons[13]
    assert all("same id" in reasons[r] for r in [15, 17, 2901, 2902])
    assert "kecamatan" in reasons[19]
    # the upper-case kelurahan is one the profile lists: scored, under its own id
    assert str(reg.loc[5, "household_id"]) in scores_b.column("household_id").to_pylist()
    # no NIK (the planted ones nor any head's) and no name in full in the rejected file
    shown = " ".join(rejected_b["household_id"].astype(str))
    assert not re.search(r"\d{15,}", shown)
    assert str(reg.loc[10, "head_name"]) not in shown
    for nik in ["3673019999990001", "3673012811840001", str(reg.loc[6, "nik_head"])]:
        assert nik.encode() not in raw_b


def test_batch_check_does_not_call_planted_rows_clean(city) -> None:
    reg = _planted_registry(city).head(1_000)
    check = check_registry_batch(pa.RecordBatch.from_pandas(reg, preserve_index=False))
    assert not check.whole_batch  # the personal-data columns are checked in Arrow, not pandas
    assert check.areas == schema.ListedAreas(kecamatan=True, kelurahan=True)
    unclean = set(np.flatnonzero(~check.clean) + 1)
    # the repeated ids (rows 15, 17) are found by the file's id scan, not by the batch check;
    # an upper-case listed kelurahan (row 6) is clean (areas are compared case-folded)
    assert {4, 5, 7, 9, 11, 13, 19} <= unclean
    assert 6 not in unclean
    rejected = set(schema.validate_registry(reg, mode="quarantine").rejected["row"])
    assert rejected - {15, 17} <= unclean


@pytest.mark.parametrize("listed_in_file", [False, True])
def test_kelurahan_rule_follows_the_batch_not_the_rows_set_aside(
    city, ols, tmp_path: Path, listed_in_file: bool
) -> None:
    """A file that names its kelurahan otherwise keeps them even when most rows validated the
    pandas way name listed ones; a file that lists them sets an unlisted one aside even when
    most rows validated the pandas way do not."""
    reg = city.registry.drop(columns=["head_name", "address", "nik_head"]).head(1_000).copy()
    if not listed_in_file:
        reg["kelurahan"] = [f"Desa {i % 40:02d}" for i in range(len(reg))]
    defects = list(range(100, 120))
    reg.loc[defects, "floor_material"] = "Ceramic"  # valid, but only the pandas way
    if listed_in_file:
        reg.loc[defects[:-1], "kelurahan"] = "Desa Baru"  # 19 of the 20 set apart unlisted
    else:
        reg.loc[defects[:-1], "kelurahan"] = city.registry["kelurahan"].iloc[defects[:-1]]
    source = tmp_path / "registry.parquet"
    reg.to_parquet(source, index=False)
    (scores_a, rejected_a, _), (scores_b, rejected_b, _) = _both_paths(ols, source, tmp_path, 10**6)
    assert scores_a.equals(scores_b)
    pd.testing.assert_frame_equal(rejected_a, rejected_b)
    whole = schema.validate_registry(reg, mode="quarantine")
    assert len(scores_b) == len(whole.valid)
    assert len(rejected_b) == (19 if listed_in_file else 0)


def test_validate_registry_takes_the_decisions_it_is_given(city) -> None:
    reg = city.registry.head(200).copy()
    reg.loc[0, "kelurahan"] = "Desa Baru"
    own = schema.validate_registry(reg, mode="quarantine")
    assert list(own.rejected["row"]) == [1]
    kept = schema.validate_registry(
        reg, mode="quarantine", listed_areas=schema.ListedAreas(kecamatan=True, kelurahan=False)
    )
    assert kept.rejected.empty
