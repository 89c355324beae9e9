"""The report leads with the numbers a planner acts on (issue 12): stock, design estimate,
capacity for near zero, and the month near zero is reached per scenario."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

from targeting.report.data import report_lead
from targeting.report.render import render_report


class _Ids(HTMLParser):
    """Element ids in page order, with their data-value."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.order: list[str] = []
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attr = dict(attrs)
        if "id" in attr:
            self.order.append(attr["id"])
            if "data-value" in attr:
                self.values[attr["id"]] = attr["data-value"]


def _ids(page: str) -> _Ids:
    parsed = _Ids()
    parsed.feed(page)
    return parsed


STOCK = {"estimate": 3712.6, "low": 3301.2, "high": 4175.9, "sd_log": 0.07, "level": 0.9}
DESIGN = {
    "design_estimate": 4020.0,
    "design_low": 3100.0,
    "design_high": 4950.0,
    "design_rounds": 1,
    "model_outside_design_interval": False,
}
SCENARIOS = [
    {
        "scenario": "baseline",
        "p_near_zero": 0.0,
        "median_near_zero_month": None,
        "operators": 67,
        "visits_per_day": 2.0,
    },
    {
        "scenario": "double",
        "p_near_zero": 0.85,
        "median_near_zero_month": "2026-10",
        "operators": 134,
        "visits_per_day": 2.0,
    },
]
CAPACITY = [
    {"scenario": "baseline", "parameter": "operators", "value": 171},
    {"scenario": "baseline", "parameter": "visits_per_day", "value": 5.15},
    {"scenario": "double", "parameter": "operators", "value": 120},
    {"scenario": "double", "parameter": "visits_per_day", "value": None},
]


def _report_data(lead: dict[str, Any] | None) -> dict[str, Any]:
    total = {"kecamatan": "Kota Serang", "estimate": 3712.6, "low": 2000.0, "high": 5000.0}
    return {
        "version": 1,
        "run_id": "r1",
        "lead": lead,
        "meta": {"experiment": "unit", "seed": 1, "source": "synthetic"},
        "headline": {"by_kecamatan": [dict(total, kecamatan="Kasemen")], "total": total},
        "plan": {
            "visits": 10,
            "operator_days": 5,
            "expected_finds": 4.2,
            "expected_finds_per_visit": 0.42,
            "by_kelurahan": [],
        },
        "design_estimate": None,
        "forecast": {"deadline": "2026-12", "scenarios": [], "fan": {}},
        "model_card": {
            "champion": "ols",
            "primary_metric": "ee_at_true_share",
            "n_splits": 5,
            "group": "kelurahan",
            "budgets": [],
            "models": [],
        },
    }


def test_lead_takes_its_numbers_from_the_inputs() -> None:
    total = {"estimate": 3712.6, "low": 2000.0, "high": 5000.0}
    lead = report_lead(STOCK, total, DESIGN, SCENARIOS, CAPACITY, 0.8)
    assert (lead["estimate"], lead["low"], lead["high"]) == (3712.6, 3301.2, 4175.9)
    assert lead["stock_source"] == "corrected" and lead["target_p"] == 0.8
    assert lead["design"] == {
        "estimate": 4020.0,
        "low": 3100.0,
        "high": 4950.0,
        "rounds": 1,
        "model_outside": False,
    }
    first, second = lead["scenarios"]
    assert (first["operators_needed"], first["visits_per_day_needed"]) == (171, 5.15)
    assert (second["operators_needed"], second["visits_per_day_needed"]) == (120, None)
    assert second["near_zero_month"] == "2026-10" and first["near_zero_month"] is None
    # without a corrected estimate the headline's sum and bounds stand in, and say so
    fallback = report_lead(None, total, None, [], [], 0.8)
    assert fallback["stock_source"] == "sum_of_bounds" and fallback["high"] == 5000.0
    assert fallback["design"] is None


def test_the_page_opens_with_the_lead_in_order() -> None:
    lead = report_lead(STOCK, STOCK, DESIGN, SCENARIOS, CAPACITY, 0.8)
    for lang in ("id", "en"):
        page = render_report(_report_data(lead), lang=lang)
        ids = _ids(page)
        order = ids.order
        lead_ids = [
            "lead-estimate",
            "lead-low",
            "lead-high",
            "lead-design-estimate",
            "lead-operators",
            "lead-visits-per-day",
        ]
        positions = [order.index(i) for i in lead_ids]
        assert positions == sorted(positions)
        # the lead comes before the headline table and the plan
        assert positions[-1] < order.index("headline-estimate") < order.index("plan-visits")
        first_h2 = re.search(r"<h2>(.*?)</h2>", page)
        assert first_h2 is not None and page.index(first_h2.group(0)) > page.index("id='lead'")
        # the numbers are the data's, exactly
        assert float(ids.values["lead-estimate"]) == 3712.6
        assert float(ids.values["lead-low"]) == 3301.2
        assert float(ids.values["lead-high"]) == 4175.9
        assert float(ids.values["lead-design-estimate"]) == 4020.0
        assert float(ids.values["lead-operators"]) == 171
        assert float(ids.values["lead-visits-per-day"]) == 5.15
        assert "2026-10" in page
    en = render_report(_report_data(lead), lang="en")
    assert "90 % interval" in en and "not reached" in en  # baseline never gets near zero


def test_lead_without_audit_or_capacity_says_so() -> None:
    lead = report_lead(
        STOCK,
        STOCK,
        None,
        SCENARIOS[:1],
        [{"scenario": "baseline", "parameter": "operators", "value": None, "max_value": 1340}],
        0.8,
    )
    page = render_report(_report_data(lead), lang="en")
    ids = _ids(page)
    assert "lead-design-none" in ids.order and "lead-design-estimate" not in ids.order
    assert ids.values["lead-operators"] == "" and "not reachable" in page
    assert "≤ 1,340 operators" in page  # the top of the search, read from the data
    # report data written before the lead existed still renders, without the section
    assert "id='lead'" not in render_report(_report_data(None), lang="en")


def test_cycle_report_data_leads_with_the_cycle_numbers(small_cycle: dict) -> None:
    data = json.loads((small_cycle["out"] / "report_data.json").read_text())
    summary = small_cycle["summary"]
    lead = data["lead"]
    stock = summary["unreached_stock"]
    assert lead["stock_source"] == "corrected"
    assert (lead["estimate"], lead["low"], lead["high"]) == (
        stock["estimate"],
        stock["low"],
        stock["high"],
    )
    names = [row["scenario"] for row in summary["forecast"]]
    assert [row["scenario"] for row in lead["scenarios"]] == names
    capacity = summary["capacity_near_zero"]
    assert {(c["scenario"], c["parameter"]) for c in capacity} == {
        (n, p) for n in names for p in ("operators", "visits_per_day")
    }
    for row in lead["scenarios"]:
        mine = {c["parameter"]: c["value"] for c in capacity if c["scenario"] == row["scenario"]}
        assert row["operators_needed"] == mine["operators"]
        assert row["visits_per_day_needed"] == mine["visits_per_day"]
        assert "median_near_zero_month" in next(
            f for f in summary["forecast"] if f["scenario"] == row["scenario"]
        )
