"""Planted personal data never reaches MLflow, logs, the report, errors or ``--json`` output.

A registry file gets distinctive names, addresses, phone numbers and NIKs; some of those rows are
defective in ways whose error messages would echo values. After a full ``targeting run`` the
tracking store (database and artifacts), standard output and error, the JSON summary, the report
and the validation files are searched for the planted strings.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from targeting.data import schema
from tests.helpers.cli import run_cli
from tests.helpers.defects import write_city_files, write_spec

pytestmark = pytest.mark.slow

NEEDLES = ["Zzyzx", "Planted", "+62-812-7777", "3673017777", "Jl. Qwxz"]


def _plant(frame):
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
    return frame


def _scan(texts: dict[str, str]) -> list[tuple[str, str]]:
    return [(where, n) for where, text in texts.items() for n in NEEDLES if n in text]


def test_planted_pii_never_leaves_the_field_lists(tmp_path: Path) -> None:
    clean, registry_path, survey_path = write_city_files(tmp_path, 2_000, seed=2026)
    _plant(clean).to_csv(registry_path, index=False)
    spec = write_spec(
        tmp_path,
        "planted",
        {"source": "files", "registry": str(registry_path), "survey": str(survey_path)},
    )
    out = tmp_path / "out"
    code, stdout_text, stderr_text = run_cli(
        ["run", str(spec), "--json", "--output", str(out)]
        + ["--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"]
    )
    assert code == 0, stderr_text[-2000:]
    texts = {"stdout (--json)": stdout_text, "stderr": stderr_text}
    with sqlite3.connect(tmp_path / "mlflow.db") as db:
        for (table,) in db.execute("select name from sqlite_master where type='table'"):
            rows = db.execute(f"select * from '{table}'").fetchall()
            texts[f"mlflow.db:{table}"] = "\n".join(" ".join(map(str, r)) for r in rows)
    for path in (tmp_path / "mlartifacts").rglob("*"):
        if path.is_file():
            texts[str(path)] = path.read_bytes().decode("latin-1")
    for name in ("summary.json", "rejected.csv", "validation_errors.csv"):
        if (out / name).exists():
            texts[name] = (out / name).read_text(encoding="utf-8")
    for report in out.glob("report_*.html"):
        texts[report.name] = report.read_text(encoding="utf-8")
    assert len(texts) > 10
    assert not _scan(texts)
    # the defective rows were really rejected or flagged (so their messages were produced)
    rejected = (out / "rejected.csv").read_text()
    for column in ("floor_material", "wall_material", "head_age", "tenure"):
        assert column in rejected
    assert "nik_head" in (out / "validation_errors.csv").read_text()  # flagged, not rejected


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
    assert not _scan(texts)
    assert "3673**********77" in texts["message"] or "<redacted>" in texts["message"]
    assert "validation_errors.csv" in texts["message"]
