"""Issue 11, personal-data gaps in validation: a head's name typed into ``kelurahan`` never becomes
an area, and a NIK typed as ``household_id`` (or into another column) is never shown in full."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from targeting.data import schema
from targeting.data.city import load_city_profile
from targeting.data.io import write_table
from targeting.data.privacy import AreaPseudonyms
from tests.helpers.defects import city_registry

NIK = re.compile(r"\d{16}")


@pytest.fixture(scope="module")
def registry() -> pd.DataFrame:
    return city_registry(1_000, 5).copy()


def _row_in(frame: pd.DataFrame, kecamatan: str, skip: int = 0) -> int:
    return int(frame.index[frame["kecamatan"] == kecamatan][skip])


def test_unknown_kelurahan_is_set_aside_without_its_value(registry: pd.DataFrame) -> None:
    frame = registry.copy()
    name_row = _row_in(frame, "Taktakan")
    wrong_kecamatan_row = _row_in(frame, "Taktakan", 1)
    spelled_row = _row_in(frame, "Serang")
    frame.loc[name_row, "kelurahan"] = "Siti Aminah Binti Zzyzx"  # a head's name in the cell
    frame.loc[wrong_kecamatan_row, "kelurahan"] = "Kasemen 01"  # listed, but not in Taktakan
    frame.loc[spelled_row, "kelurahan"] = "  SERANG   " + frame.loc[spelled_row, "kelurahan"][-2:]
    result = schema.validate_registry(frame)
    assert sorted(result.rejected["row"]) == sorted([name_row + 1, wrong_kecamatan_row + 1])
    assert result.rejected["reason"].str.contains("kelurahan: expected a kelurahan").all()
    # the other spelling of a listed kelurahan is that kelurahan, not a new area
    assert set(result.valid["kelurahan"]) <= load_city_profile().listed_areas
    shown = str(result.problems) + result.rejected["reason"].str.cat()
    assert "Zzyzx" not in shown and "Siti" not in shown


def test_a_registry_that_names_its_kelurahan_otherwise_is_kept(registry: pd.DataFrame) -> None:
    frame = registry.copy()
    # real kelurahan names (the profile lists the synthetic city's "Serang 01"...)
    frame["kelurahan"] = "Kel " + frame["kelurahan"].str[-2:] + " " + frame["kecamatan"]
    result = schema.validate_registry(frame)
    assert result.rejected.empty


def test_unlisted_areas_get_keyed_pseudonyms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TARGETING_PSEUDONYM_KEY", "k" * 32)
    areas = AreaPseudonyms.for_areas(["Serang", "Serang 01", "Siti Aminah", "Kel Cipare"])
    assert set(areas.mapping) == {"Siti Aminah", "SitiAminah", "Kel Cipare", "KelCipare"}
    masked = areas.text("Siti Aminah")
    assert masked.startswith("area-") and masked == areas.text("Siti Aminah")
    frame = pd.DataFrame({"kecamatan": ["Serang", "Kel Cipare"], "visits": [1, 2]})
    assert list(areas.frame(frame)["kecamatan"]) == ["Serang", areas.text("Kel Cipare")]
    nested = areas.json({"Siti Aminah": [{"kelurahan": "Siti Aminah"}], "op": "OP-SitiAminah-01"})
    assert "Siti" not in str(nested) and "Aminah" not in str(nested)
    assert AreaPseudonyms.for_areas(["Serang", "Kasemen 02", ""]).mapping == {}


def test_nik_shaped_values_are_masked_in_rejected_and_errors(
    registry: pd.DataFrame, tmp_path: Path
) -> None:
    frame = registry.copy()
    frame.loc[0, "household_id"] = "3673017777770001"
    frame.loc[0, "hh_size"] = "0"  # rejects the row whose id is a NIK
    frame.loc[1, "hh_size"] = "3673017777770002"  # a NIK typed into hh_size
    frame.loc[[2, 3], "household_id"] = "3673017777770003"  # the same NIK as two households' id
    result = schema.validate_registry(frame)
    assert sorted(result.rejected["row"]) == [1, 2, 3, 4]
    write_table(result.rejected, tmp_path / "rejected.csv")
    with pytest.raises(schema.DataValidationError) as info:
        schema.validate_registry(frame, mode="strict")
    schema.write_problems(info.value, tmp_path / "validation_errors.csv")
    texts = [
        (tmp_path / "rejected.csv").read_text(),
        (tmp_path / "validation_errors.csv").read_text(),
        str(info.value),
    ]
    for text in texts:
        assert not NIK.search(text), text[:2000]
    # masked the NIK way, so the data manager can still tell the rows apart
    assert "3673**********01" in texts[0]
    assert "3673**********02" in texts[1]


def test_a_nik_as_household_id_is_set_aside(registry: pd.DataFrame) -> None:
    frame = registry.copy()
    frame.loc[4, "household_id"] = "3673017777770004"
    frame.loc[6, "household_id"] = "367301777777000"  # cut to 15 digits by Excel
    result = schema.validate_registry(frame)
    assert sorted(result.rejected["row"]) == [5, 7]
    assert result.rejected["reason"].str.contains("not a 16-digit NIK or KK number").all()
    assert not result.valid["household_id"].str.fullmatch(r"\d{15,16}").any()


def test_the_heads_name_as_household_id_is_set_aside_and_hidden(registry: pd.DataFrame) -> None:
    frame = registry.copy()
    frame.loc[3, "household_id"] = frame.loc[3, "head_name"]
    result = schema.validate_registry(frame)
    assert list(result.rejected["row"]) == [4]
    assert list(result.rejected["household_id"]) == ["<redacted>"]
    assert "not the head's name" in result.rejected.loc[0, "reason"]
    assert frame.loc[3, "head_name"] not in str(result.problems)


def test_an_unexpected_error_never_prints_a_nik(monkeypatch: pytest.MonkeyPatch) -> None:
    import targeting.cli.score as score_cli
    from tests.helpers.cli import run_cli

    def failing(args):
        raise ValueError("could not convert string to float: '3673017777770009'")

    monkeypatch.setattr(score_cli, "_cmd_score", failing)
    code, stdout, stderr = run_cli(["score", "registry.csv"])
    assert code == 1
    assert "3673017777770009" not in stdout + stderr
    assert "3673**********09" in stderr and "Traceback" not in stderr
