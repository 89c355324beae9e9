"""Adapters for real survey data, each to the same :class:`HouseholdData` form.

* :func:`load_costa_rica`: the IDB Costa Rican Household Poverty data, engineered to households;
* :func:`load_data_spec`: a YAML data spec for bringing your own survey.
"""

from targeting.config.dataset import DataSpec, DataSpecError, HouseholdData, load_data_spec
from targeting.data.costa_rica import (
    load_costa_rica,
    load_costa_rica_raw_heads,
    shared_data_dir,
)

__all__ = [
    "DataSpec",
    "DataSpecError",
    "HouseholdData",
    "load_costa_rica",
    "load_costa_rica_raw_heads",
    "load_data_spec",
    "shared_data_dir",
]
