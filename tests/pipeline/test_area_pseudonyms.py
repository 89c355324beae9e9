"""A registry whose areas the city profile does not list: MLflow gets pseudonyms, never the names.

The synthetic city's kelurahan are renamed (``Desa Serang 01``: a real export names its
kelurahan otherwise), so the profile's kelurahan list does not apply and nothing is set aside;
one row's kelurahan holds a head's name. After a tracked ``targeting run``, no renamed kelurahan
and no planted name appears in the tracking store or its artifacts (the report and its data
included); the local ``plan.csv`` keeps the names the planner reads.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.helpers.cli import run_cli
from tests.helpers.defects import write_city_files, write_spec

pytestmark = pytest.mark.slow


def _rename(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["kelurahan"] = "Desa " + frame["kelurahan"].astype(str)
    return frame


def test_unlisted_area_names_reach_mlflow_only_as_pseudonyms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TARGETING_PSEUDONYM_KEY", "test-key-" + "0" * 24)
    clean, registry_path, survey_path = write_city_files(tmp_path, 2_000, seed=11)
    registry = _rename(clean)
    registry.loc[3, "kelurahan"] = "Zzyzx Planted"  # a head's name typed into the cell
    registry.to_csv(registry_path, index=False)
    _rename(pd.read_parquet(survey_path)).to_parquet(survey_path, index=False)
    spec = write_spec(
        tmp_path,
        "unlisted",
        {"source": "files", "registry": str(registry_path), "survey": str(survey_path)},
    )
    raw = yaml.safe_load(spec.read_text())
    raw["models"] = ["ols"]
    raw["evaluation"]["n_splits"] = 3
    raw["forecast"]["n_paths"] = 30
    raw["forecast"]["scenarios"] = [{"name": "baseline"}]
    spec.write_text(yaml.safe_dump(raw))
    out = tmp_path / "out"
    code, _, stderr = run_cli(
        ["run", str(spec), "--json", "--quiet", "--output", str(out)]
        + ["--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"]
    )
    assert code == 0, stderr[-2000:]
    tracked: dict[str, str] = {}
    with sqlite3.connect(tmp_path / "mlflow.db") as db:
        for (table,) in db.execute("select name from sqlite_master where type='table'"):
            rows = db.execute(f"select * from '{table}'").fetchall()
            tracked[f"mlflow.db:{table}"] = "\n".join(" ".join(map(str, r)) for r in rows)
    artifacts = [p for p in (tmp_path / "mlartifacts").rglob("*") if p.is_file()]
    for path in artifacts:
        tracked[str(path.relative_to(tmp_path))] = path.read_bytes().decode("latin-1")
    names = {a.name for a in artifacts}
    assert {"plan_by_kelurahan.csv", "report_data.json", "report_id.html"} <= names
    leaks = [w for w, text in tracked.items() for n in ("Desa Serang", "Zzyzx") if n in text]
    assert leaks == []
    by_kelurahan = next(p for p in artifacts if p.name == "plan_by_kelurahan.csv")
    assert pd.read_csv(by_kelurahan)["kelurahan"].str.fullmatch(r"area-[0-9a-f]{10}").all()
    # the planner's own files keep the place names
    planned = pd.read_csv(out / "plan.csv")["kelurahan"]
    assert (planned.str.startswith("Desa ") | (planned == "Zzyzx Planted")).all()
