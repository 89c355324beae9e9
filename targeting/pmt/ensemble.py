"""Ordinal-aware ensemble of boosting, random forest and penalised logit (DESIGN.md §4).

:class:`OrdinalEnsemblePMT` is the model that reached the issue's bar on the Costa Rica data
(``benchmarks/costa_rica_search.py``). Three diverse members are fitted on the same rows:

* ``boosting``: histogram gradient boosting, small trees, strong regularisation;
* ``forest``: a random forest with balanced bootstrap class weights (median imputation);
* ``logit``: L2-penalised logistic regression on standardised features (median imputation and
  missing-value indicators), heavily regularised (``C = 0.003``).

Each member gives a score; the ensemble score is their mean.

Ordinal label. When the survey has a richer ordered label (Costa Rica's ``Target``: 1 extreme,
2 moderate, 3 vulnerable, 4 not vulnerable), pass it as ``fit(X, y, y_ordinal=...)``. The members
are then multi-class models of the ordered label and a member's score is
``P(lowest class) + near_weight · P(second class)``: the near-extreme class adds signal to the
noisy estimate of a rare class. On Costa Rica (3 × 5-fold CV) it raised each member's AUC by
≈ 0.01 and the ensemble's by ≈ 0.005 and cut EE at a 20 % budget by ≈ 0.03, while EE at the
true 7.5 % share was within noise of the binary ensemble (0.649 vs 0.641). ``near_weight`` 0.35
(was 0.5) lowered that EE a little but on every seed set tried (pooled out-of-fold EE, 3 ×
stratified 5-fold over households, ``evaluate_zoo``: seeds 0–2 0.650 → 0.649, seeds 10–12
0.655 → 0.652; ``benchmarks/quality.py`` 0.652 → 0.644), about 1–3 households of 222, with a flat
optimum over 0.25–0.35. On the synthetic Serang survey (consumption levels as the ordinal label)
it costs ≈ 0.01 EE instead (0.575 → 0.584): the best weight depends on what the second class
means. The label is only read from the training rows, so this is not leakage.
``y`` stays the binary extreme label (``y == positive class`` must equal
``y_ordinal == min(y_ordinal)``), so the estimator remains a binary classifier for scikit-learn.

Probabilities. The mean score ranks households but is not P(extreme) (in ordinal mode it also
counts part of the near-extreme class). With ``calibration_cv >= 2`` (default 3) the ensemble is
cross-fitted inside the training rows and a Platt map (two parameters on the log-odds) from the
out-of-fold score to the binary label is learnt; ``predict_proba[:, 1]`` is that calibrated
P(extreme), a monotone transform of the score (ranking unchanged). ``calibration_cv=0`` skips it
(4× faster; then ``predict_proba[:, 1]`` is the raw score).

Features that are entirely missing in a training set are dropped for that fit with a warning
(scikit-learn 1.9's histogram boosting crashes on them, DESIGN.md §9). Features must be numeric
(NaN allowed); encode categoricals first.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from targeting.pmt.calibration import clipped_logit, fit_platt
from targeting.pmt.classifiers import BinaryPMT, kept_features

__all__ = ["MEMBERS", "OrdinalEnsemblePMT"]

MEMBERS = ("boosting", "forest", "logit")


class OrdinalEnsemblePMT(BinaryPMT):
    """Mean of boosting, random forest and penalised logit scores, optionally ordinal-aware.

    Parameters
    ----------
    members : tuple of str, default ("boosting", "forest", "logit")
        Which members to fit (any non-empty subset of :data:`MEMBERS`).
    near_weight : float, default 0.35
        Weight of P(second-lowest ordinal class) in a member's score (ordinal mode only).
    learning_rate : float, default 0.06
        Boosting learning rate.
    max_iter : int, default 150
        Boosting iterations.
    max_leaf_nodes : int, default 8
        Boosting tree size.
    min_samples_leaf : int, default 30
        Boosting minimum leaf size.
    l2_regularization : float, default 1.0
        Boosting L2 penalty.
    n_estimators : int, default 300
        Trees in the random forest.
    forest_min_samples_leaf : int, default 10
        Random-forest minimum leaf size.
    forest_max_features : float, default 0.2
        Share of features tried at each forest split.
    C : float, default 0.003
        Inverse L2 penalty of the logit member (on standardised features).
    calibration_cv : int, default 3
        Inner stratified folds for the Platt map of ``predict_proba``; 0 disables calibration.
    random_state : int or None, default None
        Seeds the boosting, the forest and the inner folds.
    n_jobs : int, default 1
        Threads of the random forest.

    Attributes
    ----------
    classes_ : numpy.ndarray of shape (2,)
        The binary labels; ``classes_[1]`` is "extremely poor".
    n_features_in_ : int
    feature_names_in_ : numpy.ndarray
        Present when ``X`` had string column names.
    kept_features_ : numpy.ndarray of int
        Column indices used (columns entirely missing in training are dropped).
    members_ : dict of str to estimator
        The fitted members.
    ordinal_classes_ : numpy.ndarray or None
        The ordered label's classes in ordinal mode (``[0]`` extreme, ``[1]`` near-extreme).
    platt_ : tuple of float or None
        ``(a, b)`` of the calibration map, None without calibration.
    n_iter_ : int
        Largest iteration count among the members (boosting rounds, logit solver iterations).

    Examples
    --------
    >>> from targeting.data.adapters import load_costa_rica  # doctest: +SKIP
    >>> d = load_costa_rica()  # doctest: +SKIP
    >>> m = OrdinalEnsemblePMT(random_state=0)
    >>> m = m.fit(d.X, d.label, y_ordinal=d.target4)  # doctest: +SKIP
    >>> p_extreme = m.predict_proba(d.X)[:, 1]  # doctest: +SKIP
    """

    #: Parameters a fitted ensemble applies only when it mixes its members' probabilities into a
    #: score: a nested-CV inner loop sets them on a model fitted once instead of refitting it
    #: for every value (:func:`targeting.evaluation.cv.tune_settings`).
    rescore_params: tuple[str, ...] = ("near_weight",)
    #: Settings that make a fit cheaper without changing the ranking of its scores (the Platt map
    #: is monotone and the members are seeded alike): used by inner loops that tune on ranks.
    ranking_params: dict[str, Any] = {"calibration_cv": 0}  # noqa: RUF012 (read-only)

    def __init__(
        self,
        members: tuple[str, ...] = MEMBERS,
        near_weight: float = 0.35,
        learning_rate: float = 0.06,
        max_iter: int = 150,
        max_leaf_nodes: int = 8,
        min_samples_leaf: int = 30,
        l2_regularization: float = 1.0,
        n_estimators: int = 300,
        forest_min_samples_leaf: int = 10,
        forest_max_features: float = 0.2,
        C: float = 0.003,
        calibration_cv: int = 3,
        random_state: int | None = None,
        n_jobs: int = 1,
    ) -> None:
        self.members = members
        self.near_weight = near_weight
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.n_estimators = n_estimators
        self.forest_min_samples_leaf = forest_min_samples_leaf
        self.forest_max_features = forest_max_features
        self.C = C
        self.calibration_cv = calibration_cv
        self.random_state = random_state
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    # ------------------------------------------------------------------ members
    def _make_members(self) -> dict[str, Any]:
        members = tuple(self.members)
        unknown = sorted(set(members) - set(MEMBERS))
        if not members or unknown:
            raise ValueError(f"members must be a non-empty subset of {MEMBERS}; got {members!r}")
        seed = self.random_state
        out: dict[str, Any] = {}
        if "boosting" in members:
            out["boosting"] = HistGradientBoostingClassifier(
                learning_rate=self.learning_rate,
                max_iter=self.max_iter,
                max_leaf_nodes=self.max_leaf_nodes,
                min_samples_leaf=self.min_samples_leaf,
                l2_regularization=self.l2_regularization,
                early_stopping=False,
                random_state=seed,
            )
        if "forest" in members:
            out["forest"] = Pipeline(
                [
                    ("impute", SimpleImputer(strategy="median")),
                    (
                        "forest",
                        RandomForestClassifier(
                            n_estimators=self.n_estimators,
                            min_samples_leaf=self.forest_min_samples_leaf,
                            max_features=self.forest_max_features,
                            class_weight="balanced_subsample",
                            n_jobs=self.n_jobs,
                            random_state=seed,
                        ),
                    ),
                ]
            )
        if "logit" in members:
            out["logit"] = Pipeline(
                [
                    ("impute", SimpleImputer(strategy="median", add_indicator=True)),
                    ("scale", StandardScaler()),
                    ("logit", LogisticRegression(C=self.C, max_iter=5000)),
                ]
            )
        return out

    @staticmethod
    def _fit_member(name: str, est: Any, X: np.ndarray, y: np.ndarray, w: np.ndarray) -> Any:
        if name == "boosting":
            return est.fit(X, y, sample_weight=w)
        last = est.steps[-1][0]
        return est.fit(X, y, **{f"{last}__sample_weight": w})

    def _member_score(self, est: Any, X: np.ndarray, target_classes: np.ndarray) -> np.ndarray:
        proba = est.predict_proba(X)
        col = {c: i for i, c in enumerate(est.classes_)}
        if self.ordinal_classes_ is None:
            return proba[:, col[target_classes[1]]]
        score = proba[:, col[target_classes[0]]].copy()
        if len(target_classes) > 1 and target_classes[1] in col:
            score += self.near_weight * proba[:, col[target_classes[1]]]
        return score

    def _fit_all(self, X: np.ndarray, target: np.ndarray, w: np.ndarray) -> dict[str, Any]:
        return {
            name: self._fit_member(name, est, X, target, w)
            for name, est in self._make_members().items()
        }

    def _score(self, fitted: dict[str, Any], X: np.ndarray) -> np.ndarray:
        tc = self.ordinal_classes_ if self.ordinal_classes_ is not None else self.classes_
        return np.mean([self._member_score(m, X, tc) for m in fitted.values()], axis=0)

    # ------------------------------------------------------------------ API
    def fit(
        self,
        X: Any,
        y: Any,
        sample_weight: Any = None,
        y_ordinal: Any = None,
        calibration_scores: Any = None,
    ) -> OrdinalEnsemblePMT:
        """Fit the members (and the calibration map).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Numeric proxies; NaN allowed.
        y : array-like of shape (n_samples,)
            Binary label; the greater class (``classes_[1]``) is "extremely poor".
        sample_weight : array-like of shape (n_samples,), optional
            Sampling weights.
        y_ordinal : array-like of shape (n_samples,), optional
            An ordered label whose lowest class is the extreme class (e.g. Costa Rica's
            4-level ``Target``); switches the members to ordinal mode.
        calibration_scores : array-like of shape (n_samples,), optional
            Out-of-fold raw scores of these rows from a cross-fit done elsewhere with these
            settings (a nested CV's inner loop, :func:`targeting.evaluation.cv.tune_settings`):
            the Platt map is learned from them instead of from the model's own
            ``calibration_cv``-fold cross-fit, which would fit the members again on other folds
            of the same rows. Ignored when ``calibration_cv`` is 0.

        Returns
        -------
        OrdinalEnsemblePMT
            The fitted estimator.

        Raises
        ------
        ValueError
            When ``y`` is not binary, or ``y_ordinal`` disagrees with ``y``.
        """
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan")
        check_classification_targets(y)
        self.classes_, y_bin = np.unique(y, return_inverse=True)
        if len(self.classes_) != 2:
            raise ValueError(
                "Only binary classification is supported: OrdinalEnsemblePMT needs a binary "
                f"label y (extreme poor or not); got {len(self.classes_)} classes. Pass a richer "
                "ordered label as y_ordinal."
            )
        w = _check_sample_weight(sample_weight, X)
        if min(w[y_bin == 0].sum(), w[y_bin == 1].sum()) <= 0:
            raise ValueError("one class has zero total sample weight: both classes are needed")
        if y_ordinal is not None:
            y_ord = column_or_1d(y_ordinal)
            if len(y_ord) != len(y):
                raise ValueError("y_ordinal must have one value per row of X")
            self.ordinal_classes_: np.ndarray | None = np.unique(y_ord)
            if not np.array_equal(y_ord == self.ordinal_classes_[0], y_bin == 1):
                raise ValueError(
                    "y_ordinal disagrees with y: rows with the lowest y_ordinal class must be "
                    "exactly the rows where y is the positive (extreme) class"
                )
            target = y_ord
        else:
            self.ordinal_classes_ = None
            target = y_bin.astype(int)
            target = self.classes_[target]

        self.kept_features_ = kept_features(self, X)
        Xk = X[:, self.kept_features_]

        self.platt_ = None
        cv = int(self.calibration_cv or 0)
        if calibration_scores is not None and cv >= 2:
            given = column_or_1d(calibration_scores).astype(float)
            if len(given) != len(y_bin):
                raise ValueError("calibration_scores must have one value per row of X")
            coef, _ = fit_platt(clipped_logit(given), y_bin, w)
            self.platt_ = (float(coef[0]), float(coef[1]))
        elif cv >= 2 and np.bincount(y_bin).min() >= cv:
            oof = np.zeros(len(y_bin))
            folds = StratifiedKFold(cv, shuffle=True, random_state=self.random_state)
            for tr, te in folds.split(Xk, y_bin):
                part = self._fit_all(Xk[tr], target[tr], w[tr])
                oof[te] = self._score(part, Xk[te])
            coef, _ = fit_platt(clipped_logit(oof), y_bin, w)
            self.platt_ = (float(coef[0]), float(coef[1]))
        self.members_ = self._fit_all(Xk, target, w)
        iters = [1]
        for m in self.members_.values():
            final = m.steps[-1][1] if isinstance(m, Pipeline) else m
            if hasattr(final, "n_iter_"):
                iters.append(int(np.max(final.n_iter_)))
        self.n_iter_ = max(iters)
        return self

    def _prepare(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "members_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return X[:, self.kept_features_]

    def score_households(self, X: Any) -> np.ndarray:
        """Return the raw ensemble score (mean of the members' scores; ranks households).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray of shape (n_samples,)
        """
        Xk = self._prepare(X)
        return self._score(self.members_, Xk)

    def member_scores(self, X: Any) -> dict[str, np.ndarray]:
        """Return each member's score (for comparison tables).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        dict of str to numpy.ndarray
        """
        Xk = self._prepare(X)
        tc = self.ordinal_classes_ if self.ordinal_classes_ is not None else self.classes_
        return {n: self._member_score(m, Xk, tc) for n, m in self.members_.items()}

    def predict_proba(self, X: Any) -> np.ndarray:
        """Return ``[1 − P(extreme), P(extreme)]`` per household.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray of shape (n_samples, 2)
        """
        s = np.clip(self.score_households(X), 0.0, 1.0)
        if self.platt_ is not None:
            a, b = self.platt_
            s = expit(a + b * clipped_logit(s))
        return np.column_stack([1.0 - s, s])
