"""The estimators a model spec may name, and the check of a spec against its estimator.

This module imports neither scikit-learn nor any estimator: a spec typo (``n_estimaters``) must
answer before the 1–2 s of scientific imports. Each estimator is named by where it lives
(``module:Class``); its parameters are read from the ``__init__`` of that class in its source
file, without executing the module. :mod:`targeting.pmt.build` imports the classes when a model
is built, and a test checks that the parameters read here equal ``inspect.signature`` of the
imported class.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from targeting.config.errors import SpecError, did_you_mean
from targeting.config.model import ModelSpec, read_model_spec
from targeting.data.packaged import model_spec_files, model_spec_folders

__all__ = [
    "ESTIMATORS",
    "ESTIMATOR_PATHS",
    "check_model_spec",
    "estimator_parameters",
    "feature_set_names",
    "load_specs",
]

ESTIMATOR_PATHS: dict[str, str] = {
    "LogConsumptionOLS": "targeting.pmt.linear:LogConsumptionOLS",
    "QuantilePMT": "targeting.pmt.linear:QuantilePMT",
    "PovertyWeightedPMT": "targeting.pmt.linear:PovertyWeightedPMT",
    "LogitPMT": "targeting.pmt.classifiers:LogitPMT",
    "BoostingPMT": "targeting.pmt.classifiers:BoostingPMT",
    "ForestPMT": "targeting.pmt.forest:ForestPMT",
    "ScorecardPMT": "targeting.pmt.scorecard:ScorecardPMT",
    "OrdinalEnsemblePMT": "targeting.pmt.ensemble:OrdinalEnsemblePMT",
}
"""Estimator name (as a spec writes it) → ``module:Class``."""

FEATURES_MODULE = "targeting.pmt.features"


class _LazyEstimators(Mapping[str, type[Any]]):
    """Estimator name → class, importing a class's module only when it is looked up."""

    def __getitem__(self, name: str) -> type[Any]:
        module, _, attr = ESTIMATOR_PATHS[name].partition(":")
        return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[str]:
        return iter(ESTIMATOR_PATHS)

    def __len__(self) -> int:
        return len(ESTIMATOR_PATHS)


ESTIMATORS: Mapping[str, type[Any]] = _LazyEstimators()
"""Estimator classes a spec may name (imported on lookup)."""


def _module_tree(module: str) -> ast.Module | None:
    """The parsed source of a module, without executing it (``None`` if it has no source)."""
    found = importlib.util.find_spec(module)
    if found is None or found.origin is None or not found.origin.endswith(".py"):
        return None
    return ast.parse(Path(found.origin).read_text(encoding="utf-8"))


@cache
def feature_set_names() -> tuple[str, ...]:
    """The feature sets a spec may name: the keys of :data:`targeting.pmt.features.FEATURE_SETS`.

    Read from the literal dictionary in the module's source; the module is imported only when
    the dictionary is not written as a literal.
    """
    tree = _module_tree(FEATURES_MODULE)
    for node in tree.body if tree is not None else []:
        target: ast.expr | None = None
        if isinstance(node, ast.AnnAssign):
            target = node.target
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        value = getattr(node, "value", None)
        if (
            isinstance(target, ast.Name)
            and target.id == "FEATURE_SETS"
            and isinstance(value, ast.Dict)
        ):
            keys = [k.value for k in value.keys if isinstance(k, ast.Constant)]
            if len(keys) == len(value.keys) and all(isinstance(k, str) for k in keys):
                return tuple(str(k) for k in keys)
    return tuple(importlib.import_module(FEATURES_MODULE).FEATURE_SETS)


@cache
def estimator_parameters(name: str) -> tuple[str, ...]:
    """The named parameters of an estimator's ``__init__``, read from its source.

    Parameters
    ----------
    name : str
        A key of :data:`ESTIMATOR_PATHS`.

    Returns
    -------
    tuple of str
        Parameter names (``self`` and ``*args``/``**kwargs`` left out), in order. When the class
        does not define ``__init__`` in its own source (it inherits it), the class is imported and
        inspected instead.
    """
    module, _, attr = ESTIMATOR_PATHS[name].partition(":")
    tree = _module_tree(module)
    if tree is not None:
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name == attr:
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                        args = item.args
                        return tuple(
                            a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]
                        )[1:]
    import inspect

    return tuple(
        p.name
        for p in inspect.signature(ESTIMATORS[name].__init__).parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    )


def check_model_spec(spec: ModelSpec) -> list[str]:
    """Check a spec against the estimator it names.

    Parameters
    ----------
    spec : ModelSpec

    Returns
    -------
    list of str
        One sentence per problem (unknown estimator or feature set, a parameter the
        estimator's ``__init__`` does not take), each with the closest allowed name; empty when
        the spec is sound.
    """
    where = f"model {spec.name!r}"
    problems: list[str] = []
    if spec.estimator not in ESTIMATOR_PATHS:
        problems.append(
            f"{where}: estimator {spec.estimator!r} is unknown"
            f"{did_you_mean(spec.estimator, ESTIMATOR_PATHS)}; "
            f"allowed: {', '.join(sorted(ESTIMATOR_PATHS))}"
        )
    else:
        accepted = list(estimator_parameters(spec.estimator))
        for key in sorted(set(spec.params) - set(accepted)):
            problems.append(
                f"{where}: params.{key} is not a parameter of {spec.estimator}"
                f"{did_you_mean(key, accepted)}; allowed: {', '.join(accepted)}"
            )
        if spec.tune is not None:
            for key in spec.tune.grid:
                if key not in accepted:
                    problems.append(
                        f"{where}: tune.grid.{key} is not a parameter of {spec.estimator}"
                        f"{did_you_mean(key, accepted)}; allowed: {', '.join(accepted)}"
                    )
    feature_sets = feature_set_names()
    if spec.feature_set not in feature_sets:
        problems.append(
            f"{where}: features {spec.feature_set!r} is unknown"
            f"{did_you_mean(spec.feature_set, feature_sets)}; allowed: {', '.join(feature_sets)}"
        )
    return problems


def load_specs(
    folder: str | Path | None = None,
    names: list[str] | None = None,
    spec_path: str | Path | None = None,
) -> list[ModelSpec]:
    """Load the model specs (the packaged ones, overridden by the user's ``models/`` folders),
    each checked against its estimator.

    Parameters
    ----------
    folder : str or pathlib.Path, optional
        A folder of ``<name>.yaml`` specs that overrides every other (it must exist).
    names : list of str, optional
        Keep only these specs, in this order (only these are checked).
    spec_path : str or pathlib.Path, optional
        The experiment spec being run; the ``models/`` folder beside its ``experiments/``
        folder overrides the working folder's (see
        :func:`targeting.data.packaged.model_spec_folders`).

    Returns
    -------
    list of ModelSpec

    Raises
    ------
    FileNotFoundError
        If ``folder`` is given and does not exist.
    SpecError
        Every problem at once: a requested name without a spec (with the closest name), a
        malformed file, an unknown estimator or a parameter the estimator does not take.
    """
    files = model_spec_files(folder, spec_path)
    path = ", ".join(str(f) for f in model_spec_folders(folder, spec_path))
    problems: list[str] = []
    specs: dict[str, ModelSpec] = {}
    for stem, file in files.items():
        try:
            spec = read_model_spec(file)
        except SpecError as exc:
            if names is None or stem in names:
                problems.extend(exc.problems)
            continue
        specs[spec.name] = spec
    wanted = list(specs) if names is None else list(names)
    for name in wanted:
        if name in specs:
            problems.extend(check_model_spec(specs[name]))
        elif name not in files:
            problems.append(
                f"models: no model spec named {name!r} in {path}{did_you_mean(name, specs)}; "
                f"known: {', '.join(sorted(specs))}"
            )
    if problems:
        raise SpecError.from_problems(f"model specs in {path}", problems)
    return [specs[n] for n in wanted]
