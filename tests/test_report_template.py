"""The report's Jinja2 template and its id/en text files (escaping: tests/test_report.py)."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest
import yaml

from targeting.report.render import TEMPLATE, languages, load_text, read_texts

REPORT = resources.files("targeting.report")


def _raw_text_files() -> dict[str, dict]:
    return {
        entry.name.removesuffix(".yaml"): yaml.safe_load(entry.read_text(encoding="utf-8"))
        for entry in (REPORT / "text").iterdir()
        if entry.name.endswith(".yaml")
    }


def _keys_used() -> set[str]:
    """Text keys the template (``t.key``) and the chart code (``t["key"]``) look up."""
    template = (REPORT / "templates" / TEMPLATE).read_text(encoding="utf-8")
    charts = (REPORT / "render.py").read_text(encoding="utf-8")
    used = set(re.findall(r"\bt\.([A-Za-z_]\w*)", template)) - {"get"}
    return used | set(re.findall(r"\bt\[\"(\w+)\"\]", charts))


def test_text_files_have_the_same_keys_and_every_used_key() -> None:
    files = _raw_text_files()
    assert set(files) == {"id", "en"} == set(languages())
    assert set(files["id"]) == set(files["en"])
    used = _keys_used()
    assert {"title", "headline", "validation_text", "households", "never"} <= used
    for lang, texts in files.items():
        assert used <= set(texts), f"{lang}.yaml lacks {sorted(used - set(texts))}"
        # every text is shown somewhere: the template looks g_/v_ up by the group's name
        unused = {k for k in set(texts) - used if not k.startswith(("g_", "v_"))}
        assert not unused, f"{lang}.yaml holds texts the report never shows: {sorted(unused)}"
        assert all(isinstance(v, str) and v.strip() for v in texts.values()), lang
        assert "{k}" in texts["validation_text"] and "{group}" in texts["validation_text"]
        assert load_text(lang) == texts


def test_text_files_tell_an_editor_how() -> None:
    for entry in (REPORT / "text").iterdir():
        header = entry.read_text(encoding="utf-8").split("\n\n")[0]
        assert header.startswith("#") and "targeting report" in header, entry.name


def test_faulty_text_files_fail_with_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "id.yaml").write_text("title: Laporan\nv_True: ya\n", encoding="utf-8")
    (tmp_path / "en.yaml").write_text("title: Report\nv_True: yes\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"en\.yaml: the text of 'v_True' is not plain text"):
        read_texts(tmp_path)
    (tmp_path / "en.yaml").write_text('title: Report\nv_True: "yes"\n', encoding="utf-8")
    assert read_texts(tmp_path)["en"] == {"title": "Report", "v_True": "yes"}
    (tmp_path / "en.yaml").write_text("title: Report\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"en\.yaml lacks the key\(s\) v_True that id\.yaml has"):
        read_texts(tmp_path)
    (tmp_path / "en.yaml").write_text("title: Report: the\n  - x\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"en\.yaml is not valid YAML at line"):
        read_texts(tmp_path)
