"""Cross-validation grouped by area (DESIGN.md §4, evaluation protocol).

Folds are whole areas (kelurahan in Serang), so no area is both trained and tested on; a
repeat reshuffles which areas fall together (``GroupKFold(shuffle=True)``, seeded). Within each
training fold, P(extreme) is optionally recalibrated on held-out training *areas*
(:class:`~targeting.pmt.calibration.CalibratedPMT`, Platt scaling), so calibration never sees the
test fold. Metrics are reported per fold and on the pooled out-of-fold predictions.

This is the toolkit's one cross-validation engine and its one default protocol: ``targeting run``
(:mod:`targeting.pipeline`) and ``targeting evaluate`` (:mod:`targeting.evaluation.zoo`) both call
:func:`grouped_cross_validate` and summarise with :func:`summarise_oof`; by default
(:data:`DEFAULT_N_SPLITS` folds, :data:`DEFAULT_N_REPEATS` repeat, not stratified) folds are
grouped by area whenever the data have one (:func:`default_group_by`). Repeat *r* assigns areas to
folds with seed ``seed + r`` and seeds the model of fold *k* with ``seed + r + k``, so running the
repeats one at a time (``n_repeats=1, seed=seed + r``, as the zoo does in parallel) gives the same
folds and fits as one call with ``n_repeats``; ``folds=[k]`` runs only outer fold *k* (the zoo runs
folds in parallel), again with the same split and fit.

Nested CV. A spec that declares ``tune:`` (:class:`~targeting.config.model.TuneSpec`, a small grid
of estimator parameters) is tuned inside every outer training fold: :func:`tune_settings` runs an
inner CV (``tune.folds`` folds, grouped and stratified like the outer ones) on the outer training
rows only, scores every candidate by the mean over inner folds of the rank metric
``tune.metric``, and the outer fold's model is fitted with the best candidate; the outer test fold
never takes part in the choice. :attr:`CVResult.tuning` records every candidate's inner score and
which one each outer fold chose.

The inner loop is exact but cheap: its metrics depend only on the ranking within an inner fold, so
a monotone recalibration (the spec's ``calibrate``; an estimator's own Platt map) cannot change the
choice and is skipped there (an estimator lists such settings in ``ranking_params``, e.g. the
ensemble's ``calibration_cv: 0``); and parameters that only change how a fitted model mixes its
parts into a score (an estimator's ``rescore_params``, e.g. the ensemble's ``near_weight``) are set
on the model fitted once per inner fold instead of refitting it for every value. The inner loop's
out-of-fold scores under the chosen setting then serve the outer model's own calibration
(``fit(calibration_scores=...)``, the ensemble's Platt map) instead of a second cross-fit of the
same rows: same method, other folds, so the ranking within an outer fold is unchanged and the
calibrated probabilities move slightly (benchmarks/README.md, "Honest protocol").
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold
from sklearn.pipeline import Pipeline

# The protocol's defaults are declared once, with the experiment spec's evaluation section.
from targeting.config.experiment import DEFAULT_N_REPEATS, DEFAULT_N_SPLITS, DEFAULT_STRATIFY
from targeting.config.model import TuneSpec
from targeting.evaluation.metrics import (
    evaluate_scores,
    expected_calibration_error,
    greater_is_better,
)
from targeting.pmt.build import DEFAULT_LINE, ESTIMATORS, ModelSpec, build_model, fit_model
from targeting.pmt.calibration import CalibratedPMT
from targeting.pmt.scoring import attach_desil_cutpoints

__all__ = [
    "DEFAULT_N_REPEATS",
    "DEFAULT_N_SPLITS",
    "DEFAULT_STRATIFY",
    "CVResult",
    "default_group_by",
    "fit_final",
    "grouped_cross_validate",
    "summarise_oof",
    "tune_settings",
]


def default_group_by(groups: Any) -> str:
    """The default fold grouping: ``"area"`` whenever the data have an area per row, else
    ``"household"`` (each household its own group).

    Parameters
    ----------
    groups : array-like or None
        The area of each row (kelurahan, region, commune), or None.

    Returns
    -------
    str
    """
    if groups is None:
        return "household"
    values = pd.Series(np.asarray(groups, dtype=object))
    return "area" if values.notna().all() and values.nunique() < len(values) else "household"


@dataclass
class CVResult:
    """Result of :func:`grouped_cross_validate`.

    Attributes
    ----------
    spec : ModelSpec
    oof : pandas.DataFrame
        One row per household and repeat: ``row`` (position in X), ``repeat``, ``fold``,
        ``label``, ``p_extreme`` (calibrated when calibration is on), ``p_raw`` and, when the
        data are weighted, ``weight``.
    fold_metrics : pandas.DataFrame
        One row per repeat × fold with the :func:`~.metrics.evaluate_scores` keys.
    summary : dict
        Each metric on the pooled out-of-fold predictions (mean over repeats) and
        ``<metric>_sd``, its standard deviation across folds.
    ece_before, ece_after : float
        ECE of the pooled raw and calibrated out-of-fold probabilities (equal when calibration
        is off).
    tuning : pandas.DataFrame
        Nested CV only (a spec with ``tune:``): one row per outer repeat × fold × candidate:
        ``repeat``, ``fold``, ``setting`` (the candidate as JSON), ``score`` (its mean inner
        ``metric``), ``metric``, ``chosen`` (the candidate the outer fold was fitted with);
        empty otherwise. ``fold_metrics`` then has the columns ``tuned`` (the chosen setting)
        and ``tune_seconds`` (the inner loop's wall time).
    """

    spec: ModelSpec
    oof: pd.DataFrame
    fold_metrics: pd.DataFrame
    summary: dict[str, float] = field(default_factory=dict)
    ece_before: float = float("nan")
    ece_after: float = float("nan")
    tuning: pd.DataFrame = field(default_factory=pd.DataFrame)


def _take(X: Any, idx: np.ndarray) -> Any:
    return X.iloc[idx] if hasattr(X, "iloc") else np.asarray(X)[idx]


def _opt(a: Any, idx: np.ndarray) -> Any:
    return None if a is None else np.asarray(a)[idx]


def _raw_and_calibrated(pipeline: Pipeline, X: Any) -> tuple[np.ndarray, np.ndarray]:
    model = pipeline.steps[-1][1]
    if isinstance(model, CalibratedPMT):
        Xt = pipeline[:-1].transform(X)
        raw = model.predict_proba_raw(Xt)
        return raw, model.calibrator_.transform(raw)
    p = pipeline.predict_proba(X)[:, 1]
    return p, p


def setting_text(setting: dict[str, Any]) -> str:
    """A tuned setting as stable JSON (sorted keys), e.g. ``{"near_weight": 0.35}``."""
    return json.dumps(setting, sort_keys=True)


def _splitter(n_splits: int, stratify: bool, seed: int) -> Any:
    if stratify:
        return StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)


def _spec_with(spec: ModelSpec, params: dict[str, Any]) -> ModelSpec:
    return dataclasses.replace(spec, params={**spec.params, **params})


def _tune(
    spec: ModelSpec,
    X: pd.DataFrame,
    label: np.ndarray,
    groups: np.ndarray,
    consumption: np.ndarray | None = None,
    sample_weight: np.ndarray | None = None,
    line: float = DEFAULT_LINE,
    features: Any = None,
    stratify: bool = DEFAULT_STRATIFY,
    y_ordinal: np.ndarray | None = None,
    reached: np.ndarray | None = None,
    selection: str | dict[str, Any] | None = None,
    seed: int = 0,
    tune: TuneSpec | None = None,
) -> tuple[dict[str, Any], pd.DataFrame, np.ndarray]:
    """:func:`tune_settings`, plus each row's out-of-fold score under the chosen setting."""
    tune = tune or spec.tune
    if tune is None:
        raise ValueError(f"model {spec.name!r} declares no tune: grid to choose from")
    label = np.asarray(label).astype(int)
    groups = np.asarray(groups)
    n = len(label)
    if len(np.unique(groups)) < tune.folds:
        raise ValueError(
            f"model {spec.name!r}: tune.folds {tune.folds} is more than the "
            f"{len(np.unique(groups))} groups of an outer training fold; lower tune.folds"
        )
    candidates = tune.candidates()
    names = [setting_text(c) for c in candidates]
    cls = ESTIMATORS[spec.estimator]
    # settings a fitted model can change without a refit (only on the bare estimator: a
    # selection-aware wrapper would keep its own fit of them)
    rescore = set(getattr(cls, "rescore_params", ())) if selection is None else set()
    cheap = dict(getattr(cls, "ranking_params", {}))
    fits: dict[str, list[dict[str, Any]]] = {}
    for cand in candidates:
        fixed = {k: v for k, v in cand.items() if k not in rescore}
        fits.setdefault(setting_text(fixed), []).append(cand)
    per_fold: dict[str, list[float]] = {name: [] for name in names}
    oof = {name: np.full(n, np.nan) for name in names}
    splits = _splitter(tune.folds, stratify, seed).split(np.zeros(n), label, groups)
    for train, test in splits:
        w_test = _opt(sample_weight, test)
        for group in fits.values():
            fixed = {k: v for k, v in group[0].items() if k not in rescore}
            pipeline = build_model(
                _spec_with(spec, {**cheap, **fixed}),
                line=line,
                features=features,
                calibrate=False,  # monotone: the inner ranking metrics do not change
                random_state=seed,
                selection=selection,
            )
            fit_model(
                pipeline,
                _take(X, train),
                consumption=_opt(consumption, train),
                label=label[train],
                sample_weight=_opt(sample_weight, train),
                groups=groups[train],
                line=line,
                y_ordinal=_opt(y_ordinal, train),
                reached=_opt(reached, train),
            )
            X_test = pipeline[:-1].transform(_take(X, test))
            model = pipeline.steps[-1][1]
            for cand in group:
                rescored = {k: v for k, v in cand.items() if k in rescore}
                if rescored:
                    model.set_params(**rescored)
                p = model.predict_proba(X_test)[:, 1]
                oof[setting_text(cand)][test] = p
                metrics = evaluate_scores(label[test], p, sample_weight=w_test)
                per_fold[setting_text(cand)].append(float(metrics[tune.metric]))
    means = np.array([np.nanmean(per_fold[c]) for c in names])
    signed = means if greater_is_better(tune.metric) else -means
    best = int(np.nanargmax(signed))  # first of the best: grid order breaks ties
    scores = pd.DataFrame(
        {"setting": names, "score": means, "metric": tune.metric, "chosen": False}
    )
    scores.loc[best, "chosen"] = True
    return dict(candidates[best]), scores, oof[names[best]]


def tune_settings(
    spec: ModelSpec,
    X: pd.DataFrame,
    label: np.ndarray,
    groups: np.ndarray,
    consumption: np.ndarray | None = None,
    sample_weight: np.ndarray | None = None,
    line: float = DEFAULT_LINE,
    features: Any = None,
    stratify: bool = DEFAULT_STRATIFY,
    y_ordinal: np.ndarray | None = None,
    reached: np.ndarray | None = None,
    selection: str | dict[str, Any] | None = None,
    seed: int = 0,
    tune: TuneSpec | None = None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Choose a spec's tuned setting by an inner CV on the given rows only.

    Parameters
    ----------
    spec : ModelSpec
        Its ``tune`` declares the grid, the metric and the inner folds.
    X, label, groups, consumption, sample_weight, line, features, stratify, y_ordinal, reached,
    selection :
        As in :func:`grouped_cross_validate`, restricted to the rows the choice may see (an outer
        fold's training rows).
    seed : int, default 0
        Seeds the inner split and the inner models.
    tune : TuneSpec, optional
        Default ``spec.tune``.

    Returns
    -------
    chosen : dict
        The best candidate (earliest in grid order on a tie).
    scores : pandas.DataFrame
        One row per candidate: ``setting`` (JSON), ``score`` (mean inner metric), ``metric``,
        ``chosen``.

    Raises
    ------
    ValueError
        When the spec declares no grid, or the rows hold fewer groups than ``tune.folds``.
    """
    chosen, scores, _ = _tune(
        spec, X, label, groups, consumption=consumption, sample_weight=sample_weight, line=line,
        features=features, stratify=stratify, y_ordinal=y_ordinal, reached=reached,
        selection=selection, seed=seed, tune=tune,
    )  # fmt: skip
    return chosen, scores


def grouped_cross_validate(
    spec: ModelSpec,
    X: pd.DataFrame,
    label: np.ndarray,
    groups: np.ndarray,
    consumption: np.ndarray | None = None,
    sample_weight: np.ndarray | None = None,
    n_splits: int = DEFAULT_N_SPLITS,
    n_repeats: int = DEFAULT_N_REPEATS,
    seed: int = 0,
    line: float = DEFAULT_LINE,
    calibrate: bool | None = None,
    features: Any = None,
    stratify: bool = DEFAULT_STRATIFY,
    y_ordinal: np.ndarray | None = None,
    reached: np.ndarray | None = None,
    selection: str | dict[str, Any] | None = None,
    folds: Sequence[int] | None = None,
    tune: bool = True,
    report: Callable[[str], None] | None = None,
) -> CVResult:
    """Cross-validate a model spec with folds grouped by area (nested when the spec tunes).

    Parameters
    ----------
    spec : ModelSpec
    X : pandas.DataFrame
        Proxies (survey rows).
    label : numpy.ndarray
        0/1 extreme label (evaluation target; also the fitting target of label models).
    groups : numpy.ndarray
        Area of each row; an area is never in both a training and a test fold.
    consumption : numpy.ndarray, optional
        Consumption per capita (IDR), required by consumption models.
    sample_weight : numpy.ndarray, optional
        Sampling weights, used in fitting and in the metrics.
    n_splits : int, default DEFAULT_N_SPLITS (5)
    n_repeats : int, default DEFAULT_N_REPEATS (1)
        Repeats reshuffle the area-to-fold assignment (seed + repeat).
    seed : int, default 0
        Repeat *r* splits with ``seed + r``; its fold *k* model is seeded ``seed + r + k``.
    line : float, default DEFAULT_LINE (the city profile's extreme line)
    calibrate : bool, optional
        Recalibrate on held-out training areas within each training fold; default: the spec's
        own ``calibrate``.
    features : sklearn.compose.ColumnTransformer, optional
        Feature transformer for data that do not follow the Serang registry schema (another
        survey): used instead of the spec's feature set.
    stratify : bool, default False
        Balance the share of extremely poor across folds (``StratifiedGroupKFold``); groups are
        still never split. Useful when a group is a household and positives are rare.
    y_ordinal : numpy.ndarray, optional
        An ordered label (lowest class = extreme) given, on the training rows only, to models
        that accept it (:class:`~targeting.pmt.ensemble.OrdinalEnsemblePMT`).
    reached : numpy.ndarray of bool, optional
        Programme reach of each survey household, given (training rows only) to selection-aware
        models. The out-of-fold frame then has a ``reached`` column, so metrics can be restricted
        to the unreached.
    selection : {"unreached", "input", "two_part"} or dict, optional
        Fit :class:`~targeting.pmt.selection.SelectionAwarePMT` around each model (see
        :func:`~targeting.pmt.build.build_model`).
    folds : sequence of int, optional
        Run only these outer folds of every repeat (same splits and seeds as a full run);
        default all.
    tune : bool, default True
        Nested CV for a spec with ``tune:`` (:func:`tune_settings` on each outer training fold);
        False fits every fold with the spec's ``params`` as written.
    report : callable, optional
        Called with one sentence per outer fold (its time, and the setting its inner loop
        chose), e.g. :meth:`targeting.console.Progress.note`.

    Returns
    -------
    CVResult
    """
    label = np.asarray(label).astype(int)
    groups = np.asarray(groups)
    n = len(label)
    if len(X) != n or len(groups) != n:
        raise ValueError("X, label and groups must have the same length")
    n_groups = len(np.unique(groups))
    if n_groups < n_splits:
        raise ValueError(f"{n_groups} areas cannot make {n_splits} grouped folds")
    records: list[pd.DataFrame] = []
    fold_rows: list[dict[str, Any]] = []
    tuning_rows: list[pd.DataFrame] = []
    nested = tune and spec.tune is not None
    for repeat in range(n_repeats):
        splitter = _splitter(n_splits, stratify, seed + repeat)
        for fold, (train, test) in enumerate(splitter.split(np.zeros(n), label, groups)):
            if folds is not None and fold not in folds:
                continue
            start = time.perf_counter()
            fold_spec, chosen_text, inner_oof = spec, "", None
            if nested:
                chosen, scores, inner_oof = _tune(
                    spec,
                    _take(X, train),
                    label[train],
                    groups[train],
                    consumption=_opt(consumption, train),
                    sample_weight=_opt(sample_weight, train),
                    line=line,
                    features=features,
                    stratify=stratify,
                    y_ordinal=_opt(y_ordinal, train),
                    reached=_opt(reached, train),
                    selection=selection,
                    seed=seed + repeat + fold,
                )
                tune_seconds = time.perf_counter() - start
                tuning_rows.append(scores.assign(repeat=repeat, fold=fold))
                fold_spec, chosen_text = _spec_with(spec, chosen), setting_text(chosen)
            pipeline = build_model(
                fold_spec,
                line=line,
                features=features,
                calibrate=calibrate,
                random_state=seed + repeat + fold,
                selection=selection,
            )
            fit_model(
                pipeline,
                _take(X, train),
                consumption=_opt(consumption, train),
                label=label[train],
                sample_weight=_opt(sample_weight, train),
                groups=groups[train],
                line=line,
                y_ordinal=_opt(y_ordinal, train),
                reached=_opt(reached, train),
                calibration_scores=inner_oof,
            )
            p_raw, p_cal = _raw_and_calibrated(pipeline, _take(X, test))
            part = pd.DataFrame(
                {
                    "row": test,
                    "repeat": repeat,
                    "fold": fold,
                    "label": label[test],
                    "p_extreme": p_cal,
                    "p_raw": p_raw,
                    **({} if sample_weight is None else {"weight": _opt(sample_weight, test)}),
                }
            )
            if reached is not None:
                part["reached"] = np.asarray(reached, dtype=bool)[test]
            records.append(part)
            metrics = evaluate_scores(label[test], p_cal, sample_weight=_opt(sample_weight, test))
            row: dict[str, Any] = {"repeat": repeat, "fold": fold, "n_test": len(test), **metrics}
            if nested:
                row["tuned"] = chosen_text
                row["tune_seconds"] = tune_seconds
            fold_rows.append(row)
            if report is not None:
                inner = (
                    f" (inner {spec.tune.folds}-fold CV {tune_seconds:.1f} s chose {chosen_text})"
                    if nested and spec.tune is not None
                    else ""
                )
                report(
                    f"{spec.name}: repeat {repeat + 1}/{n_repeats}, fold {fold + 1}/{n_splits} "
                    f"done in {time.perf_counter() - start:.1f} s{inner}"
                )
    oof = pd.concat(records, ignore_index=True)
    fold_metrics = pd.DataFrame(fold_rows)
    summary, ece_before, ece_after = summarise_oof(oof, fold_metrics, sample_weight)
    return CVResult(
        spec=spec,
        oof=oof,
        fold_metrics=fold_metrics,
        summary=summary,
        ece_before=ece_before,
        ece_after=ece_after,
        tuning=(
            pd.concat(tuning_rows, ignore_index=True)[
                ["repeat", "fold", "setting", "score", "metric", "chosen"]
            ]
            if tuning_rows
            else pd.DataFrame()
        ),
    )


def summarise_oof(
    oof: pd.DataFrame, fold_metrics: pd.DataFrame, sample_weight: Any = None
) -> tuple[dict[str, float], float, float]:
    """The one summary of a cross-validation: pooled metrics per repeat, averaged over repeats.

    Parameters
    ----------
    oof : pandas.DataFrame
        ``row``, ``repeat``, ``label``, ``p_extreme``, ``p_raw`` (as :attr:`CVResult.oof`).
    fold_metrics : pandas.DataFrame
        One row per repeat × fold with the :func:`~.metrics.evaluate_scores` keys.
    sample_weight : array-like, optional
        Weights of every row of the data (indexed by ``oof["row"]``).

    Returns
    -------
    summary : dict
        Each metric of :func:`~.metrics.evaluate_scores` on the pooled out-of-fold predictions
        of a repeat, averaged over repeats, and ``<metric>_sd``, its standard deviation across
        the individual folds.
    ece_before, ece_after : float
        ECE of the pooled raw and calibrated probabilities, averaged over repeats.
    """
    w_all = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    pooled: list[dict[str, float]] = []
    ece_before, ece_after = [], []
    for _, part in oof.groupby("repeat", sort=True):
        w = None if w_all is None else w_all[part["row"].to_numpy()]
        pooled.append(evaluate_scores(part["label"], part["p_extreme"], sample_weight=w))
        y_part = part["label"].to_numpy()
        ece_before.append(expected_calibration_error(y_part, part["p_raw"], sample_weight=w))
        ece_after.append(expected_calibration_error(y_part, part["p_extreme"], sample_weight=w))
    summary: dict[str, float] = {}
    for key in pooled[0]:
        summary[key] = float(np.nanmean([m[key] for m in pooled]))
        summary[f"{key}_sd"] = float(np.nanstd(fold_metrics[key].to_numpy(dtype=float), ddof=1))
    return summary, float(np.mean(ece_before)), float(np.mean(ece_after))


def fit_final(
    spec: ModelSpec,
    X: pd.DataFrame,
    label: np.ndarray | None = None,
    consumption: np.ndarray | None = None,
    sample_weight: np.ndarray | None = None,
    calibrate: bool | None = None,
    seed: int = 0,
    groups: np.ndarray | None = None,
    features: Any = None,
    line: float = DEFAULT_LINE,
    y_ordinal: np.ndarray | None = None,
    reached: np.ndarray | None = None,
    selection: str | dict[str, Any] | None = None,
    tune: bool = True,
    stratify: bool = DEFAULT_STRATIFY,
) -> Pipeline:
    """Fit a spec on all the data, with the same calibration approach as the CV.

    A spec with ``tune:`` first chooses its setting by :func:`tune_settings` on all the rows
    (grouped by ``groups``, by household without them); the fitted pipeline keeps the choice as
    ``tuned_setting_`` (a dict; empty when nothing was tuned).

    Parameters
    ----------
    spec : ModelSpec
    X : pandas.DataFrame
    label : numpy.ndarray, optional
        0/1 extreme label (derived from ``consumption < line`` when not given).
    consumption : numpy.ndarray, optional
    sample_weight : numpy.ndarray, optional
    calibrate : bool, optional
        Default: the spec's own ``calibrate``.
    seed : int, default 0
    groups : numpy.ndarray, optional
        Areas for the calibration hold-out (households are held out when not given).
    features : sklearn.compose.ColumnTransformer, optional
        Feature transformer used instead of the spec's feature set.
    line : float, default DEFAULT_LINE (the city profile's extreme line)
    y_ordinal : numpy.ndarray, optional
        An ordered label (lowest class = extreme) for models that accept it.
    reached : numpy.ndarray of bool, optional
        Programme reach of each row (for selection-aware models).
    selection : {"unreached", "input", "two_part"} or dict, optional
        As in :func:`grouped_cross_validate`.
    tune : bool, default True
        Choose a spec's ``tune:`` setting first (False: fit ``params`` as written).
    stratify : bool, default DEFAULT_STRATIFY
        Stratify the tuning folds.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Fitted; ``predict_proba(X)[:, 1]`` is P(extreme) (P(extreme | x, not reached) with
        ``selection``).
    """
    chosen: dict[str, Any] = {}
    inner_oof = None
    if tune and spec.tune is not None:
        rows = np.arange(len(X))
        label_all = (
            np.asarray(label).astype(int)
            if label is not None
            else (np.asarray(consumption, dtype=float) < line).astype(int)
        )
        chosen, _, inner_oof = _tune(
            spec,
            X,
            label_all,
            rows if groups is None else np.asarray(groups),
            consumption=consumption,
            sample_weight=sample_weight,
            line=line,
            features=features,
            stratify=stratify,
            y_ordinal=y_ordinal,
            reached=reached,
            selection=selection,
            seed=seed,
        )
        spec = _spec_with(spec, chosen)
    pipeline = build_model(
        spec,
        line=line,
        features=features,
        calibrate=calibrate,
        random_state=seed,
        selection=selection,
    )
    fitted = fit_model(
        pipeline,
        X,
        consumption=consumption,
        label=label,
        sample_weight=sample_weight,
        groups=groups,
        line=line,
        y_ordinal=y_ordinal,
        reached=reached,
        calibration_scores=inner_oof,
    )
    # desils are fixed by the survey's weighted distribution, so every batch scores alike
    fitted = attach_desil_cutpoints(fitted, X, sample_weight)
    fitted.tuned_setting_ = chosen
    return fitted
