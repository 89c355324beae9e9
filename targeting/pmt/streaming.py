"""Scoring a registry file of any size with memory bounded by the batch, not the file.

:func:`score_registry_file` reads the registry in record batches (Parquet or CSV, through
pyarrow), validates each batch against the registry contract, scores the valid rows
(:func:`~targeting.pmt.scoring.score_households`) and streams the scores and the rejected rows
to their own files as it goes. A household scored here gets exactly the score it gets when the
whole file is scored at once, or on a Spark partition: the interval draws are seeded the same way
for every chunk and the desil cut-points are fixed in the model.

A household id that occurs twice anywhere in the file is rejected in every occurrence, as the
whole-file validation does; finding such ids across batches takes one cheap first pass over the
id column (64-bit hashes, 8 bytes per household).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from targeting.data import schema
from targeting.data.io import atomic_path, iter_table_batches
from targeting.pmt.scoring import score_households

__all__ = ["StreamSummary", "duplicated_ids", "score_registry_file"]

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


def _id_hashes(ids: pd.Series) -> np.ndarray:
    text = ids.astype("string").str.strip().fillna("")
    return pd.util.hash_pandas_object(text, index=False).to_numpy(dtype=np.uint64)


def duplicated_ids(path: str | os.PathLike[str], batch_rows: int = 1_000_000) -> set[str]:
    """The household ids that occur more than once in a registry file (one pass, ids only)."""
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
    # a second pass keeps only the (few) ids whose hash repeats, then counts the ids themselves
    counts: dict[str, int] = {}
    for batch in iter_table_batches(path, batch_rows, columns=["household_id"]):
        ids = batch["household_id"].astype("string").str.strip().fillna("")
        hit = np.isin(_id_hashes(batch["household_id"]), dup_hashes)
        for value in ids[hit]:
            counts[str(value)] = counts.get(str(value), 0) + 1
    return {k for k, n in counts.items() if n > 1 and k != ""}


class _TableSink:
    """Appends frames to one Parquet or CSV file, written atomically when closed."""

    def __init__(self, path: Path):
        self.path = path
        self._context: Any = None
        self._writer: Any = None
        self._schema: Any = None
        self.rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._writer is None:
            self._context = atomic_path(self.path)
            tmp = self._context.__enter__()
            self._schema = table.schema
            if self.path.suffix.lower() == ".parquet":
                self._writer = pq.ParquetWriter(tmp, table.schema)
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

    rejected = pd.DataFrame(
        {
            "row": rows + offset + 1,
            "household_id": text("household_id"),
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
        Rows per batch: memory grows with this, not with the file.
    mode : {"quarantine", "strict"}
        As :func:`targeting.data.schema.validate_registry`.
    seed, n_boot : int
        Of the interval draws (as ``targeting score``).
    progress : callable, optional
        Called after each batch with ``(rows done, rows scored, seconds)``.

    Returns
    -------
    StreamSummary
        Rejected rows go to ``rejected.<suffix>`` beside ``output`` (a personal-data file: the
        rows as given, with the reason).
    """
    start = time.perf_counter()
    output = Path(output)
    columns = [str(c) for c in getattr(model, "feature_names_in_", schema.PROXY_COLUMNS)]
    leaked = sorted(set(columns) & set(schema.PII_COLUMNS))
    if leaked:
        raise ValueError(f"the model takes personal-data columns {leaked}; refusing to score")
    duplicates = duplicated_ids(source)
    scores_sink = _TableSink(output)
    rejected_sink = _TableSink(output.with_name("rejected" + output.suffix))
    done = scored = batches = 0
    ok = False
    try:
        for batch in iter_table_batches(source, batch_rows):
            n_batch = len(batch)
            batch, dup_rejected, kept = _reject_duplicates(batch, duplicates, done)
            checked = schema.validate_registry(batch, mode=mode)  # type: ignore[arg-type]
            missing = [c for c in columns if c not in checked.valid]
            if missing:
                raise ValueError(
                    f"the model needs column(s) {missing} that the registry lacks; "
                    "add them or score with a model fitted on these columns"
                )
            rejected = checked.rejected.copy()
            # row numbers count from the file's first data row, not the batch's
            rejected["row"] = kept[rejected["row"].to_numpy(dtype=int) - 1] + done + 1
            if len(dup_rejected) or len(rejected):
                both = pd.concat([dup_rejected, rejected], ignore_index=True)
                rejected_sink.write(both.sort_values("row", kind="stable"))
            valid = checked.valid
            if len(valid):
                part = score_households(model, valid[columns], n_boot=n_boot, seed=seed)
                part.insert(0, "household_id", valid["household_id"].astype(str).to_numpy())
                scores_sink.write(part[list(SCORE_COLUMNS)].reset_index(drop=True))
                scored += len(valid)
            done += n_batch
            batches += 1
            if progress is not None:
                progress(done, scored, time.perf_counter() - start)
        ok = True
    finally:
        scores_sink.close(ok)
        rejected_sink.close(ok)
    return StreamSummary(
        households_in_file=done,
        scored=scored,
        rejected=done - scored,
        batches=batches,
        seconds=time.perf_counter() - start,
        output=output,
        rejected_output=rejected_sink.path if rejected_sink.rows else None,
    )
