"""Fuzzing the loaders: arbitrary bytes and odd exports either load or fail clearly.

``read_table`` + ``validate_registry`` and ``feedback.ingest_outcomes`` must either succeed or
raise :class:`InputFileError` / :class:`DataValidationError` with a message, never another
exception type.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from targeting.data import schema
from targeting.data.io import InputFileError, read_table
from targeting.feedback import ingest as feedback
from tests.helpers.defects import city_registry

CLEAR = (InputFileError, schema.DataValidationError)
FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _load(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"input{suffix}"
        path.write_bytes(data)
        try:
            frame = read_table(path)
            schema.validate_registry(frame, mode="quarantine")
        except CLEAR as exc:
            assert str(exc).strip()


@FUZZ
@given(
    data=st.binary(max_size=2_000), suffix=st.sampled_from([".csv", ".xlsx", ".parquet", ".tsv"])
)
def test_arbitrary_bytes_load_or_fail_clearly(data: bytes, suffix: str) -> None:
    _load(data, suffix)


_HEADER = list(city_registry(1_000, 0).columns)


@FUZZ
@given(
    rows=st.lists(
        st.lists(st.text(max_size=12), min_size=len(_HEADER), max_size=len(_HEADER)),
        max_size=5,
    ),
    sep=st.sampled_from([",", ";"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1"]),
    drop=st.integers(-1, len(_HEADER) - 1),
)
def test_registry_shaped_text_loads_or_fails_clearly(
    rows: list[list[str]], sep: str, encoding: str, drop: int
) -> None:
    header = [h for i, h in enumerate(_HEADER) if i != drop]
    frame = pd.DataFrame([r[: len(header)] for r in rows], columns=header)
    text = frame.to_csv(sep=sep, index=False)
    _load(text.encode(encoding, errors="replace"), ".csv")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "latin-1", "utf-16"])
@pytest.mark.parametrize("sep", [",", ";"])
def test_real_registry_in_every_export_form(tmp_path: Path, encoding: str, sep: str) -> None:
    registry = city_registry(1_000, 0).head(60).copy()
    registry.loc[0, "head_name"] = "Nénéng Süryani"  # a Latin-1 character
    if sep == ";":
        registry["floor_area_m2"] = registry["floor_area_m2"].str.replace(".", ",", regex=False)
    path = tmp_path / "r.csv"
    path.write_bytes(registry.to_csv(sep=sep, index=False).encode(encoding))
    checked = schema.validate_registry(read_table(path), mode="strict")
    assert len(checked.valid) == 60
    assert checked.valid.loc[0, "head_name"] == "Nénéng Süryani"


def test_excel_with_merged_title_rows(tmp_path: Path) -> None:
    import openpyxl

    registry = city_registry(1_000, 0).head(30)
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["DATA TERPADU KESEJAHTERAAN SOSIAL - KOTA SERANG 2025"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(registry.columns))
    ws.append(["Sumber: Dinas Sosial"])
    ws.append(list(registry.columns))
    for row in registry.itertuples(index=False):
        ws.append(list(row))
    ws.append([])
    path = tmp_path / "r.xlsx"
    book.save(path)
    frame = read_table(path)
    assert list(frame.columns) == list(registry.columns)
    checked = schema.validate_registry(frame, mode="strict")
    assert list(checked.valid["household_id"]) == list(registry["household_id"])


@FUZZ
@given(
    rows=st.lists(
        st.fixed_dictionaries(
            {
                "household_id": st.one_of(st.sampled_from(["KK0000001", "KK0000002"]), st.text()),
                "visit_date": st.one_of(st.dates().map(str), st.text(max_size=12)),
                "operator": st.text(max_size=8),
                "result": st.one_of(st.sampled_from(schema.OUTCOME_RESULTS), st.text()),
                "notes": st.text(max_size=20),
            }
        ),
        max_size=6,
    ),
    drop=st.sampled_from([None, "result", "visit_date"]),
)
def test_outcomes_ingest_or_fail_clearly(rows: list[dict], drop: str | None) -> None:
    registry = schema.validate_registry(city_registry(1_000, 0).head(5)).valid
    outcomes = pd.DataFrame(
        rows, columns=["household_id", "visit_date", "operator", "result", "notes"]
    )
    if drop:
        outcomes = outcomes.drop(columns=[drop])
    try:
        result = feedback.ingest_outcomes(registry, outcomes)
    except schema.DataValidationError as exc:
        assert str(exc).strip()
    else:
        assert len(result.registry) == len(registry)
