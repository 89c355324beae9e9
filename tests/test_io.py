"""Reading and atomic writing of tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from targeting.io import InputFileError, atomic_path, read_table, write_json, write_table


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
