"""Costa Rica adapter: member-row features on a fabricated individual file (no shared data)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from targeting.data.costa_rica import (
    FEMALE_EARNING_SHARE,
    HOUSEHOLD_COLUMNS,
    MINCER_RETURN,
    load_costa_rica,
)

# the individual columns the adapter reads besides the household ones
_PERSON_COLUMNS = [
    "Id", "idhogar", "Target", "age", "escolari", "rez_esc", "female", "male", "dis",
    *[f"parentesco{i}" for i in range(1, 13)], *[f"instlevel{i}" for i in range(1, 10)],
    *[f"estadocivil{i}" for i in range(1, 8)], *[f"lugar{i}" for i in range(1, 7)],
    "area1", "area2",
]  # fmt: skip

# (household, relation to the head, age, female, years of schooling, education level 1-9)
_MEMBERS = [
    ("a", 1, 40, 0, 11, 5),  # head: man, 40, complete academic secondary
    ("a", 2, 35, 1, 16, 8),  # spouse: woman, 35, undergraduate
    ("a", 3, 10, 0, 4, 2),  # son, 10
    ("a", 3, 3, 1, 0, 1),  # daughter, 3
    ("b", 1, 70, 1, 6, 3),  # head: woman, 70, complete primary, living alone
]


def _fabricated_file(path) -> None:
    rows = []
    for k, (hh, rel, age, female, esc, inst) in enumerate(_MEMBERS):
        row = dict.fromkeys([*HOUSEHOLD_COLUMNS, *_PERSON_COLUMNS], 0.0)
        size = sum(1 for m in _MEMBERS if m[0] == hh)
        row.update(
            {
                "Id": f"ID_{k}",
                "idhogar": hh,
                "Target": 1 if hh == "a" else 4,
                "age": age,
                "escolari": esc,
                "rez_esc": np.nan,
                "female": female,
                "male": 1 - female,
                f"parentesco{rel}": 1,
                f"instlevel{inst}": 1,
                "estadocivil3" if age >= 18 else "estadocivil1": 1,
                "lugar1": 1,
                "area1": 1,
                "hhsize": size,
                "tamviv": size,
                "rooms": 3,
                "bedrooms": 2,
                "v2a1": 100_000.0 if hh == "a" else np.nan,
                "qmobilephone": 2 if hh == "a" else 0,
            }
        )
        rows.append(row)
    pd.DataFrame(rows).to_csv(path, index=False)


@pytest.fixture()
def fabricated(tmp_path):
    file = tmp_path / "train.csv"
    _fabricated_file(file)
    data = load_costa_rica(file)
    return data.X.set_index(pd.Index(np.asarray(data.ids, dtype=str)))


def test_member_counts_and_schooling(fabricated):
    a, b = fabricated.loc["a"], fabricated.loc["b"]
    assert a["n_members"] == 4 and b["n_members"] == 1
    assert (a["n_age_0_5"], a["n_age_6_11"], a["n_age_25_39"], a["n_age_40_64"]) == (1, 1, 1, 1)
    assert b["n_age_65p"] == 1 and b["n_working_age"] == 0
    assert a["n_working_age"] == 2 and a["n_wa_tertiary"] == 1
    assert a["edu_adult_max"] == 16 and a["edu_adult_mean"] == 13.5 and a["edu_adult_sum"] == 27
    assert a["edu_spouse"] == 16 and math.isnan(b["edu_spouse"])
    assert a["edu_adult_sd"] == pytest.approx(np.std([11, 16], ddof=1))
    assert math.isnan(b["edu_adult_sd"])  # one adult: no spread
    assert a["age_sd"] == pytest.approx(np.std([40, 35, 10, 3], ddof=1))
    assert a["pc_wa_tertiary"] == pytest.approx(1 / 4)
    assert a["pc_edu_years"] == pytest.approx(27 / 4)


def test_earning_capacity_index(fabricated):
    a, b = fabricated.loc["a"], fabricated.loc["b"]
    man, woman = math.exp(MINCER_RETURN * 11), math.exp(MINCER_RETURN * 16)
    # only the two working-age members (19-64) earn; the children and the 70-year-old do not
    assert a["cap_mincer_male"] == pytest.approx(man)
    assert a["cap_mincer_female"] == pytest.approx(woman)
    assert a["cap_mincer"] == pytest.approx(man + FEMALE_EARNING_SHARE * woman)
    assert a["cap_mincer_pc"] == pytest.approx((man + FEMALE_EARNING_SHARE * woman) / 4)
    assert a["cap_mincer_female_pc"] == pytest.approx(woman / 4)
    assert b["cap_mincer"] == 0 and b["cap_mincer_pc"] == 0


def test_rent_per_capita_log(fabricated):
    a, b = fabricated.loc["a"], fabricated.loc["b"]
    assert a["pc_rent"] == 25_000 and a["pc_log_rent"] == pytest.approx(math.log1p(25_000))
    assert math.isnan(b["pc_log_rent"])  # not renting stays missing
    assert a["pc_phones"] == pytest.approx(0.5)
