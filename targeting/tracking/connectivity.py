"""Fail fast when the MLflow tracking server cannot be reached.

MLflow's HTTP client retries a refused connection for minutes before it gives up; a planner
waiting for a run to finish deserves a clear message within seconds instead. This module does not
import ``mlflow``.
"""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

__all__ = [
    "HTTP_ENV_DEFAULTS",
    "TrackingStoreFullError",
    "TrackingUnreachableError",
    "check_reachable",
    "check_store_intact",
    "is_disk_full",
    "is_remote",
    "offline_uri",
    "set_http_fail_fast",
]

HTTP_ENV_DEFAULTS: dict[str, str] = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}
"""MLflow client settings for an http(s) store: no retry storm, a bounded wait per request."""


class TrackingUnreachableError(ValueError):
    """Raised when an http(s) tracking server does not answer; the message names the fix."""


class TrackingStoreFullError(OSError):
    """Raised when the tracking store (``mlflow.db`` or its artifacts) cannot be written because
    the disk is full; the message says what was kept and the fix."""


_DISK_FULL_TEXT = ("database or disk is full", "no space left on device")


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc``, or an error it was raised from, is a full disk.

    SQLite answers ``database or disk is full`` (wrapped by SQLAlchemy, then by MLflow); a file
    write raises ``OSError`` with ``errno.ENOSPC`` (or ``EDQUOT`` over a quota).
    """
    import errno

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in {errno.ENOSPC, errno.EDQUOT}:
            return True
        if any(text in str(current).lower() for text in _DISK_FULL_TEXT):
            return True
        current = current.__cause__ or current.__context__
    return False


def is_remote(uri: str) -> bool:
    """Return whether ``uri`` is an http(s) tracking server (as opposed to a local store)."""
    return urlsplit(str(uri)).scheme.lower() in {"http", "https"}


def offline_uri(folder: str | os.PathLike[str] | None = None) -> str:
    """The local store used by ``--offline``: ``sqlite:///<folder>/mlflow.db``.

    Unlike :func:`targeting.tracking.default_tracking_uri` it ignores ``MLFLOW_TRACKING_URI``:
    offline means offline.

    Parameters
    ----------
    folder : path-like, optional
        Default: the working folder.

    Returns
    -------
    str
    """
    base = Path(folder or Path.cwd()).resolve()
    return f"sqlite:///{base / 'mlflow.db'}"


def set_http_fail_fast(uri: str) -> None:
    """For an http(s) URI, set :data:`HTTP_ENV_DEFAULTS` in the environment (unless set already).

    Parameters
    ----------
    uri : str
    """
    if is_remote(uri):
        for key, value in HTTP_ENV_DEFAULTS.items():
            os.environ.setdefault(key, value)


def check_reachable(uri: str, timeout: float = 3.0) -> None:
    """Check that the tracking store at ``uri`` answers; do nothing for a local store.

    For an http(s) URI, open a TCP connection to its host and port within ``timeout`` seconds
    and set MLflow's HTTP client to fail fast (:func:`set_http_fail_fast`). Local stores
    (``sqlite:``, ``file:``, a plain path) are always reachable.

    Parameters
    ----------
    uri : str
        The tracking URI.
    timeout : float, default 3.0
        Seconds to wait for the connection.

    Raises
    ------
    TrackingUnreachableError
        A :class:`ValueError` whose message names the server and the fix (start it, or run with
        ``--offline`` to record in a local SQLite store).
    """
    if not is_remote(uri):
        check_store_intact(uri)
        return
    set_http_fail_fast(uri)
    parts = urlsplit(uri)
    host = parts.hostname or "localhost"
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError as exc:  # a port that is not a number
        raise TrackingUnreachableError(f"the tracking URI {uri!r} has an invalid port") from exc
    shown = f"{parts.scheme}://{host}:{port}"  # never echo credentials of user:pass@host
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise TrackingUnreachableError(
            f"cannot reach the MLflow tracking server at {shown} ({reason}, waited up to "
            f"{timeout:g} s); start it, or run with --offline to record locally in "
            "sqlite:///mlflow.db"
        ) from None


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (None for other stores or in-memory)."""
    if not uri.lower().startswith("sqlite:///"):
        return None
    path = uri[len("sqlite:///") :]
    if not path or path == ":memory:":
        return None
    return Path(path)


def check_store_intact(uri: str) -> None:
    """Check that a local SQLite tracking store is a readable, undamaged database.

    Run before any output is touched: a truncated ``mlflow.db`` (a full disk, a copy cut short)
    otherwise fails only after the run has rewritten the plan. A missing file is fine (MLflow
    creates it).

    Raises
    ------
    TrackingUnreachableError
        Naming the file and the fix: move the damaged file aside to start a new store (the
        runs it held are lost unless a backup exists), or restore it from a backup.
    """
    import sqlite3

    path = sqlite_path(uri)
    if path is None or not path.exists():
        return
    fix = (
        f"move it aside (mv {path} {path}.damaged) so that a new store is created, or restore "
        "it from a backup; no output was touched"
    )
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            verdict = db.execute("PRAGMA quick_check").fetchone()
    except sqlite3.DatabaseError as exc:
        raise TrackingUnreachableError(
            f"the MLflow tracking store {path} is damaged ({exc}); {fix}"
        ) from None
    if not verdict or verdict[0] != "ok":
        raise TrackingUnreachableError(
            f"the MLflow tracking store {path} is damaged (integrity check failed); {fix}"
        )
