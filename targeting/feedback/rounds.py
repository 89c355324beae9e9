"""The feedback loop: plan → field outcomes → ingest → recalibrate → re-score → next plan.

Plain Python (no MLflow). :func:`simulate_rounds` runs the loop on a synthetic city whose truth
is known, answering each plan with :class:`~.synthetic.FieldOutcomeSimulator`, and returns
one row per round. :func:`refit_on_labels` is the recalibration step shared with
``targeting refit``.

Definitions used in the per-round table
---------------------------------------
*find*
    A planned visit that was completed (not ``not_found``, ``refused`` or ``moved``) to a
    household that is truly extremely poor. Non-response finds nobody, even when the household
    is extremely poor; it stays unverified and can be planned again.
*realised hit rate*
    Recorded ``extreme_poor`` among the completed visits: what the field office observes (it
    includes the simulator's misclassification).
*predicted hit rate*
    Mean ``p_extreme`` of the same completed visits, as predicted when the plan was made.
*true hit rate*
    Share of the planned households that are truly extremely poor (no non-response, no
    misclassification): the quantity the ranking controls.
*true hit rate without feedback*
    The same for the plan the *un-recalibrated* champion would have made on the same registry
    state (verified households removed either way). The difference isolates what learning from
    the field adds to the ranking; round 1 has nothing learnt yet, so both are equal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from targeting.data import schema
from targeting.data.city import DEFAULT_LINE
from targeting.data.eligibility import eligible_for_ranking, is_reached
from targeting.data.synthetic import FieldOutcomeSimulator
from targeting.evaluation.cv import fit_final
from targeting.feedback import ingest as feedback
from targeting.feedback.area_effects import survey_area_effects
from targeting.feedback.design_estimate import (
    audit_outcomes,
    combine_rounds,
    design_estimate,
    model_stock,
)
from targeting.plan.audit import add_audit_sample
from targeting.plan.ranking import PlanCapacity, VerificationPlan, build_plan, replan
from targeting.pmt.recalibrated import RecalibratedPMT, has_preprocessing
from targeting.pmt.registry import load_specs
from targeting.pmt.scoring import assign_desil
from targeting.pmt.selection import (
    DEFAULT_CALIBRATION_CV,
    DEFAULT_SELECTION,
    MIN_UNREACHED_EXTREME,
)

__all__ = [
    "DEFAULT_FADE_OFFSETS",
    "DEFAULT_FEATURE_STRENGTH",
    "DEFAULT_GROUP_STRENGTH",
    "DEFAULT_OFFSET_FLOOR_QUANTILE",
    "DEFAULT_SUPPORT",
    "DESIGN_STOCK_COLUMNS",
    "RoundsResult",
    "fast_scores",
    "field_labels",
    "fit_champion",
    "model_input",
    "offset_floor",
    "refit_on_labels",
    "simulate_rounds",
]

DESIGN_STOCK_COLUMNS: list[str] = [
    "audit_visits",
    "unreached_extreme_at_start",
    "model_estimate_at_start",
    "design_estimate_at_start",
    "design_low_at_start",
    "design_high_at_start",
    "unreached_extreme_after",
    "design_estimate_after",
    "design_low_after",
    "design_high_after",
]
"""Columns of a rounds table that compare the unreached stock's truth, model and design estimate."""

_NON_RESPONSE = {"not_found", "refused", "moved"}

DEFAULT_SUPPORT = "visited"
"""Where a refit's map applies by default (see :func:`refit_on_labels`)."""

DEFAULT_FADE_OFFSETS = True
"""Whether a refit's kelurahan offsets and proxy terms fade below the labels' range with the map
(default: yes).

Below the range the refit fades back to the survey model, whose level the survey checked. With
the offsets kept there as a level for the whole kelurahan (the default before the proxy terms),
the next plan took the households just below the range in kelurahan with large offsets and
over-predicted them (seed 104, round 2: 0.134 predicted against 0.104 true, the survey model
0.075). Chosen on seeds 101–108 of ``benchmarks/audit_design.py``, disjoint from the ten reported
seeds: with the proxy terms, fading gave round-3 finds per visit 1.15 × the no-feedback plan's
against 1.10, and round-2 predicted / realised − 1 of +0.03 against +0.14
(benchmarks/README.md).
"""


DEFAULT_GROUP_STRENGTH: float | str = "auto"
"""Precision of a refit's kelurahan offsets (``"auto"``: chosen by the labels' marginal
likelihood, :class:`~targeting.pmt.recalibrated.RecalibratedPMT`). The former fixed 100 (sd 0.1
on the log-odds) shrank an effect of ~0.6 log-odds to a fifth; chosen on seeds 101–104 of
``benchmarks/audit_design.py``, disjoint from the ten reported seeds (benchmarks/README.md)."""


DEFAULT_FEATURE_STRENGTH: float | str | None = "auto"
"""Prior precision of a refit's proxy terms (``"auto"``: chosen by the labels' marginal
likelihood; None: none). They let the field labels reorder households within a kelurahan, where
the offsets cannot (:class:`~targeting.pmt.recalibrated.RecalibratedPMT`,
``feature_strength``). Chosen on seeds 101–104 of ``benchmarks/audit_design.py``, disjoint
from the ten reported seeds (benchmarks/README.md)."""


DEFAULT_OFFSET_FLOOR_QUANTILE = 0.5
"""Quantile of the base model's P(extreme) over the unreached households below which a
refit's kelurahan offsets do not act (:func:`offset_floor`)."""


def offset_floor(
    base: Any, registry: pd.DataFrame, quantile: float = DEFAULT_OFFSET_FLOOR_QUANTILE
) -> float:
    """The base probability of the bulk of the unreached, where area offsets stop.

    Extreme poverty the proxies cannot foresee (a transitory shock) sets a floor under every
    household's probability, and an area effect on consumption hardly moves it; the bulk of the
    unreached sits at that floor (on synthetic Serang the 25 %–90 % quantiles of the base
    probability are all ≈ 0.012–0.013). The refit's offsets act above it only
    (``offset_floor`` of :class:`~targeting.pmt.recalibrated.RecalibratedPMT`).

    Every unreached household counts, visited or not, held back or not: the floor is a property
    of the survey model and the population, so ``targeting refit`` and a ``targeting run`` that
    learns from the same working state (which holds back households after an inconclusive
    visit) get the same floor, and a simulation's floor stays the same from round to round.

    Parameters
    ----------
    base : estimator
        The survey model.
    registry : pandas.DataFrame
        Proxies and programme flags; the unreached households are scored.
    quantile : float, default :data:`DEFAULT_OFFSET_FLOOR_QUANTILE`

    Returns
    -------
    float
        0 when every household is reached.
    """
    unreached = ~is_reached(registry).to_numpy()
    if not unreached.any():
        return 0.0
    p = fast_scores(base, registry.loc[unreached], None)["p_extreme"].to_numpy()
    return float(np.quantile(p, quantile))


def fit_champion(
    survey: pd.DataFrame,
    model: str = "ols",
    seed: int = 2026,
    line: float = DEFAULT_LINE,
    selection: str | None = DEFAULT_SELECTION,
):
    """Fit one model spec of ``models/`` on the whole survey (no calibration override).

    With programme receipt in the survey the model estimates P(extreme | proxies, not reached)
    (``selection``, see :class:`~targeting.pmt.selection.SelectionAwarePMT`; None: all
    households, P(extreme | proxies)).

    Parameters
    ----------
    survey : pandas.DataFrame
        Validated survey (proxies, ``consumption_pc``, ``weight``, ``kelurahan``).
    model : str, default "ols"
        Name of the spec in ``models/``.
    seed : int
    line : float

    Returns
    -------
    sklearn.pipeline.Pipeline
    """

    spec = load_specs(names=[model])[0]
    consumption = survey["consumption_pc"].to_numpy(dtype=float)
    reached = schema.survey_reached(survey)
    return fit_final(
        spec,
        survey[schema.MODEL_COLUMNS],
        label=(consumption < line).astype(int),
        consumption=consumption,
        sample_weight=survey["weight"].to_numpy(dtype=float),
        groups=survey["kelurahan"].to_numpy(),
        seed=seed,
        line=line,
        reached=reached,
        selection=(
            {"method": selection, "calibration_cv": DEFAULT_CALIBRATION_CV}
            if reached is not None
            and selection is not None
            and int(((consumption < line) & ~reached).sum()) >= MIN_UNREACHED_EXTREME
            else None
        ),
    )


def model_input(registry: pd.DataFrame, group_column: str | None = "kelurahan") -> pd.DataFrame:
    """The columns a (recalibrated) model takes: the model inputs, plus the area column."""
    cols = list(schema.MODEL_COLUMNS)
    if group_column is not None and group_column not in cols:
        cols.append(group_column)
    return registry[cols]


def fast_scores(model: Any, registry: pd.DataFrame, group_column: str | None = "kelurahan"):
    """Point scores for planning (no interval draws: ``p_low == p_high == p_extreme``).

    A model with a ``group_column`` attribute (a :class:`RecalibratedPMT`, or a benchmark's
    reference model) also gets its column, unless ``group_column`` is None; the survey model
    gets the model inputs only.

    Returns
    -------
    pandas.DataFrame
        Index ``household_id``; ``p_extreme, p_low, p_high, desil``.
    """
    takes = getattr(model, "group_column", None) if group_column is not None else None
    X = model_input(registry, takes)
    p = np.empty(len(X))
    for start in range(0, len(X), 50_000):
        p[start : start + 50_000] = model.predict_proba(X.iloc[start : start + 50_000])[:, 1]
    return pd.DataFrame(
        {"p_extreme": p, "p_low": p, "p_high": p, "desil": assign_desil(p)},
        index=pd.Index(registry["household_id"].astype(str).to_numpy(), name="household_id"),
    )


def field_labels(registry: pd.DataFrame) -> pd.DataFrame:
    """The verified households the refit learns from: those not reached by a programme.

    The model estimates P(extreme | proxies, not reached) and the plan only visits the
    unreached, so their verified outcomes are labels of exactly that population. Households
    verified while reached (e.g. at enrolment) are left out: programmes reached households
    partly on poverty the proxies do not see (DESIGN §3), so their labels belong to another
    population, and on synthetic Serang they are a third of all labels after one round.

    Returns
    -------
    pandas.DataFrame
        :func:`targeting.feedback.ingest.verified_labels` of the unreached households.
    """
    labels = feedback.verified_labels(registry)
    return labels.loc[~is_reached(labels)]


def refit_on_labels(
    base: Any,
    registry: pd.DataFrame,
    method: str = "platt",
    group_column: str | None = "kelurahan",
    support: str = DEFAULT_SUPPORT,
    fade_offsets: bool = DEFAULT_FADE_OFFSETS,
    survey: pd.DataFrame | None = None,
    **params: Any,
) -> RecalibratedPMT | None:
    """Recalibrate ``base`` on the registry's verified unreached households (:func:`field_labels`).

    Parameters
    ----------
    base : fitted pipeline
        The champion as fitted on the survey (always the survey model: recalibrations do not
        stack, each refit uses every label so far).
    registry : pandas.DataFrame
        Proxies, ``kelurahan`` and the current ``verification_status``.
    method : {"platt", "intercept"}
    group_column : str or None
        Area offsets (``None``: a single map for the whole city).
    support : {"visited", "everywhere"}, default "visited"
        Where the map applies (:class:`~targeting.pmt.recalibrated.RecalibratedPMT`): over the
        verified households' range only, fading back to the survey model below it, or
        everywhere (extrapolated to the bulk the field never saw).
    fade_offsets : bool, default :data:`DEFAULT_FADE_OFFSETS`
        With ``support="visited"``, whether the kelurahan offsets fade below the range too.
    survey : pandas.DataFrame, optional
        The survey the base model was fitted on: its kelurahan effects on log consumption
        (:func:`~targeting.feedback.area_effects.survey_area_effects`) become the offsets'
        area covariate (``group_covariate``), unless ``params`` gives one. Without it the
        offsets are learnt from the field labels alone.
    **params
        Passed to :class:`~targeting.pmt.recalibrated.RecalibratedPMT`; ``group_strength``
        defaults to :data:`DEFAULT_GROUP_STRENGTH`, ``feature_strength`` to
        :data:`DEFAULT_FEATURE_STRENGTH` for a pipeline base (None for another) and, with
        areas, ``offset_floor`` to
        :func:`offset_floor` of the registry.

    Returns
    -------
    RecalibratedPMT or None
        None when there is no verified household of both classes yet.
    """
    labels = field_labels(registry)
    if labels["label"].nunique() < 2:
        return None
    X = model_input(labels, group_column)
    params.setdefault("group_strength", DEFAULT_GROUP_STRENGTH)
    # the proxy terms read the inputs of the base's last step: a pipeline that encodes them
    params.setdefault(
        "feature_strength", DEFAULT_FEATURE_STRENGTH if has_preprocessing(base) else None
    )
    if group_column is not None and "offset_floor" not in params:
        params["offset_floor"] = offset_floor(base, registry)
    if survey is not None and group_column is not None and "group_covariate" not in params:
        params["group_covariate"] = survey_area_effects(survey, group_column).to_dict()
    model = RecalibratedPMT(
        base,
        method=method,
        group_column=group_column,
        support=support,
        fade_offsets=fade_offsets,
        **params,
    )
    return model.fit(X, labels["label"].to_numpy())


@dataclass
class RoundsResult:
    """Result of :func:`simulate_rounds`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per round (see the module docstring for the definitions).
    registry : pandas.DataFrame
        The registry after the last round's outcomes.
    ledger : pandas.DataFrame
        Every simulated outcome.
    model : estimator
        The model after the last refit.
    """

    table: pd.DataFrame
    registry: pd.DataFrame
    ledger: pd.DataFrame
    model: Any
    plans: list[Any] = field(default_factory=list)


def _true_hit_rate(plan: pd.DataFrame, extreme: pd.Series) -> float:
    if not len(plan):
        return float("nan")
    return float(extreme.reindex(plan["household_id"].astype(str)).fillna(False).mean())


def _design_columns(
    plan: Any,
    outcomes: pd.DataFrame,
    estimates: list[Any],
    registry_after: pd.DataFrame,
    scores: pd.DataFrame,
    extreme: pd.Series,
) -> dict[str, float]:
    """The round's design estimate (at its start) and the combined one (after it) vs truth."""
    est = design_estimate(plan.audit, audit_outcomes(plan.audit, outcomes))
    estimates.append(est)
    combined = combine_rounds(estimates)
    eligible = eligible_for_ranking(registry_after)
    after = int(extreme.reindex(registry_after.loc[eligible, "household_id"].astype(str)).sum())
    return {
        "audit_visits": int((plan.audit.units["part"] == "audit").sum()),
        "audit_expected_finds_given_up": float(plan.audit.expected_finds_given_up),
        "design_estimate_at_start": est.estimate,
        "design_low_at_start": est.low,
        "design_high_at_start": est.high,
        "design_estimate_after": combined.estimate,
        "design_low_after": combined.low,
        "design_high_after": combined.high,
        "unreached_extreme_after": after,
    }


def simulate_rounds(
    registry: pd.DataFrame,
    truth: pd.DataFrame,
    base_model: Any,
    capacity: PlanCapacity | None = None,
    rounds: int = 3,
    seed: int = 0,
    method: str = "platt",
    group_column: str | None = "kelurahan",
    recalibrate: bool = True,
    simulator_params: dict[str, float] | None = None,
    audit_share: float = 0.0,
    support: str = DEFAULT_SUPPORT,
    refit_params: dict[str, Any] | None = None,
    survey: pd.DataFrame | None = None,
    learner: Callable[[pd.DataFrame], Any] | None = None,
) -> RoundsResult:
    """Run ``rounds`` rounds of plan → field → ingest → refit → re-score on a synthetic city.

    Parameters
    ----------
    registry : pandas.DataFrame
        Validated registry (proxies, places, programme flags, ``verification_status``).
    truth : pandas.DataFrame
        ``household_id, extreme`` for every registry household.
    base_model : fitted pipeline
        The champion fitted on the survey.
    capacity : PlanCapacity, optional
        Capacity of each round's plan (default :class:`PlanCapacity`, 20 workdays).
    rounds : int, default 3
    seed : int, default 0
        Seed of the field simulator.
    method, group_column
        Recalibration (see :func:`refit_on_labels`).
    recalibrate : bool, default True
        False keeps the survey model throughout (outcomes still update the status).
    simulator_params : dict, optional
        Passed to :class:`~.synthetic.FieldOutcomeSimulator`.
    audit_share : float, default 0
        Share of each plan's visits given to the audit sample
        (:func:`targeting.plan.audit.add_audit_sample`, seeded by ``seed`` and the round). When
        positive, each row also carries the design estimate of the stock at the round's start,
        the rounds-combined estimate of the stock after it, their 90 % intervals and the truth
        (:mod:`targeting.feedback.design_estimate`).
    support : {"visited", "everywhere"}, default "visited"
        Where the refit's map applies (see :func:`refit_on_labels`).
    refit_params : dict, optional
        More parameters of :class:`~targeting.pmt.recalibrated.RecalibratedPMT` (e.g.
        ``knots``, ``fade_offsets``, ``group_strength``).
    survey : pandas.DataFrame, optional
        The survey ``base_model`` was fitted on: its kelurahan effects inform every refit
        (``survey`` of :func:`refit_on_labels`; estimated once here).
    learner : callable, optional
        Replaces the refit: called with the registry after each round's outcomes, it returns
        the model of the next plan (with ``predict_proba`` on :func:`model_input`), or None to
        keep the current one; e.g. a benchmark's reference that knows more than the labels.
        Default: :func:`refit_on_labels` with the parameters above.

    Returns
    -------
    RoundsResult
    """

    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    capacity = capacity or PlanCapacity()
    refit_params = dict(refit_params or {})
    if survey is not None and group_column is not None:
        refit_params.setdefault(
            "group_covariate", survey_area_effects(survey, group_column).to_dict()
        )
    if group_column is not None:
        # the base model does not change between refits: its floor is computed once
        refit_params.setdefault("offset_floor", offset_floor(base_model, registry))
    simulator = FieldOutcomeSimulator(truth, seed=seed, **(simulator_params or {}))
    extreme = (
        truth.assign(household_id=truth["household_id"].astype(str))
        .set_index("household_id")["extreme"]
        .astype(bool)
    )
    current = registry.copy()
    ledger: pd.DataFrame | None = None
    model: Any = base_model
    base_scores = fast_scores(base_model, current)
    scores = base_scores
    eligible0 = eligible_for_ranking(current)
    stock0 = int(extreme.reindex(current.loc[eligible0, "household_id"].astype(str)).sum())
    rows, plans, cumulative = [], [], 0
    estimates: list[Any] = []
    previous: VerificationPlan | None = None
    for r in range(1, rounds + 1):
        plan = (
            build_plan(current, scores, capacity)
            if previous is None
            else replan(previous, current, scores, capacity=None)
        )
        if model is base_model:
            plan_without = plan
        else:
            # the model is refitted only on a round's outcomes, so a plan exists by then
            assert previous is not None
            plan_without = replan(previous, current, base_scores, capacity=None)
        if audit_share > 0:
            plan = add_audit_sample(plan, current, scores, share=audit_share, seed=seed * 100 + r)
            plan_without = (
                plan
                if model is base_model
                else add_audit_sample(
                    plan_without, current, base_scores, share=audit_share, seed=seed * 100 + r
                )
            )
        plans.append(plan)
        eligible = eligible_for_ranking(current)
        stock = int(extreme.reindex(current.loc[eligible, "household_id"].astype(str)).sum())
        outcomes = simulator.respond(plan.plan)
        current_before = current
        ingest = feedback.ingest_outcomes(current, outcomes, ledger)
        current, ledger = ingest.registry, ingest.ledger
        visits = outcomes.assign(p_extreme=plan.plan["p_extreme"].to_numpy(dtype=float))
        completed = visits[~visits["result"].isin(_NON_RESPONSE)]
        truly = extreme.reindex(completed["household_id"].astype(str)).fillna(False).to_numpy()
        finds = int(truly.sum())
        cumulative += finds
        realised = float((completed["result"] == "extreme_poor").mean()) if len(completed) else 0
        row: dict[str, Any] = {
            "round": r,
            "visits": len(plan.plan),
            "completed": len(completed),
            "unreached_extreme_at_start": stock,
            "finds": finds,
            "cumulative_finds": cumulative,
            "cumulative_share_found": cumulative / stock0 if stock0 else float("nan"),
            "realised_hit_rate": realised,
            "predicted_hit_rate": float(completed["p_extreme"].mean()) if len(completed) else 0,
            "true_hit_rate": _true_hit_rate(plan.plan, extreme),
            "true_hit_rate_without_feedback": _true_hit_rate(plan_without.plan, extreme),
            "model": (
                "survey champion"
                if model is base_model
                else "recalibrated"
                if isinstance(model, RecalibratedPMT)
                else "learner"
            ),
        }
        row["feedback_gain"] = row["true_hit_rate"] - row["true_hit_rate_without_feedback"]
        if plan.audit is not None:
            row.update(_design_columns(plan, outcomes, estimates, current, scores, extreme))
            row["model_estimate_at_start"] = model_stock(
                current_before, scores.reset_index().rename(columns={"index": "household_id"})
            )
        if recalibrate:
            refit = (
                learner(current)
                if learner is not None
                else refit_on_labels(
                    base_model,
                    current,
                    method=method,
                    group_column=group_column,
                    support=support,
                    **refit_params,
                )
            )
            if refit is not None:
                model = refit
                scores = fast_scores(model, current, group_column)
            if isinstance(refit, RecalibratedPMT):
                labels = field_labels(current)
                row.update(
                    {
                        "labels": len(labels),
                        "recalibration_intercept": float(refit.coef_[0]),
                        "recalibration_slope": float(refit.coef_[1]),
                        "group_strength": float(refit.group_strength_),
                        "group_covariate_coef": float(refit.group_covariate_coef_),
                        "feature_strength": refit.feature_strength_,
                    }
                )
        rows.append(row)
        previous = plan
    return RoundsResult(
        table=pd.DataFrame(rows), registry=current, ledger=ledger, model=model, plans=plans
    )
