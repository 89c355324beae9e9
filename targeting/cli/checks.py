"""``targeting doctor``: check the installation, the tracking store and the data files."""

from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path
from typing import Any

from targeting.data.packaged import (
    DEFAULT_EXPERIMENT,
    experiment_path,
    model_spec_files,
    packaged_experiments_dir,
    packaged_models_dir,
)
from targeting.data.paths import shared_data_dir
from targeting.tracking import default_tracking_uri, store_health

__all__ = ["run_checks"]

_REQUIRED_PACKAGES = [
    ("numpy", "1.26"),
    ("pandas", "2.2"),
    ("scipy", "1.11"),
    ("sklearn", "1.6"),
    ("statsmodels", "0.14"),
    ("mlflow", "3.1"),
    ("pyarrow", "15"),
    ("openpyxl", "3.1"),
    ("yaml", "6"),
    ("matplotlib", "3.8"),
]


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def _check(
    name: str, ok: bool, detail: str, fix: str = "", required: bool = True
) -> dict[str, Any]:
    return {"check": name, "ok": bool(ok), "detail": detail, "fix": fix, "required": required}


def _shared_data_folder() -> Path:
    return shared_data_dir()


def _where(path: Path) -> str:
    """'packaged' for a spec shipped with the package, else its path."""
    packaged = {packaged_models_dir().resolve(), packaged_experiments_dir().resolve()}
    return "packaged" if path.resolve().parent in packaged else str(path)


def run_checks(tracking_uri: str | None = None) -> list[dict[str, Any]]:
    """Run every check and return them as dicts (check, ok, detail, fix, required)."""
    checks = [
        _check(
            "python",
            sys.version_info >= (3, 11),
            sys.version.split()[0],
            "install Python 3.11 or newer",
        )
    ]
    for module, minimum in _REQUIRED_PACKAGES:
        try:
            imported = importlib.import_module(module)
            version = getattr(imported, "__version__", "?")
            ok = _version_tuple(version) >= _version_tuple(minimum)
            checks.append(
                _check(
                    f"package {module}",
                    ok,
                    f"{version} (needs >= {minimum})",
                    "run the README's set-up command again (pip install -e .)",
                )
            )
        except ImportError as exc:
            checks.append(
                _check(f"package {module}", False, f"not importable: {exc}", "pip install -e .")
            )
    uri = tracking_uri or default_tracking_uri()
    from targeting.tracking.connectivity import TrackingUnreachableError, check_store_intact

    try:
        check_store_intact(uri)
    except TrackingUnreachableError as exc:
        damaged = str(exc)
        checks.append(_check("tracking store", False, damaged, damaged.split("; ", 1)[-1]))
        uri = ""
    try:
        if not uri:
            raise _Skipped
        health = store_health(uri)
        if not health["created"]:
            detail = f"{uri}: not created yet (the first 'targeting run' creates it)"
        else:
            detail = f"{uri}: reachable, {health['experiments']} experiment(s)"
        checks.append(_check("tracking store", True, detail))
        champion = health["champion_version"]
        checks.append(
            _check(
                "champion model",
                champion is not None,
                f"{health['model_name']}@champion is version {champion}"
                if champion is not None
                else f"no {health['model_name']}@champion registered yet",
                "run 'targeting run' once",
                required=False,
            )
        )
    except _Skipped:
        pass
    except Exception as exc:
        checks.append(
            _check(
                "tracking store",
                False,
                f"{uri}: {type(exc).__name__}: {exc}",
                "check MLFLOW_TRACKING_URI, or unset it to use sqlite:///mlflow.db here",
            )
        )
    models = model_spec_files()
    checks.append(
        _check(
            "model specs",
            bool(models),
            ", ".join(f"{name} ({_where(path)})" for name, path in models.items()) or "none found",
            "reinstall the package (pip install -e .): the packaged models/*.yaml are missing",
        )
    )
    # the spec types (pydantic) load when a check reads a spec, not when the CLI starts
    from targeting.config.experiment import SpecError, load_experiment_spec

    default = experiment_path(DEFAULT_EXPERIMENT)
    try:
        load_experiment_spec(default)
        checks.append(_check("default experiment spec", True, f"{_where(default)}: valid"))
    except SpecError as exc:
        checks.append(_check("default experiment spec", False, str(exc), "fix the spec"))
    shared = _shared_data_folder()
    for relative in (
        "costa-rica-ipm/train.csv",
        "indonesia-bps-poverty/provinsi_p0_maret_2019_2024.csv",
    ):
        path = shared / relative
        checks.append(
            _check(
                f"real data {relative}",
                path.exists(),
                str(path) if path.exists() else f"{path} not found",
                "set TARGETING_SHARED_DATA to the folder holding the shared data "
                "(only benchmarks and some tests need it)",
                required=False,
            )
        )
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    checks.append(
        _check(
            "chromium (report browser test)",
            chromium is not None,
            chromium or "not installed",
            "apt-get install -y chromium (only the browser test needs it)",
            required=False,
        )
    )
    return checks


class _Skipped(Exception):
    """The tracking store was found damaged; its health is not queried."""
