"""The report data → HTML step, and `targeting report` re-rendering from MLflow."""

from __future__ import annotations

import contextlib
import copy
import io
import json
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from targeting.cli.main import main
from targeting.report.render import render_report

NASTY = ["<script>x</script>", 'Tanah & "Air"', "Kali'asin <b>", "a{{ 1 }}b"]
"""Names a kelurahan, scenario or experiment could have that HTML or Jinja2 would misread."""


class _Page(HTMLParser):
    """Elements and visible text of an HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if not self._in_style:
            self.text.append(data)


def _parse(page: str) -> _Page:
    parsed = _Page()
    parsed.feed(page)
    return parsed


def _data(progress: dict | None = None) -> dict:
    months = [str(p) for p in pd.period_range("2025-10", "2027-12", freq="M")]
    fan = [
        {"month": m, "q05": 0.0, "q25": 10.0, "q50": 20.0 - i / 2, "q75": 30.0, "q95": 40.0}
        for i, m in enumerate(months)
    ]
    return {
        "version": 1,
        "run_id": "abc123",
        "meta": {"experiment": "unit", "seed": 1, "vintage": "2025-10", "source": "synthetic"},
        "headline": {
            "by_kecamatan": [
                {"kecamatan": "Kasemen", "estimate": 1234.4, "low": 900.0, "high": 1500.0}
            ],
            "total": {"kecamatan": "Kota Serang", "estimate": 1234.4, "low": 900.0, "high": 1500.0},
        },
        "plan": {
            "visits": 2680,
            "operator_days": 1340,
            "expected_finds": 1012.6,
            "expected_finds_per_visit": 0.378,
            "by_kelurahan": [
                {
                    "kecamatan": "Kasemen",
                    "kelurahan": "Kasemen 01",
                    "visits": 40,
                    "expected_finds": 20.5,
                }
            ],
        },
        "accounting": {
            "households_in_registry": 10,
            "planned": 4,
            "not_ranked": 6,
            "not_ranked_by_reason": {"reached": 6},
        },
        "progress": progress,
        "forecast": {
            "deadline": "2026-12",
            "scenarios": [
                {
                    "scenario": "baseline",
                    "p_goal": 0.25,
                    "p_goal_se": 0.01,
                    "p_near_zero": 0.5,
                    "median_goal_month": None,
                    "settings": "–",
                }
            ],
            "fan": {"baseline": fan},
        },
        "model_card": {
            "champion": "ols",
            "challenger": None,
            "primary_metric": "ee_at_true_share",
            "n_splits": 5,
            "group": "kelurahan",
            "budgets": [{"budget": "true_share", "ee": 0.5, "ie": 0.5}],
            "models": [{"model": "ols", "auc": 0.8}],
            "calibration": {"ece_before": 0.02, "ece_after": 0.01},
            "calibration_curve": [
                {"kind": "after", "bin": 0, "n": 9, "predicted": 0.1, "observed": 0.12}
            ],
            "group_ratios": None,
        },
    }


def test_render_languages_and_number_formats() -> None:
    page_id = render_report(_data(), lang="id")
    page_en = render_report(_data(), lang="en")
    assert "<html lang='id'>" in page_id and "<html lang='en'>" in page_en
    assert ">1.234</span>" in page_id and ">1,234</span>" in page_en
    assert ">2.680</b>" in page_id and ">2,680</b>" in page_en
    assert "data-value='1234.4'" in page_id
    assert "Belum ada hasil verifikasi" in page_id and "No verification outcomes" in page_en
    assert "id='groups-none'" in page_en  # group ratios omitted, with a note
    assert "http:" not in page_id and "https:" not in page_id and "<script" not in page_id
    with pytest.raises(ValueError, match="lang"):
        render_report(_data(), lang="fr")
    with pytest.raises(ValueError, match="newer"):
        render_report({**_data(), "version": 99})


def test_names_in_the_data_render_as_text() -> None:
    data = copy.deepcopy(_data())
    data["meta"]["experiment"] = NASTY[0]
    data["headline"]["by_kecamatan"][0]["kecamatan"] = NASTY[1]
    data["plan"]["by_kelurahan"][0]["kelurahan"] = NASTY[0]
    data["plan"]["by_kelurahan"].append({**data["plan"]["by_kelurahan"][0], "kelurahan": NASTY[1]})
    data["forecast"]["scenarios"][0]["scenario"] = NASTY[2]
    data["forecast"]["scenarios"][0]["settings"] = NASTY[3]
    data["forecast"]["fan"] = {}
    data["model_card"]["champion"] = NASTY[1]
    for lang in ("id", "en"):
        page = render_report(data, lang=lang)
        parsed = _parse(page)
        assert "script" not in parsed.tags and parsed.tags.count("b") == 5  # 4 cards + champion
        text = "".join(parsed.text)
        for name in NASTY:
            assert name in text
        assert "&lt;script&gt;x&lt;/script&gt;" in page and "Tanah &amp; &#34;Air&#34;" in page
        assert "id='p-goal-Kali-asin--b-'" in page  # the scenario's id is a slug


def test_render_progress_section() -> None:
    progress = {
        "outcomes": 12,
        "overall": [
            {
                "visits": 12,
                "conclusive": 10,
                "finds": 4,
                "realised": 0.4,
                "low": 0.2,
                "high": 0.6,
                "predicted": 0.35,
                "flagged": False,
            }
        ],
        "by_kelurahan": [
            {
                "kelurahan": "Kasemen 01",
                "visits": 12,
                "conclusive": 10,
                "finds": 4,
                "realised": 0.4,
                "low": 0.2,
                "high": 0.6,
                "predicted": 0.35,
                "flagged": True,
            }
        ],
    }
    page = render_report(_data(progress), lang="en")
    assert "40.0 %" in page and "35.0 %" in page and "class='flag'" in page
    assert "No verification outcomes" not in page


def test_report_from_mlflow_and_local_data(small_cycle: dict, tmp_path: Path) -> None:
    data = json.loads((small_cycle["out"] / "report_data.json").read_text())
    assert data["run_id"] == small_cycle["run_id"]
    text = json.dumps(data)
    assert "household_id" not in text and "head_name" not in text
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(
            ["report", "--experiment", small_cycle["experiment"], "--json", "--lang", "en"]
            + ["--output", str(tmp_path / "r.html"), "--tracking-uri", small_cycle["uri"]]
            + ["--state", str(tmp_path)]
        )
    assert code == 0
    payload = json.loads(out.getvalue())
    assert payload["run_id"] == small_cycle["run_id"] and payload["outcomes_ingested"] == 0
    from_mlflow = (tmp_path / "r.html").read_text()
    with contextlib.redirect_stdout(io.StringIO()):
        assert (
            main(
                [
                    "report",
                    "--data",
                    str(small_cycle["out"] / "report_data.json"),
                    "--lang",
                    "en",
                    "--output",
                    str(tmp_path / "l.html"),
                    "--state",
                    str(tmp_path),
                ]
            )
            == 0
        )
    assert (tmp_path / "l.html").read_text() == from_mlflow


def test_report_progress_from_ledger(small_cycle: dict, tmp_path: Path) -> None:
    plan = pd.read_csv(small_cycle["out"] / "plan.csv", dtype={"household_id": str})
    plan[["household_id", "kelurahan", "p_extreme"]].to_csv(tmp_path / "plan.csv", index=False)
    visited = plan.head(40)
    ledger = pd.DataFrame(
        {
            "household_id": visited["household_id"],
            "visit_date": "2025-11-03",
            "operator": "op01",
            "result": ["extreme_poor" if i % 3 == 0 else "not_extreme_poor" for i in range(40)],
            "notes": "",
        }
    )
    ledger.to_parquet(tmp_path / "outcomes_ledger.parquet", index=False)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(
            ["report", small_cycle["run_id"], "--json", "--state", str(tmp_path)]
            + ["--tracking-uri", small_cycle["uri"]]
        )
    assert code == 0
    assert json.loads(out.getvalue())["outcomes_ingested"] == 40
    page = (tmp_path / "report_id.html").read_text()
    assert "Belum ada hasil verifikasi" not in page and "Temuan nyata" in page


def test_report_errors_are_one_sentence(small_cycle: dict, tmp_path: Path) -> None:
    for argv in (
        ["report", "0" * 32, "--tracking-uri", small_cycle["uri"]],
        ["report", "--experiment", "nope", "--tracking-uri", small_cycle["uri"]],
        ["report", "--data", str(tmp_path / "missing.json")],
    ):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            assert main(argv) == 2
        assert err.getvalue().startswith("targeting report: ")
        assert err.getvalue().count("\n") == 1
