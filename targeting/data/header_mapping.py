"""Map Indonesian registry export headers and coded values to the canonical contract.

The mapping is data, not code: ``data/resources/header_mapping.yaml`` ships a documented default
for DTSEN / DTKS / P3KE-style exports; a user passes their own copy for another export. Nothing is
recoded silently: :func:`apply_header_mapping` returns a report of every header renamed and every
value recoded, and values it does not know are left for the validator to report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd
import yaml

from targeting.data.schema import PII_COLUMNS

__all__ = ["HeaderMapping", "apply_header_mapping", "load_header_mapping", "normalise_header"]


def normalise_header(name: str) -> str:
    """Lower-case, trim and turn every run of non-alphanumeric characters into ``_``."""
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


@dataclass
class HeaderMapping:
    """Header aliases per canonical column, and value recodings per canonical column."""

    columns: dict[str, list[str]] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    source: str = "default"


def load_header_mapping(path: str | Path | None = None) -> HeaderMapping:
    """Read a mapping file (default: the shipped ``header_mapping.yaml``).

    Raises
    ------
    ValueError
        If the file is not a mapping with ``columns:`` (and optional ``values:``).
    """
    if path is None:
        shipped = resources.files("targeting").joinpath("data/resources/header_mapping.yaml")
        text = shipped.read_text("utf-8")
        source = "default"
    else:
        text = Path(path).read_text(encoding="utf-8")
        source = str(path)
    raw = yaml.safe_load(text) or {}
    if not isinstance(raw, dict) or not isinstance(raw.get("columns", {}), dict):
        raise ValueError(
            f"{source}: a header mapping needs 'columns:' (canonical name: [aliases]) "
            "and optionally 'values:' (canonical name: {export value: canonical value})"
        )
    columns = {
        str(k): [normalise_header(a) for a in (v or [])] for k, v in raw.get("columns", {}).items()
    }
    values = {
        str(k): {str(a).strip().lower(): str(b) for a, b in (v or {}).items()}
        for k, v in (raw.get("values") or {}).items()
    }
    return HeaderMapping(columns=columns, values=values, source=source)


def apply_header_mapping(
    frame: pd.DataFrame, mapping: HeaderMapping | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rename export headers to canonical names and recode known values.

    Parameters
    ----------
    frame : pandas.DataFrame
        A registry export.
    mapping : HeaderMapping, optional
        Default: :func:`load_header_mapping`.

    Returns
    -------
    mapped : pandas.DataFrame
    report : pandas.DataFrame
        One row per change: ``kind`` (``header`` or ``value``), ``column``, ``from``, ``to``,
        ``rows`` (how many rows a value recoding touched).

    Raises
    ------
    ValueError
        If two export headers map to the same canonical column (the fix: drop one of them).
    """
    mapping = mapping or load_header_mapping()
    alias_to_canonical = {
        alias: canonical for canonical, aliases in mapping.columns.items() for alias in aliases
    }
    renames: dict[str, str] = {}
    for original in frame.columns:
        if original in mapping.columns:
            continue
        target = alias_to_canonical.get(normalise_header(original))
        if target is not None:
            renames[original] = target
    targets = list(renames.values()) + [c for c in frame.columns if c not in renames]
    duplicated = sorted({t for t in targets if targets.count(t) > 1})
    if duplicated:
        sources = {t: [o for o, c in renames.items() if c == t] for t in duplicated}
        raise ValueError(
            f"several export headers map to the same column: {sources}; "
            "keep one of each and run again"
        )
    report = [
        {"kind": "header", "column": new, "from": old, "to": new, "rows": len(frame)}
        for old, new in renames.items()
    ]
    mapped = frame.rename(columns=renames)
    for column, recode in mapping.values.items():
        if column not in mapped or not recode:
            continue
        text = mapped[column].astype("string").str.strip().str.lower()
        hits = text.isin(list(recode)).fillna(False)
        if not hits.any():
            continue
        personal = column in PII_COLUMNS  # never echo a name or NIK in the report
        for value, count in text[hits].value_counts().sort_index().items():
            report.append(
                {
                    "kind": "value",
                    "column": column,
                    "from": "<redacted>" if personal else value,
                    "to": "<redacted>" if personal else recode[value],
                    "rows": int(count),
                }
            )
        recoded = mapped[column].astype(object).copy()
        recoded[hits.to_numpy()] = text[hits].map(recode).to_numpy()
        mapped[column] = recoded
    return mapped, pd.DataFrame(report, columns=["kind", "column", "from", "to", "rows"])
