"""Where the toolkit finds the real public data that tests and benchmarks use."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["SHARED_DATA_ENV", "shared_data_dir"]

SHARED_DATA_ENV = "TARGETING_SHARED_DATA"


def shared_data_dir() -> Path:
    """Return the shared data folder: ``$TARGETING_SHARED_DATA``, else ``<repo>/../shared/data``.

    The data are never copied into the repository; a clone sits beside the ``shared/`` folder.
    """
    env = os.environ.get(SHARED_DATA_ENV)
    if env:
        return Path(env).expanduser()
    return (Path(__file__).resolve().parents[2] / ".." / "shared" / "data").resolve()
