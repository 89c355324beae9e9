"""Rank the unreached and turn the ranking into a verification plan (DESIGN.md §5).

The plan answers the planner's question "which households do our operators visit, on which day,
in which kelurahan?". It is built in three steps:

1. **Eligibility.** A household is eligible for ranking when it is not reached (PKH or BPNT), its
   ``verification_status`` is ``"unverified"`` and it has no ``pool_hold``
   (:func:`targeting.data.eligibility.eligible_for_ranking`). Every other household is accounted
   for in ``not_ranked`` with its reason.
2. **City ranking.** Eligible households are sorted by ``p_extreme`` (highest first), ties broken
   by ``household_id`` (ascending), and numbered ``rank`` 1, 2, ... (:func:`rank_unreached`).
3. **Operator-days.** An operator works in one kelurahan per day. Operator-days are handed out
   greedily, day by day: each next operator-day goes to the kelurahan (within the operator's pool)
   whose next ``visits_per_day`` unvisited households have the highest expected number of finds
   (the sum of their ``p_extreme``); within a kelurahan the highest ``p_extreme`` is visited first.
   Ties go to the kelurahan whose name sorts first (then its kecamatan). The greedy keeps one heap
   per pool, so a 200k-household registry with 67 operators × 20 days plans in about a second.

Re-planning after a round of visits is simply :func:`build_plan` on the updated registry:
households whose verification outcome was ingested have ``verification_status`` other than
``"unverified"`` and drop out ("verified"); households not found or refused stay unverified and are
ranked again. :func:`replan` does exactly this and, by default, starts the new plan on the workday
after the previous plan's last visit.
"""

from __future__ import annotations

import heapq
import math
import re
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from targeting.config.experiment import POOLINGS, PlanSection
from targeting.data.eligibility import eligible_for_ranking, is_reached, is_verified, pool_hold
from targeting.data.schema import PROGRAMME_COLUMNS

__all__ = [
    "ALLOCATIONS",
    "NOT_RANKED_REASONS",
    "POOLINGS",
    "PlanCapacity",
    "VerificationPlan",
    "allocate_by_finds",
    "allocate_operators",
    "build_plan",
    "daily_visits",
    "pool_finds_curve",
    "rank_unreached",
    "replan",
]

NOT_RANKED_REASONS: list[str] = [
    "reached",
    "verified",
    "attempts_exhausted",
    "retry_later",
    "invalid_row",
    "beyond_capacity",
]
"""Why a registry household is not in the plan, in order of precedence. ``retry_later`` and
``attempts_exhausted`` come from the registry's optional ``pool_hold`` column (set from the
outcomes ledger by the working state; see :func:`targeting.feedback.ingest.pool_holds`)."""

_PLAN_DEFAULTS = PlanSection().model_dump()
ALLOCATIONS: tuple[str, ...] = ("finds", "eligible")  # PlanSection.allocation's values

_SCORE_COLUMNS = ["p_extreme", "p_low", "p_high", "desil"]
_REASON_COLUMNS = ["reason_1", "reason_2", "reason_3"]


@dataclass(frozen=True)
class PlanCapacity:
    """Field capacity for one plan period.

    Attributes
    ----------
    operators : int
        Number of field operators (default 67, one per kelurahan in Kota Serang).
    visits_per_day : float
        Visits per operator-day. A fractional value (e.g. 2.5) is honoured exactly over the
        period: on workday ``d`` an operator makes ``floor(d·v) − floor((d−1)·v)`` visits
        (2, 3, 2, 3, ... for 2.5), so ``workdays`` days give ``floor(workdays·v)`` visits.
    workdays : int
        Length of the plan period in workdays.
    pooling : {"kecamatan", "kelurahan", "city"}
        How operators are tied to places.

        - ``"kelurahan"``: each operator has one home kelurahan and works only there.
        - ``"kecamatan"``: operators are pooled within a kecamatan and go, day by day, to the
          kelurahan of their kecamatan with the best expected yield.
        - ``"city"``: one city-wide pool.

        Operators are spread over the pools by ``allocation``.
    allocation : {"finds", "eligible"}
        ``"finds"`` (default): by expected finds (:func:`allocate_by_finds`, a greedy
        marginal-yield allocation: each next operator goes to the pool where one more operator
        adds the most expected finds over the period). ``"eligible"``: in proportion to the
        number of eligible households (:func:`allocate_operators`; the allocation before
        issue 12, kept for comparison).
    pool_floor : bool
        Give every pool with eligible households at least one operator (largest pools first
        when there are fewer operators than pools), the policy floor; default True.
    start_date : str
        First workday (``YYYY-MM-DD``). Workdays are Monday–Friday; a weekend start rolls
        forward to Monday.
    holidays : tuple of str
        Dates (``YYYY-MM-DD``) that are not workdays (e.g. national holidays).
    """

    # the defaults are the experiment spec's (declared once, in targeting.config.experiment)
    operators: int = _PLAN_DEFAULTS["operators"]
    visits_per_day: float = _PLAN_DEFAULTS["visits_per_day"]
    workdays: int = _PLAN_DEFAULTS["workdays"]
    pooling: str = _PLAN_DEFAULTS["pooling"]
    start_date: str = _PLAN_DEFAULTS["start_date"]
    holidays: tuple[str, ...] = ()
    allocation: str = _PLAN_DEFAULTS["allocation"]
    pool_floor: bool = _PLAN_DEFAULTS["pool_floor"]

    @classmethod
    def from_spec(cls, plan: PlanSection, holidays: tuple[str, ...] = ()) -> PlanCapacity:
        """The capacity of an experiment spec's ``plan:`` section (already checked).

        Parameters
        ----------
        plan : targeting.config.experiment.PlanSection
        holidays : tuple of str, optional

        Returns
        -------
        PlanCapacity
        """
        return cls(
            operators=plan.operators,
            visits_per_day=float(plan.visits_per_day),
            workdays=plan.workdays,
            pooling=plan.pooling,
            start_date=plan.start_date,
            holidays=tuple(holidays),
            allocation=plan.allocation,
            pool_floor=plan.pool_floor,
        )

    def __post_init__(self) -> None:
        if self.allocation not in ALLOCATIONS:
            raise ValueError(f"allocation must be one of {ALLOCATIONS}, got {self.allocation!r}")
        if int(self.operators) != self.operators or self.operators < 0:
            raise ValueError(f"operators must be a whole number >= 0, got {self.operators!r}")
        if int(self.workdays) != self.workdays or self.workdays < 0:
            raise ValueError(f"workdays must be a whole number >= 0, got {self.workdays!r}")
        if not (self.visits_per_day > 0 and math.isfinite(self.visits_per_day)):
            raise ValueError(f"visits_per_day must be > 0, got {self.visits_per_day!r}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        np.datetime64(self.start_date, "D")  # raises on a malformed date

    @property
    def visits_per_operator(self) -> int:
        """Visits one operator makes over the whole period."""
        return int(daily_visits(self.visits_per_day, self.workdays).sum())

    @property
    def total_visits(self) -> int:
        """Capacity in visits: operators × visits per operator over the period."""
        return int(self.operators) * self.visits_per_operator

    def workday_dates(self) -> list[str]:
        """Return the calendar date (``YYYY-MM-DD``) of each workday 1..``workdays``."""
        if self.workdays == 0:
            return []
        dates = np.busday_offset(
            np.datetime64(self.start_date, "D"),
            np.arange(int(self.workdays)),
            roll="forward",
            holidays=list(self.holidays),
        )
        return [str(d) for d in dates]


def daily_visits(visits_per_day: float, workdays: int) -> np.ndarray:
    """Return the number of visits per operator on each workday 1..``workdays``.

    Parameters
    ----------
    visits_per_day : float
        Average visits per operator-day (may be fractional).
    workdays : int

    Returns
    -------
    numpy.ndarray of int
        ``floor(d·v) − floor((d−1)·v)`` for d = 1..workdays, so the cumulative total is exact.
    """
    d = np.arange(int(workdays) + 1, dtype=float)
    # a tiny tolerance so that 2.2 × 5 counts as 11, not 10.999...
    cumulative = np.floor(d * float(visits_per_day) + 1e-9).astype(np.int64)
    return np.diff(cumulative)


@dataclass
class VerificationPlan:
    """A verification plan and everything needed to account for and forecast it.

    Attributes
    ----------
    plan : pandas.DataFrame
        One row per planned visit: ``household_id, kecamatan, kelurahan, [rt, rw], operator,
        workday, visit_date, order_in_day, rank, p_extreme, p_low, p_high, desil,
        [reason_1..reason_3]``, sorted by workday, operator and order in the day.
    not_ranked : pandas.DataFrame
        Every registry household (and rejected row) not in the plan: ``household_id, kecamatan,
        kelurahan, reason, reason_detail, rank, p_extreme``; ``reason`` is one of
        :data:`NOT_RANKED_REASONS`; ``rank`` is the city rank for "beyond_capacity" rows;
        ``p_extreme`` is missing where the household was not scored.
    yield_curve : pandas.DataFrame
        One row per workday: ``workday, visit_date, visits_day, expected_finds_day, visits``
        (cumulative) and ``expected_finds`` (cumulative sum of ``p_extreme`` in visit order).
    kelurahan_curves : pandas.DataFrame
        For every eligible household: ``kecamatan, kelurahan, k`` (its position when the
        kelurahan's eligible households are sorted by ``p_extreme`` descending, 1-based),
        ``p_extreme``, ``expected_finds`` (cumulative within the kelurahan) and ``planned``.
        The forecast uses it to run the plan beyond its period.
    capacity : PlanCapacity or None
        The capacity the plan was built with.
    pooling_finds : dict
        Expected finds of the period under the plan's pooling and under city-wide pooling
        (``spec_pooling``, ``city_pooling``, ``cost_of_pooling``), and the operators per pool
        (``operators_by_pool``), so a planner sees what tying operators to places costs.
    audit : targeting.plan.audit.AuditDesign or None
        The audit sample's design when :func:`targeting.plan.audit.add_audit_sample` added one.
    finds_interval : tuple of float or None
        ``(low, high)``: the 90 % interval of the plan's finds, set by whoever scored the plan
        (the model's level uncertainty and the households' own randomness; see
        :func:`targeting.pipeline.plan_finds_interval`).
    """

    plan: pd.DataFrame
    not_ranked: pd.DataFrame
    yield_curve: pd.DataFrame
    kelurahan_curves: pd.DataFrame = field(default_factory=pd.DataFrame)
    capacity: PlanCapacity | None = None
    pooling_finds: dict = field(default_factory=dict)
    audit: Any = None
    finds_interval: tuple[float, float] | None = None

    def summary(self) -> dict:
        """Return headline numbers (plain Python types, aggregates only; safe to log).

        Returns
        -------
        dict
            ``households_planned``, ``operators_used``, ``operator_days``, ``capacity_visits``,
            ``expected_finds``, ``expected_finds_per_visit``, ``first_visit_date``,
            ``last_visit_date``, ``not_ranked`` (count per reason, every reason present),
            ``households_accounted`` (plan + not_ranked), ``pooling_finds`` (see the
            attribute); with a ``finds_interval`` also ``expected_finds_low`` and
            ``expected_finds_high``; with an audit sample also its ``audit_*`` numbers
            (:meth:`targeting.plan.audit.AuditDesign.summary`).
        """
        plan = self.plan
        n = len(plan)
        finds = float(plan["p_extreme"].sum()) if n else 0.0
        counts = self.not_ranked["reason"].value_counts() if len(self.not_ranked) else {}
        return {
            "households_planned": int(n),
            "operators_used": int(plan["operator"].nunique()) if n else 0,
            "operator_days": int(plan[["operator", "workday"]].drop_duplicates().shape[0])
            if n
            else 0,
            "capacity_visits": int(self.capacity.total_visits) if self.capacity else None,
            "expected_finds": finds,
            **(
                {
                    "expected_finds_low": float(self.finds_interval[0]),
                    "expected_finds_high": float(self.finds_interval[1]),
                }
                if self.finds_interval is not None
                else {}
            ),
            "expected_finds_per_visit": finds / n if n else 0.0,
            "first_visit_date": str(plan["visit_date"].min()) if n else None,
            "last_visit_date": str(plan["visit_date"].max()) if n else None,
            "not_ranked": {r: int(counts.get(r, 0)) for r in NOT_RANKED_REASONS},
            "households_accounted": int(n + len(self.not_ranked)),
            "pooling_finds": dict(self.pooling_finds),
            **(self.audit.summary() if self.audit is not None else {}),
        }

    def kelurahan_curve(self, kelurahan: str) -> pd.DataFrame:
        """Return the ranked curve (``k``, ``p_extreme``, ``expected_finds``) of one kelurahan."""
        curves = self.kelurahan_curves
        return curves.loc[curves["kelurahan"] == kelurahan].reset_index(drop=True)


# --- ranking ----------------------------------------------------------------------------------


def _scores_by_id(scores: pd.DataFrame) -> pd.DataFrame:
    """Return ``scores`` indexed by household_id (accepts an id column), checking uniqueness."""
    if "household_id" in scores.columns:
        scores = scores.set_index("household_id")
    if "p_extreme" not in scores.columns:
        raise ValueError("scores must have a 'p_extreme' column")
    if not scores.index.is_unique:
        dup = scores.index[scores.index.duplicated()][:5].tolist()
        raise ValueError(f"scores has duplicate household ids, e.g. {dup}")
    scores = scores.copy()
    scores.index = scores.index.astype(str)
    return scores


def _registry_ids(registry: pd.DataFrame) -> pd.Series:
    ids = registry["household_id"].astype(str)
    if not ids.is_unique:
        dup = ids[ids.duplicated()].head(5).tolist()
        raise ValueError(f"registry has duplicate household ids, e.g. {dup} (validate it first)")
    return ids


def _hold(registry: pd.DataFrame) -> np.ndarray:
    """The ``pool_hold`` reason per household (empty: in the pool)."""
    return pool_hold(registry).to_numpy(dtype=object)


def _eligible_mask(registry: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    reached = is_reached(registry).to_numpy(dtype=bool)
    verified = is_verified(registry).to_numpy(dtype=bool)
    eligible = eligible_for_ranking(registry).to_numpy(dtype=bool)
    return reached, verified & ~reached, eligible


def rank_unreached(registry: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """Rank the eligible (unreached, unverified) households city-wide.

    Parameters
    ----------
    registry : pandas.DataFrame
        A validated registry (needs ``household_id``, ``kecamatan``, ``kelurahan``,
        ``receives_pkh``, ``receives_bpnt``, ``verification_status``).
    scores : pandas.DataFrame
        Indexed by ``household_id`` (or with a ``household_id`` column): ``p_extreme`` and
        optionally ``p_low``, ``p_high``, ``desil``, ``reason_1..reason_3``.

    Returns
    -------
    pandas.DataFrame
        One row per eligible household *with a score*: ``household_id, kecamatan, kelurahan,
        [rt, rw]``, the score columns and ``rank`` (1 = highest ``p_extreme``; ties by
        ``household_id`` ascending), sorted by rank, with a fresh RangeIndex. Eligible households
        without a (finite) ``p_extreme`` are left out; :func:`build_plan` reports them as
        ``invalid_row``.
    """
    ids = _registry_ids(registry)
    scores = _scores_by_id(scores)
    _, _, eligible = _eligible_mask(registry)
    keep = ["kecamatan", "kelurahan"] + [c for c in ("rt", "rw") if c in registry.columns]
    out = registry.loc[eligible, keep].copy()
    out.insert(0, "household_id", ids[eligible].to_numpy(dtype=object))
    score_cols = [c for c in _SCORE_COLUMNS + _REASON_COLUMNS if c in scores.columns]
    joined = scores.reindex(pd.Index(out["household_id"], dtype=object))[score_cols]
    for c in score_cols:
        out[c] = joined[c].to_numpy()
    p = pd.to_numeric(out["p_extreme"], errors="coerce").to_numpy(dtype=float)
    out["p_extreme"] = p
    out = out.loc[np.isfinite(p)]
    order = np.lexsort((out["household_id"].to_numpy(dtype=str), -out["p_extreme"].to_numpy()))
    out = out.iloc[order].reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1, dtype=np.int64)
    return out


# --- operators --------------------------------------------------------------------------------


def allocate_operators(operators: int, weights: dict[tuple, float]) -> dict[tuple, int]:
    """Spread ``operators`` over pools: one each first, the rest in proportion to ``weights``.

    Parameters
    ----------
    operators : int
    weights : dict
        Pool key → weight (number of eligible households). Pools with weight 0 get none.

    Returns
    -------
    dict
        Pool key → number of operators (sums to ``operators`` when some pool has weight > 0).

    Notes
    -----
    When there are fewer operators than pools, the pools with the largest weight get one each
    (ties by key). Otherwise every pool gets one, and the remaining operators are shared by the
    largest-remainder (Hamilton) method, ties by key: deterministic and exact.
    """
    pools = sorted((k for k, w in weights.items() if w > 0), key=lambda k: (-weights[k], k))
    out = {k: 0 for k in weights}
    if operators <= 0 or not pools:
        return out
    if operators < len(pools):
        for k in pools[:operators]:
            out[k] = 1
        return out
    for k in pools:
        out[k] = 1
    rest = operators - len(pools)
    total = float(sum(weights[k] for k in pools))
    quotas = {k: rest * weights[k] / total for k in pools}
    for k in pools:
        out[k] += math.floor(quotas[k])
    left = operators - sum(out.values())
    by_remainder = sorted(pools, key=lambda k: (-(quotas[k] - math.floor(quotas[k])), k))
    for k in by_remainder[:left]:
        out[k] += 1
    return out


def pool_finds_curve(
    p_by_kelurahan: list[np.ndarray], per_day: np.ndarray, max_ops: int
) -> np.ndarray:
    """Expected finds of one pool over the period with 0, 1, ..., ``max_ops`` operators.

    Parameters
    ----------
    p_by_kelurahan : list of numpy.ndarray
        For each kelurahan of the pool, ``p_extreme`` of its eligible households, descending.
    per_day : numpy.ndarray of int
        Visits per operator on each workday (:func:`daily_visits`).
    max_ops : int

    Returns
    -------
    numpy.ndarray of shape (max_ops + 1,)
        Non-decreasing and concave in the number of operators.

    Notes
    -----
    With the same number ``k`` of visits every day, the plan's greedy (each operator-day to the
    kelurahan whose next ``k`` households add the most) takes, over the period, exactly the
    ``m × workdays`` best blocks of ``k`` consecutive households of the pool's kelurahan (the
    blocks of a kelurahan decrease, so the best ones are always available): the curve is the
    sum of the top blocks, exact. With a fractional daily rate the days differ; the curve is
    then the sum of the top ``m × visits per operator`` households, which ignores the
    one-kelurahan-a-day blocks.
    """
    per_day = np.asarray(per_day, dtype=np.int64)
    days = per_day[per_day > 0]
    if not len(days) or max_ops <= 0:
        return np.zeros(max(max_ops, 0) + 1)
    if np.all(days == days[0]):
        k = int(days[0])
        gains = [np.add.reduceat(c, np.arange(0, len(c), k)) for c in p_by_kelurahan if len(c)]
        per_op = len(days)
    else:
        gains = [np.asarray(c, dtype=float) for c in p_by_kelurahan if len(c)]
        per_op = int(days.sum())
    units = np.sort(np.concatenate(gains))[::-1] if gains else np.zeros(0)
    cum = np.concatenate([[0.0], np.cumsum(units)])
    taken = np.minimum(np.arange(max_ops + 1) * per_op, len(units))
    return cum[taken]


def allocate_by_finds(
    operators: int, curves: dict[tuple, np.ndarray], floor: bool = True
) -> dict[tuple, int]:
    """Spread ``operators`` over pools by expected finds (greedy marginal yield).

    Parameters
    ----------
    operators : int
    curves : dict
        Pool key → expected finds with 0, 1, ... operators (:func:`pool_finds_curve`; concave,
        at least ``operators + 1`` values).
    floor : bool, default True
        First give one operator to every pool that has households to visit (when there are
        fewer operators than such pools, to those with the most expected finds for one
        operator, ties by key).

    Returns
    -------
    dict
        Pool key → number of operators (sums to ``operators``; operators that would add nothing
        anywhere go to the pool that sorts first, so capacity is never silently dropped).

    Notes
    -----
    Each next operator goes to the pool with the largest marginal gain ``curve[m + 1] −
    curve[m]``, ties by key. For concave curves this greedy maximises the total expected finds
    under the floor (the marginal gains are decreasing, so the exchange argument holds);
    deterministic.
    """
    out = {k: 0 for k in curves}
    if operators <= 0 or not curves:
        return out
    keys = sorted(curves)
    left = int(operators)
    if floor:
        active = [k for k in keys if len(curves[k]) > 1 and curves[k][1] > 0]
        active.sort(key=lambda k: (-float(curves[k][1]), k))
        for k in active[:left]:
            out[k] = 1
        left -= min(left, len(active))

    def gain(k: tuple) -> float:
        c = curves[k]
        m = out[k]
        return float(c[m + 1] - c[m]) if m + 1 < len(c) else 0.0

    heap = [(-gain(k), k) for k in keys]
    heapq.heapify(heap)
    while left > 0:
        _, k = heapq.heappop(heap)
        out[k] += 1
        left -= 1
        heapq.heappush(heap, (-gain(k), k))
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "", str(text)) or "X"


# --- the plan ---------------------------------------------------------------------------------


def build_plan(
    registry: pd.DataFrame,
    scores: pd.DataFrame,
    capacity: PlanCapacity | None = None,
    rejected: pd.DataFrame | None = None,
) -> VerificationPlan:
    """Build the verification plan for one period.

    Parameters
    ----------
    registry : pandas.DataFrame
        The validated registry (see :func:`rank_unreached`). PII columns are not copied into
        the plan; join them from the registry for the field lists only.
    scores : pandas.DataFrame
        Scores indexed by ``household_id`` (``p_extreme``, ``p_low``, ``p_high``, ``desil``,
        optional ``reason_1..reason_3``).
    capacity : PlanCapacity, optional
        Defaults to ``PlanCapacity()`` (67 operators × 2 visits × 20 workdays, kecamatan pools).
    rejected : pandas.DataFrame, optional
        Rows that failed validation (``household_id``, ``reason``; optional ``kecamatan``,
        ``kelurahan``); each goes to ``not_ranked`` as ``"invalid_row"``.

    Returns
    -------
    VerificationPlan

    Notes
    -----
    Every registry household and every rejected row appears exactly once across ``plan`` and
    ``not_ranked``. Precedence of reasons: reached, then verified, then invalid row (eligible but
    not scored), then beyond capacity. An operator-day sent to a kelurahan with fewer than
    ``visits_per_day`` households left makes only the visits that remain (the day is not split
    between kelurahan). Operators are named ``OP-<pool>-<nn>`` (``OP-Kasemen-03``; the pool is the
    kelurahan, kecamatan or ``Kota``), numbered within the pool.
    """
    capacity = capacity or PlanCapacity()
    ids = _registry_ids(registry)
    reached, verified, eligible = _eligible_mask(registry)
    ranked = rank_unreached(registry, scores)
    scores_by_id = _scores_by_id(scores)

    # --- operator-days, greedy by expected finds -------------------------------------------
    # order households by kelurahan, then p_extreme desc, then id (= rank order within kelurahan)
    kec = ranked["kecamatan"].astype(str).to_numpy()
    kel = ranked["kelurahan"].astype(str).to_numpy()
    order = np.lexsort((ranked["rank"].to_numpy(), kec, kel))
    by_kel = ranked.iloc[order].reset_index(drop=True)
    p = by_kel["p_extreme"].to_numpy(dtype=float)
    # boundaries of each (kelurahan, kecamatan) block
    kel_sorted, kec_sorted = kel[order], kec[order]
    change = (
        np.flatnonzero((kel_sorted[1:] != kel_sorted[:-1]) | (kec_sorted[1:] != kec_sorted[:-1]))
        + 1
    )
    if len(order):
        block_start = np.concatenate([[0], change]).astype(np.int64)
        block_end = np.append(block_start[1:], len(order)).astype(np.int64)
    else:
        block_start = block_end = np.zeros(0, dtype=np.int64)
    starts = {(str(kel_sorted[s]), str(kec_sorted[s])): int(s) for s in block_start.tolist()}
    ends = {
        (str(kel_sorted[s]), str(kec_sorted[s])): int(e)
        for s, e in zip(block_start.tolist(), block_end.tolist(), strict=True)
    }
    kel_list = sorted(starts)  # (kelurahan, kecamatan), the tie order

    pool_of: dict[tuple[str, str], tuple[str, ...]]
    pool_label: dict[tuple[str, ...], str]
    if capacity.pooling == "kelurahan":
        kel_names = [k[0] for k in kel_list]
        dup = {n for n in kel_names if kel_names.count(n) > 1}
        pool_of = {k: k for k in kel_list}
        pool_label = {k: (f"{k[1]}-{k[0]}" if k[0] in dup else k[0]) for k in kel_list}
    elif capacity.pooling == "kecamatan":
        pool_of = {k: (k[1],) for k in kel_list}
        pool_label = {(k[1],): k[1] for k in kel_list}
    else:
        pool_of = {k: ("city",) for k in kel_list}
        pool_label = {("city",): "Kota"}
    pool_weight: dict[tuple, float] = {}
    pool_kels: dict[tuple, list[tuple[str, str]]] = {}
    for k in kel_list:
        pool = pool_of[k]
        pool_weight[pool] = pool_weight.get(pool, 0) + (ends[k] - starts[k])
        pool_kels.setdefault(pool, []).append(k)
    per_day = daily_visits(capacity.visits_per_day, capacity.workdays)
    n_total = int(capacity.operators)
    kel_p = {k: p[starts[k] : ends[k]] for k in kel_list}
    curves = {
        pool: pool_finds_curve([kel_p[k] for k in kels], per_day, n_total)
        for pool, kels in pool_kels.items()
    }
    if capacity.allocation == "finds":
        n_ops = allocate_by_finds(n_total, curves, floor=capacity.pool_floor)
    else:
        n_ops = allocate_operators(n_total, pool_weight)
    city_curve = pool_finds_curve(list(kel_p.values()), per_day, n_total)
    spec_finds = float(sum(curves[pool][n] for pool, n in n_ops.items()))
    pooling_finds = {
        "pooling": capacity.pooling,
        "allocation": capacity.allocation,
        "spec_pooling": spec_finds,
        "city_pooling": float(city_curve[-1]),
        "cost_of_pooling": float(city_curve[-1]) - spec_finds,
        "operators_by_pool": {str(pool_label[pool]): int(n) for pool, n in sorted(n_ops.items())},
    }
    operators = {
        pool: [f"OP-{_slug(pool_label[pool])}-{j:02d}" for j in range(1, n + 1)]
        for pool, n in sorted(n_ops.items())
        if n > 0
    }

    dates = capacity.workday_dates()
    pointer = dict(starts)
    rows_pos: list[np.ndarray] = []
    rows_op: list[str] = []
    rows_day: list[int] = []
    heaps: dict[tuple, list] = {}
    heap_k = -1

    def gain(key: tuple[str, str], k: int) -> float:
        s = pointer[key]
        return float(sum(p[s : min(s + k, ends[key])].tolist()))

    for day_index, k in enumerate(per_day.tolist()):
        if k <= 0:
            continue
        if k != heap_k:  # (re)build the heaps when the day's visit count changes
            heaps = {
                pool: [(-gain(key, k), key) for key in pool_kels[pool] if pointer[key] < ends[key]]
                for pool in operators
            }
            for h in heaps.values():
                heapq.heapify(h)
            heap_k = k
        for pool, names in operators.items():
            heap = heaps[pool]
            for name in names:
                if not heap:
                    break
                _, key = heapq.heappop(heap)
                s = pointer[key]
                e = min(s + k, ends[key])
                rows_pos.append(np.arange(s, e))
                rows_op.extend([name] * (e - s))
                rows_day.extend([day_index + 1] * (e - s))
                pointer[key] = e
                if e < ends[key]:
                    heapq.heappush(heap, (-gain(key, k), key))

    positions = np.concatenate(rows_pos) if rows_pos else np.zeros(0, dtype=np.int64)
    plan = by_kel.iloc[positions].reset_index(drop=True)
    plan.insert(3, "operator", np.asarray(rows_op, dtype=object))
    workday = np.asarray(rows_day, dtype=np.int64)
    plan.insert(4, "workday", workday)
    date_arr = np.asarray(dates, dtype=object)
    plan.insert(
        5, "visit_date", date_arr[workday - 1] if len(workday) else np.zeros(0, dtype=object)
    )
    plan.insert(6, "order_in_day", plan.groupby(["operator", "workday"], sort=False).cumcount() + 1)
    first = ["household_id", "kecamatan", "kelurahan"] + [c for c in ("rt", "rw") if c in plan]
    middle = ["operator", "workday", "visit_date", "order_in_day", "rank"]
    rest = [c for c in _SCORE_COLUMNS + _REASON_COLUMNS if c in plan]
    plan = plan[first + middle + rest]
    plan = plan.sort_values(["workday", "operator", "order_in_day"], kind="stable")
    plan = plan.reset_index(drop=True)

    # --- not ranked -------------------------------------------------------------------------
    planned = np.zeros(len(by_kel), dtype=bool)
    planned[positions] = True
    p_all = pd.to_numeric(
        scores_by_id["p_extreme"].reindex(pd.Index(ids, dtype=object)), errors="coerce"
    ).to_numpy(dtype=float)
    unscored = eligible & ~np.isfinite(p_all)
    status = registry["verification_status"].astype(str).to_numpy()
    programmes = [c for c in PROGRAMME_COLUMNS[:2] if c in registry.columns]
    reached_detail = np.full(len(registry), "", dtype=object)
    for c in programmes:
        on = registry[c].astype(bool).to_numpy()
        label = c.removeprefix("receives_").upper()
        reached_detail = np.where(
            on, np.where(reached_detail == "", label, reached_detail + "+" + label), reached_detail
        )
    parts = []
    hold = _hold(registry)
    open_ = ~reached & ~verified
    for mask, reason, detail in [
        (reached, "reached", reached_detail),
        (verified, "verified", status),
        (
            open_ & (hold == "attempts_exhausted"),
            "attempts_exhausted",
            np.full(len(registry), "inconclusive visits reached the limit", object),
        ),
        (
            open_ & (hold == "retry_later"),
            "retry_later",
            np.full(len(registry), "visited recently without a result; returns later", object),
        ),
        (unscored, "invalid_row", np.full(len(registry), "no score (p_extreme missing)", object)),
    ]:
        parts.append(
            pd.DataFrame(
                {
                    "household_id": ids.to_numpy(dtype=object)[mask],
                    "kecamatan": registry["kecamatan"].astype(str).to_numpy(dtype=object)[mask],
                    "kelurahan": registry["kelurahan"].astype(str).to_numpy(dtype=object)[mask],
                    "reason": reason,
                    "reason_detail": np.asarray(detail, dtype=object)[mask],
                    "rank": pd.array([pd.NA] * int(mask.sum()), dtype="Int64"),
                    "p_extreme": p_all[mask],
                }
            )
        )
    if rejected is not None and len(rejected):
        rj = rejected.reset_index(drop=True)
        n_rj = len(rj)

        def col(name: str) -> np.ndarray:
            if name in rj.columns:
                return rj[name].astype("string").fillna("").to_numpy(dtype=object)
            return np.full(n_rj, "", dtype=object)

        rj_ids = col("household_id")
        parts.append(
            pd.DataFrame(
                {
                    "household_id": rj_ids,
                    "kecamatan": col("kecamatan"),
                    "kelurahan": col("kelurahan"),
                    "reason": "invalid_row",
                    "reason_detail": col("reason"),
                    "rank": pd.array([pd.NA] * n_rj, dtype="Int64"),
                    "p_extreme": np.full(n_rj, np.nan),
                }
            )
        )
    beyond = by_kel.loc[~planned]
    parts.append(
        pd.DataFrame(
            {
                "household_id": beyond["household_id"].to_numpy(dtype=object),
                "kecamatan": beyond["kecamatan"].astype(str).to_numpy(dtype=object),
                "kelurahan": beyond["kelurahan"].astype(str).to_numpy(dtype=object),
                "reason": "beyond_capacity",
                "reason_detail": np.full(
                    len(beyond), "not reached by this period's capacity", object
                ),
                "rank": pd.array(beyond["rank"].to_numpy(), dtype="Int64"),
                "p_extreme": beyond["p_extreme"].to_numpy(dtype=float),
            }
        )
    )
    not_ranked = pd.concat(parts, ignore_index=True)

    # --- curves -----------------------------------------------------------------------------
    yield_curve = _yield_curve(plan, per_day, dates)
    kel_curves = by_kel[["kecamatan", "kelurahan", "p_extreme"]].copy()
    kel_curves.insert(
        2, "k", kel_curves.groupby(["kecamatan", "kelurahan"], sort=False).cumcount() + 1
    )
    kel_curves["expected_finds"] = kel_curves.groupby(["kecamatan", "kelurahan"], sort=False)[
        "p_extreme"
    ].cumsum()
    kel_curves["planned"] = planned
    kel_curves = kel_curves.sort_values(["kecamatan", "kelurahan", "k"], kind="stable")
    kel_curves = kel_curves.reset_index(drop=True)

    return VerificationPlan(
        plan=plan,
        not_ranked=not_ranked,
        yield_curve=yield_curve,
        kelurahan_curves=kel_curves,
        capacity=capacity,
        pooling_finds=pooling_finds,
    )


def _yield_curve(plan: pd.DataFrame, per_day: np.ndarray, dates: list[str]) -> pd.DataFrame:
    n_days = len(per_day)
    day = plan["workday"].to_numpy(dtype=np.int64)
    visits_day = np.bincount(day, minlength=n_days + 1)[1:].astype(np.int64)
    finds_day = np.bincount(
        day, weights=plan["p_extreme"].to_numpy(dtype=float), minlength=n_days + 1
    )[1:]
    return pd.DataFrame(
        {
            "workday": np.arange(1, n_days + 1, dtype=np.int64),
            "visit_date": np.asarray(dates, dtype=object),
            "visits_day": visits_day,
            "expected_finds_day": finds_day,
            "visits": np.cumsum(visits_day),
            "expected_finds": np.cumsum(finds_day),
        }
    )


def replan(
    previous: VerificationPlan,
    registry: pd.DataFrame,
    scores: pd.DataFrame,
    capacity: PlanCapacity | None = None,
    rejected: pd.DataFrame | None = None,
) -> VerificationPlan:
    """Plan the next period after the outcomes of ``previous`` were ingested into ``registry``.

    Re-planning is :func:`build_plan` on the updated registry: verified households drop out by
    their status; households not found, refused or moved stay unverified and are ranked again.

    Parameters
    ----------
    previous : VerificationPlan
    registry, scores, rejected
        As for :func:`build_plan`.
    capacity : PlanCapacity, optional
        Defaults to the previous plan's capacity. When its ``start_date`` is not after the
        previous plan's last visit date, it is moved to the next workday after that date.

    Returns
    -------
    VerificationPlan
    """
    capacity = capacity or previous.capacity or PlanCapacity()
    if len(previous.plan):
        last = np.datetime64(str(previous.plan["visit_date"].max()), "D")
        if np.datetime64(capacity.start_date, "D") <= last:
            nxt = np.busday_offset(last, 1, roll="forward", holidays=list(capacity.holidays))
            capacity = replace(capacity, start_date=str(nxt))
    return build_plan(registry, scores, capacity, rejected=rejected)
