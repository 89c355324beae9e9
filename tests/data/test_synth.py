"""Tests for the synthetic Kota Serang generator (targeting.data.synthetic)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold

from targeting.data import schema
from targeting.data.city import DEFAULT_LINE
from targeting.data.synthetic import (
    FieldOutcomeSimulator,
    SyntheticCity,
    calibration_summary,
    generate_city,
    read_city,
    write_city,
)

SMALL = 20_000


@pytest.fixture(scope="module")
def city() -> SyntheticCity:
    """The full default city (generates in about 2 s)."""
    return generate_city()


@pytest.fixture(scope="module")
def small_city() -> SyntheticCity:
    return generate_city(SMALL, seed=7)


# --- determinism and files -------------------------------------------------------------------


def test_same_seed_gives_identical_frames_and_parquet(tmp_path, small_city):
    again = generate_city(SMALL, seed=7)
    for name in ["survey", "registry", "truth", "kelurahan"]:
        pd.testing.assert_frame_equal(getattr(small_city, name), getattr(again, name))
    assert small_city.params == again.params
    a = write_city(small_city, tmp_path / "a")
    b = write_city(again, tmp_path / "b")
    for name in ["survey", "registry", "truth", "kelurahan", "params"]:
        assert a[name].read_bytes() == b[name].read_bytes(), name


def test_other_seed_gives_another_city(small_city):
    other = generate_city(SMALL, seed=8)
    assert not small_city.truth["consumption_pc"].equals(other.truth["consumption_pc"])
    assert not small_city.registry["household_id"].equals(other.registry["household_id"])


def test_write_read_round_trip(tmp_path, small_city):
    paths = write_city(small_city, tmp_path)
    assert {p.name for p in paths.values()} >= {
        "survey.parquet",
        "registry.parquet",
        "truth.parquet",
        "kelurahan.parquet",
    }
    back = read_city(tmp_path)
    for name in ["survey", "registry", "truth", "kelurahan"]:
        pd.testing.assert_frame_equal(getattr(back, name), getattr(small_city, name))
    assert back.params == small_city.params


def test_rejects_bad_arguments():
    with pytest.raises(ValueError):
        generate_city(10)
    with pytest.raises(ValueError):
        generate_city(SMALL, survey_fraction=0)
    with pytest.raises(ValueError):
        generate_city(SMALL, extreme_line=-1)


# --- contracts -------------------------------------------------------------------------------


def test_outputs_meet_the_schema(city):
    result = schema.validate_registry(city.registry, mode="strict")
    assert len(result.valid) == len(city.registry)
    assert result.rejected.empty
    survey = schema.validate_survey(city.survey)
    assert len(survey.valid) == len(city.survey)
    for column in ["nik_head", "head_name", "address", "rt", "rw"]:
        assert column in city.registry
        assert city.registry[column].notna().all()
    assert "consumption_pc" not in city.registry
    assert list(city.truth.columns) == [
        "household_id",
        "kecamatan",
        "kelurahan",
        "consumption_pc",
        "extreme",
    ]
    assert list(city.kelurahan.columns) == ["kecamatan", "kelurahan", "n_households", "area_effect"]


def test_areas(city):
    kel = city.kelurahan
    assert len(kel) == 67
    assert kel.groupby("kecamatan").size().to_dict() == schema.KECAMATAN_KELURAHAN_COUNTS
    assert kel["n_households"].sum() == len(city.registry)
    counted = city.registry["kelurahan"].value_counts()
    assert (counted.reindex(kel["kelurahan"]).to_numpy() == kel["n_households"].to_numpy()).all()
    assert city.registry["rt"].str.fullmatch(r"\d{3}").all()
    assert city.registry["rw"].str.fullmatch(r"\d{3}").all()


def test_truth_matches_registry_and_line(city):
    assert city.truth["household_id"].equals(city.registry["household_id"])
    line = city.params["extreme_line"]
    assert (city.truth["extreme"] == (city.truth["consumption_pc"] < line)).all()
    assert (city.truth["consumption_pc"] > 0).all()


def test_household_ids_are_pseudonymous(city):
    ids = city.registry["household_id"]
    assert ids.is_unique
    assert ids.str.fullmatch(r"KK\d{7}").all()
    # The registry is ordered by area; the ids must not follow that order.
    number = ids.str[2:].astype(int).to_numpy()
    rho = np.corrcoef(number, np.arange(number.size))[0, 1]
    assert abs(rho) < 0.02
    survey_ids = city.survey["household_id"]
    assert survey_ids.str.fullmatch(r"S\d{6}").all() and survey_ids.is_unique
    assert not set(survey_ids) & set(ids)


def test_survey_is_a_stratified_five_percent_sample(city):
    survey = city.survey
    assert abs(len(survey) / len(city.registry) - 0.05) < 0.001
    per_kec = survey.groupby("kecamatan")["weight"].sum()
    registry_kec = city.registry["kecamatan"].value_counts()
    np.testing.assert_allclose(per_kec.sort_index(), registry_kec.sort_index(), rtol=1e-9)
    assert survey["weight"].between(15, 25).all()
    # Same process as the registry: the extreme share agrees within sampling error.
    share = np.average(
        survey["consumption_pc"] < city.params["extreme_line"], weights=survey["weight"]
    )
    assert abs(share - city.truth["extreme"].mean()) < 0.01


def test_nik_format_uniqueness_and_consistency(city):
    reg = city.registry
    nik = reg["nik_head"]
    assert nik.is_unique
    assert nik.str.fullmatch(r"3673\d{12}").all()
    codes = {k: f"{i + 1:02d}" for i, k in enumerate(schema.KECAMATAN_KELURAHAN_COUNTS)}
    assert (nik.str[4:6] == reg["kecamatan"].map(codes)).all()
    dd = nik.str[6:8].astype(int)
    female = reg["head_female"].to_numpy()
    assert ((dd > 40) == female).all()
    day = np.where(female, dd - 40, dd)
    month = nik.str[8:10].astype(int).to_numpy()
    yy = nik.str[10:12].astype(int).to_numpy()
    assert ((day >= 1) & (day <= 31)).all() and ((month >= 1) & (month <= 12)).all()
    assert (nik.str[12:16].astype(int) >= 1).all()
    # The two-digit year and the birthday agree with head_age on the reference date (1 July 2025).
    had_birthday = (month < 7) | ((month == 7) & (day <= 1))
    year = 2025 - reg["head_age"].to_numpy() - ~had_birthday
    assert (year % 100 == yy).all()
    # Dates exist (e.g. no 30 February).
    dates = pd.to_datetime(
        pd.DataFrame({"year": year, "month": month, "day": day}), errors="coerce"
    )
    assert dates.notna().all()


def test_names_and_addresses(city):
    reg = city.registry
    assert reg["head_name"].str.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+").all()
    pattern = r"Jl\. [A-Za-z ]+ No\. \d+, RT \d{3}/RW \d{3}, Kel\. .+"
    assert reg["address"].str.fullmatch(pattern).all()
    tail = reg["address"].str.extract(r"RT (\d{3})/RW (\d{3}), Kel\. (.+)$")
    assert (tail[0] == reg["rt"]).all() and (tail[1] == reg["rw"]).all()
    assert (tail[2] == reg["kelurahan"]).all()


def test_programme_status(city):
    reg = city.registry
    reached = schema.is_reached(reg)
    assert (reg["receives_pbi"].mean() > reached.mean()) and reg["receives_pbi"].mean() < 0.5
    status = reg["verification_status"].value_counts(normalize=True)
    assert status["unverified"] > 0.95
    assert set(status.index) <= set(schema.VERIFICATION_STATUSES)
    # Leakage: most reached households are not extremely poor.
    assert (~city.truth["extreme"][reached]).mean() > 0.6


# --- calibration -----------------------------------------------------------------------------


def test_calibration_summary_all_within_ten_percent(city):
    table = calibration_summary(city)
    assert list(table.columns) == [
        "quantity",
        "target",
        "generated",
        "relative_error",
        "within_10pct",
    ]
    assert len(table) == 17
    bad = table.loc[~table["within_10pct"], ["quantity", "target", "generated"]]
    assert bad.empty, bad.to_string()
    np.testing.assert_allclose(
        table["relative_error"], (table["generated"] - table["target"]) / table["target"]
    )


def test_calibration_summary_flags_a_miss(city):
    half = SyntheticCity(
        survey=city.survey,
        registry=city.registry,
        truth=city.truth.assign(extreme=False),
        kelurahan=city.kelurahan,
        params=city.params,
    )
    table = calibration_summary(half).set_index("quantity")
    assert not table.loc["extremely poor KK", "within_10pct"]


def test_count_targets_scale_with_size(small_city):
    # the generated city, counted here from its own frames, against the published targets
    # (8,800 extremely poor KK in 206,600; 3.6 persons per KK) scaled to its size
    registry = small_city.registry
    extreme = small_city.truth.set_index("household_id").loc[registry["household_id"], "extreme"]
    n_extreme = int(extreme.sum())
    mean_size = float(registry["hh_size"].mean())
    assert len(registry) == SMALL
    assert n_extreme == pytest.approx(8_800 * SMALL / 206_600, rel=0.10)
    assert mean_size == pytest.approx(3.6, rel=0.10)
    # the summary reports those same generated counts against the scaled targets
    table = calibration_summary(small_city).set_index("quantity")
    assert table.loc["households (KK)", "generated"] == SMALL
    assert table.loc["extremely poor KK", "generated"] == n_extreme
    assert table.loc["mean household size", "generated"] == pytest.approx(mean_size)
    assert table.loc["extremely poor KK", "target"] == pytest.approx(8_800 * SMALL / 206_600)
    counts = table.loc[table.index.str.startswith("extremely poor KK")]
    assert counts["within_10pct"].all(), counts.to_string()


def test_unreached_mostly_in_kasemen_and_taktakan(city):
    reached = schema.is_reached(city.registry).to_numpy()
    unreached = city.truth.loc[city.truth["extreme"].to_numpy() & ~reached]
    counts = unreached["kecamatan"].value_counts()
    assert set(counts.index[:2]) == {"Kasemen", "Taktakan"}
    assert counts[["Kasemen", "Taktakan"]].sum() / counts.sum() > 0.45


# --- PMT difficulty --------------------------------------------------------------------------


def _design(frame: pd.DataFrame) -> np.ndarray:
    cat = list(schema.CATEGORICAL_PROXIES) + list(schema.ORDERED_PROXIES)
    x = pd.get_dummies(frame[schema.PROXY_COLUMNS], columns=cat, drop_first=True, dtype=float)
    x["log_hh_size"] = np.log(frame["hh_size"])
    x["log_floor_area"] = np.log(frame["floor_area_m2"])
    x = x.astype(float).to_numpy()
    return np.column_stack([np.ones(len(x)), x])


def test_ols_pmt_on_held_out_kelurahan_is_realistic(city):
    data = city.registry.merge(city.truth[["household_id", "consumption_pc", "extreme"]])
    sample = data.sample(40_000, random_state=0)
    x = _design(sample)
    y = np.log(sample["consumption_pc"].to_numpy())
    extreme = sample["extreme"].to_numpy()
    predicted = np.empty_like(y)
    for train, test in GroupKFold(n_splits=5).split(x, y, sample["kelurahan"]):
        beta = np.linalg.lstsq(x[train], y[train], rcond=None)[0]
        predicted[test] = x[test] @ beta
    auc = roc_auc_score(extreme, -predicted)
    k = int(extreme.sum())
    selected = np.argsort(predicted, kind="stable")[:k]
    exclusion_error = 1 - extreme[selected].sum() / k
    assert 0.74 <= auc <= 0.86, auc
    assert 0.45 <= exclusion_error <= 0.68, exclusion_error


# --- field outcomes --------------------------------------------------------------------------


def _plan(city: SyntheticCity, n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ids = city.registry["household_id"].to_numpy()[rng.choice(len(city.registry), n, replace=False)]
    return pd.DataFrame(
        {
            "household_id": ids,
            "visit_date": pd.Timestamp("2026-01-05") + pd.to_timedelta(np.arange(n) % 20, unit="D"),
            "operator": [f"OP{i % 67 + 1:02d}" for i in range(n)],
        }
    )


def test_outcomes_are_deterministic_and_order_free(small_city):
    plan = _plan(small_city, 5_000)
    sim = FieldOutcomeSimulator(small_city.truth, seed=3)
    first = sim.respond(plan)
    again = FieldOutcomeSimulator(small_city.truth, seed=3).respond(plan)
    pd.testing.assert_frame_equal(first, again)
    shuffled = plan.sample(frac=1.0, random_state=1)
    back = sim.respond(shuffled).set_index("household_id").loc[first["household_id"]]
    assert (back["result"].to_numpy() == first["result"].to_numpy()).all()
    other = FieldOutcomeSimulator(small_city.truth, seed=4).respond(plan)
    assert (other["result"] != first["result"]).any()
    assert list(first.columns) == ["household_id", "visit_date", "operator", "result"]
    assert first["result"].isin(schema.OUTCOME_RESULTS).all()
    checked = schema.validate_outcomes(first, known_ids=small_city.registry["household_id"])
    assert len(checked) == len(plan)


def test_outcome_rates(small_city):
    plan = _plan(small_city, SMALL)
    sim = FieldOutcomeSimulator(
        small_city.truth,
        seed=1,
        p_not_found=0.10,
        p_refused=0.05,
        p_moved=0.03,
        p_misclassified=0.08,
        assessment_sd=0.0,
    )
    out = sim.respond(plan)
    shares = out["result"].value_counts(normalize=True)
    assert shares["not_found"] == pytest.approx(0.10, abs=0.01)
    assert shares["refused"] == pytest.approx(0.05, abs=0.008)
    assert shares["moved"] == pytest.approx(0.03, abs=0.006)
    truth = small_city.truth.set_index("household_id")["extreme"].loc[out["household_id"]]
    done = out["result"].isin(["extreme_poor", "not_extreme_poor"]).to_numpy()
    recorded = (out["result"] == "extreme_poor").to_numpy()
    wrong = (recorded != truth.to_numpy())[done].mean()
    assert wrong == pytest.approx(0.08, abs=0.01)


def test_outcomes_follow_truth_without_noise(small_city):
    plan = _plan(small_city, 3_000)
    sim = FieldOutcomeSimulator(
        small_city.truth, p_not_found=0, p_refused=0, p_moved=0, p_misclassified=0, assessment_sd=0
    )
    out = sim.respond(plan)
    truth = small_city.truth.set_index("household_id")["extreme"].loc[plan["household_id"]]
    expected = np.where(truth.to_numpy(), "extreme_poor", "not_extreme_poor")
    assert (out["result"].to_numpy() == expected).all()


def test_field_errs_near_the_line_only(small_city):
    # the default field error is an assessment error on log consumption: households close to
    # the line are misrecorded often, those far from it (either side) practically never
    plan = _plan(small_city, SMALL)
    sim = FieldOutcomeSimulator(small_city.truth, seed=2, p_not_found=0, p_refused=0, p_moved=0)
    out = sim.respond(plan)
    truth = small_city.truth.set_index("household_id").loc[out["household_id"]]
    ratio = np.abs(np.log(truth["consumption_pc"].to_numpy() / DEFAULT_LINE))
    wrong = (out["result"] == "extreme_poor").to_numpy() != truth["extreme"].to_numpy()
    near, far = ratio < 0.02, ratio > 0.2
    assert near.sum() > 30 and far.sum() > 1_000
    assert wrong[near].mean() > 0.25
    assert wrong[far].sum() == 0
    # the recorded rate follows the documented probability
    q = sim.misrecord_probability(out["household_id"])
    assert wrong.mean() == pytest.approx(q.mean(), abs=4 * np.sqrt(q.mean() / len(q)))
    with pytest.raises(KeyError, match="consumption_pc"):
        FieldOutcomeSimulator(small_city.truth.drop(columns="consumption_pc"))
    with pytest.raises(ValueError, match="line"):
        FieldOutcomeSimulator(small_city.truth, line=DEFAULT_LINE * 2)


def test_outcomes_reject_unknown_households(small_city):
    plan = _plan(small_city, 10)
    plan.loc[0, "household_id"] = "KK9999999X"
    with pytest.raises(KeyError):
        FieldOutcomeSimulator(small_city.truth).respond(plan)
    with pytest.raises(KeyError):
        FieldOutcomeSimulator(small_city.truth).respond(plan.drop(columns="operator"))
    with pytest.raises(ValueError):
        FieldOutcomeSimulator(small_city.truth, p_not_found=0.8, p_refused=0.3)


def test_kelurahan_names_are_fake():
    # Kelurahan names are fake on purpose ("Kasemen 01"), so they cannot be mistaken for real data.
    city = generate_city(5_000, seed=1)
    assert city.kelurahan["kelurahan"].map(lambda s: bool(re.fullmatch(r".+ \d{2}", s))).all()
