"""Fail fast when the MLflow tracking server cannot be reached.

MLflow's HTTP client retries a refused connection for minutes before it gives up; a planner
waiting for a run to finish deserves a clear message within seconds instead. This module does not
import ``mlflow``.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

__all__ = [
    "HTTP_ENV_DEFAULTS",
    "TrackingUnreachableError",
    "check_reachable",
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
