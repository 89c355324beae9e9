"""Registries as they arrive from Excel (issue 11, points 5 and 6): damage is flagged, set aside
or normalised, never a crash late in the run or a household silently lost."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from targeting.data import schema
from targeting.data.io import read_table
from targeting.plan.ranking import PlanCapacity, build_plan
from targeting.plan.workbook import escape_formula, write_plan_csv, write_plan_workbook
from tests.helpers.cli import run_cli, small_spec
from tests.helpers.defects import city_registry


@pytest.fixture(scope="module")
def registry() -> pd.DataFrame:
    return city_registry(1_000, 3).copy()


def test_truncated_nik_is_flagged_never_dropped(registry: pd.DataFrame) -> None:
    frame = registry.copy()
    frame["nik_head"] = frame["nik_head"].str[:15]  # Excel keeps 15 significant digits
    frame.loc[:9, "nik_head"] = "3.67305E+15"  # scientific notation
    result = schema.validate_registry(frame)
    assert len(result.valid) == len(frame) and result.rejected.empty
    assert {p.column for p in result.problems} == {"nik_head"}


def test_area_names_are_normalised_and_unknown_kecamatan_set_aside(
    registry: pd.DataFrame,
) -> None:
    frame = registry.copy()
    kel = frame.loc[0, "kelurahan"]
    same = frame["kelurahan"] == kel
    frame.loc[0, "kecamatan"] = frame.loc[0, "kecamatan"].upper()
    frame.loc[same[same].index[:1], "kelurahan"] = "  " + kel.upper().replace(" ", "  ")
    frame.loc[5, "kecamatan"] = "Siti Aminah"  # a name typed into the wrong column
    result = schema.validate_registry(frame)
    assert set(result.valid["kecamatan"]) <= set(schema.KECAMATAN_KELURAHAN_COUNTS)
    assert result.valid["kelurahan"].nunique() == registry["kelurahan"].nunique() - int(
        registry.loc[5, "kelurahan"] not in set(registry["kelurahan"].drop(5))
    )
    assert list(result.rejected["row"]) == [6]
    # the name stays out of the areas (and so out of MLflow's per-kelurahan tables) and out of
    # the problems; only rejected.csv, a personal-data file, keeps the row as it was
    assert "Siti" not in " ".join(result.valid["kecamatan"])
    assert "Siti" not in str([p.values for p in result.problems])


def test_household_size_over_30_is_set_aside(registry: pd.DataFrame) -> None:
    frame = registry.copy()
    frame.loc[2, "hh_size"] = "200"
    result = schema.validate_registry(frame)
    assert list(result.rejected["row"]) == [3]
    assert "from 1 to 30" in result.rejected.loc[0, "reason"]


def test_windows_1252_and_blank_rows(tmp_path: Path, registry: pd.DataFrame) -> None:
    frame = registry.head(5).copy()
    frame["head_name"] = "Nur’aini"
    text = frame.to_csv(index=False) + ",,,,\n" + ",".join([""] * frame.shape[1]) + "\n"
    path = tmp_path / "registry.csv"
    path.write_bytes(text.encode("cp1252"))
    read = read_table(path)
    assert len(read) == 5 and read.attrs["blank_rows"] == 2
    assert set(read["head_name"]) == {"Nur’aini"}


def test_formulas_stay_text_and_control_characters_go(tmp_path: Path) -> None:
    registry = city_registry(1_000, 1).copy()
    city = schema.validate_registry(registry).valid
    scores = pd.DataFrame({"p_extreme": 0.5}, index=city["household_id"])
    plan = build_plan(city, scores, PlanCapacity(operators=2, workdays=2))
    plan.plan["head_name"] = '=HYPERLINK("http://x","klik")'
    plan.plan["address"] = "Jl. Melati\x07 No. 1"
    path = write_plan_workbook(plan, tmp_path / "plan.xlsx")
    ws = load_workbook(path).worksheets[1]
    cells = [c for row in ws.iter_rows(min_row=3) for c in row if c.value is not None]
    names = [c for c in cells if str(c.value).startswith("=HYPERLINK")]
    assert names and all(c.data_type == "s" for c in names)
    assert not any("\x07" in str(c.value) for c in cells)
    write_plan_csv(plan, tmp_path)
    csv = pd.read_csv(tmp_path / "plan.csv", dtype=str)
    assert set(csv["head_name"]) == {'\'=HYPERLINK("http://x","klik")'}
    assert escape_formula("@SUM(A1)") == "'@SUM(A1)" and escape_formula("Budi") == "Budi"


def test_all_invalid_registry_stops_early_with_rejected_csv(
    tmp_path: Path, registry: pd.DataFrame
) -> None:
    bad = registry.copy()
    bad["floor_material"] = "unknown-material"
    bad.to_csv(tmp_path / "registry.csv", index=False)
    from targeting.data.synthetic import generate_city

    generate_city(2_000, seed=1).survey.to_csv(tmp_path / "survey.csv", index=False)

    def files(raw: dict) -> None:
        raw["data"] = {
            "source": "files",
            "registry": str(tmp_path / "registry.csv"),
            "survey": str(tmp_path / "survey.csv"),
        }
        raw["models"] = ["ols"]
        raw["forecast"]["scenarios"] = [{"name": "baseline"}]

    spec, _ = small_spec(tmp_path, "allbad", files)
    out = tmp_path / "out"
    code, _, stderr = run_cli(["run", str(spec), "--quiet", "--no-tracking", "--output", str(out)])
    assert code == 2, stderr
    assert "no valid household" in stderr and "rejected.csv" in stderr
    assert len(pd.read_csv(out / "rejected.csv")) == len(registry)
    assert "SimpleImputer" not in stderr and "Traceback" not in stderr


def test_a_line_with_an_extra_comma_is_set_aside_not_the_file(
    tmp_path: Path, registry: pd.DataFrame
) -> None:
    frame = registry.head(6).copy()
    lines = frame.to_csv(index=False).splitlines()
    lines[3] = lines[3] + ",Jl. Mawar, RT 2"  # an unquoted comma in an address
    path = tmp_path / "registry.csv"
    path.write_text("\n".join(lines) + "\n")
    read = read_table(path)
    assert len(read) == 5 and read.attrs["malformed_lines"] == [4]
    assert list(read["household_id"]) == list(frame["household_id"].drop(frame.index[2]))
