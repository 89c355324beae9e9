"""After a run, no registry name, NIK or address appears in the report, MLflow artifacts or db.

Every file under the artifact root (models, pickles and images included, read as bytes) and every
row of every table of the SQLite store is scanned for every household's NIK, name and address.
Matching is on the full value: NIKs as 16-digit runs, names and addresses as word n-grams
(punctuation ignored).
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from targeting.data.synthetic import generate_city

_WORD = re.compile(r"[A-Za-z0-9']+")


def _norm(value: str) -> str:
    """Words only, single-spaced: punctuation and quoting never hide a match."""
    return " ".join(_WORD.findall(value))


def _ngrams(text: str, sizes: set[int]) -> set[str]:
    words = _WORD.findall(text)
    out: set[str] = set()
    for n in sizes:
        out.update(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
    return out


def _blobs(small_cycle: dict) -> dict[str, str]:
    folder: Path = small_cycle["folder"]
    blobs: dict[str, str] = {}
    for path in (folder / "mlartifacts").rglob("*"):
        if path.is_file():
            blobs[str(path)] = path.read_bytes().decode("latin-1")
    for name in ("report_id.html", "report_data.json", "summary.json"):
        path = small_cycle["out"] / name
        blobs[str(path)] = path.read_text(encoding="utf-8")
    with sqlite3.connect(folder / "mlflow.db") as db:
        for (table,) in db.execute("select name from sqlite_master where type='table'"):
            rows = db.execute(f"select * from '{table}'").fetchall()
            blobs[f"mlflow.db:{table}"] = "\n".join(" ".join(map(str, r)) for r in rows)
    return blobs


def test_no_names_niks_or_addresses_anywhere(small_cycle: dict) -> None:
    registry = generate_city(
        n_households=small_cycle["n_households"],
        seed=small_cycle["seed"],
        survey_fraction=float(small_cycle["spec"]["data"].get("survey_fraction", 0.05)),
        extreme_line=float(small_cycle["spec"]["data"]["extreme_line"]),
    ).registry
    assert len(registry) == small_cycle["n_households"]
    niks = set(registry["nik_head"].astype(str))
    names = {_norm(v) for v in registry["head_name"].astype(str)}
    addresses = {_norm(v) for v in registry["address"].astype(str)}
    assert all(len(n) == 16 for n in niks)
    sizes = {len(_WORD.findall(v)) for v in names | addresses}
    blobs = _blobs(small_cycle)
    assert any("report_id.html" in k for k in blobs) and any(
        k.startswith("mlflow.db") for k in blobs
    )
    assert sum(".pkl" in k or "model" in k for k in blobs) > 0
    leaks = []
    for where, text in blobs.items():
        found = set(re.findall(r"(?<!\d)\d{16}(?!\d)", text)) & niks
        grams = _ngrams(text, sizes)
        found |= grams & names
        found |= grams & addresses
        if found:
            leaks.append((where, sorted(found)[:3]))
    assert leaks == [], f"personal data found: {leaks}"
    # the scan itself works: it finds the people in the local by-name field list (which is
    # where they belong), so the same registry was regenerated and the matching is sound
    field_list = (small_cycle["out"] / "plan.csv").read_text(encoding="utf-8")
    assert _ngrams(field_list, sizes) & names
    assert _ngrams(field_list, sizes) & addresses
    assert set(re.findall(r"(?<!\d)\d{16}(?!\d)", field_list)) & niks
