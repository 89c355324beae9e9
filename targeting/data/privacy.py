"""Personal data stays on the planner's machine.

* :func:`drop_pii` removes every column that identifies a person before a frame is logged,
  printed or reported.
* :func:`pseudonymize` replaces household ids by a keyed hash (HMAC-SHA-256) for artifacts that
  are shared (MLflow, benchmark files): the same id always maps to the same pseudonym on one
  machine, and nobody without the key can go back. The key comes from the environment variable
  ``TARGETING_PSEUDONYM_KEY`` or from a local key file created on first use; it is never logged.
* :class:`AreaPseudonyms` replaces area names the city profile does not list (a user's own
  city, or a head's name typed into ``kelurahan``) by keyed pseudonyms ``area-<10 hex>`` in
  everything tracked: only listed place names leave the machine as they were typed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from targeting.data.city import load_city_profile
from targeting.data.schema import PII_COLUMNS, REGISTRY_COLUMNS, SURVEY_COLUMNS, mask_value

__all__ = [
    "KEY_ENV",
    "AreaPseudonyms",
    "drop_pii",
    "load_or_create_key",
    "mask_value",
    "pii_like_columns",
    "pseudonymize",
    "public_rejected",
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


_MIN_SUBSTRING = 4
"""Shorter unlisted names are replaced only as whole values (``"A"`` is in every word)."""


@dataclass(frozen=True)
class AreaPseudonyms:
    """Keyed pseudonyms for the area names the city profile does not list.

    A listed name (the city, its kecamatan and kelurahan:
    :attr:`targeting.data.city.CityProfile.listed_areas`) is a public place name and stays as it
    is; any other text of an area column may be free text typed by someone (a real city's names
    the profile does not know, or a head's name typed into ``kelurahan``), so wherever it is
    tracked it becomes ``area-`` + 10 hex digits of HMAC-SHA-256 under the machine's
    pseudonymisation key (:func:`load_or_create_key`): the same name gives the same pseudonym on
    one machine, and the local outputs (``plan.csv``) say which place it is.

    Attributes
    ----------
    mapping : dict of str to str
        Unlisted name (and its operator-name slug) to pseudonym; empty when every name is listed.
    """

    mapping: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_areas(cls, names: Iterable[object], key: bytes | None = None) -> AreaPseudonyms:
        """Pseudonyms for the unlisted names among ``names``.

        Parameters
        ----------
        names : iterable
            The area values of a registry (kecamatan and kelurahan); blanks are ignored.
        key : bytes, optional
            Default :func:`load_or_create_key`, read only when an unlisted name exists.

        Returns
        -------
        AreaPseudonyms
        """
        listed = load_city_profile().listed_areas
        unlisted = sorted({str(n) for n in names if str(n).strip()} - listed)
        if not unlisted:
            return cls()
        key = key or load_or_create_key()
        mapping: dict[str, str] = {}
        for name in unlisted:
            pseudonym = "area-" + hmac.new(key, name.encode(), hashlib.sha256).hexdigest()[:10]
            mapping[name] = pseudonym
            # operators are named after their pool with the punctuation dropped (OP-SitiAminah-01)
            slug = re.sub(r"[^0-9A-Za-z]+", "", name)
            if len(slug) >= _MIN_SUBSTRING:
                mapping.setdefault(slug, pseudonym)
        return cls(mapping)

    def text(self, value: str) -> str:
        """``value`` with every unlisted name in it replaced (longest names first)."""
        if not self.mapping or not value:
            return value
        if value in self.mapping:
            return self.mapping[value]
        for name in sorted(self.mapping, key=len, reverse=True):
            if len(name) >= _MIN_SUBSTRING and name in value:
                value = value.replace(name, self.mapping[name])
        return value

    def frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A copy of ``frame`` with its text cells and column names pseudonymised."""
        if not self.mapping:
            return frame
        out = frame.rename(columns=lambda c: self.text(c) if isinstance(c, str) else c)
        for name in out.columns:
            if out[name].dtype == object or pd.api.types.is_string_dtype(out[name]):
                out[name] = out[name].map(lambda v: self.text(v) if isinstance(v, str) else v)
        return out

    def json(self, value: Any) -> Any:
        """A copy of a JSON-like value (dicts, lists, text) with keys and text pseudonymised."""
        if not self.mapping:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.json(k): self.json(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.json(v) for v in value)
        return value


def public_rejected(rejected: pd.DataFrame) -> pd.DataFrame:
    """The rejected rows as files other than ``rejected.csv`` may show them (``not_ranked.csv``).

    A rejected row's area cells are what the export held, which may be anything (a head's name
    typed into ``kelurahan`` is one reason to reject the row): an area name the city profile
    does not list is left blank. Household ids are already masked when NIK-shaped
    (:func:`~targeting.data.schema.mask_value`).

    Parameters
    ----------
    rejected : pandas.DataFrame
        :attr:`targeting.data.schema.ValidationResult.rejected`.

    Returns
    -------
    pandas.DataFrame
        A copy.
    """
    listed = load_city_profile().listed_areas
    out = rejected.copy()
    for column in ("kecamatan", "kelurahan"):
        if column in out:
            text = out[column].astype("string").fillna("")
            out[column] = text.where(text.isin(listed), "").astype(object)
    if "household_id" in out:
        out["household_id"] = [mask_value("household_id", v) for v in out["household_id"]]
    return out
