"""A copy of a loaded model beside an embedded MLflow store, so scoring need not import MLflow.

``targeting score`` spends most of its start-up importing MLflow and opening its SQLAlchemy
store (schema check, model-version lookup, artifact copy) to get one scikit-learn pipeline. A
registered model version never changes once written, so the pipeline loaded for it is pickled
beside the store (``<store folder>/.targeting-model-cache/``) under a key made of the store's
path, the model's name and version and what the store says of that version (its source, its
storage location, its creation time). A later ``targeting score`` resolves the version (and an
alias such as ``@champion``, which can move) with one read-only SQLite query and unpickles the
copy; any doubt (another kind of store, a query that fails, no copy yet) takes the MLflow way.

The copy is the same object MLflow's loader returns, pickled: the scores are the same (the
cache test checks the files). It holds no data, only the fitted model (as the store's own
artifacts do).

Beside the pickle, a model that has a plain form (a linear champion:
:class:`targeting.pmt.plain.PlainScorer`) gets it written as ``<key>.plain.npz`` and
``<key>.plain.json``, verified bit for bit against the model on a probe of households when it is
written and checked against its SHA-256 when it is read. :func:`read_cached_scorer` returns it
without importing scikit-learn, statsmodels or MLflow (the pickle is unpickled only if a batch
needs the full model); a model without a plain form, or a plain form that is missing or does
not verify, is read the full way.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

__all__ = [
    "cache_path",
    "read_cached_model",
    "read_cached_scorer",
    "write_cached_model",
    "write_cached_scorer",
]

CACHE_FOLDER = ".targeting-model-cache"


def _store_db(tracking_uri: str) -> Path | None:
    if not tracking_uri.startswith("sqlite:///"):
        return None
    db = Path(tracking_uri.removeprefix("sqlite:///"))
    return db if db.is_file() else None


def _parse(model_uri: str) -> tuple[str, str | None, str | None] | None:
    """``models:/name/3`` -> (name, "3", None); ``models:/name@alias`` -> (name, None, alias)."""
    if not model_uri.startswith("models:/"):
        return None
    rest = model_uri.removeprefix("models:/").strip("/")
    if "@" in rest:
        name, alias = rest.rsplit("@", 1)
        return (name, None, alias) if name and alias and "/" not in name else None
    name, _, version = rest.rpartition("/")
    return (name, version, None) if name and version.isdigit() else None


def cache_path(model_uri: str, tracking_uri: str) -> Path | None:
    """Where the copy of ``model_uri``'s current version lives (or would), or None.

    None when the store is not an embedded SQLite file, the URI is not ``models:/name/version``
    or ``models:/name@alias``, or the store cannot say which version that is.
    """
    db = _store_db(tracking_uri)
    parsed = _parse(model_uri)
    if db is None or parsed is None:
        return None
    name, version, alias = parsed
    try:
        uri = f"{db.resolve().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as con:
            if alias is not None:
                row = con.execute(
                    "SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?",
                    (name, alias),
                ).fetchone()
                if row is None:
                    return None
                version = str(row[0])
            found = con.execute(
                "SELECT source, storage_location, creation_time FROM model_versions "
                "WHERE name = ? AND version = ?",
                (name, int(str(version))),
            ).fetchone()
    except (sqlite3.Error, ValueError):
        return None
    if found is None:
        return None
    key = json.dumps([str(db.resolve()), name, str(version), *map(str, found)])
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return db.resolve().parent / CACHE_FOLDER / f"{digest}.pkl"


def read_cached_model(model_uri: str, tracking_uri: str) -> Any | None:
    """The cached pipeline of ``model_uri`` in this store, or None (then load it with MLflow)."""
    path = cache_path(model_uri, tracking_uri)
    if path is None or not path.is_file():
        return None
    return _unpickle(path)


def _unpickle(path: Path) -> Any | None:
    try:
        with path.open("rb") as handle:
            return pickle.load(handle)  # written by write_cached_model from the store's model
    except Exception:
        return None  # a copy from other code (a renamed class): load it the MLflow way


def write_cached_model(model_uri: str, tracking_uri: str, model: Any) -> Path | None:
    """Keep a copy of ``model`` (as MLflow loaded it) for the next run; None if not possible."""
    path = cache_path(model_uri, tracking_uri)
    if path is None:
        return None
    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
            temporary = handle.name
            pickle.dump(model, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)
    except Exception:
        # a model that does not pickle, a read-only folder: no copy, the next run loads it again
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
        return None
    write_cached_scorer(model_uri, tracking_uri, model)
    return path


def _plain_base(path: Path) -> Path:
    return path.with_name(path.stem + ".plain")


def read_cached_scorer(model_uri: str, tracking_uri: str) -> Any | None:
    """The verified plain form of ``model_uri``'s cached copy, or None.

    Returns
    -------
    targeting.pmt.plain.PlainScorer or None
        With the cached pipeline attached as its full model (unpickled on first use). None when
        the store, the URI or the copy is not cacheable (:func:`cache_path`), or the plain files
        are missing, of another format or do not match their SHA-256.
    """
    path = cache_path(model_uri, tracking_uri)
    if path is None or not path.is_file():
        return None
    from targeting.pmt.plain import PlainScorer

    scorer = PlainScorer.load(_plain_base(path))
    if scorer is None:
        return None

    def full_model() -> Any:
        model = _unpickle(path)
        if model is None:
            raise ValueError(
                f"the cached copy of {model_uri} cannot be read; delete {path.parent} and "
                "score again (the model is then loaded from the store)"
            )
        return model

    return scorer.attach_loader(full_model)


def write_cached_scorer(model_uri: str, tracking_uri: str, model: Any) -> Path | None:
    """Write the plain form of ``model`` beside its cached copy, if it has one and none is there.

    The form is verified bit for bit against ``model`` (:func:`targeting.pmt.compiled.
    plain_matches`) once built and again once read back from its files; one that fails is
    removed. Returns the JSON file, or None (no cacheable store, no plain form).
    """
    path = cache_path(model_uri, tracking_uri)
    if path is None:
        return None
    from targeting.pmt.compiled import plain_matches, plain_scorer
    from targeting.pmt.plain import PlainScorer

    base = _plain_base(path)
    if PlainScorer.load(base) is not None:
        return base.with_name(base.name + ".json")
    scorer = plain_scorer(model)
    if scorer is None:
        return None
    try:
        written = scorer.save(base)
    except OSError:
        return None
    again = PlainScorer.load(base)
    if again is None or not plain_matches(again, model):
        for suffix in (".json", ".npz"):
            with contextlib.suppress(OSError):
                os.unlink(base.with_name(base.name + suffix))
        return None
    return written
