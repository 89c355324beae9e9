"""Planted personal data never leaves the three personal-data files, whatever the command.

A registry file gets distinctive names, addresses, phone numbers and NIKs, also typed into wrong
columns (a name in ``kelurahan``, an address in ``kecamatan``, a NIK as ``household_id`` and in
``hh_size``) and into rows whose error messages would echo them. Then every command that reads
registry or field rows runs on it, in one shared folder: ``run`` (tracked), ``ingest`` (a file
whose notes name people, and a broken one that fails), ``refit``, ``score``, ``report`` and
``forecast``. Every file written anywhere in the folder except ``plan.csv``, the verification
workbook and the ``rejected`` files (the inputs aside) is searched for the planted values:
the working state (Parquet read as tables), the tracking store (every table of ``mlflow.db``),
its artifacts (models, pickles, images, as bytes), the reports; and so is everything each
command printed. ``serve`` is covered by ``tests/tracking/test_serving.py``.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from targeting.data import schema
from tests.helpers.cli import run_cli
from tests.helpers.defects import write_city_files, write_spec

pytestmark = pytest.mark.slow

NEEDLES = ["Zzyzx", "Planted", "+62-812-7777", "367301777777", "Qwxz"]
PERSONAL_FILES = {"plan.csv", "verification_plan.xlsx", "rejected.csv"}


def _plant(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    n = 40
    rows = list(range(n))
    frame.loc[rows, "head_name"] = [f"Zzyzx Planted {i:02d}" for i in rows]
    frame.loc[rows, "address"] = [f"Jl. Qwxz Planted No. {i}, Kel. Zzyzx" for i in rows]
    frame["phone"] = [f"+62-812-7777-{i:04d}" for i in range(len(frame))]
    frame.loc[rows, "nik_head"] = [f"367301777777{i:04d}" for i in rows]
    # defects whose messages would echo personal values
    frame.loc[0, "floor_material"] = frame.loc[0, "head_name"]  # shifted column
    frame.loc[1, "wall_material"] = frame.loc[1, "phone"]
    frame.loc[2, "nik_head"] = "3673017777"  # too short
    frame.loc[3, "nik_head"] = frame.loc[4, "nik_head"]  # duplicate NIK
    frame.loc[5, "head_age"] = "Zzyzx Planted 05"
    frame.loc[6, "tenure"] = "rumah Zzyzx Planted 06"  # contains the row's name
    # values typed into the wrong column
    frame.loc[7, "kelurahan"] = "Zzyzx Planted 07"  # the head's name as the kelurahan
    frame.loc[8, "household_id"] = "3673017777779908"  # a NIK as the household id
    frame.loc[9, "hh_size"] = "3673017777779909"  # a NIK as the household size
    frame.loc[10, "kecamatan"] = "Jl. Qwxz Planted No. 10"  # the address as the kecamatan
    frame.loc[11, "kelurahan"] = "3673017777779911"  # a NIK as the kelurahan
    return frame


def _shrink(raw: dict) -> None:
    raw["models"] = ["ols", "logit"]
    raw["evaluation"]["n_splits"] = 3
    raw["forecast"]["n_paths"] = 30
    raw["forecast"]["scenarios"] = [{"name": "baseline"}]


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every command once on the planted registry; their output and every file they wrote."""
    import yaml

    folder = tmp_path_factory.mktemp("planted")
    clean, registry_path, survey_path = write_city_files(folder, 2_000, seed=2026)
    _plant(clean).to_csv(registry_path, index=False)
    spec = write_spec(
        folder,
        "planted",
        {"source": "files", "registry": str(registry_path), "survey": str(survey_path)},
    )
    raw = yaml.safe_load(spec.read_text())
    _shrink(raw)
    spec.write_text(yaml.safe_dump(raw))
    out = folder / "out"
    uri = ["--tracking-uri", f"sqlite:///{folder / 'mlflow.db'}"]
    printed: dict[str, tuple[int, str, str]] = {}
    printed["run"] = run_cli(["run", str(spec), "--json", "--output", str(out), *uri])
    assert printed["run"][0] == 0, printed["run"][2][-2000:]

    plan = pd.read_csv(out / "plan.csv", dtype=str)
    today = dt.date.today().strftime("%d/%m/%Y")
    outcomes = pd.DataFrame(
        {
            "household_id": plan["household_id"].head(30),
            "visit_date": today,
            "operator": plan["operator"].head(30),
            "result": ["extreme_poor", "not_extreme_poor", "not_found"] * 10,
            # operators write names and addresses into the notes
            "notes": [f"Ibu Zzyzx Planted pindah ke Jl. Qwxz {i}" for i in range(30)],
        }
    )
    inputs = folder / "inputs"
    inputs.mkdir()
    outcomes.to_csv(inputs / "outcomes.csv", index=False)
    broken = outcomes.head(4).copy()
    broken.loc[0, "household_id"] = "3673017777779950"  # a NIK typed as the household id
    broken.loc[1, "household_id"] = "Zzyzx Planted 51"  # a name typed as the household id
    broken.loc[2, "result"] = "Zzyzx Planted"  # a name typed as the result
    broken.to_csv(inputs / "broken.csv", index=False)
    state = ["--state", str(out)]
    printed["ingest broken"] = run_cli(["ingest", str(inputs / "broken.csv"), *state])
    assert printed["ingest broken"][0] == 2
    printed["ingest"] = run_cli(["ingest", str(inputs / "outcomes.csv"), *state, "--json"])
    assert printed["ingest"][0] == 0, printed["ingest"][2][-2000:]
    printed["refit"] = run_cli(
        ["refit", str(spec), *state, "--fit", "ols", "--n-boot", "10", *uri, "--json"]
    )
    assert printed["refit"][0] == 0, printed["refit"][2][-2000:]
    scored = folder / "scored"
    scored.mkdir()
    printed["score"] = run_cli(
        ["score", str(registry_path), "--output", str(scored / "scores.csv")]
        + [*uri, "--experiment", "planted", "--json"]
    )
    assert printed["score"][0] == 0, printed["score"][2][-2000:]
    printed["report"] = run_cli(
        ["report", "--experiment", "planted", *uri, *state]
        + ["--output", str(folder / "report_again.html")]
    )
    assert printed["report"][0] == 0, printed["report"][2][-2000:]
    printed["forecast"] = run_cli(
        ["forecast", str(spec), "--output", str(folder / "forecast"), *uri, "--json", "--quiet"]
    )
    assert printed["forecast"][0] == 0, printed["forecast"][2][-2000:]
    return {
        "folder": folder,
        "out": out,
        "printed": printed,
        "inputs": [registry_path, survey_path],
    }


def _file_text(path: Path) -> str:
    if path.suffix == ".parquet":
        return pd.read_parquet(path).to_csv(index=False)
    if path.name == "mlflow.db":
        with sqlite3.connect(path) as db:
            tables = [t for (t,) in db.execute("select name from sqlite_master where type='table'")]
            return "\n".join(
                " ".join(map(str, row))
                for table in tables
                for row in db.execute(f"select * from '{table}'").fetchall()
            )
    return path.read_bytes().decode("latin-1")


def _written(planted: dict) -> dict[str, str]:
    inputs = {Path(p).resolve() for p in planted["inputs"]}
    texts = {}
    for path in sorted(planted["folder"].rglob("*")):
        if not path.is_file() or path.resolve() in inputs or "inputs" in path.parts:
            continue
        if path.name in PERSONAL_FILES or path.name.startswith("rejected."):
            continue
        texts[str(path.relative_to(planted["folder"]))] = _file_text(path)
    return texts


def test_planted_values_appear_in_no_other_file(planted: dict) -> None:
    texts = _written(planted)
    names = set(texts)
    # the scan reaches every kind of file written: state, store, artifacts, reports
    for expected in ("out/registry_status.parquet", "out/outcomes_ledger.parquet", "mlflow.db"):
        assert expected in names, sorted(names)[:40]
    assert any(n.endswith(".pkl") for n in names) and any(n.endswith(".html") for n in names)
    assert any("plan_by_kelurahan.csv" in n for n in names)
    leaks = [(where, n) for where, text in texts.items() for n in NEEDLES if n in text]
    assert leaks == []
    # the personal-data files do hold them (so the values were really planted and carried)
    assert "Zzyzx" in (planted["out"] / "plan.csv").read_text()


def test_planted_values_never_printed(planted: dict) -> None:
    for command, (_, stdout, stderr) in planted["printed"].items():
        for needle in NEEDLES:
            assert needle not in stdout, (command, needle)
            assert needle not in stderr, (command, needle)
    # the broken outcomes were refused with their rows named, not their values
    assert "household_id" in planted["printed"]["ingest broken"][2]


def test_wrong_column_rows_were_set_aside(planted: dict) -> None:
    rejected = pd.read_csv(planted["out"] / "rejected.csv", dtype=str)
    reasons = dict(zip(rejected["row"].astype(int), rejected["reason"], strict=True))
    for row, column in [
        (1, "floor_material"),
        (2, "wall_material"),
        (6, "head_age"),
        (7, "tenure"),
        (8, "kelurahan"),
        (9, "household_id"),
        (10, "hh_size"),
        (11, "kecamatan"),
        (12, "kelurahan"),
    ]:
        assert column in reasons[row], (row, reasons.get(row))
    # rejected.csv is a personal-data file, but a NIK typed as the id is not shown in full
    assert "3673**********08" in set(rejected["household_id"])
    assert "nik_head" in (planted["out"] / "validation_errors.csv").read_text()


def test_strict_error_message_masks_personal_values(tmp_path: Path) -> None:
    from tests.helpers.defects import city_registry

    frame = _plant(city_registry(1_000, 0))
    with pytest.raises(schema.DataValidationError) as info:
        schema.validate_registry(frame, mode="strict")
    schema.write_problems(info.value, tmp_path / "validation_errors.csv")
    texts = {
        "message": str(info.value),
        "csv": (tmp_path / "validation_errors.csv").read_text(),
        "problems": repr(info.value.problems),
    }
    assert not [(where, n) for where, text in texts.items() for n in NEEDLES if n in text]
    assert "3673**********77" in texts["message"] or "<redacted>" in texts["message"]
    assert "validation_errors.csv" in texts["message"]
