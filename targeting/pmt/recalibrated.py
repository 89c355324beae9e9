"""Recalibrating a fitted PMT model on verified field outcomes (issue #4).

The champion is fitted on the survey; the field then tells, household by household, who is
really extremely poor. :class:`RecalibratedPMT` keeps the fitted model (``base``) as it is and
learns a logistic map of its log-odds on the verified labels::

    P(extreme) = expit(a + b · logit(p_base) + u[kelurahan])

Prior toward the identity
-------------------------
Field labels are few at first and come from the top of the ranking (a narrow range of
``p_base``), so an unpenalised fit is unstable. The parameters have a Gaussian prior centred on
the identity map (``a = 0``, ``b = 1``, ``u = 0``): the penalised log-likelihood is

    Σ w_i log-lik_i − ½ λ (a² + (b − 1)²) − ½ τ Σ_g u_g²

with ``λ = prior_strength`` and ``τ = group_strength``. With no labels the map is the identity;
as labels accumulate the data dominate. Below ``min_labels`` labels (or fewer than 10 of either
class) the slope is not fitted at all: ``b = 1`` and only the intercept (and the optional area
offsets) move, the recalibration-in-the-large of Steyerberg (2019, ch. 20). The fit is a
Newton–Raphson with step halving on the (strictly concave) penalised likelihood; the inverse
Hessian is kept as the Laplace covariance of the parameters, so intervals can include the
recalibration's own uncertainty (:meth:`RecalibratedPMT.proba_draws`).

Where the map applies (``support``)
-----------------------------------
Verified households come from the top of the ranking (plus a thin audit sample), so the labels
say nothing about the bulk of low scores, where most of the unreached stock is. A map fitted on
the top and applied everywhere moves the bulk by extrapolation: on synthetic Serang one round of
2,680 visits (realised hit rate ≈ 0.35 among the top-ranked) lifted the expected unreached stock
from ≈ 4,000 to ≈ 19,000 (truth ≈ 2,850). With ``support="visited"`` the map's change to the
log-odds, ``d(z) = a + (b − 1) z + u_g``, holds only over the range where labels are dense
(``z_lo, z_hi``: the ``support_quantile`` and ``1 − support_quantile`` quantiles of the labels'
``z``); above ``z_hi`` the change stays ``d(z_hi)``, and below ``z_lo`` it fades linearly to zero
over ``taper_`` log-odds units, so the bulk keeps the base model's level, which the survey
calibrated (DESIGN §3). ``taper_`` is at least 1 and twice the largest ``|d(z_lo)|``, so the map
stays increasing (the ranking within a kelurahan is never reversed)::

    η = z + w(z) · (a + (b − 1) · clip(z, z_lo, z_hi) + u_g),
    w(z) = clip(1 − (z_lo − z) / taper_, 0, 1)  (1 above z_lo)

``support="everywhere"`` is the plain map (``w = 1``, no clip).

Area offsets
------------
The proxies do not see everything that makes an area poor. With ``group_column`` set (e.g.
``"kelurahan"``), each area gets an offset ``u_g`` shrunk toward 0 (a random intercept fitted by
penalised likelihood); an area never verified keeps ``u_g = 0``. Unlike a monotone map of
``p_base``, the offsets can change which kelurahan the plan visits first.

How much to shrink them (``group_strength="auto"``) is learnt from the labels: the precision
``τ`` maximises the Laplace approximation of the marginal likelihood of the labels (empirical
Bayes, the random-intercept logit's restricted likelihood in the style of Breslow & Clayton
1993)::

    log p(y | τ) ≈ ℓ(θ̂_τ) − ½ Σ prior_j (θ̂_τ) + ½ G log τ − ½ log det H(θ̂_τ)

(``G`` areas with labels, ``H`` the penalised negative Hessian). An area effect of sd 0.08 on
log consumption is about 0.6–1.0 on the log-odds near the line, so a fixed ``τ = 100`` (sd 0.1)
threw most of what the field measured away; on synthetic Serang, from field labels alone, the
data chose ``τ`` ≈ 1.5–4.6 (benchmarks/README.md, learning from visits).

An area-level covariate (``group_covariate``: area → value, e.g. the survey's estimate of each
kelurahan's effect on log consumption, :func:`targeting.feedback.area_effects.survey_area_effects`)
enters as ``u_g = β s_g + v_g``: its coefficient ``β`` is learnt from the labels (a weak prior),
the ``v_g`` are the shrunk random part. Areas no label has reached yet get ``β s_g``.

Proxy terms
-----------
A map of ``p_base`` and area offsets never reorder households *within* an area. With
``feature_strength`` set, every input of the base model's last step (after its preprocessing,
standardised on the labels, weighted) gets a coefficient ``γ_j`` with a ridge prior of
precision ``κ``, and acts as the offsets do (on the probit above the floor when there is one;
faded below the labels' range when the offsets are)::

    u_i = u_g + Σ_j γ_j x_ij

The survey pinned the proxies' effects with a few hundred extreme-poor households; the field
verifies thousands among exactly the unreached, chosen by the plan from the proxies and the area,
so the labels are ignorable given the inputs the terms use. ``κ`` is chosen, with ``τ``, by the
same marginal likelihood over :data:`FEATURE_STRENGTH_GRID` (``feature_strength="auto"``; the
evidence then also has ``+ ½ p log κ`` for the ``p`` terms). Like the slope, the terms are
fitted only with ``min_labels`` labels and 10 of each class.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import expit, ndtr, ndtri
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
from threadpoolctl import threadpool_limits

from targeting.pmt.calibration import clipped_logit, fit_penalised_logit
from targeting.pmt.classifiers import binary_classes
from targeting.pmt.linear import mvn_factor

__all__ = ["RecalibratedPMT", "has_preprocessing"]

_METHODS = ("platt", "intercept")
_SUPPORTS = ("everywhere", "visited")

AUTO_STRENGTH_BOUNDS = (0.25, 1_000.0)
"""Range searched for the offsets' precision with ``group_strength="auto"`` (sd 2 to 0.03 on the
log-odds)."""

FEATURE_STRENGTH_GRID: tuple[float, ...] = (3.0, 10.0, 30.0, 100.0, 300.0, 1_000.0, 10_000.0)
"""Precisions of the proxy terms searched with ``feature_strength="auto"`` (sd 0.58 to 0.01 per
standardised input on the probit above the floor)."""

_COVARIATE_PRECISION = 1e-4
"""Prior precision of the area covariate's coefficient: weak (sd 100), the labels set it."""


def has_preprocessing(model: Any) -> bool:
    """Whether ``model`` is a pipeline with steps before its last (what the proxy terms use)."""
    return hasattr(model, "steps") and len(model.steps) > 1


def _numeric_inputs(inputs: Any) -> np.ndarray:
    """The last step's inputs as a float matrix, or one sentence saying what the terms need."""
    try:
        return np.asarray(inputs, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            "feature_strength needs numeric inputs to the base model's last step (a Pipeline "
            "whose earlier steps encode every column, or a numeric X); use "
            "feature_strength=None with this base"
        ) from exc


def _penalised_objective(
    design: np.ndarray,
    y: np.ndarray,
    offset: np.ndarray,
    coef: np.ndarray,
    mean: np.ndarray,
    prec: np.ndarray,
    w: np.ndarray | None,
) -> float:
    """Negative penalised log-likelihood (what ``fit_penalised_logit`` minimises)."""
    eta = offset + design @ coef
    weights = np.ones(len(y)) if w is None else w
    nll = float(np.sum(weights * (np.logaddexp(0.0, eta) - y * eta)))
    return nll + 0.5 * float(np.sum(prec * (coef - mean) ** 2))


def _log_evidence(
    tau: float,
    design: np.ndarray,
    y: np.ndarray,
    offset: np.ndarray,
    mean: np.ndarray,
    prec: np.ndarray,
    is_group: np.ndarray,
    w: np.ndarray | None,
    is_feature: np.ndarray | None = None,
    kappa: float | None = None,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Laplace log marginal likelihood of the labels given the offsets' precision ``tau`` and
    the proxy terms' precision ``kappa`` (up to a constant), and the fit at those precisions."""
    prec_tau = np.where(is_group, tau, prec)
    log_prior_norm = 0.5 * int(is_group.sum()) * np.log(tau)
    if is_feature is not None and kappa is not None and is_feature.any():
        prec_tau = np.where(is_feature, kappa, prec_tau)
        log_prior_norm += 0.5 * int(is_feature.sum()) * np.log(kappa)
    coef, cov = fit_penalised_logit(design, y, offset, mean, prec_tau, sample_weight=w)
    _, logdet_cov = np.linalg.slogdet(cov)
    value = (
        -_penalised_objective(design, y, offset, coef, mean, prec_tau, w)
        + log_prior_norm
        + 0.5 * logdet_cov
    )
    return float(value), coef, cov


class RecalibratedPMT(ClassifierMixin, BaseEstimator):
    """A fitted PMT model whose P(extreme) is recalibrated on verified field outcomes.

    Parameters
    ----------
    base : estimator or Pipeline
        The model to recalibrate, with ``predict_proba`` (column 1 = P(extreme)). A fitted base
        is used as it is and never refitted (the survey it was fitted on is not needed); an
        unfitted base is first fitted (a clone) on the same ``X, y``, which is only useful for
        tests and generic tooling.
    method : {"platt", "intercept"}, default "platt"
        ``"platt"`` fits intercept and slope on ``logit(p_base)``; ``"intercept"`` only the
        intercept (slope 1).
    prior_strength : float, default 10.0
        Precision ``λ`` of the Gaussian prior of ``(a, b − 1)`` around the identity map.
    min_labels : int, default 200
        Below this many labels, or fewer than 10 of either class, only the intercept is fitted.
    group_column : str or None, default None
        Column of ``X`` (a DataFrame) naming the area of each household; each area gets an
        offset shrunk toward 0. The column is removed before ``X`` goes to ``base``, unless
        ``base`` was fitted with it.
    group_strength : float or "auto", default 100.0
        Precision ``τ`` of the area offsets' prior (standard deviation ``1/√τ``; 100: 0.1 on the
        log-odds, strong shrinkage). ``"auto"`` chooses ``τ`` by the labels' Laplace marginal
        likelihood within :data:`AUTO_STRENGTH_BOUNDS` (empirical Bayes, see the module
        docstring; the default of :func:`targeting.feedback.rounds.refit_on_labels`).
    group_covariate : mapping or None, default None
        Area → an area-level covariate ``s_g`` (e.g. the survey's shrunk estimate of the area's
        effect on log consumption); the offsets become ``β s_g + v_g`` with ``β`` fitted on the
        labels. Areas missing from the mapping have ``s_g = 0``. Needs ``group_column``.
    offset_floor : float or None, default None
        A probability ``f`` below which the area offsets do not act: ``p = f + (1 − f) q`` and
        an offset ``u`` moves the probit of ``q``, ``q' = Φ(Φ⁻¹(q) + u)`` (None or 0: the
        offsets add to every household's log-odds). Part of extreme poverty is transitory (a
        shock the proxies cannot see) and owes nothing to the area; the bulk of a registry sits
        at that floor (synthetic Serang: the 25 %–90 % quantiles of the eligible unreached's
        base probability are all ≈ 0.012–0.013, and there the area effect on the label is
        ≈ 0). An offset applied to the bulk ranked floor households of poor kelurahan into the
        plan (round-3 finds 0.55 × the plan without feedback, with the true area effects). The
        probit, the index of a consumption model, is how a shift of log consumption moves
        P(extreme): its effect on the log-odds grows toward the tail, as the truth shows
        (about −7 per unit of log consumption at the top of the ranking, −11 to −12 at
        P ≈ 0.03–0.1), where a logit offset fitted at the top under-corrected the later rounds.

    support : {"everywhere", "visited"}, default "everywhere"
        Where the map changes the base model's log-odds (see the module docstring): everywhere,
        or only over the labels' range, fading back to the base model below it.
    support_quantile : float, default 0.05
        With ``support="visited"``, the labels' range is from this quantile of their base
        log-odds to ``1 −`` it (robust to the few audit labels far below the ranked visits).

    knots : tuple of float, default ()
        Quantiles of the labels' base log-odds at which the map's slope may change (hinge terms
        ``c_k (z_k − z)_+`` with the slope's prior; only when the slope is fitted): the base
        model's errors need not be linear in its log-odds.
    fade_offsets : bool, default True
        With ``support="visited"``, whether the area offsets fade below the labels' range with
        the map (True) or apply to every household of the area (False: an area's offset is a
        level for the whole area, and shrunk, so it may move the plan between areas).
    feature_strength : float, "auto" or None, default None
        Proxy terms: the base model's own inputs (the output of its preprocessing steps,
        standardised on the labels) get a ridge-penalised coefficient each, acting as the
        area offsets do (above the floor, on the probit, with a floor; faded with them when
        they fade). Only with ``min_labels`` labels (as the slope). They let the labels
        reorder households *within* an area: the survey fitted the proxies' effects on a few
        hundred extreme-poor households, the field verifies thousands among the unreached, and
        since the plan chose whom to visit from the proxies and the area alone, the labels are
        a sample that is ignorable given those inputs. ``None`` (no proxy terms), a prior
        precision ``κ``, or ``"auto"``: ``κ`` from :data:`FEATURE_STRENGTH_GRID` by the labels'
        Laplace marginal likelihood (jointly with ``group_strength="auto"``).

    Attributes
    ----------
    base_ : estimator
        The (fitted) base model.
    coef_ : numpy.ndarray of shape (2,)
        ``[a, b]``: intercept and slope of the map.
    slope_fitted_ : bool
        Whether ``b`` was estimated (else fixed at 1).
    group_offsets_ : dict
        Area → offset (empty without ``group_column``): ``β s_g + v_g`` with a covariate, for
        every area of the labels or of the covariate.
    group_strength_ : float
        The offsets' prior precision used (``group_strength``, or the one chosen with "auto").
    group_covariate_coef_ : float
        ``β`` (0 without ``group_covariate``).
    offset_floor_ : float
        The floor used (0: none).
    cov_ : numpy.ndarray
        Laplace covariance of the fitted parameters, in this order: ``a``, ``b`` (if fitted),
        the knots' coefficients, ``β`` (with a covariate), the labelled areas' offsets, the
        proxy terms' coefficients.
    n_labels_ : int
        Number of labels the map was fitted on.
    support_range_ : tuple of float
        ``(z_lo, z_hi)``: where the map applies in full (``(-inf, inf)`` with
        ``support="everywhere"``).
    taper_ : float
        Width (log-odds) over which the map fades out below ``z_lo`` (``inf``: no fading).
    feature_strength_ : float or None
        The proxy terms' prior precision used (None: no proxy terms).
    feature_coef_ : numpy.ndarray
        The proxy terms' coefficients, one per standardised base input (empty without them).
    feature_mean_, feature_scale_ : numpy.ndarray
        The labels' weighted mean and standard deviation of each base input (with proxy
        terms only; a constant input gets scale 1 and so no term).
    classes_ : numpy.ndarray
    """

    def __init__(
        self,
        base: Any,
        method: str = "platt",
        prior_strength: float = 10.0,
        min_labels: int = 200,
        group_column: str | None = None,
        group_strength: float | str = 100.0,
        support: str = "everywhere",
        support_quantile: float = 0.05,
        knots: tuple[float, ...] = (),
        fade_offsets: bool = True,
        group_covariate: Mapping[str, float] | None = None,
        offset_floor: float | None = None,
        feature_strength: float | str | None = None,
    ):
        self.base = base
        self.method = method
        self.prior_strength = prior_strength
        self.min_labels = min_labels
        self.group_column = group_column
        self.group_strength = group_strength
        self.support = support
        self.support_quantile = support_quantile
        self.knots = knots
        self.fade_offsets = fade_offsets
        self.group_covariate = group_covariate
        self.offset_floor = offset_floor
        self.feature_strength = feature_strength

    # --- helpers ------------------------------------------------------------------------------

    def _base_input(self, X: Any) -> Any:
        if self.group_column is None or not hasattr(X, "columns"):
            return X
        names = getattr(self.base_, "feature_names_in_", None)
        if names is not None and self.group_column in list(names):
            return X
        return X.drop(columns=[self.group_column], errors="ignore")

    def _groups(self, X: Any) -> np.ndarray | None:
        if self.group_column is None:
            return None
        if not hasattr(X, "columns") or self.group_column not in X.columns:
            raise ValueError(
                f"group_column={self.group_column!r} is set: X must be a DataFrame with that column"
            )
        return X[self.group_column].astype(str).to_numpy()

    def _check_X(self, X: Any, reset: bool) -> None:
        if hasattr(X, "iloc"):
            validate_data(self, X, reset=reset, skip_check_array=True)
        else:
            validate_data(self, X, reset=reset, ensure_all_finite="allow-nan")

    def base_proba(self, X: Any) -> np.ndarray:
        """P(extreme) of the base model before recalibration, shape (n_samples,)."""
        check_is_fitted(self)
        self._check_X(X, reset=False)
        return self.base_.predict_proba(self._base_input(X))[:, 1]

    def _last_step(self, Xb: Any) -> tuple[Any, Any]:
        """The base model's last step and its input: ``Xb`` after the base's preprocessing (a
        frame keeps its names), so the preprocessing runs once for the base and the terms."""
        if not hasattr(self.base_, "steps"):
            return self.base_, Xb
        final = self.base_.steps[-1][1]
        return final, self.base_[:-1].transform(Xb) if has_preprocessing(self.base_) else Xb

    def _base_and_terms(self, X: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """The base model's P(extreme) and the standardised proxy terms (None without them),
        preprocessing ``X`` once."""
        check_is_fitted(self)
        self._check_X(X, reset=False)
        Xb = self._base_input(X)
        if not len(getattr(self, "feature_coef_", ())):
            return self.base_.predict_proba(Xb)[:, 1], None
        final, Xt = self._last_step(Xb)
        terms = (_numeric_inputs(Xt) - self.feature_mean_) / self.feature_scale_
        return final.predict_proba(Xt)[:, 1], terms

    def _offsets(self, groups: np.ndarray | None, n: int) -> np.ndarray:
        if groups is None or not self.group_offsets_:
            return np.zeros(n)
        return np.array([self.group_offsets_.get(g, 0.0) for g in groups])

    def _apply(self, z: np.ndarray, a: Any, b: Any, u: Any, c: Any = ()) -> np.ndarray:
        """η for log-odds ``z`` and map parameters (broadcast: scalars or one column per draw)."""
        # a model saved before ``support`` existed applies its map everywhere
        lo, hi = getattr(self, "support_range_", (-np.inf, np.inf))
        knots = getattr(self, "knots_", np.zeros(0))
        zc = np.clip(z, lo, hi)
        change = a + (b - 1.0) * zc
        for k, ck in zip(knots, c, strict=True):
            change = change + ck * np.maximum(k - zc, 0.0)
        if not np.isfinite(lo):
            return self._add_offsets(z + change, u)
        w = np.clip(1.0 - (lo - z) / self.taper_, 0.0, 1.0)
        if getattr(self, "fade_offsets", True):
            return self._add_offsets(z + w * change, w * u)
        return self._add_offsets(z + w * change, u)

    def _add_offsets(self, eta: np.ndarray, u: Any) -> np.ndarray:
        """Log-odds ``eta`` moved by area offsets ``u`` that act above the floor only.

        With a floor ``f`` (``offset_floor_``), ``p = f + (1 − f) q`` and the offset moves the
        probit of ``q``: a household at the floor keeps ``p`` (see ``offset_floor``). Without a
        floor, ``eta + u``.
        """
        floor = float(getattr(self, "offset_floor_", 0.0))
        if floor <= 0.0:
            return eta + u
        p = expit(eta)
        f = np.minimum(floor, p)
        q = (p - f) / (1.0 - f)
        with np.errstate(divide="ignore"):
            moved = f + (1.0 - f) * ndtr(ndtri(q) + u)
        moved = np.clip(moved, 1e-15, 1.0 - 1e-15)
        return np.log(moved) - np.log1p(-moved)

    def _offset_loading(self, eta: np.ndarray) -> np.ndarray:
        """d(log-odds)/d(offset) at offset 0 (0 at or below the floor; 1 without one): the
        offsets' columns of the fit, so it learns them where and as they act."""
        floor = float(getattr(self, "offset_floor_", 0.0))
        if floor <= 0.0:
            return np.ones_like(eta)
        p = expit(eta)
        f = np.minimum(floor, p)
        q = (p - f) / (1.0 - f)
        with np.errstate(divide="ignore", invalid="ignore"):
            density = np.nan_to_num(np.exp(-0.5 * ndtri(q) ** 2) / np.sqrt(2.0 * np.pi))
        return (1.0 - f) * density / (p * (1.0 - p))

    def _linear(
        self, z: np.ndarray, groups: np.ndarray | None, terms: np.ndarray | None
    ) -> np.ndarray:
        u = self._offsets(groups, len(z))
        if terms is not None:
            u = u + terms @ self.feature_coef_
        return self._apply(z, self.coef_[0], self.coef_[1], u, getattr(self, "knot_coef_", ()))

    # --- fit / predict ------------------------------------------------------------------------

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> RecalibratedPMT:
        """Learn the map from the base model's log-odds to the verified labels.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)
            What the base model takes (plus ``group_column`` when set).
        y : array-like of shape (n_samples,)
            Verified labels; the larger class value (1, ``True``) is "extreme poor".
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        if self.method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}, got {self.method!r}")
        if self.support not in _SUPPORTS:
            raise ValueError(f"support must be one of {_SUPPORTS}, got {self.support!r}")
        if not 0.0 <= self.support_quantile < 0.5:
            raise ValueError(f"support_quantile must be in [0, 0.5), got {self.support_quantile!r}")
        strength = self.group_strength
        auto = isinstance(strength, str)
        if isinstance(strength, str) and strength != "auto":
            raise ValueError(f"group_strength must be > 0 or 'auto', got {strength!r}")
        if not self.prior_strength > 0 or (not isinstance(strength, str) and not strength > 0):
            raise ValueError("prior_strength and group_strength must be > 0")
        if self.group_covariate is not None and self.group_column is None:
            raise ValueError("group_covariate needs group_column: set the area column of X")
        kappa_param = self.feature_strength
        if isinstance(kappa_param, str) and kappa_param != "auto":
            raise ValueError(f"feature_strength must be > 0, 'auto' or None, got {kappa_param!r}")
        if kappa_param is not None and not isinstance(kappa_param, str) and not kappa_param > 0:
            raise ValueError(f"feature_strength must be > 0, 'auto' or None, got {kappa_param!r}")
        self._check_X(X, reset=True)
        y = column_or_1d(y, warn=True)
        self.classes_, encoded = binary_classes(y)
        label = encoded.astype(float)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        try:
            check_is_fitted(self.base)
            self.base_ = self.base
        except NotFittedError:
            self.base_ = clone(self.base)
            Xb = self._base_input(X)
            if w is None:
                self.base_.fit(Xb, y)
            else:
                self.base_.fit(Xb, y, sample_weight=w)
        groups = self._groups(X)
        final, Xt = self._last_step(self._base_input(X))
        z = clipped_logit(final.predict_proba(Xt)[:, 1])
        n_pos = int(label.sum())
        self.n_labels_ = len(label)
        self.slope_fitted_ = bool(
            self.method == "platt"
            and len(label) >= self.min_labels
            and min(n_pos, len(label) - n_pos) >= 10
        )
        self.support_range_ = (-np.inf, np.inf)
        if self.support == "visited":
            q = float(self.support_quantile)
            lo, hi = (float(v) for v in np.quantile(z, [q, 1.0 - q]))
            self.support_range_ = (lo, hi)
        self.knots_ = (
            np.quantile(z, np.asarray(self.knots, dtype=float))
            if self.slope_fitted_ and len(self.knots)
            else np.zeros(0)
        )
        columns = [np.ones_like(z)]
        mean, prec = [0.0], [float(self.prior_strength)]
        if self.slope_fitted_:
            columns.append(z)
            mean.append(1.0)
            prec.append(float(self.prior_strength))
        for k in self.knots_:
            columns.append(np.maximum(k - z, 0.0))
            mean.append(0.0)
            prec.append(float(self.prior_strength))
        covariate = (
            {str(k): float(v) for k, v in self.group_covariate.items()}
            if self.group_covariate is not None
            else {}
        )
        self.has_covariate_ = bool(covariate) and groups is not None
        floor = 0.0 if self.offset_floor is None else float(self.offset_floor)
        if not 0.0 <= floor < 1.0:
            raise ValueError(f"offset_floor must be in [0, 1), got {self.offset_floor!r}")
        self.offset_floor_ = floor
        # the offsets act through their loading (0 at the floor), in the fit as when applied
        loading = self._offset_loading(z)
        if self.has_covariate_:
            assert groups is not None
            columns.append(loading * np.array([covariate.get(g, 0.0) for g in groups]))
            mean.append(0.0)
            prec.append(_COVARIATE_PRECISION)
        levels: list[str] = []
        if groups is not None:
            levels = sorted(set(groups.tolist()))
            index = {g: i for i, g in enumerate(levels)}
            onehot = np.zeros((len(z), len(levels)))
            onehot[np.arange(len(z)), [index[g] for g in groups]] = loading
            columns.extend(onehot.T)
            mean.extend([0.0] * len(levels))
            prec.extend([1.0] * len(levels))  # replaced by the offsets' precision below
        n_terms = 0
        # like the slope, the proxy terms need enough labels of both classes
        if kappa_param is not None and self.slope_fitted_:
            inputs = _numeric_inputs(Xt)
            self.feature_mean_ = np.average(inputs, axis=0, weights=w)
            scale = np.sqrt(np.average((inputs - self.feature_mean_) ** 2, axis=0, weights=w))
            # a constant input (no label varies it) gets no term: its column is 0
            self.feature_scale_ = np.where(scale > 1e-12, scale, 1.0)
            terms = (inputs - self.feature_mean_) / self.feature_scale_
            n_terms = terms.shape[1]
            columns.extend((loading[:, None] * terms).T)
            mean.extend([0.0] * n_terms)
            prec.extend([1.0] * n_terms)  # replaced by the terms' precision below
        design = np.column_stack(columns)
        is_group = np.zeros(design.shape[1], dtype=bool)
        is_group[design.shape[1] - n_terms - len(levels) : design.shape[1] - n_terms] = True
        is_feature = np.zeros(design.shape[1], dtype=bool)
        if n_terms:
            is_feature[design.shape[1] - n_terms :] = True
        # the map is fitted on every label as a plain map of z; it is held to the labels'
        # range (clipped, faded) only when applied
        offset = np.zeros_like(z) if self.slope_fitted_ else z
        prior_mean, prior_prec = np.array(mean), np.array(prec)

        def evidence(tau: float, kappa: float | None) -> tuple[float, np.ndarray, np.ndarray]:
            return _log_evidence(
                tau, design, label, offset, prior_mean, prior_prec, is_group, w, is_feature, kappa
            )

        if kappa_param is None:
            kappas: list[float | None] = [None]
        elif kappa_param == "auto":
            kappas = list(FEATURE_STRENGTH_GRID)
        else:
            kappas = [float(kappa_param)]
        # single-threaded BLAS: a threaded sum of the same numbers depends on the caller's
        # thread count, and 'refit' and a run that learns from the same labels should agree
        # (measured on a small city: with it their interval bounds agreed to 1e-9, without not)
        with threadpool_limits(limits=1, user_api="blas"):
            tau, kappa, coef, cov = self._search(evidence, kappas, auto, bool(levels))
        self.group_strength_ = tau
        self.feature_strength_ = kappa
        self.feature_coef_ = coef[len(coef) - n_terms :].copy() if n_terms else np.zeros(0)
        a = coef[0]
        b = coef[1] if self.slope_fitted_ else 1.0
        self.coef_ = np.array([a, b])
        start = 2 if self.slope_fitted_ else 1
        self.knot_coef_ = coef[start : start + len(self.knots_)].copy()
        start += len(self.knots_)
        self.group_covariate_coef_ = float(coef[start]) if self.has_covariate_ else 0.0
        self.covariate_ = covariate if self.has_covariate_ else {}
        start += int(self.has_covariate_)
        self.group_levels_ = levels
        self.group_offsets_ = {
            g: self.group_covariate_coef_ * s_g for g, s_g in self.covariate_.items()
        }
        for i, g in enumerate(levels):
            self.group_offsets_[g] = self.group_offsets_.get(g, 0.0) + float(coef[start + i])
        self.cov_ = cov
        self.taper_ = np.inf
        if self.support == "visited":
            lo = self.support_range_[0]
            # the change of log-odds at the bottom of the range, for every area (and none)
            edge = a + (b - 1.0) * lo
            edge += float(np.sum(self.knot_coef_ * np.maximum(self.knots_ - lo, 0.0)))
            offsets = np.array([0.0, *self.group_offsets_.values()])
            edge = edge + (offsets if self.fade_offsets else 0.0)
            self.taper_ = max(1.0, 2.0 * float(np.abs(edge).max()))
        return self

    def _search(
        self,
        evidence: Callable[[float, float | None], tuple[float, np.ndarray, np.ndarray]],
        kappas: list[float | None],
        auto: bool,
        has_levels: bool,
    ) -> tuple[float, float | None, np.ndarray, np.ndarray]:
        """The precisions (τ, κ) of the largest marginal likelihood, and the fit at them: τ by
        a bounded search (with ``group_strength="auto"`` and areas), κ over ``kappas``;
        ``evidence(τ, κ)`` is :func:`_log_evidence` on the labels."""
        best: tuple[float, float, float | None] | None = None
        for kappa in kappas:
            if auto and has_levels:
                lo_tau, hi_tau = AUTO_STRENGTH_BOUNDS
                search = minimize_scalar(
                    lambda log_tau, k=kappa: -evidence(float(np.exp(log_tau)), k)[0],
                    bounds=(np.log(lo_tau), np.log(hi_tau)),
                    method="bounded",
                    options={"xatol": 0.02},
                )
                tau, value = float(np.exp(search.x)), -float(search.fun)
            else:
                tau = 100.0 if auto else float(self.group_strength)
                value = evidence(tau, kappa)[0] if len(kappas) > 1 else 0.0
            if best is None or value > best[0]:
                best = (value, tau, kappa)
        assert best is not None
        _, tau, kappa = best
        _, coef, cov = evidence(tau, kappa)
        return tau, kappa, coef, cov

    def predict_proba(self, X: Any) -> np.ndarray:
        """Recalibrated probability of each class; column 1 is P(extreme poor).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features)

        Returns
        -------
        numpy.ndarray of shape (n_samples, 2)
        """
        p_base, terms = self._base_and_terms(X)
        p = expit(self._linear(clipped_logit(p_base), self._groups(X), terms))
        return np.column_stack([1.0 - p, p])

    def decision_function(self, X: Any) -> np.ndarray:
        """Recalibrated log-odds of extreme poverty, shape (n_samples,)."""
        p_base, terms = self._base_and_terms(X)
        return self._linear(clipped_logit(p_base), self._groups(X), terms)

    def predict(self, X: Any) -> np.ndarray:
        """The class with the larger recalibrated probability."""
        p = self.predict_proba(X)[:, 1]
        return self.classes_[(p > 0.5).astype(int)]

    def proba_draws(self, X: Any, n_draws: int, random_state: Any = None) -> np.ndarray:
        """Draws of the recalibrated P(extreme): base-model draws (when the base has them)
        mapped through draws of the recalibration parameters (Laplace approximation).

        Parameters
        ----------
        X : array-like or DataFrame
        n_draws : int
        random_state : int, Generator or None

        Returns
        -------
        numpy.ndarray of shape (n_samples, n_draws)
        """
        check_is_fitted(self)
        rng = np.random.default_rng(random_state)
        final, Xt = self._last_step(self._base_input(X))
        if hasattr(final, "proba_draws"):
            raw = final.proba_draws(Xt, n_draws, rng)
        else:
            raw = np.repeat(final.predict_proba(Xt)[:, [1]], n_draws, axis=1)
        z = clipped_logit(raw)
        draws = self.cov_.shape[0]
        theta = mvn_factor(self.cov_) @ rng.standard_normal((draws, n_draws))
        a = self.coef_[0] + theta[0]
        b = self.coef_[1] + (theta[1] if self.slope_fitted_ else np.zeros(n_draws))
        groups = self._groups(X)
        u = np.zeros_like(z)
        start = 2 if self.slope_fitted_ else 1
        knots = getattr(self, "knots_", np.zeros(0))
        c = [self.knot_coef_[i] + theta[start + i][None, :] for i in range(len(knots))]
        start += len(knots)
        if groups is not None and self.group_offsets_:
            # every area with an offset: the covariate's part drawn with its coefficient, the
            # labelled areas' random part with theirs (a model saved before the covariate
            # existed has only labelled areas)
            levels = list(self.group_offsets_)
            index = {g: i for i, g in enumerate(levels)}
            offsets = np.repeat(
                np.array([self.group_offsets_[g] for g in levels])[:, None], n_draws, axis=1
            )
            if getattr(self, "has_covariate_", False):
                s_g = np.array([self.covariate_.get(g, 0.0) for g in levels])
                offsets = offsets + s_g[:, None] * theta[start][None, :]
                start += 1
            labelled = getattr(self, "group_levels_", levels)
            for i, g in enumerate(labelled):
                offsets[index[g]] += theta[start + i]
            rows = np.array([index.get(g, -1) for g in groups])
            u = np.where(rows[:, None] >= 0, offsets[np.clip(rows, 0, None)], 0.0)
        coef = getattr(self, "feature_coef_", np.zeros(0))
        if len(coef):
            # the proxy terms are the last parameters of the fit
            gamma = coef[:, None] + theta[draws - len(coef) :]
            terms = (_numeric_inputs(Xt) - self.feature_mean_) / self.feature_scale_
            u = u + terms @ gamma
        eta = self._apply(z, a[None, :], b[None, :], u, c)
        return expit(eta)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = False
        return tags
