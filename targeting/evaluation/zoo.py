"""Compare the PMT zoo on one survey: ``evaluate_zoo`` (DESIGN.md §4, evaluation protocol).

Every model spec is cross-validated on the same folds and the out-of-fold (OOF) predictions are
kept, so every figure of the comparison can be recomputed from :attr:`ZooEvaluation.oof` with
:mod:`targeting.evaluation.metrics`.

Protocol
--------
* Folds: ``n_repeats`` × ``n_splits``-fold cross-validation. ``group_by="household"`` makes each
  household its own group (one row per household, so a fold never holds part of a household);
  ``group_by="area"`` groups by :attr:`HouseholdData.groups` (kelurahan in Serang, region in Costa
  Rica), so no area is both trained and tested on. ``stratify=True`` balances the extreme share
  across folds (``StratifiedGroupKFold``; groups are still never split). Repeat *r* shuffles with
  seed ``seed + r``; every model sees exactly the same folds. The folds, fits and summary are
  :mod:`targeting.evaluation.cv`'s (the engine ``targeting run`` uses) and so are the defaults:
  5 folds, 1 repeat, grouped by area whenever the data have one, not stratified.
* Table metrics: each metric is computed on the pooled OOF predictions of a repeat and averaged
  over repeats (AUC, Brier, ECE, exclusion error EE and inclusion error IE at the true extreme
  share and at 10 %, 20 %, 40 % budgets); ``<metric>_sd`` is its standard deviation across the
  individual folds (``n_splits × n_repeats`` values, each fold's own top share). ``auc_fold_mean``
  is the mean of the per-fold AUCs (the convention of ``benchmarks/costa_rica_search.py``).
  ``ece_before`` is the ECE of the raw probabilities for specs recalibrated by
  :class:`~targeting.pmt.calibration.CalibratedPMT` (NaN otherwise); ``ece`` is after.
  Sampling weights, when the data have them, weight the fit and every metric.
* Champion: the model with the best ``primary_metric`` (default ``ee_at_true_share``, the
  exclusion error at the true extreme share), in the metric's direction
  (:func:`targeting.evaluation.champion.select_champion`).
* Targets: consumption models (``target_kind == "consumption"``) need consumption per capita;
  they are skipped, with a note in :attr:`ZooEvaluation.skipped`, when the data have none
  (:class:`~targeting.data.adapters.HouseholdData` carries it when the label is a consumption
  line). Label models learn the 0/1 label. Models whose ``fit`` takes
  ``y_ordinal`` (the ordinal ensemble) get the data's ordered label: ``target4`` when present
  (Costa Rica), else the consumption levels of :func:`ordinal_from_consumption`.
* Features: data in the Serang schema (every column of :data:`~.schema.PROXY_COLUMNS`) use
  each spec's own feature set. Other data get a transformer built from the column types
  (:func:`data_feature_transformer`): numeric columns (scaled unless the spec's feature set is
  unscaled), boolean columns as 0/1, categorical columns one-hot. Models that handle missing
  values natively (boosting, the ensemble) get the numbers unimputed; the others get median
  imputation.
"""

from __future__ import annotations

import inspect
import json
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from targeting.data import schema
from targeting.data.household import HouseholdData
from targeting.evaluation.champion import select_champion
from targeting.evaluation.cv import (
    DEFAULT_N_REPEATS,
    DEFAULT_N_SPLITS,
    DEFAULT_STRATIFY,
    default_group_by,
    grouped_cross_validate,
    summarise_oof,
)
from targeting.evaluation.metrics import (
    group_error_ratios,
    reliability_bins,
    targeting_curve,
)
from targeting.pmt.build import DEFAULT_LINE, ESTIMATORS, ModelSpec
from targeting.pmt.features import (
    FEATURE_SETS,
    LOCATION_LEVELS,
    make_feature_set,
    make_feature_transformer,
    to_float,
    to_text,
)

__all__ = [
    "ORDINAL_LEVELS",
    "ZooEvaluation",
    "data_feature_transformer",
    "evaluate_zoo",
    "four_class_macro_f1",
    "ordinal_from_consumption",
    "synthetic_survey_data",
    "tuned_summary",
]

ORDINAL_LEVELS: tuple[float, float, float] = (1.0, 1.5, 2.0)
"""Cut points (multiples of the extreme line) of :func:`ordinal_from_consumption`."""

METRIC_KEYS = [
    "auc", "brier", "ece", "ee_at_true_share", "ie_at_true_share", "ee_at_10", "ie_at_10",
    "ee_at_20", "ie_at_20", "ee_at_40", "ie_at_40",
]  # fmt: skip


@dataclass
class ZooEvaluation:
    """Result of :func:`evaluate_zoo`.

    Attributes
    ----------
    data_name : str
    table : pandas.DataFrame
        One row per evaluated model: ``model``, ``estimator``, ``target`` (label/consumption),
        ``ordinal`` (fitted with an ordered label), the metrics of the module docstring with
        ``<metric>_sd``, ``auc_fold_mean``, ``ece_before``, ``true_share``, ``seconds``.
    oof : pandas.DataFrame
        One row per household and repeat: ``id``, ``repeat``, ``fold``, ``label``, ``weight``
        (when the data are weighted) and ``p_<model>`` (P(extreme), out of fold) per model.
    curves : pandas.DataFrame
        Targeting curve per model (``model``, ``share_selected``, ``share_found``,
        ``exclusion_error``, ``inclusion_error``), averaged over repeats.
    calibration : pandas.DataFrame
        Reliability bins per model (``model``, ``kind`` raw/calibrated, ``bin``, ``p_low``,
        ``p_high``, ``n``, ``p_mean``, ``observed``), OOF predictions of all repeats pooled.
    groups : pandas.DataFrame
        EE at the true share by group (``model``, ``grouping``, ``group``, ``n``, ``n_poor``,
        ``ee``, ``ee_ratio`` = group EE / overall EE), averaged over repeats.
    fold_metrics : pandas.DataFrame
        The metrics of every model × repeat × fold.
    champion : str
        Best model by ``primary_metric``.
    primary_metric : str
    specs : list of ModelSpec
        The specs evaluated (skipped ones excluded), in table order.
    skipped : dict of str to str
        Model name to the reason it was not evaluated.
    params : dict
        The protocol: ``n_splits``, ``n_repeats``, ``seed``, ``group_by``, ``stratify``,
        ``n_households``, ``n_groups``, ``true_share``, ``weighted``.
    notes : dict
        The data's loading notes and extra figures (e.g. ``macro_f1_4class`` on Costa Rica).
    tuning : pandas.DataFrame
        Nested CV of the specs with ``tune:``: one row per model × repeat × outer fold ×
        candidate (``model``, ``repeat``, ``fold``, ``setting``, ``score``, ``metric``,
        ``chosen``), from :attr:`targeting.evaluation.cv.CVResult.tuning`.
    """

    data_name: str
    table: pd.DataFrame
    oof: pd.DataFrame
    curves: pd.DataFrame
    calibration: pd.DataFrame
    groups: pd.DataFrame
    fold_metrics: pd.DataFrame
    champion: str
    primary_metric: str
    specs: list[ModelSpec] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    tuning: pd.DataFrame = field(default_factory=pd.DataFrame)

    def nested(self) -> dict[str, dict[str, Any]]:
        """What the nested CV tuned, per tuned model: grid, metric, inner folds, and the setting
        each outer fold chose.

        Returns
        -------
        dict
            Model name to ``grid`` (parameter to values), ``metric``, ``inner_folds``, ``chosen``
            (one entry per outer repeat and fold: ``repeat``, ``fold``, ``setting``) and
            ``summary`` (:func:`tuned_summary`).
        """
        out: dict[str, dict[str, Any]] = {}
        for spec in self.specs:
            if spec.tune is None or not len(self.tuning):
                continue
            mine = self.tuning[(self.tuning["model"] == spec.name) & self.tuning["chosen"]]
            out[spec.name] = {
                "grid": {k: list(v) for k, v in spec.tune.grid.items()},
                "metric": spec.tune.metric,
                "inner_folds": int(spec.tune.folds),
                "chosen": [
                    {"repeat": int(r.repeat), "fold": int(r.fold), "setting": str(r.setting)}
                    for r in mine.sort_values(["repeat", "fold"]).itertuples()
                ],
                "summary": tuned_summary(
                    self.fold_metrics[self.fold_metrics["model"] == spec.name]
                ),
            }
        return out

    def summary(self) -> dict[str, Any]:
        """A JSON-able summary (the table as records, champion, protocol, notes).

        Returns
        -------
        dict
        """
        records = json.loads(self.table.to_json(orient="records", double_precision=15))
        return {
            "data": self.data_name,
            "protocol": dict(self.params),
            "models": records,
            "champion": self.champion,
            "primary_metric": self.primary_metric,
            "skipped": dict(self.skipped),
            "notes": {k: v for k, v in self.notes.items() if _jsonable(v)},
        }


def _jsonable(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | type(None) | dict | list)


# --- data helpers ------------------------------------------------------------------------------


def ordinal_from_consumption(consumption: Any, line: float) -> np.ndarray:
    """Ordered poverty levels from consumption per capita (for the ordinal ensemble).

    Level 1: consumption < line (extreme poor), 2: < 1.5 × line, 3: < 2 × line, 4: otherwise
    (:data:`ORDINAL_LEVELS`). Level 1 is exactly the extreme label ``consumption < line``.

    Parameters
    ----------
    consumption : array-like
    line : float

    Returns
    -------
    numpy.ndarray of int, values in 1..4
    """
    c = np.asarray(consumption, dtype=float) / float(line)
    return (np.digitize(c, ORDINAL_LEVELS, right=False) + 1).astype(int)


def synthetic_survey_data(
    city: Any = None,
    n_households: int | None = None,
    seed: int = 2026,
    line: float = DEFAULT_LINE,
) -> HouseholdData:
    """The synthetic Kota Serang survey as household data with its consumption label.

    Parameters
    ----------
    city : targeting.data.synthetic.SyntheticCity, optional
        A generated city; default ``generate_city(n_households, seed)`` (the full default city:
        a ≈ 5 % survey of ≈ 10,300 households).
    n_households : int, optional
        Passed to :func:`targeting.data.synthetic.generate_city` when ``city`` is not given;
        default the city profile's households (206,600).
    seed : int, default 2026
        Passed to :func:`targeting.data.synthetic.generate_city`.
    line : float, default DEFAULT_LINE (the city profile's extreme line)
        Extreme line (IDR per person per month).

    Returns
    -------
    HouseholdData
        ``X`` = the proxies of :data:`~.schema.PROXY_COLUMNS`, ``label`` =
        ``consumption_pc < line``, ``groups`` = kelurahan, ``weights`` = survey weights,
        ``group_columns`` = kecamatan, female_head, elderly_head (60+), disability.
    """
    if city is None:
        from targeting.data.synthetic import generate_city

        if n_households is None:
            city = generate_city(seed=seed)
        else:
            city = generate_city(n_households=n_households, seed=seed)
    s = city.survey.reset_index(drop=True)
    consumption = s["consumption_pc"].to_numpy(dtype=float)
    return HouseholdData(
        name="synthetic-serang",
        X=s[schema.MODEL_COLUMNS],
        label=(consumption < line).astype(int),
        groups=s["kelurahan"].to_numpy(dtype=object),
        ids=s["household_id"].to_numpy(dtype=object),
        weights=s["weight"].to_numpy(dtype=float),
        group_columns=pd.DataFrame(
            {
                "kecamatan": s["kecamatan"].to_numpy(),
                "female_head": s["head_female"].astype(bool).to_numpy(),
                "elderly_head": s["head_age"].to_numpy() >= 60,
                "disability": s["n_disabled"].to_numpy() > 0,
            }
        ),
        notes={"source": "targeting.data.synthetic.generate_city", "n_households_survey": len(s)},
        consumption=consumption,
        line=float(line),
    )


def _is_serang_schema(X: pd.DataFrame) -> bool:
    return set(schema.PROXY_COLUMNS) <= set(X.columns)


def _column_kinds(X: pd.DataFrame) -> tuple[list[str], list[str], dict[str, list[str]]]:
    numeric, boolean, categorical = [], [], {}
    for c in X.columns:
        col = X[c]
        if pd.api.types.is_bool_dtype(col):
            boolean.append(c)
        elif pd.api.types.is_numeric_dtype(col):
            numeric.append(c)
        else:
            text = pd.Series(to_text(col.to_frame())[:, 0]).dropna()
            categorical[c] = sorted(text.unique().tolist())
    return numeric, boolean, categorical


def data_feature_transformer(
    X: pd.DataFrame, scale: bool = True, drop_first: bool = False, impute: bool = True
) -> ColumnTransformer:
    """A feature transformer for data that do not follow the Serang schema.

    Parameters
    ----------
    X : pandas.DataFrame
        The proxies; numeric columns stay numeric, bool columns become 0/1, other columns
        (category, object) are one-hot encoded with the levels seen in ``X``.
    scale : bool, default True
        Standardise the numeric columns.
    drop_first : bool, default False
        Drop each categorical's first level.
    impute : bool, default True
        Median-impute numeric columns (:func:`~targeting.pmt.features.make_feature_transformer`).
        False keeps NaN for models that handle it (histogram boosting, the ensemble).

    Returns
    -------
    sklearn.compose.ColumnTransformer
    """
    numeric, boolean, categorical = _column_kinds(X)
    if impute:
        return make_feature_transformer(
            numeric=numeric,
            boolean=boolean,
            ordered={},
            categorical=categorical,
            scale=scale,
            drop_first=drop_first,
            location={},  # other data: an area column, if any, is among its own categories
        )
    blocks: list[tuple[str, Any, list[str]]] = []
    number_cols = numeric + boolean
    if number_cols:
        steps: list[tuple[str, Any]] = [
            ("to_float", FunctionTransformer(to_float, feature_names_out="one-to-one"))
        ]
        if scale:
            steps.append(("scale", StandardScaler()))
        blocks.append(("numeric", Pipeline(steps), number_cols))
    if categorical:
        names = list(categorical)
        encode = OneHotEncoder(
            categories=[categorical[n] for n in names],
            handle_unknown="ignore",
            drop="first" if drop_first else None,
            sparse_output=False,
            dtype=float,
        )
        text_step = FunctionTransformer(to_text, feature_names_out="one-to-one")
        blocks.append(
            ("categorical", Pipeline([("to_text", text_step), ("encode", encode)]), names)
        )
    return ColumnTransformer(blocks, remainder="drop", verbose_feature_names_out=False)


def _allows_nan(spec: ModelSpec) -> bool:
    try:
        return bool(ESTIMATORS[spec.estimator]().__sklearn_tags__().input_tags.allow_nan)
    except Exception:  # an estimator that cannot be built without arguments
        return False


def _target_kind(spec: ModelSpec) -> str:
    return str(getattr(ESTIMATORS[spec.estimator], "target_kind", "label"))


def _takes_ordinal(spec: ModelSpec) -> bool:
    return "y_ordinal" in inspect.signature(ESTIMATORS[spec.estimator].fit).parameters


def _spec_features(spec: ModelSpec, X: pd.DataFrame, features: Any) -> Any:
    if features is not None:
        return features
    if _is_serang_schema(X):
        present = {k: v for k, v in LOCATION_LEVELS.items() if k in X.columns}
        if len(present) == len(LOCATION_LEVELS):
            return None
        # the Serang proxies without the kecamatan (another data set in the same schema, grouped
        # by its own area column): the spec's feature set on the proxies alone
        return make_feature_set(spec.feature_set, location=present)
    opts = FEATURE_SETS.get(spec.feature_set, {})
    return data_feature_transformer(
        X,
        scale=bool(opts.get("scale", True)),
        drop_first=bool(opts.get("drop_first", False)),
        impute=not _allows_nan(spec),
    )


# --- metrics helpers ---------------------------------------------------------------------------


def four_class_macro_f1(
    X: pd.DataFrame, target4: Any, n_splits: int = 5, seed: int = 0
) -> dict[str, float]:
    """4-class macro-F1 of a histogram-boosting classifier, stratified K-fold over households.

    For comparison with the Costa Rica competition's reported best 0.4448, which was measured on
    its hidden test set (individual rows), so the figures are **not comparable**: this one is
    cross-validated on household heads. The model is
    ``HistGradientBoostingClassifier(learning_rate=0.06, max_iter=150, max_leaf_nodes=8,
    min_samples_leaf=30, l2_regularization=1.0, class_weight="balanced")`` (the ensemble's
    boosting member with balanced classes, since macro-F1 weights every class equally).

    Parameters
    ----------
    X : pandas.DataFrame
        Proxies (numeric or categorical).
    target4 : array-like
        The ordered 4-class label.
    n_splits : int, default 5
    seed : int, default 0

    Returns
    -------
    dict
        ``macro_f1`` (pooled OOF predictions), ``macro_f1_sd`` (across folds), ``n_splits``.
    """
    y = np.asarray(target4)
    transformer = data_feature_transformer(X, scale=False, impute=False)
    pred = np.empty_like(y)
    fold_f1 = []
    for train, test in StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(X, y):
        model = Pipeline(
            [
                ("features", transformer),
                (
                    "hgb",
                    HistGradientBoostingClassifier(
                        learning_rate=0.06,
                        max_iter=150,
                        max_leaf_nodes=8,
                        min_samples_leaf=30,
                        l2_regularization=1.0,
                        class_weight="balanced",
                        early_stopping=False,
                        random_state=seed,
                    ),
                ),
            ]
        )
        model.fit(X.iloc[train], y[train])
        pred[test] = model.predict(X.iloc[test])
        fold_f1.append(f1_score(y[test], pred[test], average="macro"))
    return {
        "macro_f1": float(f1_score(y, pred, average="macro")),
        "macro_f1_sd": float(np.std(fold_f1, ddof=1)),
        "n_splits": int(n_splits),
    }


# --- the cross-validation tasks ----------------------------------------------------------------


def _cv_task(
    spec: ModelSpec,
    X: pd.DataFrame,
    label: np.ndarray,
    groups: np.ndarray,
    consumption: np.ndarray | None,
    weights: np.ndarray | None,
    y_ordinal: np.ndarray | None,
    n_splits: int,
    seed: int,
    repeat: int,
    line: float,
    features: Any,
    stratify: bool,
    fold: int,
    report: Any = None,
) -> tuple[pd.DataFrame, pd.DataFrame, float, pd.DataFrame]:
    start = time.perf_counter()
    # one thread per task: the folds run in parallel processes, and OpenMP's threads on these
    # small matrices mostly wait for each other (one ensemble fit on Costa Rica: 130 s of CPU
    # with the default threads on a busy 2-core machine, 20 s with one)
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        cv = grouped_cross_validate(
            spec,
            X,
            label,
            groups,
            consumption=consumption,
            sample_weight=weights,
            n_splits=n_splits,
            n_repeats=1,
            seed=seed + repeat,
            line=line,
            features=features,
            stratify=stratify,
            y_ordinal=y_ordinal,
            folds=[fold],
            report=report,
        )
    oof = cv.oof.assign(repeat=repeat)
    fold_metrics = cv.fold_metrics.assign(repeat=repeat, model=spec.name)
    tuning = cv.tuning.assign(repeat=repeat, model=spec.name) if len(cv.tuning) else cv.tuning
    return oof, fold_metrics, time.perf_counter() - start, tuning


def _indexed_cv_task(index: int, arguments: tuple[Any, ...]) -> tuple[int, Any]:
    return index, _cv_task(*arguments)


def _summarise(
    spec: ModelSpec,
    oof: pd.DataFrame,
    fold_metrics: pd.DataFrame,
    weights: np.ndarray | None,
) -> dict[str, Any]:
    summary, ece_before, _ = summarise_oof(oof, fold_metrics, weights)
    row: dict[str, Any] = {"model": spec.name}
    for key in METRIC_KEYS:
        row[key] = summary[key]
        row[f"{key}_sd"] = summary[f"{key}_sd"]
    row["auc_fold_mean"] = float(np.nanmean(fold_metrics["auc"].to_numpy(dtype=float)))
    row["ece_before"] = ece_before if spec.calibrate else float("nan")
    row["true_share"] = summary["true_share"]
    return row


def tuned_summary(fold_metrics: pd.DataFrame) -> str:
    """How often each setting was chosen by the outer folds of a nested CV.

    Parameters
    ----------
    fold_metrics : pandas.DataFrame
        One model's fold metrics; its ``tuned`` column holds each outer fold's chosen setting.

    Returns
    -------
    str
        E.g. ``{"near_weight": 0.5} x3; {"near_weight": 0.25} x2``, most chosen first (ties in
        setting order); empty when the model was not tuned.
    """
    if "tuned" not in fold_metrics.columns:
        return ""
    values = fold_metrics["tuned"].dropna().astype(str)
    values = values[values != ""]
    if values.empty:
        return ""
    counts = values.value_counts()
    order = sorted(counts.index, key=lambda v: (-int(counts[v]), v))
    return "; ".join(f"{v} x{int(counts[v])}" for v in order)


def _cost_rank(spec: ModelSpec) -> int:
    """Scheduling order: the ensemble and the forests take most of a zoo comparison's time."""
    slow = {"OrdinalEnsemblePMT": 0, "ForestPMT": 1, "QuantilePMT": 2}
    return slow.get(spec.estimator, 3)


def _per_repeat_mean(frames: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    allf = pd.concat(frames, ignore_index=True)
    return allf.groupby(keys, sort=False, dropna=False).mean(numeric_only=True).reset_index()


def evaluate_zoo(
    data: HouseholdData,
    specs: Sequence[ModelSpec],
    n_splits: int = DEFAULT_N_SPLITS,
    n_repeats: int = DEFAULT_N_REPEATS,
    seed: int = 0,
    group_by: str | None = None,
    stratify: bool = DEFAULT_STRATIFY,
    features: Any = None,
    progress: Any = None,
    primary_metric: str = "ee_at_true_share",
    n_jobs: int = 1,
    macro_f1: bool = True,
) -> ZooEvaluation:
    """Cross-validate every model spec on the same folds and compare them.

    Parameters
    ----------
    data : HouseholdData
        One row per household. A :class:`HouseholdData` with ``consumption`` also runs the
        consumption models; otherwise they are skipped with a note.
    specs : sequence of ModelSpec
        The models (e.g. :func:`targeting.pmt.build.load_specs`).
    n_splits : int, default DEFAULT_N_SPLITS (5)
    n_repeats : int, default DEFAULT_N_REPEATS (1)
    seed : int, default 0
        Repeat *r* uses fold seed ``seed + r`` (models are seeded ``seed + r + fold``).
    group_by : {"household", "area"}, optional
        ``household``: folds over households (each household its own group); ``area``: folds
        grouped by ``data.groups``, no area in both training and test. Default: the one
        protocol of :func:`targeting.evaluation.cv.default_group_by` (area whenever the data
        have one), as ``targeting run``.
    stratify : bool, default DEFAULT_STRATIFY (False)
        Balance the extreme share across folds.
    features : sklearn.compose.ColumnTransformer, optional
        A feature transformer for every model; default: each spec's feature set for Serang-schema
        data, :func:`data_feature_transformer` from the column types otherwise.
    progress : targeting.console.Progress, optional
        Prints a line per model (or per task when parallel).
    primary_metric : str, default "ee_at_true_share"
        Champion criterion, in its direction
        (:data:`~targeting.evaluation.metrics.GREATER_IS_BETTER`).
    n_jobs : int, default 1
        Processes running the model × repeat tasks in parallel (joblib).
    macro_f1 : bool, default True
        When the data have a 4-class ``target4``, add the 4-class macro-F1 of
        :func:`four_class_macro_f1` to ``notes``.

    Returns
    -------
    ZooEvaluation

    Raises
    ------
    ValueError
        On an unknown ``group_by``, when no spec can be evaluated, or when the groups are too
        few for ``n_splits`` folds.
    """
    if group_by is None:
        group_by = default_group_by(data.groups)
    if group_by not in ("household", "area"):
        raise ValueError(f"group_by must be 'household' or 'area' (got {group_by!r})")
    X = data.X.reset_index(drop=True)
    label = np.asarray(data.label).astype(int)
    n = len(label)
    groups = np.arange(n) if group_by == "household" else np.asarray(data.groups)
    weights = None if data.weights is None else np.asarray(data.weights, dtype=float)
    consumption = getattr(data, "consumption", None)
    line = float(getattr(data, "line", None) or DEFAULT_LINE)
    if data.target4 is not None:
        y_ordinal: np.ndarray | None = np.asarray(data.target4)
        ordinal_source = "target4"
    elif consumption is not None:
        y_ordinal = ordinal_from_consumption(consumption, line)
        ordinal_source = "consumption levels (< line, < 1.5 line, < 2 line, else)"
    else:
        y_ordinal, ordinal_source = None, "none"

    runnable: list[ModelSpec] = []
    skipped: dict[str, str] = {}
    for spec in specs:
        if _target_kind(spec) == "consumption" and consumption is None:
            skipped[spec.name] = (
                "consumption model skipped: the data have no consumption per capita "
                "(the label is a class or quantile)"
            )
        else:
            runnable.append(spec)
    if not runnable:
        raise ValueError(f"no model can be evaluated on {data.name}: {skipped}")
    n_groups = len(np.unique(groups))
    if n_groups < n_splits:
        raise ValueError(f"{n_groups} groups cannot make {n_splits} grouped folds")

    tasks: list[tuple[ModelSpec, int, int]] = [
        (spec, r, k) for spec in runnable for r in range(n_repeats) for k in range(n_splits)
    ]
    feats = {spec.name: _spec_features(spec, X, features) for spec in runnable}

    def task(spec: ModelSpec, r: int, k: int) -> tuple[Any, ...]:
        return (
            spec, X, label, groups, consumption, weights,
            y_ordinal if _takes_ordinal(spec) else None,
            n_splits, seed, r, line, feats[spec.name], stratify, k,
        )  # fmt: skip

    # one line per model x repeat x fold as it finishes (with the setting a nested model's inner
    # loop chose): an ensemble fold on Costa Rica takes 20-40 s, and the parallel path used to
    # print nothing for 2-3 minutes
    def announce(spec: ModelSpec, r: int, k: int, res: tuple[Any, ...]) -> None:
        if progress is None:
            return
        chosen = ""
        if "tuned" in res[1].columns and spec.tune is not None:
            chosen = (
                f" (inner {spec.tune.folds}-fold CV by {spec.tune.metric}: "
                f"{res[1]['tune_seconds'].iloc[0]:.1f} s, chose {res[1]['tuned'].iloc[0]})"
            )
        progress.note(
            f"{spec.name}: repeat {r + 1}/{n_repeats}, fold {k + 1}/{n_splits} ({group_by}) "
            f"done in {res[2]:.1f} s{chosen}"
        )

    results: list[Any] = []
    if n_jobs == 1:
        for spec in runnable:
            label_text = f"Cross-validating {spec.name} ({n_repeats} x {n_splits}-fold, {group_by})"
            its_tasks = [t for t in tasks if t[0] is spec]
            if progress is not None:
                with progress.step(label_text):
                    for t in its_tasks:
                        results.append(_cv_task(*task(*t)))
                        announce(*t, results[-1])
            else:
                results += [_cv_task(*task(*t)) for t in its_tasks]
    else:
        label_text = (
            f"Cross-validating {len(runnable)} models ({n_repeats} x {n_splits}-fold, "
            f"{group_by}, {n_jobs} processes, one task per model, repeat and fold)"
        )
        # the slowest models first, so that the processes finish together
        run_order = sorted(range(len(tasks)), key=lambda i: _cost_rank(tasks[i][0]))
        # unordered: a fold's line is printed when it finishes, not after every earlier task
        jobs = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
            delayed(_indexed_cv_task)(i, task(*tasks[i])) for i in run_order
        )
        done: dict[int, Any] = {}
        if progress is not None:
            with progress.step(label_text):
                for index, result in jobs:
                    done[index] = result
                    spec_i, r_i, k_i = tasks[index]
                    announce(spec_i, r_i, k_i, result)
        else:
            done = dict(jobs)
        results = [done[i] for i in range(len(tasks))]

    rows, fold_frames, oof_by_model, seconds = [], [], {}, {}
    tuning_frames: list[pd.DataFrame] = []
    for spec in runnable:
        mine = [res for (s, _, _), res in zip(tasks, results, strict=True) if s is spec]
        oof = pd.concat([m[0] for m in mine], ignore_index=True)
        fm = pd.concat([m[1] for m in mine], ignore_index=True)
        seconds[spec.name] = float(sum(m[2] for m in mine))
        oof_by_model[spec.name] = oof.sort_values(["repeat", "row"], kind="stable")
        fold_frames.append(fm)
        tuning_frames += [m[3] for m in mine if len(m[3])]
        row = _summarise(spec, oof, fm, weights)
        row.update(
            estimator=spec.estimator,
            target=_target_kind(spec),
            ordinal=bool(_takes_ordinal(spec) and y_ordinal is not None),
            tuned=tuned_summary(fm),
            seconds=seconds[spec.name],
        )
        rows.append(row)
    table = pd.DataFrame(rows)
    first = ["model", "estimator", "target", "ordinal"]
    table = table[first + [c for c in table.columns if c not in first]]

    # the wide OOF frame (same folds for every model)
    base = oof_by_model[runnable[0].name]
    rows_idx = base["row"].to_numpy()
    wide = pd.DataFrame(
        {
            "id": np.asarray(data.ids, dtype=object)[rows_idx],
            "repeat": base["repeat"].to_numpy(),
            "fold": base["fold"].to_numpy(),
            "label": base["label"].to_numpy(),
        }
    )
    if weights is not None:
        wide["weight"] = weights[rows_idx]
    for name, oof in oof_by_model.items():
        if not np.array_equal(oof["fold"].to_numpy(), base["fold"].to_numpy()):
            raise RuntimeError(f"model {name} was evaluated on different folds")
        wide[f"p_{name}"] = oof["p_extreme"].to_numpy()

    curves, calib, group_frames = [], [], []
    gcols = data.group_columns.reset_index(drop=True) if len(data.group_columns.columns) else None
    for spec in runnable:
        oof = oof_by_model[spec.name]
        per_curve, per_group = [], []
        for _, part in oof.groupby("repeat", sort=True):
            rows_r = part["row"].to_numpy()
            w = None if weights is None else weights[rows_r]
            y_r = part["label"].to_numpy()
            p_r = part["p_extreme"].to_numpy()
            per_curve.append(targeting_curve(y_r, p_r, sample_weight=w))
            if gcols is not None:
                share = float(np.average(y_r, weights=w))
                g = group_error_ratios(y_r, p_r, gcols.iloc[rows_r], budget=share, sample_weight=w)
                g["group"] = g["group"].astype(str)
                per_group.append(g)
        curve = _per_repeat_mean(per_curve, ["share_selected"])
        curves.append(curve.assign(model=spec.name))
        if per_group:
            group_frames.append(
                _per_repeat_mean(per_group, ["grouping", "group"]).assign(model=spec.name)
            )
        w_all = None if weights is None else weights[oof["row"].to_numpy()]
        kinds = [("calibrated", "p_extreme")] + ([("raw", "p_raw")] if spec.calibrate else [])
        for kind, col in kinds:
            bins = reliability_bins(oof["label"], oof[col], sample_weight=w_all)
            calib.append(bins.assign(model=spec.name, kind=kind))

    def front(frame: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
        return frame[cols + [c for c in frame.columns if c not in cols]]

    curves_df = front(pd.concat(curves, ignore_index=True), ["model"])
    calib_df = front(pd.concat(calib, ignore_index=True), ["model", "kind"])
    groups_df = (
        front(pd.concat(group_frames, ignore_index=True), ["model", "grouping", "group"])
        if group_frames
        else pd.DataFrame(columns=["model", "grouping", "group", "n", "n_poor", "ee", "ee_ratio"])
    )
    if "n" in groups_df.columns:
        groups_df["n"] = groups_df["n"].round().astype(int)
        groups_df["n_poor"] = groups_df["n_poor"].round().astype(int)

    notes: dict[str, Any] = {k: v for k, v in data.notes.items() if _jsonable(v)}
    notes["ordinal_label"] = ordinal_source
    notes["features"] = (
        "given" if features is not None
        else "spec feature sets (Serang schema)" if _is_serang_schema(X)
        else "from the data's column types"
    )  # fmt: skip
    if macro_f1 and data.target4 is not None:
        # one thread, as in the CV tasks: small matrices, and a busy machine
        with warnings.catch_warnings(), threadpool_limits(limits=1):
            warnings.simplefilter("ignore")
            if progress is not None:
                with progress.step("4-class macro-F1 (class-balanced boosting)"):
                    f1 = four_class_macro_f1(X, data.target4, n_splits=n_splits, seed=seed)
            else:
                f1 = four_class_macro_f1(X, data.target4, n_splits=n_splits, seed=seed)
        notes["macro_f1_4class"] = f1["macro_f1"]
        notes["macro_f1_4class_sd"] = f1["macro_f1_sd"]
        notes["macro_f1_note"] = (
            f"4-class macro-F1 {f1['macro_f1']:.4f} (sd {f1['macro_f1_sd']:.4f} over folds): "
            f"class-balanced histogram boosting, stratified {n_splits}-fold over household "
            "heads; the competition's best 0.4448 was on its hidden test set (not comparable)"
        )
    params = {
        "n_splits": int(n_splits),
        "n_repeats": int(n_repeats),
        "seed": int(seed),
        "group_by": group_by,
        "stratify": bool(stratify),
        "n_households": int(n),
        "n_groups": int(n_groups),
        "true_share": float(np.average(label, weights=weights)),
        "weighted": weights is not None,
    }
    return ZooEvaluation(
        data_name=data.name,
        table=table,
        oof=wide,
        curves=curves_df,
        calibration=calib_df,
        groups=groups_df,
        fold_metrics=pd.concat(fold_frames, ignore_index=True),
        champion=select_champion(table, primary_metric),
        primary_metric=primary_metric,
        specs=list(runnable),
        skipped=skipped,
        params=params,
        notes=notes,
        tuning=(
            front(pd.concat(tuning_frames, ignore_index=True), ["model", "repeat", "fold"])
            if tuning_frames
            else pd.DataFrame(
                columns=["model", "repeat", "fold", "setting", "score", "metric", "chosen"]
            )
        ),
    )
