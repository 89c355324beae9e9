"""Pseudonyms and PII removal."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from targeting.data.privacy import KEY_ENV, drop_pii, load_or_create_key, pseudonymize


def test_key_file_created_once_and_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    path = tmp_path / "key"
    first = load_or_create_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_key(path) == first and len(first) == 64


def test_environment_key_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "abc")
    assert load_or_create_key(tmp_path / "unused") == b"abc"
    assert not (tmp_path / "unused").exists()


def test_pseudonyms_are_stable_keyed_and_distinct() -> None:
    ids = pd.Series(["KK0000001", "KK0000002", "KK0000001"])
    a = pseudonymize(ids, b"key-a")
    assert a[0] == a[2] and a[0] != a[1]
    assert a.str.fullmatch(r"H[0-9a-f]{16}").all()
    assert not a.str.contains("KK").any()
    assert pseudonymize(ids, b"key-b")[0] != a[0]
    with pytest.raises(ValueError, match="empty"):
        pseudonymize(ids, b"")


def test_drop_pii() -> None:
    frame = pd.DataFrame(
        {"household_id": [1], "nik_head": ["x"], "head_name": ["y"], "address": ["z"]}
    )
    assert list(drop_pii(frame).columns) == ["household_id"]
