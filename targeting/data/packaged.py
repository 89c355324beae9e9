"""Where the toolkit finds its model and experiment specs: packaged defaults, user's folders first.

The default specs ship inside the package (``targeting/data/resources/models`` and
``.../experiments``, read through :mod:`importlib.resources`), so a wheel installed anywhere runs
``targeting run`` without a source checkout. A source checkout's top-level ``models/`` and
``experiments/`` are symbolic links to those folders (one copy of each YAML). A user's own
``models/`` folder (beside the experiment spec's ``experiments/`` folder, or in the working
folder) still works and overrides: its ``<name>.yaml`` beats the packaged spec of the same name.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = [
    "DEFAULT_EXPERIMENT",
    "experiment_path",
    "model_spec_files",
    "model_spec_folders",
    "packaged_experiments_dir",
    "packaged_models_dir",
]

#: The experiment the commands run when no spec is given (relative to the working folder; the
#: packaged copy is used when the working folder has none).
DEFAULT_EXPERIMENT = "experiments/serang-2026.yaml"


def _resource_dir(name: str) -> Path:
    # the package is installed as plain files (wheel, editable or source tree), so the
    # Traversable of a resource folder is a real path
    return Path(str(resources.files("targeting").joinpath("data", "resources", name)))


def packaged_models_dir() -> Path:
    """The folder of the packaged model specs (``targeting/data/resources/models``)."""
    return _resource_dir("models")


def packaged_experiments_dir() -> Path:
    """The folder of the packaged experiment specs (``targeting/data/resources/experiments``)."""
    return _resource_dir("experiments")


def model_spec_folders(
    folder: str | Path | None = None, spec_path: str | Path | None = None
) -> list[Path]:
    """The folders of model specs, lowest priority first.

    Parameters
    ----------
    folder : path-like, optional
        A folder the user named (e.g. ``targeting evaluate --models-dir``): it must exist and
        overrides everything else.
    spec_path : path-like, optional
        The experiment spec being run: the ``models/`` folder beside its ``experiments/`` folder
        overrides the working folder's ``models/``.

    Returns
    -------
    list of pathlib.Path
        The packaged folder, then the working folder's ``models/``, then the spec's, then
        ``folder``; each folder appears once (a checkout's ``models/`` link resolves to the
        packaged folder).

    Raises
    ------
    FileNotFoundError
        If ``folder`` is given and is not a folder.
    """
    candidates = [packaged_models_dir(), Path("models")]
    if spec_path is not None:
        candidates.append(Path(spec_path).parent.parent / "models")
    if folder is not None:
        if not Path(folder).is_dir():
            raise FileNotFoundError(
                f"no model folder {folder}; give a folder of <name>.yaml model specs, or omit it "
                "to use the packaged specs"
            )
        candidates.append(Path(folder))
    found: list[Path] = []
    seen: set[Path] = set()
    for candidate in candidates:
        if not candidate.is_dir():
            continue
        key = candidate.resolve()
        if key in seen:
            # keep the first (lowest-priority) position: the same folder adds nothing new
            continue
        seen.add(key)
        found.append(candidate)
    return found


def model_spec_files(
    folder: str | Path | None = None, spec_path: str | Path | None = None
) -> dict[str, Path]:
    """Model spec files by file stem; a user's ``<name>.yaml`` replaces the packaged one.

    Parameters
    ----------
    folder, spec_path : path-like, optional
        As in :func:`model_spec_folders`.

    Returns
    -------
    dict of str to pathlib.Path
        Sorted by name.
    """
    files: dict[str, Path] = {}
    for path in model_spec_folders(folder, spec_path):
        for yaml_file in sorted(path.glob("*.yaml")):
            files[yaml_file.stem] = yaml_file
    return dict(sorted(files.items()))


def experiment_path(path: str | Path | None = None) -> Path:
    """The experiment spec to read: ``path`` if it exists, else the packaged spec of that name.

    Parameters
    ----------
    path : path-like, optional
        A spec file (default :data:`DEFAULT_EXPERIMENT`). A relative path that does not exist in
        the working folder, such as ``experiments/serang-2026.yaml`` or ``serang-2026``, falls
        back to the packaged spec with that file name.

    Returns
    -------
    pathlib.Path
        ``path`` unchanged when nothing packaged matches (the loader then reports it missing).
    """
    given = Path(path if path is not None else DEFAULT_EXPERIMENT)
    if given.exists() or given.is_absolute():
        return given
    name = given.name if given.suffix in (".yaml", ".yml") else f"{given.name}.yaml"
    parts = given.parts
    # "experiments/data/costa-rica.yaml" keeps its sub-folder inside the packaged experiments
    inner = Path(*parts[1:-1]) if len(parts) > 2 and parts[0] == "experiments" else Path()
    packaged = packaged_experiments_dir() / inner / name
    return packaged if packaged.is_file() else given
