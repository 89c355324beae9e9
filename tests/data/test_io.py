"""Reading and atomic writing of tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from targeting.data.io import InputFileError, atomic_path, read_table, write_json, write_table


def test_atomic_write_leaves_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "plan.csv"
    write_table(pd.DataFrame({"a": [1, 2]}), target)
    before = target.read_bytes()
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half a plan")
        raise RuntimeError("crash mid-write")
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["plan.csv"]


def test_round_trip_csv_and_parquet_are_deterministic(tmp_path: Path) -> None:
    frame = pd.DataFrame({"household_id": ["KK0000001", "KK0000002"], "p": [0.25, 0.5]})
    for name in ("t.csv", "t.parquet"):
        first = write_table(frame, tmp_path / name).read_bytes()
        second = write_table(frame, tmp_path / name).read_bytes()
        assert first == second
    back = read_table(tmp_path / "t.csv")
    assert list(back["household_id"]) == ["KK0000001", "KK0000002"]  # text kept as text


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "latin-1"])
def test_csv_encodings_and_semicolons(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes("household_id;kelurahan;area\nKK1;Cimuncang;35,5\n".encode(encoding))
    frame = read_table(path)
    assert list(frame.columns) == ["household_id", "kelurahan", "area"]
    assert frame.loc[0, "area"] == "35,5"


def test_missing_and_empty_files_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="no such file"):
        read_table(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputFileError, match="empty"):
        read_table(tmp_path / "empty.csv")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(InputFileError, match="unknown file type"):
        read_table(tmp_path / "x.json")


def test_write_json_is_sorted_and_stable(tmp_path: Path) -> None:
    path = write_json({"b": 1, "a": [1, 2]}, tmp_path / "s.json")
    assert path.read_text().startswith('{\n  "a"')


def test_utf16_csv_is_read(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes("household_id,kelurahan\nKK1,Cimuncang\n".encode("utf-16"))
    assert read_table(path).loc[0, "kelurahan"] == "Cimuncang"


def test_excel_title_rows_and_blank_tail_are_skipped(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["REGISTER 2025"])
    ws.merge_cells("A1:C1")
    ws.append(["household_id", "kelurahan", "hh_size"])
    ws.append(["KK001", "Cimuncang", 4])
    ws.append([None, None, None])
    book.save(tmp_path / "r.xlsx")
    frame = read_table(tmp_path / "r.xlsx")
    assert list(frame.columns) == ["household_id", "kelurahan", "hh_size"]
    assert frame.to_dict("records") == [
        {"household_id": "KK001", "kelurahan": "Cimuncang", "hh_size": "4"}
    ]


def test_corrupt_files_raise_input_file_error(tmp_path: Path) -> None:
    for name in ("r.xlsx", "r.parquet"):
        (tmp_path / name).write_bytes(b"not really")
        with pytest.raises(InputFileError, match="could not be read"):
            read_table(tmp_path / name)
