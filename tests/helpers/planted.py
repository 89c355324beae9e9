"""Planted personal data: values that must never appear outside the three personal-data files."""

from __future__ import annotations

import json

import pandas as pd

from targeting.data import schema

NIK = "3673017777770001"
"""A NIK-shaped value (Kota Serang's prefix) planted where it does not belong."""
NAME = "Zzyzx Planted"
"""A head's name planted where it does not belong."""


def bad_requests(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Scoring requests (proxy rows) carrying personal data in the wrong place, by case name."""
    proxies = rows[schema.MODEL_COLUMNS].reset_index(drop=True).astype(object)
    nik_in_count = proxies.copy()
    nik_in_count.loc[1, "hh_size"] = f"{NAME} {NIK}"
    nik_in_bool = proxies.copy()
    nik_in_bool.loc[0, "has_car"] = NIK
    name_in_category = proxies.copy()
    name_in_category.loc[2, "floor_material"] = NAME
    with_pii = proxies.assign(nik_head=NIK, head_name=NAME)
    return {
        "nik_in_count": nik_in_count,
        "nik_in_bool": nik_in_bool,
        "name_in_category": name_in_category,
        "personal_columns": with_pii,
    }


def request_body(frame: pd.DataFrame) -> str:
    """The JSON body ``mlflow models serve`` takes (``dataframe_split``)."""
    return json.dumps({"dataframe_split": json.loads(frame.to_json(orient="split"))})
