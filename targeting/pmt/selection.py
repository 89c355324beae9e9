"""P(extreme | proxies, not reached): PMT estimators that account for programme selection.

Programmes reached households partly on poverty that the proxies do not see (DESIGN.md §3), so
among households with the same proxies the unreached are less often extremely poor than the
reached. A model of P(extreme | proxies) learned on the whole survey therefore over-states
poverty among the unreached, the only households the plan ranks. :class:`SelectionAwarePMT`
wraps any PMT estimator and learns from the survey's programme-receipt columns which
households were reached; its ``predict_proba`` is P(extreme | proxies, not reached). Three
ways to get there (compared in ``benchmarks/unreached_bias.py``, on grouped CV restricted to
unreached survey households):

``"unreached"``
    Fit the estimator on the unreached survey households only (with their weights): the
    population the plan ranks, the target estimated directly.
``"input"``
    Receipt as one more model input (all households), scored at "not reached".
``"two_part"``
    P(extreme | x, not reached) = P(extreme | x) · P(not reached | x, extreme) / P(not reached | x),
    the first part by the estimator on all households, the two reach parts by penalised
    logistic regressions (on the extremely poor, and on all households).

Without receipt (``reached`` not given, or nobody reached) every method is the wrapped estimator
fitted on all rows.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, ndtr, ndtri
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from targeting.config.experiment import EvaluationSection
from targeting.pmt.calibration import fit_penalised_logit
from targeting.pmt.linear import LogConsumptionOLS, PovertyWeightedPMT

__all__ = [
    "CALIBRATION_MAPS",
    "DEFAULT_CALIBRATION_CV",
    "DEFAULT_CALIBRATION_LOCALITY",
    "DEFAULT_CALIBRATION_MAP",
    "DEFAULT_SELECTION",
    "SELECTION_METHODS",
    "BetaCalibrator",
    "ResidualCalibrator",
    "SelectionAwarePMT",
]

SELECTION_METHODS = ("unreached", "input", "two_part")
"""The ways :class:`SelectionAwarePMT` estimates P(extreme | proxies, not reached)."""

DEFAULT_SELECTION: str = EvaluationSection.model_fields["selection"].default
"""The method the plan uses when the survey records receipt (``evaluation.selection``), chosen
by ``benchmarks/selection_methods.py`` on seeds (101, 102) that the acceptance benchmark
(``benchmarks/unreached_bias.py``, seeds 2026...) does not report: lowest exclusion error and
ECE on the unreached; ``two_part`` had the best level but a worse ranking, ``input`` kept
most of the bias."""

DEFAULT_CALIBRATION_CV: int = EvaluationSection.model_fields["selection_calibration_cv"].default
"""Folds of the cross-fitted recalibration of the plan's models
(``evaluation.selection_calibration_cv``; 0 turns it off), chosen on seeds 101 and 102: without
it the OLS champion over-stated the first plan's finds by ~17 % (P between 0.1 and 0.5 too high,
above 0.5 too low)."""

MIN_UNREACHED_EXTREME = 30
"""Fewest extreme-poor survey households among the unreached for a selection-aware fit: with
fewer, a cross-validation fold can hold none (one class), and P(extreme | proxies, not reached)
cannot be learned; the plan then uses P(extreme | proxies) and says so."""

CALIBRATION_MAPS = ("residual", "beta")
"""The cross-fitted recalibration maps of :class:`SelectionAwarePMT` (``calibration_map``)."""

DEFAULT_CALIBRATION_MAP: str = EvaluationSection.model_fields["selection_calibration_map"].default
"""The map the plan uses (``evaluation.selection_calibration_map``), chosen by
``benchmarks/unreached_bias.py`` on seeds 101-104 (not the reported 2026-2035), mean error of
the first plan's expected finds: beta -6.1 %, residual pooled over the range +14.7 %, residual
local-linear with locality 0.25 / 0.5 / 1.0 / 2.0: +4.8 / +3.9 / +2.0 / +5.9 % (stock +1.4 %,
ECE 0.0016 at 1.0). The beta map learns the top from the few dozen extreme-poor unreached survey
households there; the residual map learns the shape of the errors from every unreached one."""

DEFAULT_CALIBRATION_LOCALITY: float | None = EvaluationSection.model_fields[
    "selection_calibration_locality"
].default
"""Kernel width (in σ̂) of the local residual map (``evaluation.selection_calibration_locality``),
chosen with :data:`DEFAULT_CALIBRATION_MAP`."""

_REACHED_COLUMN = "programme_reached"
_EPS = 1e-4


def _take(obj: Any, idx: np.ndarray) -> Any:
    return obj.iloc[idx] if hasattr(obj, "iloc") else np.asarray(obj)[idx]


def _with_reach(X: Any, reached: np.ndarray) -> Any:
    """X plus a 0/1 column of programme reach (a DataFrame keeps its column names)."""
    values = np.asarray(reached, dtype=float)
    if isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns):
        return X.assign(**{_REACHED_COLUMN: values})
    return np.column_stack([np.asarray(X, dtype=float), values])


def _n_rows(X: Any) -> int:
    return len(X) if hasattr(X, "iloc") else np.asarray(X).shape[0]


class BetaCalibrator:
    """Beta calibration: logit q = c + a ln p − b ln(1 − p) (Kull, Silva Filho & Flach 2017).

    Fitted by penalised weighted maximum likelihood with a unit ridge toward the identity map
    (a = b = 1, c = 0); probabilities are clipped to [1e-4, 1 − 1e-4] first. A negative ``a``
    or ``b`` is set to 0 and the rest refitted, so the map is monotone.
    """

    def fit(self, p: Any, y: Any, sample_weight: Any = None) -> BetaCalibrator:
        design = self._design(p)
        y = np.asarray(y, dtype=float)
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        w = w * (len(w) / w.sum())
        keep = [0, 1, 2]
        # a negative a or b makes the map non-monotone: fix it at 0 and refit (Kull et al.)
        for _ in range(2):
            coef, _cov = fit_penalised_logit(
                design[:, keep],
                y,
                offset=np.zeros(len(y)),
                prior_mean=np.array([0.0, 1.0, 1.0])[keep],
                prior_precision=np.ones(len(keep)),
                sample_weight=w,
            )
            negative = [k for k, c in zip(keep, coef, strict=True) if k > 0 and c < 0]
            if not negative:
                break
            keep = [k for k in keep if k not in negative]
        self.coef_ = np.zeros(3)
        self.coef_[keep] = coef
        return self

    @staticmethod
    def _design(p: Any) -> np.ndarray:
        q = np.clip(np.asarray(p, dtype=float).ravel(), _EPS, 1 - _EPS)
        return np.column_stack([np.ones_like(q), np.log(q), -np.log1p(-q)])

    def transform(self, p: Any) -> np.ndarray:
        """Calibrated probabilities, same shape as ``p``."""
        shape = np.shape(p)
        return expit(self._design(p) @ self.coef_).reshape(shape)


_RESIDUAL_GRID = np.linspace(-40.0, 10.0, 2001)
"""Standardised residuals at which :class:`ResidualCalibrator` stores its CDF (step 0.025; the
left end reaches the largest shocks, ndtri of the smallest normal P is about -38)."""


_STRICT = 1e-3
"""Share of Φ blended into the local residual map so that it is strictly increasing."""


class ResidualCalibrator:
    """Smearing: P = F((log z − ŷ) / σ̂), F the smoothed CDF of standardised residuals.

    A consumption model with normal errors says P = Φ(t), t = (log z − ŷ)/σ̂. When the true errors
    are not normal (a heavy left tail of shocks: σ̂ is inflated by the tail, so Φ is too flat,
    too high between 0.1 and 0.5 and too low above), the (weighted) distribution of out-of-fold
    standardised residuals e = (log y − ŷ)/σ̂ gives P = P(e < t) directly (Duan's smearing
    applied to the poverty probability). It is learned from every household's residual, not
    only from the few extreme-poor ones, so the top of the range is estimated from the many
    households whose residual lies near t, not from the few dozen above P = 0.5.

    ``transform`` takes the model's own normal P and returns F(Φ⁻¹(P)): an increasing map of
    P, hence of the linear predictor, so exact intervals map end to end. The CDF is a Gaussian
    kernel smoothing of the weighted empirical one (bandwidth by Silverman's robust rule),
    stored on a fixed grid of 2,001 points; no residual is kept.
    """

    def __init__(self, locality: float | None = None, degree: int = 1):
        self.locality = locality
        self.degree = degree

    def fit(
        self, residuals: Any, sample_weight: Any = None, position: Any = None
    ) -> ResidualCalibrator:
        """Learn the CDF from out-of-fold standardised residuals.

        Parameters
        ----------
        residuals : array-like of shape (n,)
            Out-of-fold (log y − ŷ)/σ̂.
        sample_weight : array-like of shape (n,), optional
        position : array-like of shape (n,), optional
            Each household's own t = (log z − ŷ)/σ̂ (Φ⁻¹ of its out-of-fold P); needed when
            ``locality`` is set.

        Returns
        -------
        self
        """
        e = np.asarray(residuals, dtype=float).ravel()
        w = np.ones_like(e) if sample_weight is None else np.asarray(sample_weight, dtype=float)
        t_own = np.zeros_like(e) if position is None else np.asarray(position, dtype=float)
        if self.locality is not None and position is None:
            raise ValueError("a local residual map needs position= (each household's own t)")
        keep = np.isfinite(e) & (w > 0) & np.isfinite(t_own)
        e, w, t_own = e[keep], w[keep], t_own[keep]
        if e.size < 2:
            raise ValueError("the residual map needs at least two out-of-fold residuals")
        w = w / w.sum()
        mean = float(np.sum(w * e))
        sd = float(np.sqrt(np.sum(w * (e - mean) ** 2)))
        order = np.argsort(e, kind="stable")
        cum = np.cumsum(w[order])
        q25, q75 = np.interp([0.25, 0.75], cum - 0.5 * w[order], e[order])
        spread = min(sd, (q75 - q25) / 1.349) or sd or 1.0
        n_eff = 1.0 / float(np.sum(w**2))
        self.bandwidth_ = 0.9 * spread * n_eff ** (-0.2)
        if self.locality is None:
            # the CDF on the grid, in blocks so that memory stays bounded by block x grid
            cdf = np.zeros_like(_RESIDUAL_GRID)
            for start in range(0, e.size, 1024):
                part = slice(start, start + 1024)
                z = (_RESIDUAL_GRID[None, :] - e[part, None]) / self.bandwidth_
                cdf += w[part] @ ndtr(z)
            self.cdf_ = np.clip(np.maximum.accumulate(cdf), 0.0, 1.0)
            return self
        self.cdf_ = self._local_cdf(e, w, t_own)
        return self

    def _local_cdf(self, e: np.ndarray, w: np.ndarray, t_own: np.ndarray) -> np.ndarray:
        """P(e < t | households whose own t is near t).

        The residual distribution is not the same everywhere: among the unreached, households
        with poor proxies were left out of programmes mostly when their consumption was not
        that low, and the households a model ranks highest out of fold are partly there by
        its estimation error; both thin the left tail where t is high. Each grid point
        therefore uses the residuals of the households whose own t is near it (Gaussian kernel
        of width ``locality``), by a local-linear fit in t (``degree=1``: a local mean would be
        pulled toward the many households below the top, where the tail is heavier), falling
        back to the local mean where fewer than 30 households carry the weight (beyond the
        data, where the nearest households count). The result is made increasing by a
        weighted isotonic fit (weights: the local mass).
        """
        grid = _RESIDUAL_GRID
        est = np.zeros_like(grid)
        log_mass = np.full(grid.shape, -np.inf)
        step = 128
        h = float(self.locality)  # type: ignore[arg-type]
        for start in range(0, grid.size, step):
            g = grid[start : start + step]
            d = t_own[None, :] - g[:, None]
            logk = -0.5 * (d / h) ** 2 + np.log(w)[None, :]
            top = logk.max(axis=1, keepdims=True)
            k = np.exp(logk - top)
            y = ndtr((g[:, None] - e[None, :]) / self.bandwidth_)
            s0 = k.sum(axis=1)
            t0 = np.sum(k * y, axis=1)
            local = t0 / s0
            if self.degree == 1:
                s1, s2 = np.sum(k * d, axis=1), np.sum(k * d * d, axis=1)
                t1 = np.sum(k * d * y, axis=1)
                det = s0 * s2 - s1**2
                n_eff = s0**2 / np.sum(k * k, axis=1)
                ok = (n_eff >= 30) & (det > 1e-12 * s0 * s2)
                linear = (s2 * t0 - s1 * t1) / np.where(ok, det, 1.0)
                local = np.where(ok, np.clip(linear, 0.0, 1.0), local)
            est[start : start + step] = local
            log_mass[start : start + step] = top[:, 0] + np.log(s0)
        mass = np.exp(log_mass - log_mass.max())
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True)
        cdf = iso.fit(grid, est, sample_weight=np.maximum(mass, 1e-6)).predict(grid)
        # isotonic steps are flat, and a flat step would tie households that the linear
        # predictor orders (the plan breaks ties by id): a 0.1 % share of the normal CDF keeps
        # the map strictly increasing without moving the level
        return (1.0 - _STRICT) * cdf + _STRICT * ndtr(grid)

    def transform(self, p: Any) -> np.ndarray:
        """Recalibrated probabilities F(Φ⁻¹(p)), same shape as ``p``."""
        shape = np.shape(p)
        # 1e-300 keeps ndtri finite (about -37) for P that underflowed only a little
        t = ndtri(np.clip(np.asarray(p, dtype=float).ravel(), 1e-300, 1.0 - 1e-16))
        return np.interp(t, _RESIDUAL_GRID, self.cdf_).reshape(shape)


def _normal_consumption_model(model: Any) -> bool:
    """Whether ``model`` states P = Φ((log z − ŷ)/σ̂) (the residual map applies to it)."""
    return isinstance(model, (LogConsumptionOLS, PovertyWeightedPMT))


class SelectionAwarePMT(ClassifierMixin, BaseEstimator):
    """A PMT estimator of P(extreme poor | proxies, not reached by a programme).

    Parameters
    ----------
    estimator : estimator
        A PMT estimator with ``target_kind`` and ``predict_proba`` (column 1 = P(extreme)),
        possibly a :class:`~targeting.pmt.calibration.CalibratedPMT`.
    method : {"unreached", "input", "two_part"}, default "unreached"
        How selection is accounted for (see the module docstring).
    selector_C : float, default 0.1
        Inverse penalty of the two reach models of ``"two_part"`` (on standardised features).
    calibration_cv : int, default 0
        When >= 2, recalibrate P(extreme | x, not reached) on cross-fitted predictions: the
        wrapper is fitted on ``calibration_cv`` folds (whole areas when ``groups`` are given),
        an increasing map (``calibration_map``) is learned on the out-of-fold predictions (and
        residuals) of the unreached training households, and applied to the model fitted on all
        of them. Unlike a two-parameter Platt map on a hold-out, it can lower the middle of the
        range and raise the top at once (the shape of a consumption model whose errors have a
        heavy left tail), and every unreached household serves once as calibration data.
        0: no recalibration.
    calibration_map : {"residual", "beta"}, default DEFAULT_CALIBRATION_MAP ("residual")
        The map learned on the cross-fitted predictions. ``"residual"``
        (:class:`ResidualCalibrator`): the smoothed distribution of the out-of-fold
        standardised residuals of the unreached replaces the normal one (consumption models
        with normal errors, methods ``"unreached"`` and ``"input"``; other models fall back to
        ``"beta"``). ``"beta"`` (:class:`BetaCalibrator`): three parameters fitted on the
        extreme labels.
    calibration_locality : float or None, default DEFAULT_CALIBRATION_LOCALITY (1.0)
        ``"residual"`` only: when set, the residual distribution at t = (log z − ŷ)/σ̂ is
        learned from the households whose own t is near it (a Gaussian kernel of this width, in
        units of σ̂, local-linear), so it may change shape along the range; None: one
        distribution for all.

    Attributes
    ----------
    estimator_ : estimator
        The fitted estimator (of P(extreme | x) for ``"two_part"``).
    reach_all_, reach_extreme_ : estimator or None
        ``"two_part"`` only: P(not reached | x) and P(not reached | x, extreme); None without
        reached households.
    n_reached_ : int
        Training households marked reached.
    classes_ : numpy.ndarray
        ``[0, 1]`` for consumption models, the label's two classes otherwise.
    """

    def __init__(
        self,
        estimator: Any,
        method: str = "unreached",
        selector_C: float = 0.1,
        calibration_cv: int = 0,
        calibration_map: str = DEFAULT_CALIBRATION_MAP,
        calibration_locality: float | None = DEFAULT_CALIBRATION_LOCALITY,
    ):
        self.estimator = estimator
        self.method = method
        self.selector_C = selector_C
        self.calibration_cv = calibration_cv
        self.calibration_map = calibration_map
        self.calibration_locality = calibration_locality

    @property
    def target_kind(self) -> str:
        """The wrapped estimator's target: ``"consumption"`` or ``"label"``."""
        return self.estimator.target_kind

    def _check_X(self, X: Any, reset: bool) -> None:
        if hasattr(X, "iloc"):
            validate_data(self, X, reset=reset, skip_check_array=True)
        else:
            allow_nan = self.__sklearn_tags__().input_tags.allow_nan
            validate_data(
                self, X, reset=reset, ensure_all_finite="allow-nan" if allow_nan else True
            )

    def _label(self, y: np.ndarray) -> np.ndarray:
        if self.target_kind == "consumption":
            return (np.asarray(y, dtype=float) < float(self.estimator.line)).astype(int)
        return (np.asarray(y) == self.classes_[-1]).astype(int)

    def _fit_inner(self, X: Any, y: np.ndarray, w: np.ndarray | None, groups: Any) -> Any:
        inner = clone(self.estimator)
        params: dict[str, Any] = {"sample_weight": w}
        if groups is not None and "groups" in inspect.signature(inner.fit).parameters:
            params["groups"] = groups
        return inner.fit(X, y, **params)

    def fit(
        self, X: Any, y: Any, sample_weight: Any = None, reached: Any = None, groups: Any = None
    ) -> SelectionAwarePMT:
        """Fit the estimator of P(extreme | x, not reached).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Consumption (IDR) for consumption models, the 0/1 label for label models.
        sample_weight : array-like, optional
        reached : array-like of bool, optional
            Programme reach of each training household (default: nobody reached).
        groups : array-like, optional
            Areas, passed to estimators that take them (the calibration hold-out).

        Returns
        -------
        self
        """
        if self.method not in SELECTION_METHODS:
            raise ValueError(
                f"method must be one of {', '.join(SELECTION_METHODS)}; got {self.method!r}"
            )
        if self.calibration_map not in CALIBRATION_MAPS:
            raise ValueError(
                f"calibration_map must be one of {', '.join(CALIBRATION_MAPS)}; "
                f"got {self.calibration_map!r}"
            )
        self._check_X(X, reset=True)
        y = column_or_1d(y, warn=True)
        if self.target_kind == "label":
            check_classification_targets(y)
            classes = np.unique(y)
            if len(classes) != 2:
                kind = type_of_target(y)
                raise ValueError(
                    "Only binary classification is supported (extreme poor or not); "
                    f"the target is {kind} with {len(classes)} class(es)"
                )
            self.classes_ = classes
        else:
            self.classes_ = np.array([0, 1])
        n = len(y)
        reached = np.zeros(n, dtype=bool) if reached is None else np.asarray(reached).astype(bool)
        if reached.shape != (n,):
            raise ValueError(f"reached has {reached.size} values for {n} training rows")
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        groups = None if groups is None else np.asarray(groups)
        self.n_reached_ = int(reached.sum())
        self.reach_all_ = self.reach_extreme_ = None
        if self.method == "unreached" and self.n_reached_:
            keep = np.flatnonzero(~reached)
            if keep.size == 0:
                raise ValueError("every training household is reached: nothing to fit on")
            self.estimator_ = self._fit_inner(
                _take(X, keep),
                y[keep],
                None if w is None else w[keep],
                None if groups is None else groups[keep],
            )
        elif self.method == "input":
            self.estimator_ = self._fit_inner(_with_reach(X, reached), y, w, groups)
        else:
            self.estimator_ = self._fit_inner(X, y, w, groups)
        if self.method == "two_part" and 0 < self.n_reached_ < n:
            label = self._label(y)
            self.reach_all_ = self._fit_reach(X, ~reached, w)
            extreme = np.flatnonzero(label == 1)
            if np.unique(reached[extreme]).size == 2:
                self.reach_extreme_ = self._fit_reach(
                    _take(X, extreme), ~reached[extreme], None if w is None else w[extreme]
                )
            else:  # all extreme poor on one side: P(not reached | x, extreme) is that side
                self.reach_all_ = None
        self.calibrator_ = None
        if self.calibration_cv and self.calibration_cv >= 2:
            self.calibrator_ = self._cross_fitted_calibration(X, y, w, reached, groups)
        return self

    def _cross_fitted_calibration(
        self,
        X: Any,
        y: np.ndarray,
        w: np.ndarray | None,
        reached: np.ndarray,
        groups: np.ndarray | None,
    ) -> BetaCalibrator | ResidualCalibrator | None:
        """The recalibration map learned on out-of-fold predictions of the unreached."""
        n = len(y)
        if groups is not None and len(np.unique(groups)) >= self.calibration_cv:
            splits = GroupKFold(n_splits=self.calibration_cv).split(np.zeros(n), y, groups)
        else:
            splits = KFold(n_splits=self.calibration_cv, shuffle=True, random_state=0).split(
                np.zeros(n)
            )
        label = self._label(y)
        residual_map = (
            self.calibration_map == "residual"
            and self.method != "two_part"
            and self.target_kind == "consumption"
            and _normal_consumption_model(self.estimator_)
        )
        oof = np.full(n, np.nan)
        resid = np.full(n, np.nan)
        for train, test in splits:
            if np.unique(label[train]).size < 2:
                continue
            inner = clone(self).set_params(calibration_cv=0)
            inner.fit(
                _take(X, train),
                y[train],
                sample_weight=None if w is None else w[train],
                reached=reached[train],
                groups=None if groups is None else groups[train],
            )
            X_test = _take(X, test)
            oof[test] = inner.predict_proba(X_test)[:, 1]
            if residual_map:
                fitted = np.log(inner.predict_consumption(X_test))
                resid[test] = (np.log(y[test]) - fitted) / inner.estimator_.sigma_
        if residual_map:
            use = ~reached & np.isfinite(resid)
            if use.sum() >= 2:
                return ResidualCalibrator(self.calibration_locality).fit(
                    resid[use], None if w is None else w[use], position=ndtri(oof[use])
                )
        use = ~reached & np.isfinite(oof)
        if np.unique(label[use]).size < 2:
            return None
        return BetaCalibrator().fit(oof[use], label[use], None if w is None else w[use])

    def _fit_reach(self, X: Any, not_reached: np.ndarray, w: np.ndarray | None) -> Any:
        model = make_pipeline(
            StandardScaler(), LogisticRegression(C=self.selector_C, max_iter=1000)
        )
        ww = None if w is None else w * (len(w) / w.sum())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(
                np.asarray(X, dtype=float),
                not_reached.astype(int),
                logisticregression__sample_weight=ww,
            )
        return model

    def _scoring_X(self, X: Any) -> Any:
        if self.method == "input":
            return _with_reach(X, np.zeros(_n_rows(X), dtype=bool))
        return X

    def _reach_ratio(self, X: Any) -> np.ndarray:
        """P(not reached | x, extreme) / P(not reached | x) (1 without reach models)."""
        if self.reach_all_ is None or self.reach_extreme_ is None:
            return np.ones(_n_rows(X))
        Xa = np.asarray(X, dtype=float)
        p_all = np.clip(self.reach_all_.predict_proba(Xa)[:, 1], 1e-6, 1.0)
        return self.reach_extreme_.predict_proba(Xa)[:, 1] / p_all

    def predict_proba(self, X: Any) -> np.ndarray:
        """P(not extreme | x, not reached) and P(extreme poor | x, not reached).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray of shape (n_samples, 2)
        """
        check_is_fitted(self)
        self._check_X(X, reset=False)
        p = self.estimator_.predict_proba(self._scoring_X(X))[:, 1]
        if self.method == "two_part":
            p = np.clip(p * self._reach_ratio(X), 0.0, 1.0)
        if self.calibrator_ is not None:
            p = self.calibrator_.transform(p)
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """Predict the positive class (extreme poor) when P(extreme | x, not reached) > 0.5."""
        p = self.predict_proba(X)[:, 1]
        return self.classes_[(p > 0.5).astype(int)]

    def proba_draws(self, X: Any, n_draws: int, random_state: Any = None) -> np.ndarray:
        """Draws of P(extreme | x, not reached) from the wrapped estimator's parameter draws.

        Returns
        -------
        numpy.ndarray of shape (n_samples, n_draws)
        """
        check_is_fitted(self)
        if not hasattr(self.estimator_, "proba_draws"):
            p = self.predict_proba(X)[:, 1]
            return np.repeat(p[:, None], n_draws, axis=1)
        draws = self.estimator_.proba_draws(self._scoring_X(X), n_draws, random_state)
        if self.method == "two_part":
            draws = np.clip(draws * self._reach_ratio(X)[:, None], 0.0, 1.0)
        if self.calibrator_ is not None:
            draws = self.calibrator_.transform(draws)
        return draws

    @available_if(lambda self: hasattr(self.estimator, "proba_interval"))
    def proba_interval(self, X: Any, alpha: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
        """Exact interval of P(extreme | x, not reached) from the wrapped estimator's.

        The reach ratio (``two_part``) and the recalibration map are increasing in P, so they
        carry the ends of the wrapped model's exact interval to the ends of this one.

        Returns
        -------
        (p_low, p_high) : tuple of numpy.ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        low, high = self.estimator_.proba_interval(self._scoring_X(X), alpha)
        if self.method == "two_part":
            ratio = self._reach_ratio(X)
            low, high = np.clip(low * ratio, 0.0, 1.0), np.clip(high * ratio, 0.0, 1.0)
        if self.calibrator_ is not None:
            low, high = self.calibrator_.transform(low), self.calibrator_.transform(high)
        return np.minimum(low, high), np.maximum(low, high)

    def predict_consumption(self, X: Any) -> np.ndarray:
        """Consumption per capita (IDR) of a consumption model, as fitted (see ``method``)."""
        check_is_fitted(self)
        return self.estimator_.predict_consumption(self._scoring_X(X))

    def summary(self, **kwargs: Any) -> Any:
        """The wrapped estimator's statsmodels summary."""
        check_is_fitted(self)
        return self.estimator_.summary(**kwargs)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        base = self.estimator.__sklearn_tags__()
        tags.input_tags.allow_nan = base.input_tags.allow_nan
        return tags
