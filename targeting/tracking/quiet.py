"""Keep MLflow's progress chatter off the planner's terminal during the toolkit's own calls.

MLflow prints INFO lines (database creation, "Created version 'N'"), a pickle warning on every
scikit-learn model it saves, and a hint about integer columns in the inferred schema. None of
them asks the user to act, and a `targeting run` would otherwise print a dozen such lines. They
are silenced only while the toolkit's tracking functions run: the levels and the stream are
restored afterwards, so MLflow calls in the user's own code print as usual. Errors still print.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import ParamSpec, TextIO, TypeVar

__all__ = ["quiet_mlflow", "quietly"]

# loggers whose INFO and WARNING lines are MLflow's own chatter (the store's schema migrations
# run through alembic and SQLAlchemy)
_CHATTY_LOGGERS = ("mlflow", "alembic", "sqlalchemy")
# loggers that repeat, at ERROR level, an error that is raised to the caller anyway: the store's
# database error is logged with its SQL statement and parameters (run values, tags), dozens of
# lines; the command prints the raised error as one sentence
_REPEATING_LOGGERS = ("mlflow.store.db.utils",)

# warnings MLflow raises through the warnings module on our calls: the hint that integer columns
# cannot hold missing values (the logged input example is synthetic and complete; the pickle
# format notice comes through the "mlflow.sklearn" logger instead)
_KNOWN_WARNINGS = (r"Hint: Inferred schema contains integer column",)

P = ParamSpec("P")
R = TypeVar("R")


# lines MLflow prints straight to standard error (not through a logger) on our calls: model
# registration and, with a tracking server, links to the run
_CHATTY_LINES = re.compile(
    r"^(Successfully registered model '|Registered model '.*' already exists|"
    r"Created version '|\W*View (run|experiment) .* at: )"
)


class _DropChatter(io.TextIOBase):
    """A text stream that forwards whole lines to ``target``, except MLflow's chatter."""

    def __init__(self, target: TextIO) -> None:
        self._target = target
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            if not _CHATTY_LINES.match(line):
                self._target.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        if self._pending and not _CHATTY_LINES.match(self._pending):
            self._target.write(self._pending)
        self._pending = ""
        self._target.flush()


@contextlib.contextmanager
def quiet_mlflow() -> Iterator[None]:
    """Silence MLflow's INFO lines, known warnings and registration messages in the block.

    Log records at ERROR level and above, and every other line written to standard error,
    still print, except the store's database errors, which are raised to the caller as well.
    """
    import mlflow  # noqa: F401  (configures MLflow's loggers, whose levels are changed below)

    loggers = [logging.getLogger(name) for name in (*_CHATTY_LOGGERS, *_REPEATING_LOGGERS)]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        repeating = logger.name in _REPEATING_LOGGERS
        logger.setLevel(logging.CRITICAL + 1 if repeating else logging.ERROR)
    filtered = _DropChatter(sys.stderr)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(filtered):
            for message in _KNOWN_WARNINGS:
                warnings.filterwarnings("ignore", message=message, module=r"mlflow(\..*)?")
            yield
    finally:
        filtered.flush()
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def quietly(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate a tracking function so that it runs inside :func:`quiet_mlflow`.

    A full disk under the store becomes one
    :class:`~targeting.tracking.connectivity.TrackingStoreFullError` sentence, never the
    SQLAlchemy error (whose text carries the statement and its parameters).
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from targeting.tracking.connectivity import TrackingStoreFullError, is_disk_full

        try:
            with quiet_mlflow():
                return func(*args, **kwargs)
        except TrackingStoreFullError:
            raise
        except Exception as exc:
            if not is_disk_full(exc):
                raise
            import mlflow

            raise TrackingStoreFullError(
                f"the disk under the tracking store {mlflow.get_tracking_uri()} is full; the "
                "MLflow run was marked FAILED, @champion was not moved and the outputs folder "
                "was not changed: free disk space and run again"
            ) from None

    return wrapper
