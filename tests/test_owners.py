"""Every shared rule has one owner: each owner is imported here and its behaviour checked.

Also checks, by reading the package's source (AST), that no module imports a private name
(``_x``) from another targeting module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import targeting
from targeting.data import eligibility, schema
from targeting.data.city import load_city_profile
from targeting.data.io import atomic_path
from targeting.evaluation.champion import rank_models, select_champion
from targeting.evaluation.cv import (
    DEFAULT_N_REPEATS,
    DEFAULT_N_SPLITS,
    default_group_by,
    grouped_cross_validate,
)
from targeting.evaluation.metrics import (
    GREATER_IS_BETTER,
    expected_calibration_error,
    greater_is_better,
    reliability_bins,
)
from targeting.feedback.ingest import hit_rate_table, wilson_interval
from targeting.pmt.calibration import PLATT_PRIOR_PRECISION, PlattCalibrator, fit_platt
from targeting.tracking.compare import sort_table

PACKAGE = Path(targeting.__file__).resolve().parent


# --- metric directions and the champion --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "greater"),
    [
        ("auc", True),
        ("p_goal", True),
        ("p_near_zero", True),
        ("brier", False),
        ("ece", False),
        ("ee_at_true_share", False),
        ("ie_at_33", False),
        ("end_q50", False),
        ("capacity_p80_operators", False),
        # a spread is better small, whatever its metric's direction (the rules disagreed here)
        ("auc_sd", False),
        ("brier_sd", False),
        ("p_goal_se", False),
    ],
)
def test_metric_directions(name: str, greater: bool) -> None:
    assert greater_is_better(name) is greater


def test_every_evaluated_metric_has_a_direction() -> None:
    from targeting.evaluation.metrics import evaluate_scores

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    keys = set(evaluate_scores(y, rng.random(200))) - {"true_share"}
    for key in keys | {f"{k}_sd" for k in keys}:
        greater_is_better(key)
    assert {"auc", "brier", "ece", "p_goal"} <= set(GREATER_IS_BETTER)
    with pytest.raises(ValueError, match="true_share"):
        greater_is_better("true_share")


def test_select_champion_follows_the_direction_and_breaks_ties_by_name() -> None:
    table = pd.DataFrame(
        {
            "model": ["zeta", "alpha", "mid", "nan"],
            "ee_at_true_share": [0.50, 0.50, 0.60, np.nan],
            "auc": [0.70, 0.80, 0.90, np.nan],
        }
    )
    assert select_champion(table, "ee_at_true_share") == "alpha"
    assert rank_models(table, "ee_at_true_share") == ["alpha", "zeta", "mid", "nan"]
    assert select_champion(table, "auc") == "mid"
    with pytest.raises(ValueError, match="not a reported metric"):
        select_champion(table, "no_such")


def test_compare_sorts_in_the_same_direction() -> None:
    table = pd.DataFrame({"model": ["a", "b", "c"], "brier_sd": [0.3, 0.1, 0.2]})
    assert sort_table(table, "brier_sd")["model"].tolist() == ["b", "c", "a"]
    table = pd.DataFrame({"scenario": ["a", "b"], "p_goal": [0.2, 0.9]})
    assert sort_table(table, "p_goal")["scenario"].tolist() == ["b", "a"]


# --- one cross-validation engine -------------------------------------------------------------


def test_cv_default_protocol_groups_by_area() -> None:
    assert (DEFAULT_N_SPLITS, DEFAULT_N_REPEATS) == (5, 1)
    assert default_group_by(np.array(["a", "a", "b", "b"])) == "area"
    assert default_group_by(np.arange(4)) == "household"
    assert default_group_by(None) == "household"


def test_cv_repeats_one_at_a_time_equal_one_call() -> None:
    """The zoo runs repeats separately (in parallel); it must get the engine's folds and fits."""
    from targeting.pmt.build import load_specs

    rng = np.random.default_rng(3)
    n = 240
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n)})
    label = (X["x1"] + rng.normal(size=n) > 1.0).astype(int).to_numpy()
    groups = np.repeat(np.arange(24), 10)
    from targeting.evaluation.zoo import data_feature_transformer

    spec = load_specs(names=["logit"])[0]
    feats = data_feature_transformer(X)
    both = grouped_cross_validate(
        spec, X, label, groups, n_splits=3, n_repeats=2, seed=5, features=feats
    )
    second = grouped_cross_validate(
        spec, X, label, groups, n_splits=3, n_repeats=1, seed=6, features=feats
    )
    again = both.oof[both.oof["repeat"] == 1].reset_index(drop=True)
    np.testing.assert_array_equal(again["row"], second.oof["row"])
    np.testing.assert_allclose(again["p_extreme"], second.oof["p_extreme"])


# --- eligibility ------------------------------------------------------------------------------


def test_eligibility_normalises_the_status() -> None:
    frame = pd.DataFrame(
        {
            "receives_pkh": [False, True, False, False, False],
            "receives_bpnt": [False, False, True, False, False],
            "verification_status": [" Unverified", "unverified", "unverified", "UNVERIFIED ",
                                    "verified_extreme"],
        }
    )  # fmt: skip
    assert eligibility.is_reached(frame).tolist() == [False, True, True, False, False]
    assert eligibility.eligible_for_ranking(frame).tolist() == [True, False, False, True, False]
    assert eligibility.normalise_status(frame["verification_status"]).iloc[0] == "unverified"
    assert schema.is_reached is eligibility.is_reached


# --- reliability bins and ECE -----------------------------------------------------------------


def test_ece_is_the_weighted_gap_of_the_reliability_bins() -> None:
    y = np.array([0, 0, 1, 1, 1, 0])
    p = np.array([0.05, 0.15, 0.95, 0.85, 0.12, 0.9])
    w = np.array([1.0, 1.0, 2.0, 1.0, 3.0, 1.0])
    bins = reliability_bins(y, p, sample_weight=w)
    assert bins["bin"].tolist() == [0, 1, 8, 9]
    first = bins.set_index("bin").loc[1]
    assert first["weight"] == 4.0 and first["observed"] == pytest.approx(0.75)
    gap = (bins["weight"] * (bins["observed"] - bins["p_mean"]).abs()).sum() / w.sum()
    assert expected_calibration_error(y, p, sample_weight=w) == pytest.approx(gap)
    unweighted = expected_calibration_error(y, p)
    assert unweighted != pytest.approx(gap)


# --- atomic writer ----------------------------------------------------------------------------


def test_atomic_write_leaves_the_old_file_when_the_writer_fails(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "file.txt"
    with atomic_path(target) as tmp:
        tmp.write_text("first", encoding="utf-8")

    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half", encoding="utf-8")
        raise RuntimeError("disk full")
    assert target.read_text(encoding="utf-8") == "first"
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.txt"]


# --- Platt fit --------------------------------------------------------------------------------


def test_fit_platt_recovers_a_map_and_is_the_calibrators() -> None:
    rng = np.random.default_rng(1)
    z = rng.normal(-2.0, 1.5, 20_000)
    y = (rng.random(z.size) < 1 / (1 + np.exp(-(0.5 + 0.8 * z)))).astype(int)
    coef, cov = fit_platt(z, y)
    assert coef == pytest.approx([0.5, 0.8], abs=0.08)
    assert np.all(np.linalg.eigvalsh(cov) > 0)
    p = 1 / (1 + np.exp(-z))
    calibrator = PlattCalibrator().fit(p, y)
    np.testing.assert_allclose(calibrator.coef_, fit_platt(np.log(p / (1 - p)), y)[0], atol=1e-6)
    # the prior keeps a separated sample finite, pulled toward the identity map
    separated, _ = fit_platt(np.array([-1.0, -0.5, 0.5, 1.0]), np.array([0, 0, 1, 1]))
    assert np.all(np.isfinite(separated)) and PLATT_PRIOR_PRECISION == 1.0


# --- Wilson and Holm --------------------------------------------------------------------------


def test_wilson_and_holm_are_statsmodels() -> None:
    from statsmodels.stats.proportion import proportion_confint

    low, high = wilson_interval(np.array([3, 0]), np.array([20, 0]), level=0.9)
    ref = proportion_confint(3, 20, alpha=0.1, method="wilson")
    assert (low[0], high[0]) == pytest.approx(ref, abs=1e-15)
    assert np.isnan(low[1]) and np.isnan(high[1])
    ledger = pd.DataFrame(
        {
            "household_id": [f"h{i}" for i in range(60)],
            "visit_date": "2025-11-03",
            "operator": "op",
            "result": ["extreme_poor"] * 30 + ["not_extreme_poor"] * 30,
        }
    )
    predictions = pd.DataFrame(
        {
            "household_id": [f"h{i}" for i in range(60)],
            "p_extreme": 0.05,
            "kelurahan": ["A"] * 30 + ["B"] * 30,
        }
    )
    table = hit_rate_table(ledger, predictions, by="kelurahan").set_index("kelurahan")
    assert bool(table.loc["A", "flagged"]) and not bool(table.loc["B", "flagged"])


# --- city profile -----------------------------------------------------------------------------


def test_city_profile_is_the_one_source_of_the_constants() -> None:
    from targeting.config.model import DEFAULT_LINE
    from targeting.data import synthetic
    from targeting.forecast.calibrate import SERANG_2023

    city = load_city_profile()
    assert city.extreme_line == 400_000
    assert sum(city.kelurahan_counts.values()) == 67 and len(city.kecamatan) == 6
    assert city.nik_prefixes["Serang"] == "367301" and city.nik_prefixes["Taktakan"] == "367306"
    assert city.kelurahan("Curug")[-1] == "Curug 10"
    assert schema.KECAMATAN_KELURAHAN_COUNTS == city.kelurahan_counts
    assert synthetic.EXTREME_BY_KECAMATAN == city.extreme_by_kecamatan
    assert SERANG_2023["kelurahan_per_kecamatan"] == city.kelurahan_counts
    assert DEFAULT_LINE == city.extreme_line
    with pytest.raises(ValueError, match="no such profile"):
        load_city_profile("atlantis")


def test_no_poverty_line_literal_outside_the_profile() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
                if not isinstance(node.value, bool) and node.value == 400_000:
                    offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == []


# --- progress reading -------------------------------------------------------------------------


def test_report_progress_reads_the_state_like_ingest(tmp_path: Path) -> None:
    from targeting.data import state
    from targeting.feedback.progress import read_progress

    assert read_progress(tmp_path) is None
    pd.DataFrame(
        {"household_id": ["1", "2"], "kelurahan": ["A", "A"], "p_extreme": [0.5, 0.5]}
    ).to_csv(tmp_path / state.PLAN_FILE, index=False)
    state.write_scores(
        pd.DataFrame(
            {"household_id": ["3"], "p_extreme": [0.25], "p_low": [0.1], "p_high": [0.4],
             "desil": [1]}
        ),
        tmp_path,
    )  # fmt: skip
    ledger = pd.DataFrame(
        {
            "household_id": ["1", "2", "3"],
            "visit_date": ["2025-11-03"] * 3,
            "operator": ["op"] * 3,
            "result": ["extreme_poor", "not_extreme_poor", "extreme_poor"],
            "notes": [""] * 3,
        }
    )
    state.write_ledger(ledger, tmp_path)
    progress = read_progress(tmp_path)
    assert progress is not None and progress["outcomes"] == 3
    overall = progress["overall"][0]
    # household 3 is not in the plan: its prediction comes from the state's scores
    assert overall["conclusive"] == 3
    assert overall["predicted"] == pytest.approx((0.5 + 0.5 + 0.25) / 3)


# --- no private names across modules ----------------------------------------------------------


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _private_imports(source: str, module: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != "targeting" or node.module == module:
                continue
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{module}:{node.lineno} imports {node.module}.{alias.name}")
    return found


def test_the_private_import_check_can_fail() -> None:
    bad = "from targeting.pipeline import _hidden\nfrom targeting.pipeline import visible\n"
    assert _private_imports(bad, "targeting.cli.x") == [
        "targeting.cli.x:1 imports targeting.pipeline._hidden"
    ]


def test_no_module_imports_a_private_name_from_another() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        offenders += _private_imports(path.read_text(encoding="utf-8"), _module_name(path))
    assert offenders == []
