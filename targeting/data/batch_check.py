"""Registry record batches checked in Arrow and numpy: which rows are certainly valid.

:func:`~targeting.data.schema.validate_registry` parses every cell of a frame (text to numbers,
booleans and categories) with pandas string operations, which costs microseconds per row. At the
scale of a national registry almost every row is already well typed (a Parquet export with
integer counts, boolean flags and category text), and for those rows the contract can be checked
on numbers: counts and their ranges in numpy, categories once per distinct value of a batch
(a dictionary of a few dozen strings, mapped to level codes by a small lookup), never one Python
string per row.

:func:`check_registry_batch` sorts a batch's rows into *clean* rows, which meet every rule of
``validate_registry`` in their plainest written form (so that the pandas validation would keep
them unchanged), and the rest, which the caller hands to ``validate_registry`` itself for the
verdict and the reasons. The test is conservative: a row written in any other accepted form
(``"Ya"`` for true, ``" earth"`` with a space, a count stored as text) is not clean, only slower.
What stays batch-level is decided here on the whole batch, as ``validate_registry`` decides it on
the batch the pandas path gives it (the rows of one batch, less the ids that repeat in the file):
whether the batch is a Kota Serang registry (nine filled kecamatan in ten are Kota Serang's),
which makes an unknown kecamatan a reason to set a row aside, and then whether it names its
kelurahan as the city profile does (nine filled kelurahan in ten listed under the row's
kecamatan), which makes an unlisted kelurahan one (:func:`listed_areas`). The rows sent to
``validate_registry`` get these decisions passed in (:class:`~targeting.data.schema.ListedAreas`),
so a batch's verdict never depends on which of its rows were checked in numpy. The decisions are
per batch on both paths, as they were before the numeric path (a file is as many registries as
it has batches: a batch of another city's rows keeps its names whatever the other batches hold).

The personal-data rules on ``household_id`` are mirrored too: an id of 15 or 16 digits (a NIK or
a Kartu Keluarga number) and an id that contains, or is part of, the same row's NIK, name,
address or phone (four characters or more) are not clean (validation sets them aside).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from targeting.data.schema import (
    AGE_GROUP_COUNTS,
    AREA_COLUMNS,
    BOOL_PROXIES,
    CATEGORICAL_PROXIES,
    COUNT_PROXIES,
    KECAMATAN_KELURAHAN_COUNTS,
    KELURAHAN_OF,
    LISTED_SHARE,
    MAX_HH_SIZE,
    NUMERIC_PROXIES,
    OPTIONAL_AREA_COLUMNS,
    ORDERED_PROXIES,
    PII_COLUMNS,
    PROGRAMME_COLUMNS,
    REGISTRY_COLUMNS,
    VERIFICATION_STATUSES,
    ListedAreas,
)

__all__ = [
    "CATEGORY_COLUMNS",
    "KECAMATAN_MATCH_SHARE",
    "BatchCheck",
    "check_registry_batch",
    "holds_personal_values",
    "kecamatan_rule",
    "listed_areas",
    "string_hashes",
    "trimmed_ids",
]

CATEGORY_COLUMNS: dict[str, list[str]] = {
    **ORDERED_PROXIES,
    **CATEGORICAL_PROXIES,
    "verification_status": VERIFICATION_STATUSES,
}
"""Text columns with a closed vocabulary: a row is clean when its value is a level exactly."""

KECAMATAN_MATCH_SHARE = LISTED_SHARE
"""``validate_registry`` treats a batch as a Kota Serang registry (and an unknown kecamatan as a
defect) when at least this share of its filled kecamatan are Kota Serang's (and an unlisted
kelurahan as a defect when this share of its filled kelurahan are listed)."""

_LIMITED_COUNTS = ["n_children_u5", "n_school_age", "n_elderly", "n_disabled", "n_workers"]
_KNOWN_KECAMATAN = {k.casefold() for k in KECAMATAN_KELURAHAN_COUNTS}
# kelurahan key -> the number of its kecamatan, and the kecamatan keys numbered the same way
_PARENTS = sorted({v.casefold() for v in KELURAHAN_OF.values()})
_PARENT_NUMBER = {k: i for i, k in enumerate(_PARENTS)}
_KELURAHAN_PARENT = {k.casefold(): _PARENT_NUMBER[v.casefold()] for k, v in KELURAHAN_OF.items()}
_NO_KECAMATAN, _OTHER_KECAMATAN, _UNLISTED = -1, -2, -3
_KECAMATAN_CODE = {k.casefold(): i for i, k in enumerate(KECAMATAN_KELURAHAN_COUNTS)}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_RT_RW = re.compile(r"[0-9]{1,3}")


@dataclass
class BatchCheck:
    """The verdict on one record batch.

    Attributes
    ----------
    ids : pyarrow.Array
        ``household_id`` as text, whitespace trimmed (nulls as ``""``).
    clean : numpy.ndarray of bool
        Rows that meet every registry rule as written (scored from ``codes`` and ``numbers``).
    codes : dict of str to numpy.ndarray of int64
        Level index of each category column (-1 where not a level), the value of each count,
        0/1 of each boolean proxy; meaningful on clean rows.
    numbers : dict of str to numpy.ndarray
        Counts (int64), floor area (float64) and boolean proxies (bool), as validation gives them.
    kecamatan_filled, kecamatan_known : numpy.ndarray of bool
        Whether a row names a kecamatan, and a Kota Serang one (how ``validate_registry``
        compares them), for the batch-level rule.
    kelurahan_filled, kelurahan_listed : numpy.ndarray of bool
        Whether a row names a kelurahan, and one the city profile lists under the row's
        kecamatan (as ``validate_registry`` compares them).
    areas : ListedAreas or None
        The batch-level decisions (:func:`listed_areas`) that ``clean`` follows.
    whole_batch : bool
        True when the batch cannot be checked here (a required column missing or of another
        type): every row goes to ``validate_registry``.
    """

    ids: Any
    clean: np.ndarray
    codes: dict[str, np.ndarray] = field(default_factory=dict)
    numbers: dict[str, np.ndarray] = field(default_factory=dict)
    kecamatan_filled: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    kecamatan_known: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    kelurahan_filled: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    kelurahan_listed: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    areas: ListedAreas | None = None
    whole_batch: bool = False


def kecamatan_rule(filled: np.ndarray, known: np.ndarray) -> bool:
    """Whether ``validate_registry`` would set aside rows naming an unknown kecamatan."""
    if not filled.any():
        return False
    return bool(known[filled].mean() >= KECAMATAN_MATCH_SHARE)


def listed_areas(
    kecamatan_filled: np.ndarray,
    kecamatan_known: np.ndarray,
    kelurahan_filled: np.ndarray,
    kelurahan_listed: np.ndarray,
) -> ListedAreas:
    """The decisions ``validate_registry`` takes on these rows: is an unlisted kecamatan set
    aside, and (only then, as it checks kelurahan only in a Kota Serang registry) an unlisted
    kelurahan."""
    kecamatan = kecamatan_rule(kecamatan_filled, kecamatan_known)
    kelurahan = kecamatan and kecamatan_rule(kelurahan_filled, kelurahan_listed)
    return ListedAreas(kecamatan=kecamatan, kelurahan=kelurahan)


def holds_personal_values(ids: list[Any], cells: dict[str, list[Any]]) -> np.ndarray:
    """Whether each id contains, or is part of, a personal value of its row.

    The test of ``validate_registry`` (``household_id`` against ``nik_head``, ``head_name``,
    ``address``, ``phone``): both sides stripped, the personal value four characters or more,
    the id four or more when it is the part. One comparison per row and column, in Python (a
    substring test per row has no faster exact form; about 0.3 s per column per million rows,
    and only when the file carries personal-data columns).

    Parameters
    ----------
    ids : list
        The rows' ids as text (None for null).
    cells : dict of str to list
        The personal-data columns present, each as text (None for null), aligned with ``ids``.

    Returns
    -------
    numpy.ndarray of bool
    """
    raw = ["" if v is None else str(v).strip() for v in ids]
    out = np.zeros(len(raw), dtype=bool)
    for values in cells.values():
        secret = ["" if v is None else str(v).strip() for v in values]
        out |= np.fromiter(
            (
                len(c) >= 4 and (c in r or (len(r) >= 4 and r in c))
                for r, c in zip(raw, secret, strict=True)
            ),
            dtype=bool,
            count=len(raw),
        )
    return out


def trimmed_ids(column: Any) -> Any:
    """``household_id`` as text with surrounding whitespace removed; null as ``""``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = column.cast(pa.string())
    if column.null_count:
        column = pc.fill_null(column, "")
    return pc.utf8_trim_whitespace(column)


_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


def string_hashes(strings: Any) -> np.ndarray:
    """64-bit hashes of an Arrow string array, computed on its bytes with numpy.

    A polynomial hash of the bytes (mod 2^64) mixed with the length and a splitmix64 finish;
    equal strings get equal hashes. Used to find ids that may repeat across a file at 8 bytes a
    household, without a Python object per id (the few repeats are then compared as text).
    """
    import pyarrow as pa

    strings = strings.cast(pa.large_string())
    n = len(strings)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    buffers = strings.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64)[strings.offset : strings.offset + n + 1]
    data = (
        np.frombuffer(buffers[2], dtype=np.uint8)
        if buffers[2] is not None
        else np.zeros(0, dtype=np.uint8)
    )
    start, stop = int(offsets[0]), int(offsets[-1])
    data = data[start:stop]
    lengths = np.diff(offsets)
    longest = int(lengths.max())
    with np.errstate(over="ignore"):
        powers = np.cumprod(np.full(max(longest, 1), np.uint64(1099511628211), dtype=np.uint64))
        hashes = lengths.astype(np.uint64) * _HASH_MULTIPLIER
        if longest and int(lengths.min()) == longest:
            # ids of one width (the usual export): a byte matrix, one pass per character
            matrix = data.reshape(n, longest)
            sums = np.zeros(n, dtype=np.uint64)
            for k in range(longest):
                sums += (matrix[:, k].astype(np.uint64) + np.uint64(1)) * powers[k]
            hashes ^= sums
        elif data.size:
            starts = offsets[:-1] - start
            rel = np.arange(data.size, dtype=np.int64) - np.repeat(starts, lengths)
            terms = (data.astype(np.uint64) + np.uint64(1)) * powers[rel]
            filled = lengths > 0
            hashes[filled] ^= np.add.reduceat(terms, starts[filled])
        # splitmix64 finaliser: spread the bits so the sort-based duplicate search is balanced
        hashes ^= hashes >> np.uint64(30)
        hashes *= np.uint64(0xBF58476D1CE4E5B9)
        hashes ^= hashes >> np.uint64(27)
        hashes *= np.uint64(0x94D049BB133111EB)
        hashes ^= hashes >> np.uint64(31)
    return hashes


def _dictionary(column: Any) -> tuple[list[Any], np.ndarray] | None:
    """A text column's distinct values and each row's index into them (-1 for null)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(column.type):
        encoded = column
    elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        encoded = pc.dictionary_encode(column)
    else:
        return None
    if not (
        pa.types.is_string(encoded.type.value_type)
        or pa.types.is_large_string(encoded.type.value_type)
    ):
        return None
    indices = encoded.indices
    if indices.null_count:
        indices = pc.fill_null(indices, -1)
    # the indices as Arrow holds them (int32 for a Parquet dictionary): an index, not a copy
    return encoded.dictionary.to_pylist(), np.asarray(indices.to_numpy(zero_copy_only=False))


def _per_value(values: list[Any], index: np.ndarray, verdict: Any, missing: Any) -> np.ndarray:
    """``verdict`` of each distinct value, spread to the rows (``missing`` for null rows)."""
    table = np.array([verdict(v) for v in values] + [missing])
    return table[index]


def _plain(value: Any) -> bool:
    """Text that validation keeps as it is: non-empty, printable, single-spaced, trimmed."""
    return (
        isinstance(value, str)
        and value != ""
        and value.isprintable()
        and value == " ".join(value.split())
    )


def _area_key(value: Any) -> str:
    """How validation compares an area name: controls removed, spaces collapsed, casefolded."""
    if not isinstance(value, str):
        return ""
    return " ".join(_CONTROL.sub("", value).split()).casefold()


def _numeric(column: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """Values (float64) and a null mask of a numeric column; None for another type."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
        return None
    null = _nulls(column)
    if column.null_count:
        column = pc.fill_null(column, 0)
    values = column.to_numpy(zero_copy_only=False)
    if pa.types.is_integer(column.type):
        return values.astype(np.int64, copy=False), null
    return values.astype(np.float64, copy=False), null


def _nulls(column: Any) -> np.ndarray:
    """Null mask of an Arrow array (no pass over the rows when it has none)."""
    import pyarrow.compute as pc

    if column.null_count == 0:
        return np.zeros(len(column), dtype=bool)
    return np.asarray(pc.is_null(column).to_numpy(zero_copy_only=False), dtype=bool)


def _has_control_bytes(strings: Any) -> bool:
    """Whether any string of an Arrow string array holds a byte 0x00-0x1F or 0x7F (one pass
    over its data buffer with numpy, no per-row work)."""
    import pyarrow as pa

    if len(strings) == 0:
        return False
    kind = np.int64 if pa.types.is_large_string(strings.type) else np.int32
    buffers = strings.buffers()
    if buffers[2] is None:
        return False
    offsets = np.frombuffer(buffers[1], dtype=kind)[
        strings.offset : strings.offset + len(strings) + 1
    ]
    data = np.frombuffer(buffers[2], dtype=np.uint8)[int(offsets[0]) : int(offsets[-1])]
    return bool(((data < 0x20) | (data == 0x7F)).any())


def check_registry_batch(
    batch: Any, among: np.ndarray | None = None, ids: Any = None
) -> BatchCheck:
    """Sort a registry record batch's rows into clean rows and rows to validate with pandas.

    Parameters
    ----------
    batch : pyarrow.RecordBatch
        Registry rows as read (any column types; dictionary-encoded text is best).
    among : numpy.ndarray of bool, optional
        The rows the batch-level area decisions are taken on (default all): the rows the pandas
        path validates together, i.e. less those whose id repeats in the file.
    ids : pyarrow.Array, optional
        ``trimmed_ids`` of the batch's ``household_id``, when the caller has them already.

    Returns
    -------
    BatchCheck
        ``clean`` rows meet every rule of :func:`~targeting.data.schema.validate_registry` as
        written; the others (and every row, when ``whole_batch``) need its verdict.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    n = batch.num_rows
    names = set(batch.schema.names)
    everything = BatchCheck(ids=None, clean=np.zeros(n, dtype=bool), whole_batch=True)
    if any(name not in names for name in REGISTRY_COLUMNS):
        return everything
    column = batch.column
    raw_ids = column("household_id")
    ids = trimmed_ids(raw_ids) if ids is None else ids
    everything.ids = ids
    clean = np.ones(n, dtype=bool)
    # ids: present, non-empty and written without surrounding space or control characters
    raw_text = raw_ids
    if pa.types.is_dictionary(raw_text.type):
        raw_text = raw_text.cast(raw_text.type.value_type)
    if raw_text.type != ids.type:
        raw_text = raw_text.cast(ids.type)
    clean &= ~_nulls(raw_ids)
    clean &= np.asarray(pc.equal(pc.fill_null(raw_text, ""), ids).to_numpy(zero_copy_only=False))
    lengths = np.asarray(pc.utf8_length(ids).to_numpy(zero_copy_only=False))
    clean &= lengths > 0
    if _has_control_bytes(ids):
        # UTF-8 writes these code points as these bytes only: no such byte, no such row
        clean &= ~np.asarray(
            pc.match_substring_regex(ids, r"[\x00-\x1f\x7f]").to_numpy(zero_copy_only=False),
            dtype=bool,
        )
    # a NIK or KK number as id (15-16 digits) is set aside; ASCII only, so that RE2's digits
    # are Python's (an id in other scripts is left to validation)
    clean &= np.asarray(pc.string_is_ascii(ids).to_numpy(zero_copy_only=False), dtype=bool)
    nik_long = np.flatnonzero((lengths == 15) | (lengths == 16))
    if len(nik_long):
        # only an id of 15 or 16 characters can be 15 or 16 digits
        digits = pc.match_substring_regex(ids.take(pa.array(nik_long)), r"^[0-9]{15,16}$")
        clean[nik_long[np.asarray(digits.to_numpy(zero_copy_only=False), dtype=bool)]] = False
    personal = [name for name in PII_COLUMNS if name in names]
    for name in personal:
        kind = column(name).type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        # text or whole numbers read as pandas reads them (an empty column: nothing to hold);
        # any other type is left to pandas
        if not (
            pa.types.is_string(kind)
            or pa.types.is_large_string(kind)
            or pa.types.is_integer(kind)
            or pa.types.is_null(kind)
        ):
            return everything
    codes: dict[str, np.ndarray] = {}
    numbers: dict[str, np.ndarray] = {}
    # areas: a plain non-empty name; the keys decide the Kota Serang rules
    parent: dict[str, np.ndarray] = {}
    filled_of: dict[str, np.ndarray] = {}
    known = np.zeros(n, dtype=bool)
    for name in AREA_COLUMNS:
        found = _dictionary(column(name))
        if found is None:
            return everything
        values, index = found
        clean &= _per_value(values, index, _plain, False)
        filled_of[name] = _per_value(values, index, lambda v: _area_key(v) != "", False)
        # kecamatan: the number of a kecamatan some kelurahan lists; kelurahan: its kecamatan's
        lookup = _kecamatan_number if name == "kecamatan" else _kelurahan_parent
        parent[name] = _per_value(values, index, lookup, _NO_KECAMATAN).astype(np.int64, copy=False)
        if name == "kecamatan":
            known = _per_value(values, index, lambda v: _area_key(v) in _KNOWN_KECAMATAN, False)
            # the kecamatan is a model input: its code indexes the city profile's list, the
            # spelling validation gives it; an unknown one (a registry of another city) has no
            # code and its rows are left to validation and the pandas scorer
            code = _per_value(
                values, index, lambda v: _KECAMATAN_CODE.get(_area_key(v), -1), -1
            ).astype(np.int64, copy=False)
            clean &= code >= 0
            codes[name] = code
    filled = filled_of["kecamatan"]
    kelurahan_filled = filled_of["kelurahan"]
    # validation compares the kelurahan's kecamatan with the row's as text, "" for an unlisted
    # kelurahan and for an empty kecamatan: so those two count as agreeing (the row is set
    # aside for its empty kecamatan anyway, but it counts in the share)
    kel_parent = np.where(parent["kelurahan"] == _UNLISTED, _NO_KECAMATAN, parent["kelurahan"])
    listed = kelurahan_filled & (kel_parent == parent["kecamatan"])
    rows = np.ones(n, dtype=bool) if among is None else np.asarray(among, dtype=bool)
    areas = listed_areas(filled[rows], known[rows], kelurahan_filled[rows], listed[rows])
    if areas.kecamatan:
        clean &= known
    if areas.kelurahan:
        clean &= listed
    # counts: whole numbers in their ranges, member counts within the household size
    for name in COUNT_PROXIES:
        found_numbers = _numeric(column(name))
        if found_numbers is None:
            return everything
        v, null = found_numbers
        with np.errstate(invalid="ignore"):
            if v.dtype.kind == "f":
                ok = ~null & np.isfinite(v) & (v == np.round(v))
            else:
                ok = ~null
            if name == "hh_size":
                ok &= (v >= 1) & (v <= MAX_HH_SIZE)
            elif name == "head_age":
                ok &= (v >= 15) & (v <= 110)
            else:
                ok &= v >= 0
        clean &= ok
        whole = v if v.dtype.kind == "i" and ok.all() else np.where(ok, v, 0).astype(np.int64)
        numbers[name] = whole
        codes[name] = whole
    size = numbers["hh_size"]
    for name in _LIMITED_COUNTS:
        clean &= numbers[name] <= size
    clean &= sum(numbers[name] for name in AGE_GROUP_COUNTS) <= size
    for name in NUMERIC_PROXIES:
        found_numbers = _numeric(column(name))
        if found_numbers is None:
            return everything
        v, null = found_numbers
        with np.errstate(invalid="ignore"):
            clean &= ~null & np.isfinite(v) & (v > 0)
        numbers[name] = v
    # booleans: a true boolean column without nulls
    for name in BOOL_PROXIES + PROGRAMME_COLUMNS:
        col = column(name)
        if not pa.types.is_boolean(col.type):
            return everything
        clean &= ~_nulls(col)
        if col.null_count:
            col = pc.fill_null(col, False)
        flags = np.asarray(col.to_numpy(zero_copy_only=False), dtype=bool)
        if name in BOOL_PROXIES:
            numbers[name] = flags
            codes[name] = flags.astype(np.int64)
    # categories: a level exactly as the vocabulary writes it
    for name, levels in CATEGORY_COLUMNS.items():
        found = _dictionary(column(name))
        if found is None:
            return everything
        values, index = found
        position = {level: k for k, level in enumerate(levels)}
        code = _per_value(values, index, lambda v, p=position: p.get(v, -1), -1).astype(
            np.int64, copy=False
        )
        clean &= code >= 0
        codes[name] = code
    # RT/RW (optional): empty, or one to three ASCII digits
    for name in OPTIONAL_AREA_COLUMNS:
        if name not in names:
            continue
        found = _dictionary(column(name))
        if found is None:
            return everything
        values, index = found
        clean &= _per_value(
            values, index, lambda v: v == "" or bool(_RT_RW.fullmatch(str(v))), True
        )
    # the id must not hold the row's personal values (checked last, on the clean rows only:
    # the others are validated by pandas anyway)
    if personal and clean.any():
        rows_left = np.flatnonzero(clean)
        taken = pa.array(rows_left)
        cells = {}
        for name in personal:
            cell = column(name).take(taken)
            if pa.types.is_dictionary(cell.type):
                cell = cell.cast(cell.type.value_type)
            cells[name] = cell.cast(pa.string()).to_pylist()
        clean[rows_left[holds_personal_values(ids.take(taken).to_pylist(), cells)]] = False
    return BatchCheck(
        ids=ids,
        clean=clean,
        codes=codes,
        numbers=numbers,
        kecamatan_filled=filled,
        kecamatan_known=known,
        kelurahan_filled=kelurahan_filled,
        kelurahan_listed=listed,
        areas=areas,
    )


def _kecamatan_number(value: Any) -> int:
    """A kecamatan's number among the profile's (no name: -1; a name it does not list: -2)."""
    key = _area_key(value)
    if key == "":
        return _NO_KECAMATAN
    return _PARENT_NUMBER.get(key, _OTHER_KECAMATAN)


def _kelurahan_parent(value: Any) -> int:
    """The number of the kecamatan the profile lists a kelurahan under (unlisted: -3)."""
    return _KELURAHAN_PARENT.get(_area_key(value), _UNLISTED)
