"""Personal data stays on the planner's machine.

* :func:`drop_pii` removes every column that identifies a person before a frame is logged,
  printed or reported.
* :func:`pseudonymize` replaces household ids by a keyed hash (HMAC-SHA-256) for artifacts that
  are shared (MLflow, benchmark files): the same id always maps to the same pseudonym on one
  machine, and nobody without the key can go back. The key comes from the environment variable
  ``TARGETING_PSEUDONYM_KEY`` or from a local key file created on first use; it is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

import pandas as pd

from targeting.data.schema import PII_COLUMNS, REGISTRY_COLUMNS, SURVEY_COLUMNS, mask_value

__all__ = [
    "KEY_ENV",
    "drop_pii",
    "load_or_create_key",
    "mask_value",
    "pii_like_columns",
    "pseudonymize",
]

_PII_NAME = re.compile(
    r"(^|_)(nama|name|nik|ktp|no_kk|nomor_kk|alamat|address|phone|telp|telepon|hp|handphone|"
    r"email|surel|whatsapp|wa)(_|$)"
)
"""Header words that mark a column as personal data (after :func:`_normalise`)."""

KEY_ENV = "TARGETING_PSEUDONYM_KEY"
DEFAULT_KEY_FILE = ".targeting_key"


def load_or_create_key(path: str | Path | None = None) -> bytes:
    """Return the pseudonymisation key.

    Parameters
    ----------
    path : path-like, optional
        Key file (default ``.targeting_key`` in the working folder). Created with 0600
        permissions holding 32 random bytes (hex) when it does not exist.

    Returns
    -------
    bytes
    """
    env = os.environ.get(KEY_ENV)
    if env:
        return env.encode()
    key_path = Path(path or DEFAULT_KEY_FILE)
    if key_path.exists():
        return key_path.read_text(encoding="ascii").strip().encode()
    key = secrets.token_hex(32)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key.encode()


def pseudonymize(ids: pd.Series, key: bytes, length: int = 16) -> pd.Series:
    """Map ids to keyed-hash pseudonyms (``"H"`` + ``length`` hex digits).

    Parameters
    ----------
    ids : pandas.Series
    key : bytes
        From :func:`load_or_create_key`.
    length : int
        Hex digits kept (16 = 64 bits: collisions are negligible at national scale).

    Returns
    -------
    pandas.Series
        Same index as ``ids``.
    """
    if not key:
        raise ValueError("the pseudonymisation key is empty; set TARGETING_PSEUDONYM_KEY")
    digest = [
        "H" + hmac.new(key, str(value).encode(), hashlib.sha256).hexdigest()[:length]
        for value in ids
    ]
    return pd.Series(digest, index=ids.index, name=ids.name)


def _normalise(name: object) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


def pii_like_columns(frame: pd.DataFrame) -> list[str]:
    """Columns that hold, or by their name look like they hold, personal data.

    :data:`~targeting.data.schema.PII_COLUMNS`, plus any non-contract column whose header contains a
    word such as ``nama``, ``nik``, ``alamat``, ``telp``, ``hp`` or ``email`` (an export's extra
    columns, e.g. ``Nama Istri`` or ``No. Telp``). Contract columns are never matched.

    Parameters
    ----------
    frame : pandas.DataFrame

    Returns
    -------
    list of str
        In the frame's column order.
    """
    contract = set(REGISTRY_COLUMNS) | set(SURVEY_COLUMNS) | {"rt", "rw"}
    return [
        c
        for c in frame.columns
        if c in PII_COLUMNS or (c not in contract and _PII_NAME.search(_normalise(c)))
    ]


def drop_pii(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` without the columns that identify a person (name, NIK, address, phone,
    and extra columns whose header says so: see :func:`pii_like_columns`)."""
    return frame.drop(columns=pii_like_columns(frame))
