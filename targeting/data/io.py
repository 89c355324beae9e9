"""Reading and writing tables: CSV, Parquet, Excel; every write is atomic.

A crash or Ctrl-C mid-write never leaves a half-written file where a planner expects a plan:
each writer writes to a temporary file in the destination folder and renames it into place
(``os.replace`` is atomic on one file system).
"""

from __future__ import annotations

import codecs
import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "STREAMED_SUFFIXES",
    "InputFileError",
    "atomic_path",
    "iter_record_batches",
    "iter_table_batches",
    "json_ready",
    "json_records",
    "read_table",
    "remove_stale_parts",
    "write_json",
    "write_table",
]


STREAMED_SUFFIXES = (".parquet", ".csv", ".txt", ".tsv")
"""File types read in record batches (:func:`iter_record_batches`); others are read whole."""


class InputFileError(ValueError):
    """Raised when an input file cannot be read as a table; the message says how to fix it."""


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success move it onto ``path`` atomically.

    The toolkit's one atomic writer (tables, JSON, workbooks, the synthetic city, reports,
    streamed scores): every file it writes goes through this temporary-then-replace step.

    Parameters
    ----------
    path : path-like
        The final destination. Its folder is created if needed.

    Yields
    ------
    pathlib.Path
        Where to write. If the block raises, the temporary file is removed and ``path`` is left
        as it was.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def remove_stale_parts(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete temporary files that a killed writer left in ``folder`` (SIGKILL, power loss).

    An atomic writer removes its temporary file on any exception, Ctrl-C included; only a
    process killed outright leaves one behind. Such files are hidden (``.plan.csv.x1y2.part``)
    and never mistaken for outputs, but a run should sweep them away when it starts writing.

    Parameters
    ----------
    folder : path-like
        An output folder (missing: nothing to do).

    Returns
    -------
    list of pathlib.Path
        The files removed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for pattern in (".*.part", ".*.tmp"):
        for stale in sorted(folder.glob(pattern)):
            if stale.is_file():
                stale.unlink(missing_ok=True)
                removed.append(stale)
    return removed


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``frame`` atomically as CSV or Parquet, chosen by the file's suffix.

    Parameters
    ----------
    frame : pandas.DataFrame
    path : path-like
        ``.csv`` or ``.parquet``.

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with atomic_path(path) as tmp:
            frame.to_csv(tmp, index=False, lineterminator="\n")
        return path
    if suffix == ".parquet":
        with atomic_path(path) as tmp:
            frame.to_parquet(tmp, index=False)
        return path
    raise ValueError(f"cannot write {path}: use a .csv or .parquet file name")


def write_json(obj: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``obj`` as indented, key-sorted JSON atomically (deterministic bytes)."""
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def _sniff_separator(sample: str) -> str:
    first = sample.splitlines()[0] if sample else ""
    return ";" if first.count(";") > first.count(",") else ","


def _decode(raw: bytes) -> str:
    """UTF-16 (with BOM), UTF-8 (with or without BOM), else Windows-1252 (what Excel on
    Windows writes: ``Nur’aini``), else Latin-1 (never fails)."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        with contextlib.suppress(UnicodeDecodeError):
            return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _read_csv_skipping_bad_lines(text: str, sep: str) -> tuple[pd.DataFrame, list[int]]:
    """Read a CSV some of whose lines have more fields than the header (an unquoted comma in an
    address): those lines are set aside, by line number, instead of refusing the whole file."""
    import csv
    from io import StringIO

    frame = pd.read_csv(
        StringIO(text),
        sep=sep,
        dtype=str,
        keep_default_na=False,
        engine="python",
        on_bad_lines=lambda fields: None,  # skip the line; its number is found below
    )
    width = len(frame.columns)
    lines = [
        number
        for number, fields in enumerate(csv.reader(StringIO(text), delimiter=sep), start=1)
        if number > 1 and len(fields) > width
    ]
    return frame, lines


def _drop_blank_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop rows with no value in any cell (a trailing ``,,,,`` row is not a household);
    their number is kept in ``frame.attrs["blank_rows"]``."""
    blank = frame.apply(lambda row: not any(map(_filled, row)), axis=1).to_numpy(dtype=bool)
    out = frame.loc[~blank].reset_index(drop=True) if len(frame) else frame
    out.attrs["blank_rows"] = int(blank.sum()) if len(frame) else 0
    return out


def _header_row(cells: pd.DataFrame, scan: int = 20) -> int:
    """The first row that looks like a header: at least half as many filled cells as the
    fullest of the first ``scan`` rows (a merged title row above a table has one)."""
    head = cells.head(scan)
    filled = head.apply(lambda row: sum(_filled(v) for v in row), axis=1).to_numpy()
    if not len(filled) or filled.max() == 0:
        return 0
    need = max(1, int(np.ceil(filled.max() / 2)))
    return int(np.flatnonzero(filled >= need)[0])


def _filled(value: object) -> bool:
    return not (value is None or (isinstance(value, float) and value != value)) and bool(
        str(value).strip()
    )


def _read_excel(path: Path) -> pd.DataFrame:
    """Read the first sheet as text, skipping title rows above the header (merged cells) and
    empty trailing rows and unnamed empty columns."""
    cells = pd.read_excel(path, header=None, dtype=str)
    if cells.empty:
        raise InputFileError(f"{path}: the first sheet is empty; put the table on the first sheet")
    start = _header_row(cells)
    header = [
        str(v).strip() if _filled(v) else f"unnamed_{i}"
        for i, v in enumerate(cells.iloc[start].tolist())
    ]
    body = cells.iloc[start + 1 :].reset_index(drop=True)
    body.columns = header
    keep = [
        c for c in body.columns if not (c.startswith("unnamed_") and not body[c].map(_filled).any())
    ]
    body = body[keep]
    filled_rows = np.flatnonzero(body.apply(lambda row: any(map(_filled, row)), axis=1).to_numpy())
    last = int(filled_rows[-1]) + 1 if len(filled_rows) else 0
    return body.iloc[:last].reset_index(drop=True)


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV (``,`` or ``;`` separated; UTF-8, UTF-8 BOM or Latin-1), Parquet or Excel file.

    Every column of a CSV or Excel file is read as text, so that ids keep their leading zeros and
    the schema validator, not the reader, decides what a value means. In an Excel file, title
    rows above the header (a merged banner such as "DATA DTSEN 2025") are skipped: the header
    is the first row with at least half as many filled cells as the fullest row; empty unnamed
    columns and empty trailing rows are dropped. UTF-16 CSVs (Excel's "Unicode text") are read
    too.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    InputFileError
        If the file is missing, empty or not a table; the message names the file and the fix.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such file; check the path (relative to {Path.cwd()})")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix in {".xlsx", ".xlsm"}:
            return _read_excel(path)
        if suffix in {".csv", ".txt", ".tsv"}:
            raw = path.read_bytes()
            if not raw.strip():
                raise InputFileError(f"{path}: the file is empty; export the table again")
            text = _decode(raw)
            sep = "\t" if suffix == ".tsv" else _sniff_separator(text[:10_000])
            from io import StringIO

            try:
                frame = pd.read_csv(StringIO(text), sep=sep, dtype=str, keep_default_na=False)
                malformed: list[int] = []
            except pd.errors.ParserError:
                frame, malformed = _read_csv_skipping_bad_lines(text, sep)
            frame = _drop_blank_rows(frame)
            frame.attrs["malformed_lines"] = malformed
            return frame
    except InputFileError:
        raise
    except Exception as exc:  # the reader's own message is kept; the fix is named
        raise InputFileError(
            f"{path}: could not be read as a {suffix.lstrip('.')} table ({exc}); "
            "save it as UTF-8 CSV with a header row, or as Parquet"
        ) from exc
    raise InputFileError(f"{path}: unknown file type {suffix!r}; use .csv, .parquet or .xlsx")


def iter_table_batches(
    path: str | os.PathLike[str], batch_rows: int = 100_000, columns: list[str] | None = None
) -> Iterator[pd.DataFrame]:
    """Read a table in batches of about ``batch_rows`` rows, with memory bounded by the batch.

    Parquet is read by record batches and CSV by blocks (pyarrow), with the same conventions as
    :func:`read_table`: CSV columns come as text (empty cells stay ``""``), the separator and
    the encoding are sniffed from the start of the file. Excel files cannot be streamed; they
    are read whole and cut into batches.

    Parameters
    ----------
    path : path-like
    batch_rows : int, default 100_000
    columns : list of str, optional
        Read only these columns.

    Yields
    ------
    pandas.DataFrame
        Consecutive batches; their row counts add up to the file's.
    """
    path = Path(path)
    if path.exists() and path.suffix.lower() not in STREAMED_SUFFIXES:
        whole = read_table(path)
        whole = whole[columns] if columns is not None else whole
        for start in range(0, max(len(whole), 1), batch_rows):
            yield whole.iloc[start : start + batch_rows].reset_index(drop=True)
        return
    for batch in iter_record_batches(path, batch_rows, columns=columns):
        yield batch.to_pandas()


def iter_record_batches(
    path: str | os.PathLike[str],
    batch_rows: int = 100_000,
    columns: list[str] | None = None,
    read_dictionary: list[str] | None = None,
) -> Iterator[Any]:
    """Read a table as Arrow record batches of at most ``batch_rows`` rows (see
    :func:`iter_table_batches`, which converts them to pandas).

    Parameters
    ----------
    path : path-like
    batch_rows : int, default 100_000
    columns : list of str, optional
        Read only these columns.
    read_dictionary : list of str, optional
        Parquet columns to read as dictionary arrays (a category's text once per batch, its
        rows as integer indices); ignored for CSV.

    Yields
    ------
    pyarrow.RecordBatch
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such file; check the path (relative to {Path.cwd()})")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        parquet = pq.ParquetFile(path, read_dictionary=read_dictionary)
        yield from parquet.iter_batches(batch_size=batch_rows, columns=columns)
        return
    if suffix not in STREAMED_SUFFIXES:
        raise InputFileError(
            f"{path}: only Parquet and CSV are read in record batches; save it as one of them"
        )
    with open(path, "rb") as handle:
        head = handle.read(65_536)
    if not head.strip():
        raise InputFileError(f"{path}: the file is empty; export the table again")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        try:
            head.decode("utf-8-sig")
            encoding = "utf-8"
        except UnicodeDecodeError as exc:
            # a multi-byte character cut by the 64 KiB sample is still UTF-8
            encoding = "utf-8" if exc.start >= len(head) - 4 else "latin-1"
    text = head.decode(encoding, errors="ignore").lstrip("\ufeff")
    sep = "\t" if suffix == ".tsv" else _sniff_separator(text)
    names = [n.strip().lstrip("\ufeff") for n in text.splitlines()[0].split(sep)]
    wanted = columns if columns is not None else names
    # about 300 bytes a registry row: the block size that gives batches of ~batch_rows
    block = max(1 << 16, min(batch_rows * 300, 1 << 30))
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=encoding, block_size=block),
            parse_options=pacsv.ParseOptions(delimiter=sep),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                include_columns=wanted,
                strings_can_be_null=False,
            ),
        )
        for block_batch in reader:
            block_batch = block_batch.rename_columns(
                [str(c).lstrip("\ufeff") for c in block_batch.schema.names]
            )
            # a block holds about batch_rows rows; slicing keeps every batch within the bound
            for offset in range(0, block_batch.num_rows, batch_rows):
                yield block_batch.slice(offset, batch_rows)
    except pa.ArrowInvalid as exc:
        raise InputFileError(
            f"{path}: could not be read as a CSV table ({exc}); "
            "save it as UTF-8 CSV with a header row, or as Parquet"
        ) from exc


def json_ready(value: Any) -> Any:
    """A JSON-ready copy: numpy scalars to Python, NaN/inf to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, pd.Timestamp | pd.Period):
        return str(value)
    if value is None or isinstance(value, str | int):
        return value
    if pd.isna(value) if np.ndim(value) == 0 else False:
        return None
    return str(value)


def json_records(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    """One JSON-ready dict per row (see :func:`json_ready`); an empty list for no frame."""
    if frame is None or not len(frame):
        return []
    return [json_ready(row) for row in frame.to_dict(orient="records")]
