"""The audit sample through the commands: ingest prints the estimate, the workbook hides it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from targeting.cli.main import main
from targeting.data import state
from targeting.feedback.design_estimate import model_stock
from targeting.plan import workbook
from targeting.plan.audit import add_audit_sample, read_audit_designs, write_audit_design
from tests.helpers.state import planned_state

N = 3_000


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    def audit(plan, registry, scores):
        return add_audit_sample(plan, registry, scores, share=0.2, seed=4)

    out = planned_state(tmp_path_factory.mktemp("audit"), N, adjust_plan=audit)
    write_audit_design(out["plan"].audit, out["state"])
    return out


def test_design_round_trips_through_the_state_folder(audited) -> None:
    (design,) = read_audit_designs(audited["state"])
    original = audited["plan"].audit
    pd.testing.assert_frame_equal(design.units, original.units, check_dtype=False)
    pd.testing.assert_frame_equal(design.strata, original.strata, check_dtype=False)
    assert design.first_visit_date == original.first_visit_date


def test_ingest_reports_design_estimate_beside_model(audited, capsys) -> None:
    argv = ["ingest", str(audited["outcomes"]), "--state", str(audited["state"]), "--json"]
    assert main([*argv, "--debug"]) == 0
    out = json.loads(capsys.readouterr().out)
    design = out["design_estimate"]
    assert design is not None
    assert np.isfinite(design["design_se"])
    assert design["design_low"] <= max(design["design_estimate"], 0) <= design["design_high"]
    status = pd.read_parquet(audited["state"] / state.STATUS_FILE)
    expected = model_stock(status, audited["scores"].reset_index())
    assert design["model_estimate"] == pytest.approx(expected)
    outside = not design["design_low"] <= design["model_estimate"] <= design["design_high"]
    assert design["model_outside_design_interval"] == outside
    assert main(["ingest", str(audited["outcomes"]), "--state", str(audited["state"])]) == 0
    assert "audit-sample (design) estimate" in capsys.readouterr().out


def test_workbook_does_not_show_the_audit(audited) -> None:
    plan = audited["plan"]
    path = workbook.write_plan_workbook(plan, audited["tmp"] / "wb.xlsx")
    sheets = pd.read_excel(path, sheet_name=None, header=None)
    text = " ".join(str(v) for frame in sheets.values() for v in np.ravel(frame.to_numpy()))
    assert "inclusion_prob" not in text and "audit" not in text.lower()
    ids = set(plan.audit.units.loc[plan.audit.units["part"] == "audit", "household_id"])
    assert ids and ids <= set(text.split())  # the audit households are in the lists
