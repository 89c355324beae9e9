"""Indonesian export headers and values map onto the canonical contract."""

from __future__ import annotations

import pandas as pd
import pytest

from targeting.data.header_mapping import (
    apply_header_mapping,
    load_header_mapping,
    normalise_header,
)


def test_normalise_header() -> None:
    assert normalise_header(" Jumlah ART ") == "jumlah_art"
    assert normalise_header("JENIS-LANTAI") == "jenis_lantai"


def test_headers_and_values_are_mapped_with_a_report() -> None:
    export = pd.DataFrame(
        {
            "ID Keluarga": ["A1", "A2", "A3"],
            "Jenis Lantai": ["TANAH", "Keramik", "parquet"],
            "Jumlah ART": ["4", "5", "2"],
            "Jenis Kelamin KRT": ["Perempuan", "Laki-laki", "Perempuan"],
        }
    )
    mapped, report = apply_header_mapping(export)
    assert list(mapped.columns) == ["household_id", "floor_material", "hh_size", "head_female"]
    # an unknown value is left as it is, for the validator to report
    assert list(mapped["floor_material"]) == ["earth", "ceramic", "parquet"]
    assert list(mapped["head_female"]) == ["true", "false", "true"]
    assert set(report["kind"]) == {"header", "value"}
    earth = report[(report["column"] == "floor_material") & (report["to"] == "earth")]
    assert int(earth["rows"].iloc[0]) == 1


def test_two_headers_for_one_column_is_an_error() -> None:
    export = pd.DataFrame({"Kelurahan": ["a"], "Nama Desa": ["b"]})
    with pytest.raises(ValueError, match="same column"):
        apply_header_mapping(export)


def test_every_canonical_column_has_aliases() -> None:
    from targeting.data.schema import REGISTRY_COLUMNS

    mapping = load_header_mapping()
    assert set(REGISTRY_COLUMNS) <= set(mapping.columns)
