"""A run's outputs as one set: staged beside the outputs folder, swapped in whole, under a lock.

``plan.csv``, the verification workbook, the report and the working state must always belong to
the same run (the same plan id): an office that prints the workbook and later ingests it relies
on it. So a run (and an ingestion) never writes into the outputs folder itself:

1. it takes an exclusive lock on ``<parent>/.<name>.lock`` (``fcntl.flock``: released by the
   system when the process dies, even by ``kill -9``, so a lock is never stale); a second run on
   the same folder fails at once with a message naming the folder;
2. it copies the current folder (less the files it will replace) into its own staging folder
   ``<parent>/.<name>.staging-<pid>-<token>`` and writes everything there;
3. on success it swaps the staging folder in (two renames: the old folder aside, the staging
   folder into place; then the old one is removed). A crash between the two renames leaves the
   previous set aside as ``.<name>.previous-<pid>-<token>``; the next run or ingestion puts it
   back before anything else.

Clean-up touches only this machinery's own folders (``.<name>.staging-*`` of runs that died, and
only while holding the lock, when no other run can be writing): never a user's file.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import secrets
import shutil
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

__all__ = ["RUN_DROPS", "OutputFolderBusyError", "OutputSet"]

RUN_DROPS: tuple[str, ...] = ("report_*.html", "report_data.json")
"""What a run does not carry over from the previous set: the reports (one per language; an old
one would describe another plan). A killed writer's temporary files are in its own staging
folder, removed whole; hidden files of the user's in the folder are kept."""


class OutputFolderBusyError(RuntimeError):
    """Raised when another run or ingestion holds the outputs folder's lock."""


class OutputSet:
    """Stage writes for ``folder`` and commit them as a set (a context manager).

    Parameters
    ----------
    folder : path-like
        The outputs folder (it need not exist yet).
    drop : iterable of str
        Glob patterns of the current folder's files *not* copied into the staging folder
        (everything else is: the working state, and any file of the user's). A run drops the
        reports (``report_*.html``) so that no report of an earlier run survives beside the new
        plan; everything else it writes replaces the earlier file.

    Attributes
    ----------
    folder : pathlib.Path
    staging : pathlib.Path
        Where to write while the set is open.
    """

    def __init__(self, folder: str | os.PathLike[str], drop: Iterable[str] = ()) -> None:
        self.folder = Path(folder)
        self.drop = list(drop)
        token = f"{os.getpid()}-{secrets.token_hex(4)}"
        parent, name = self.folder.parent, self.folder.name
        self.lock_path = parent / f".{name}.lock"
        self.staging = parent / f".{name}.staging-{token}"
        self._aside = parent / f".{name}.previous-{token}"
        self._lock: int | None = None
        self.committed = False

    def __enter__(self) -> OutputSet:
        import fcntl

        self.folder.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputFolderBusyError(
                f"another targeting run or ingest is writing {self.folder} (lock "
                f"{self.lock_path}); wait for it to finish, or use another --output folder"
            ) from None
        self._lock = fd
        try:
            self._recover()
            if self.folder.is_dir():
                shutil.copytree(
                    self.folder,
                    self.staging,
                    symlinks=True,
                    ignore=lambda _, names: [
                        n for n in names if any(fnmatch.fnmatch(n, p) for p in self.drop)
                    ],
                )
            else:
                self.staging.mkdir()
        except BaseException:
            self._release()
            raise
        return self

    def _recover(self) -> None:
        """Put back a previous set left aside by a crash mid-swap; drop dead runs' staging."""
        parent, name = self.folder.parent, self.folder.name
        if not self.folder.exists():
            aside = sorted(parent.glob(f".{name}.previous-*"))
            if aside:
                os.rename(aside[-1], self.folder)
        for stale in parent.glob(f".{name}.staging-*"):
            shutil.rmtree(stale, ignore_errors=True)
        for stale in parent.glob(f".{name}.previous-*"):
            shutil.rmtree(stale, ignore_errors=True)

    def commit(self) -> None:
        """Swap the staging folder in as the outputs folder."""
        if self.committed:
            return
        had_folder = self.folder.exists()
        if had_folder:
            os.rename(self.folder, self._aside)
        os.rename(self.staging, self.folder)
        self.committed = True
        if had_folder:
            shutil.rmtree(self._aside, ignore_errors=True)

    def final(self, path: str | os.PathLike[str]) -> Path:
        """Where a file written in the staging folder will be once the set is committed."""
        path = Path(path)
        with contextlib.suppress(ValueError):
            return self.folder / path.relative_to(self.staging)
        return path

    def _release(self) -> None:
        if self._lock is not None:
            import fcntl

            fcntl.flock(self._lock, fcntl.LOCK_UN)
            os.close(self._lock)
            self._lock = None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if not self.committed:
                # a failed or interrupted run: the outputs folder was never touched
                shutil.rmtree(self.staging, ignore_errors=True)
        finally:
            self._release()
