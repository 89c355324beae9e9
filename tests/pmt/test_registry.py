"""The estimator registry reads parameters from source, and agrees with the imported classes."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

from targeting.pmt.features import FEATURE_SETS
from targeting.pmt.registry import (
    ESTIMATOR_PATHS,
    ESTIMATORS,
    estimator_parameters,
    feature_set_names,
)


@pytest.mark.parametrize("name", sorted(ESTIMATOR_PATHS))
def test_parameters_read_from_source_equal_the_signature(name: str) -> None:
    signature = inspect.signature(ESTIMATORS[name].__init__).parameters.values()
    expected = tuple(
        p.name
        for p in signature
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    )
    assert estimator_parameters(name) == expected
    assert ESTIMATORS[name].__name__ == name


def test_feature_set_names_read_from_source_equal_the_dictionary() -> None:
    assert feature_set_names() == tuple(FEATURE_SETS)


def test_checking_a_model_spec_imports_no_estimator() -> None:
    # a spec typo must answer before scikit-learn's 1-2 s of imports (issue 10: under 2 s)
    code = (
        "import sys\n"
        "from targeting.pmt.registry import load_specs\n"
        "load_specs(names=['ols', 'forest', 'ensemble', 'boosting'])\n"
        "print(sorted(m for m in ('sklearn', 'statsmodels', 'quantile_forest', 'scipy')"
        " if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
