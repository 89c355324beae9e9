"""Scoring a registry file of any size with memory bounded by the batch, not the file.

:func:`score_registry_file` reads the registry in record batches (Parquet or CSV, through
pyarrow), validates each batch against the registry contract, scores the valid rows
(:func:`~targeting.pmt.scoring.score_households`) and streams the scores and the rejected rows
to their own files as it goes. A household scored here gets exactly the score it gets when the
whole file is scored at once, or on a Spark partition: the interval draws are seeded the same way
for every chunk and the desil cut-points are fixed in the model.

A household id that occurs twice anywhere in the file is rejected in every occurrence, as the
whole-file validation does; finding such ids across batches takes one cheap first pass over the
id column (64-bit hashes of the ids' bytes, 8 bytes per household).

The numeric path
----------------
Parquet and CSV files are read as Arrow record batches (Parquet's text columns as dictionaries),
checked in Arrow and numpy (:func:`~targeting.data.batch_check.check_registry_batch`), and the
rows that are clean as written are scored from integer codes by the compiled pipeline
(:mod:`targeting.pmt.compiled`); the scores are written from numpy arrays. Only the rows that are
not clean go through pandas: ``validate_registry`` gives their verdict and reasons, and its valid
rows are scored as before. The result is the same file as scoring the pandas way (a test checks
it, quarantined rows included). A model whose features cannot be compiled, or an Excel file,
takes the pandas way for every row.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from targeting.data import schema
from targeting.data.batch_check import (
    CATEGORY_COLUMNS,
    check_registry_batch,
    holds_personal_values,
    string_hashes,
    trimmed_ids,
)
from targeting.data.io import (
    STREAMED_SUFFIXES,
    atomic_path,
    iter_record_batches,
    iter_table_batches,
)
from targeting.pmt.plain import PlainScorer

if TYPE_CHECKING:
    from targeting.pmt.compiled import CompiledPipeline

__all__ = ["StreamSummary", "duplicated_ids", "reuse_freed_memory", "score_registry_file"]

SCORE_COLUMNS: tuple[str, ...] = ("household_id", "p_extreme", "p_low", "p_high", "desil")

_DUPLICATE_REASON = "household_id: the same id occurs in other rows of the file (all set aside)"


@dataclass(frozen=True)
class StreamSummary:
    """What a streamed scoring did: every household of the file is scored or rejected."""

    households_in_file: int
    scored: int
    rejected: int
    batches: int
    seconds: float
    output: Path
    rejected_output: Path | None

    @property
    def rows_per_second(self) -> float:
        """End-to-end throughput (read, validate, score, write)."""
        return self.households_in_file / self.seconds if self.seconds > 0 else float("nan")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready counts (no personal data)."""
        return {
            "households_in_file": self.households_in_file,
            "scored": self.scored,
            "rejected": self.rejected,
            "batches": self.batches,
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows_per_second, 1),
            "output": str(self.output),
            "rejected_output": None if self.rejected_output is None else str(self.rejected_output),
        }


def reuse_freed_memory() -> None:
    """Keep the memory of freed batches for the next ones, for a process that streams a file.

    Each batch allocates the same few dozen arrays of 0.1-25 MB. glibc's ``malloc`` hands such
    blocks back to the system when they are freed, and Arrow's allocator returns its pages too,
    so every batch faulted its memory in again: about 0.6 s of system time per million
    households, a sixth of ``targeting score``'s CPU at 1 M. This serves blocks up to 32 MB
    from the heap, keeps up to 256 MB of freed heap, and gives Arrow the system allocator, so
    the freed blocks are reused. Process-wide: called by the command, not by the library.
    Memory stays bounded by the batch (the peak is what the batches hold at once). A platform
    whose C library has no ``mallopt`` is left as it is.
    """
    import ctypes

    import pyarrow as pa

    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold, m_arena_max = -1, -3, -8  # glibc's parameter numbers
    mallopt(m_mmap_threshold, 32 << 20)
    mallopt(m_trim_threshold, 256 << 20)
    # one heap for every thread: a worker thread's own heap is unmapped whenever it is empty
    # (whatever the thresholds), and its next batch would fault the pages in again
    mallopt(m_arena_max, 1)
    pa.set_memory_pool(pa.system_memory_pool())


def _id_hashes(ids: pd.Series) -> np.ndarray:
    text = ids.astype("string").str.strip().fillna("")
    return pd.util.hash_pandas_object(text, index=False).to_numpy(dtype=np.uint64)


def duplicated_ids(path: str | os.PathLike[str], batch_rows: int = 1_000_000) -> set[str]:
    """The household ids that occur more than once in a registry file (one pass, ids only)."""
    path = Path(path)
    if path.suffix.lower() not in STREAMED_SUFFIXES:
        return _duplicated_ids_pandas(path, batch_rows)
    return _duplicate_scan(path, batch_rows)[0]


def _duplicate_scan(path: Path, batch_rows: int = 1_000_000) -> tuple[set[str], np.ndarray]:
    """The ids that repeat in the file, and which rows may hold one (by their hash).

    One pass hashes every id (8 bytes a household, sorted once); the rows whose hash repeats
    are the candidates (one bit a household, kept for the scoring pass, which so hashes
    nothing), and a second pass over the candidates' ids only (there are none in a clean file)
    tells true repeats from hash collisions.
    """
    hashes = [
        string_hashes(trimmed_ids(batch.column(0)))
        for batch in iter_record_batches(path, batch_rows, columns=["household_id"])
    ]
    if not hashes:
        return set(), np.zeros(0, dtype=bool)
    allh = np.concatenate(hashes)
    del hashes
    ordered = np.sort(allh)
    dup_hashes = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    del ordered
    if dup_hashes.size == 0:
        return set(), np.zeros(len(allh), dtype=bool)
    candidate = np.isin(allh, dup_hashes)
    del allh
    counts: dict[str, int] = {}
    done = 0
    for batch in iter_record_batches(path, batch_rows, columns=["household_id"]):
        hit = np.flatnonzero(candidate[done : done + batch.num_rows])
        done += batch.num_rows
        if len(hit):
            import pyarrow as pa

            ids = trimmed_ids(batch.column(0)).take(pa.array(hit))
            for value in ids.to_pylist():
                counts[str(value)] = counts.get(str(value), 0) + 1
    return {k for k, n in counts.items() if n > 1 and k != ""}, candidate


def _duplicated_ids_pandas(path: Path, batch_rows: int) -> set[str]:
    hashes = [
        _id_hashes(batch["household_id"])
        for batch in iter_table_batches(path, batch_rows, columns=["household_id"])
    ]
    if not hashes:
        return set()
    allh = np.sort(np.concatenate(hashes))
    dup_hashes = np.unique(allh[1:][allh[1:] == allh[:-1]])
    if dup_hashes.size == 0:
        return set()
    counts: dict[str, int] = {}
    for batch in iter_table_batches(path, batch_rows, columns=["household_id"]):
        ids = batch["household_id"].astype("string").str.strip().fillna("")
        hit = np.isin(_id_hashes(batch["household_id"]), dup_hashes)
        for value in ids[hit]:
            counts[str(value)] = counts.get(str(value), 0) + 1
    return {k for k, n in counts.items() if n > 1 and k != ""}


class _TableSink:
    """Appends frames to one Parquet or CSV file, written atomically when closed."""

    def __init__(self, path: Path, dictionary: list[str] | None = None):
        self.path = path
        # Parquet dictionary pages only for the columns with few values (the desil): a
        # dictionary of unique ids or of probabilities is built and thrown away at every page
        self._dictionary: Any = True if dictionary is None else dictionary
        self._context: Any = None
        self._writer: Any = None
        self._schema: Any = None
        self.rows = 0

    def write(self, frame: Any) -> None:
        """Append a pandas frame or a pyarrow table."""
        import pyarrow as pa
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        if isinstance(frame, pa.Table):
            table = frame
        else:
            table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._writer is None:
            self._context = atomic_path(self.path)
            tmp = self._context.__enter__()
            self._schema = table.schema
            if self.path.suffix.lower() == ".parquet":
                self._writer = pq.ParquetWriter(tmp, table.schema, use_dictionary=self._dictionary)
            else:
                self._writer = pacsv.CSVWriter(tmp, table.schema)
        # later batches may infer a narrower type (e.g. an all-empty column): the first rules
        self._writer.write_table(table.cast(self._schema))
        self.rows += len(frame)

    def close(self, ok: bool) -> None:
        if self._writer is None:
            return
        self._writer.close()
        if ok:
            self._context.__exit__(None, None, None)
        else:
            error = RuntimeError("scoring stopped")
            try:
                self._context.__exit__(RuntimeError, error, None)
            except RuntimeError:
                pass


def _reject_duplicates(
    batch: pd.DataFrame, duplicates: set[str], offset: int
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Set aside the rows whose id repeats in the file; return the rest, the rejects and the
    positions (in ``batch``) of the rows kept."""
    ids = batch["household_id"].astype("string").str.strip().fillna("")
    dup = ids.isin(duplicates).to_numpy(dtype=bool)
    rows = np.flatnonzero(dup)

    def text(name: str) -> np.ndarray:
        if name not in batch:
            return np.full(len(rows), "", dtype=object)
        return batch[name].astype("string").fillna("").to_numpy(dtype=object)[rows]

    cells = {
        name: [None if v is pd.NA else str(v) for v in batch[name].astype("string").iloc[rows]]
        for name in schema.PII_COLUMNS
        if name in batch
    }
    rejected = pd.DataFrame(
        {
            "row": rows + offset + 1,
            "household_id": _shown_ids(list(text("household_id")), cells),
            "kecamatan": text("kecamatan"),
            "kelurahan": text("kelurahan"),
            "reason": _DUPLICATE_REASON,
        }
    )
    return batch.loc[~dup].reset_index(drop=True), rejected, np.flatnonzero(~dup)


def score_registry_file(
    model: Any,
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    batch_rows: int = 100_000,
    mode: str = "quarantine",
    seed: int = 2026,
    n_boot: int = 200,
    progress: Callable[[int, int, float], None] | None = None,
    numeric: bool = True,
) -> StreamSummary:
    """Score every household of a registry file in batches; stream scores and rejects to disk.

    Parameters
    ----------
    model : fitted PMT pipeline
        With its desil cut-points (``desil_cutpoints_``) so batches agree.
    source : path-like
        Registry file: ``.parquet`` (record batches) or ``.csv`` (blocks); ``.xlsx`` is read whole.
    output : path-like
        Scores (``household_id, p_extreme, p_low, p_high, desil``), ``.parquet`` or ``.csv``.
    batch_rows : int, default 100_000
        Rows per batch: memory grows with this (two batches are in flight: one scored, one read
        ahead), not with the file, except for the duplicate-id scan: 16 bytes a household
        while the ids' hashes are sorted, then one byte a household (measured: 1.2 GB peak for
        35 M households).
    mode : {"quarantine", "strict"}
        As :func:`targeting.data.schema.validate_registry`.
    seed, n_boot : int
        Of the interval draws (as ``targeting score``).
    progress : callable, optional
        Called after each batch with ``(rows done, rows scored, seconds)``.
    numeric : bool, default True
        Use the numeric path where it applies (Parquet or CSV, a compilable model); False
        scores every row the pandas way (the reference the numeric path is tested against).

    Returns
    -------
    StreamSummary
        Rejected rows go to ``rejected.<suffix>`` beside ``output`` (a personal-data file: the
        rows as given, with the reason).
    """
    start = time.perf_counter()
    output = Path(output)
    streamed = Path(source).suffix.lower() in STREAMED_SUFFIXES
    compiled: CompiledPipeline | PlainScorer | None = None
    if isinstance(model, PlainScorer):
        # the plain form scores the numeric path's exact intervals; anything else (the pandas
        # way, an Excel file, no interval) takes the full pipeline
        if numeric and streamed and n_boot > 0:
            compiled = model
        model = model.model if compiled is None else model
    columns = [str(c) for c in getattr(model, "feature_names_in_", schema.PROXY_COLUMNS)]
    leaked = sorted(set(columns) & set(schema.PII_COLUMNS))
    if leaked:
        raise ValueError(f"the model takes personal-data columns {leaked}; refusing to score")
    if compiled is None and numeric and streamed:
        from targeting.pmt.compiled import compile_pipeline  # imports scikit-learn

        compiled = compile_pipeline(model)
    if compiled is not None:
        duplicates, candidate = _duplicate_scan(Path(source))
    else:
        duplicates, candidate = duplicated_ids(source), np.zeros(0, dtype=bool)
    scores_sink = _TableSink(output, dictionary=["desil"])
    rejected_sink = _TableSink(output.with_name("rejected" + output.suffix))
    counts = {"done": 0, "scored": 0, "batches": 0}
    ok = False
    writer = ThreadPoolExecutor(max_workers=1)
    pending: Future[None] | None = None
    limits = contextlib.ExitStack()
    try:
        # one BLAS thread, on either path: the second core reads ahead and writes (faster on
        # the shared two-core machine than two BLAS threads waiting for each other), and the
        # two paths split their matrix products the same way (the thread count can move the
        # last bit of a product, so a file is scored alike whichever path takes a batch)
        limits.enter_context(threadpool_limits(limits=1, user_api="blas"))
        if compiled is not None:
            batches: Any = _numeric_batches(
                compiled, source, batch_rows, columns, (duplicates, candidate), mode, seed, n_boot
            )
        else:
            batches = _pandas_batches(
                model, source, batch_rows, columns, duplicates, mode, seed, n_boot
            )
        for n_batch, scores, rejected in batches:
            if rejected is not None and len(rejected):
                rejected = rejected.copy()
                rejected["row"] = rejected["row"].to_numpy(dtype=np.int64) + counts["done"]
                rejected_sink.write(rejected)
            if scores is not None and len(scores):
                # written by a second thread while the next batch is scored (one write pending)
                if pending is not None:
                    pending.result()
                pending = writer.submit(scores_sink.write, scores)
                counts["scored"] += len(scores)
            counts["done"] += n_batch
            counts["batches"] += 1
            if progress is not None:
                progress(counts["done"], counts["scored"], time.perf_counter() - start)
        if pending is not None:
            pending.result()
        ok = True
    finally:
        limits.close()
        writer.shutdown(wait=True)
        scores_sink.close(ok)
        rejected_sink.close(ok)
    done, scored, batches_n = counts["done"], counts["scored"], counts["batches"]
    return StreamSummary(
        households_in_file=done,
        scored=scored,
        rejected=done - scored,
        batches=batches_n,
        seconds=time.perf_counter() - start,
        output=output,
        rejected_output=rejected_sink.path if rejected_sink.rows else None,
    )


_Batch = tuple[int, Any, pd.DataFrame | None]
"""Rows read, their scores (a frame or an Arrow table, file order), their rejects (``row``
counted from the batch's first row)."""


def _prefetch(items: Iterator[Any], depth: int = 2) -> Iterator[Any]:
    """Yield ``items`` while a thread reads ahead (at most ``depth`` waiting).

    Arrow decodes Parquet without holding the interpreter lock, so on two cores the next batch
    is read while this one is checked and scored; memory grows by ``depth`` batches at most.
    """
    buffer: queue.Queue[Any] = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        buffer.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put(("end", done))
        except BaseException as exc:  # handed to the consumer, raised there
            buffer.put(("error", exc))

    thread = threading.Thread(target=produce, name="targeting-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = buffer.get()
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()
        # unblock a producer waiting on a full queue, then let it finish
        while thread.is_alive():
            try:
                buffer.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.1)


def _pandas_batches(
    model: Any,
    source: str | os.PathLike[str],
    batch_rows: int,
    columns: list[str],
    duplicates: set[str],
    mode: str,
    seed: int,
    n_boot: int,
) -> Iterator[_Batch]:
    """Every row the pandas way: ``validate_registry`` and ``score_households`` per batch."""
    for frame in iter_table_batches(source, batch_rows):
        yield _pandas_batch(frame, model, columns, duplicates, mode, seed, n_boot)


def _pandas_batch(
    frame: pd.DataFrame,
    model: Any,
    columns: list[str],
    duplicates: set[str],
    mode: str,
    seed: int,
    n_boot: int,
) -> _Batch:
    """One batch the pandas way: ``validate_registry`` and ``score_households``."""
    from targeting.pmt.scoring import score_households  # imports scikit-learn

    n_batch = len(frame)
    frame, dup_rejected, kept = _reject_duplicates(frame, duplicates, 0)
    checked = schema.validate_registry(frame, mode=mode)  # type: ignore[arg-type]
    _require_columns(columns, checked.valid)
    rejected = checked.rejected.copy()
    rejected["row"] = kept[rejected["row"].to_numpy(dtype=int) - 1] + 1
    both = None
    if len(dup_rejected) or len(rejected):
        both = pd.concat([dup_rejected, rejected], ignore_index=True)
        both = both.sort_values("row", kind="stable")
    valid = checked.valid
    part = None
    if len(valid):
        part = score_households(model, valid[columns], n_boot=n_boot, seed=seed)
        part.insert(0, "household_id", valid["household_id"].astype(str).to_numpy())
        part = part[list(SCORE_COLUMNS)].reset_index(drop=True)
    return n_batch, part, both


def _require_columns(columns: list[str], frame: Any) -> None:
    missing = [c for c in columns if c not in frame]
    if missing:
        raise ValueError(
            f"the model needs column(s) {missing} that the registry lacks; "
            "add them or score with a model fitted on these columns"
        )


def _numeric_batches(
    compiled: CompiledPipeline | PlainScorer,
    source: str | os.PathLike[str],
    batch_rows: int,
    columns: list[str],
    repeats: tuple[set[str], np.ndarray],
    mode: str,
    seed: int,
    n_boot: int,
    workers: int = 2,
) -> Iterator[_Batch]:
    """Arrow batches checked in numpy; clean rows scored from codes, the rest the pandas way.

    ``repeats`` are the ids that repeat in the file and the rows that may hold one
    (:func:`_duplicate_scan`). ``workers`` threads check and score whole batches at once (Arrow,
    numpy and BLAS release the interpreter lock, so two batches use two cores), and the batches
    come out in file order: each batch's numbers do not depend on which thread scored it.
    """
    import pyarrow.parquet as pq

    text_columns = [*CATEGORY_COLUMNS, *schema.AREA_COLUMNS, *schema.OPTIONAL_AREA_COLUMNS]
    if Path(source).suffix.lower() == ".parquet":
        present = set(pq.read_schema(source).names)
        text_columns = [c for c in text_columns if c in present]
    reader = iter_record_batches(source, batch_rows, read_dictionary=text_columns)

    def numbered() -> Iterator[tuple[int, Any]]:
        offset = 0
        for batch in reader:
            yield offset, batch
            offset += batch.num_rows

    def one(item: tuple[int, Any]) -> _Batch:
        first, batch = item
        return _numeric_batch(compiled, batch, first, columns, repeats, mode, seed, n_boot)

    yield from _in_order(one, _prefetch(numbered()), workers)


def _in_order(
    func: Callable[[Any], _Batch], items: Iterator[Any], workers: int
) -> Iterator[_Batch]:
    """``func`` of each item on ``workers`` threads, yielded in the items' order (at most
    ``workers + 1`` items in flight, so memory stays a few batches)."""
    if workers <= 1:
        for item in items:
            yield func(item)
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="targeting-score")
    pending: deque[Future[_Batch]] = deque()
    try:
        for item in items:
            pending.append(pool.submit(func, item))
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True)
        close = getattr(items, "close", None)
        if close is not None:
            close()  # stops a read-ahead thread now, not when the generator is collected


def _numeric_batch(
    compiled: CompiledPipeline | PlainScorer,
    batch: Any,
    first: int,
    columns: list[str],
    repeats: tuple[set[str], np.ndarray],
    mode: str,
    seed: int,
    n_boot: int,
) -> _Batch:
    """One Arrow batch (its first row is row ``first`` of the file): checked in numpy, clean
    rows scored from codes, the rest the pandas way."""
    import pyarrow as pa

    duplicates, candidate = repeats
    n = batch.num_rows
    if "household_id" in batch.schema.names:
        ids = trimmed_ids(batch.column("household_id"))
        dup = np.zeros(n, dtype=bool)
        hit = (
            np.flatnonzero(candidate[first : first + n])
            if len(candidate)
            else np.zeros(0, dtype=np.int64)
        )
        if len(hit):
            values = ids.take(pa.array(hit)).to_pylist()
            dup[hit[np.array([v in duplicates for v in values], dtype=bool)]] = True
    else:
        ids, dup = None, np.zeros(n, dtype=bool)
    # the area rules are decided on the rows the pandas path validates together: the
    # batch less the ids repeated in the file
    check = check_registry_batch(batch, among=~dup, ids=ids)
    clean = check.clean & ~dup
    suspect = np.flatnonzero(~clean & ~dup)
    rejected_parts = []
    if dup.any():
        rejected_parts.append(_duplicate_rows(batch, np.flatnonzero(dup)))
    codes = {k: v for k, v in check.codes.items() if k in compiled.coded}
    numbers = {k: v for k, v in check.numbers.items() if k in compiled.numeric}
    scorable = clean.copy()
    valid_ids: dict[int, str] = {}
    if len(suspect) and mode == "strict":
        # strict stops at the first batch with a defect, listing all of them (as before)
        frame = batch.take(pa.array(np.flatnonzero(~dup))).to_pandas()
        schema.validate_registry(frame, mode="strict")
    if len(suspect):
        frame = batch.take(pa.array(suspect)).to_pandas()
        # the rows set apart are not a sample of the batch: they get the batch's decisions
        # on unlisted areas (a whole batch left to pandas decides them itself, as before)
        checked = schema.validate_registry(
            frame,
            mode=mode,  # type: ignore[arg-type]
            listed_areas=None if check.whole_batch else check.areas,
        )
        _require_columns(columns, checked.valid)
        bad = np.zeros(len(suspect), dtype=bool)
        bad[checked.rejected["row"].to_numpy(dtype=int) - 1] = True
        rejected = checked.rejected.copy()
        rejected["row"] = suspect[rejected["row"].to_numpy(dtype=int) - 1] + 1
        rejected_parts.append(rejected)
        good = np.flatnonzero(~bad)
        valid = checked.valid
        if len(valid):
            positions = suspect[good]
            more, coded = compiled.codes_of(valid[columns])
            if not coded.all():
                # a valid row the lookups cannot code: this batch is scored the pandas way
                return _pandas_batch(
                    batch.to_pandas(), compiled.model, columns, duplicates, mode, seed, n_boot
                )
            if check.whole_batch:
                codes = {k: np.zeros(n, dtype=np.int64) for k in compiled.coded}
                numbers = {
                    k: np.zeros(n, dtype=valid[k].to_numpy().dtype) for k in compiled.numeric
                }
            for k in compiled.coded:
                codes[k] = codes[k].copy()
                codes[k][positions] = more[k]
            for k in compiled.numeric:
                numbers[k] = numbers[k].copy()
                numbers[k][positions] = valid[k].to_numpy()
            scorable[positions] = True
            valid_ids = dict(
                zip(positions.tolist(), valid["household_id"].astype(str).tolist(), strict=True)
            )
    rejected_out = None
    if rejected_parts:
        rejected_out = pd.concat(rejected_parts, ignore_index=True)
        rejected_out = rejected_out.sort_values("row", kind="stable")
    keep = np.flatnonzero(scorable)
    if not len(keep):
        return n, None, rejected_out
    # every valid row of the batch in file order, chunked as the pandas path chunks them
    everyone = len(keep) == n
    scores = compiled.score(
        codes if everyone else {k: v[keep] for k, v in codes.items()},
        numbers if everyone else {k: v[keep] for k, v in numbers.items()},
        n_boot=n_boot,
        seed=seed,
    )
    assert ids is not None
    id_array = ids if everyone else ids.take(pa.array(keep))
    if valid_ids:
        # a row validated the pandas way has its id as validation cleaned it
        text = id_array.to_pylist()
        for j, position in enumerate(keep.tolist()):
            if position in valid_ids:
                text[j] = valid_ids[position]
        id_array = pa.array(text, type=pa.large_string())
    table = pa.table(
        {
            "household_id": id_array.cast(pa.large_string()),
            "p_extreme": np.asarray(scores["p_extreme"], dtype=np.float64),
            "p_low": np.asarray(scores["p_low"], dtype=np.float64),
            "p_high": np.asarray(scores["p_high"], dtype=np.float64),
            "desil": np.asarray(scores["desil"], dtype=np.int64),
        }
    )
    return n, table, rejected_out


def _duplicate_rows(batch: Any, rows: np.ndarray) -> pd.DataFrame:
    """The rejects of rows whose id repeats in the file (their text as written)."""
    import pyarrow as pa

    def text(name: str) -> list[str]:
        if name not in batch.schema.names:
            return [""] * len(rows)
        column = batch.column(name).take(pa.array(rows))
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        return ["" if v is None else str(v) for v in column.cast(pa.string()).to_pylist()]

    cells = {}
    for name in schema.PII_COLUMNS:
        if name in batch.schema.names:
            column = batch.column(name).take(pa.array(rows))
            if pa.types.is_dictionary(column.type):
                column = column.cast(column.type.value_type)
            cells[name] = column.cast(pa.string()).to_pylist()
    return pd.DataFrame(
        {
            "row": rows + 1,
            "household_id": _shown_ids(text("household_id"), cells),
            "kecamatan": text("kecamatan"),
            "kelurahan": text("kelurahan"),
            "reason": _DUPLICATE_REASON,
        }
    )


def _shown_ids(ids: list[Any], cells: dict[str, list[Any]]) -> list[str]:
    """Repeated ids as the rejected file may show them: as validation shows a rejected id
    (NIK-shaped digit runs masked; ``<redacted>`` when it holds the row's personal value)."""
    personal = holds_personal_values(ids, cells)
    return [
        "<redacted>" if hidden else schema.mask_value("household_id", v)
        for v, hidden in zip(ids, personal, strict=True)
    ]
