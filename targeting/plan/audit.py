"""The audit sample: a probability sample of the eligible unreached inside every plan (DESIGN §5).

The ranked plan visits the households the model scores highest, so its outcomes say nothing about
the rest of the unreached, where the model is least checked. A small share of each plan's visits
(``plan.audit_share``, default 5 %) therefore goes to a probability sample of the eligible
unreached that the ranked plan does not visit. Its outcomes give a design-unbiased estimate of the
unreached extreme-poor stock (:mod:`targeting.feedback.design_estimate`).

How a plan gets its audit sample (:func:`add_audit_sample`)
-----------------------------------------------------------
1. **Size.** ``n = round(audit_share × planned visits)``. The plan's capacity is shared, not
   extended: ``n`` ranked visits give way to the audit.
2. **Strata and allocation.** One stratum per kecamatan. ``n`` is spread over the strata in
   proportion to the stratum's total size measure (largest remainder, at least 2 per stratum
   that has 2 or more households, so every stratum's variance can be estimated).
3. **Which operator-days give way.** In each stratum, the ``n_h`` operator-days of the plan with
   the lowest expected finds (Σ ``p_extreme`` of the day; whole days, so that every day stays in
   one kelurahan whatever is drawn); when a kecamatan has fewer days than ``n_h``, the remaining
   days are the least promising ones city-wide. This step depends only on the plan, never on
   the draw, so the ranked part ``R`` that stays is fixed and the audit frame
   ``F_h = eligible_h \\ R`` is fixed too: both are needed for design-unbiasedness.
4. **The draw.** Within each stratum, ``n_h`` households are drawn from ``F_h`` with probability
   proportional to the size ``x_i = max(p_extreme_i, floor × mean_h(p_extreme))`` (the floor
   makes every eligible household drawable; ``floor`` defaults to 2). Extreme poverty among
   the unreached is rare (≈ 2 %), so a simple random audit of a few hundred visits finds a
   handful; drawing in proportion to the score puts more of the audit where the finds are. The
   floor was chosen by measurement on synthetic Serang (seed 1, full city, default plan, 134
   audit visits; anticipated SD of the round's estimate of a frame stock of 2,936 from the true
   outcomes): simple random 2,037 (2.2 expected finds in the sample); floor 0.25 3,375 (6.1);
   floor 1 2,227 (4.7); floor 2 2,004 (3.8); floor 4 1,945 (3.0). Below the ranked plan the
   model orders households poorly and finds among low scores get very large weights, so a low
   floor buys finds at the price of variance; 2 keeps most of the gain in finds of a score-led
   draw at about the variance of a simple random one. With 5 % of a 2,680-visit plan the audit
   cannot pin the stock in one round whatever the size measure; rounds are combined.
5. **Placement.** An operator works in one kelurahan per day, audit visits included. The audit
   households of a stratum are grouped by kelurahan and each group takes freed days (a day
   that was already in its kelurahan first), as many of them as a day holds; so ``n_h`` freed
   days always suffice. The free slots left on those days, and the days no audit household
   needs, are filled with the best unplanned households of the day's kelurahan (``part`` =
   ``"fill"``). Fill-in visits depend on the draw, so the design estimator does not use their
   outcomes (they are frame units outside the sample, which keeps it unbiased); their finds
   still leave the stock. Within a day the visits are ordered by ``p_extreme`` like any other
   day, and audit rows carry exactly the plan's columns, so the field lists do not show which
   visits are the audit.

Design: randomised systematic πps (Hartley & Rao, 1962)
-------------------------------------------------------
Inclusion probabilities ``π_i = n_h x_i / Σ x`` (units with ``π ≥ 1`` are taken with certainty and
the rest recomputed, iteratively) are *exact* first-order probabilities of systematic sampling
over a uniformly random ordering of the frame: the frame is permuted, the cumulated ``π`` laid on
a line and the units hit by the points ``u, u+1, ..., u+n_h−1`` (``u ~ U(0,1)``) drawn. It is a
fixed-size, without-replacement, high-entropy design that is simple to run and audit; its
second-order probabilities are not available in closed form, so the variance uses the
Hájek–Deville approximation for high-entropy designs (Tillé, 2006, §7.5), which is accurate for
random-order systematic sampling. Sampford's design would give the same ``π`` with a rejective
draw and would be slower for no gain in the first-order probabilities.

Everything is seeded: the same plan, scores and seed give the same sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from targeting.config.experiment import DEFAULT_AUDIT_SHARE
from targeting.data.io import write_table
from targeting.plan.ranking import VerificationPlan, daily_visits, rank_unreached

__all__ = [
    "DEFAULT_SIZE_FLOOR",
    "AuditDesign",
    "add_audit_sample",
    "allocate_sample",
    "pips_inclusion",
    "read_audit_designs",
    "systematic_pips",
    "write_audit_design",
]

DEFAULT_SIZE_FLOOR = 2.0
"""Floor of the size measure, as a share of the stratum's mean ``p_extreme``."""

AUDIT_FOLDER = "audit"
_SLOT_COLUMNS = ["operator", "workday", "visit_date", "order_in_day"]
_UNIT_COLUMNS = [
    "household_id",
    "kecamatan",
    "kelurahan",
    "p_extreme",
    "visit_date",
    "part",
    "inclusion_prob",
]


@dataclass
class AuditDesign:
    """The sampling design behind one plan's audit sample, as needed to estimate from it.

    Attributes
    ----------
    units : pandas.DataFrame
        One row per planned visit: ``household_id, kecamatan, kelurahan, p_extreme, visit_date``,
        ``part`` (``"ranked"``: a take-all unit of the ranked plan; ``"audit"``: drawn;
        ``"fill"``: a frame unit that fills a freed day, not used by the estimator) and
        ``inclusion_prob`` (1 for ranked units, missing for fill-ins).
    strata : pandas.DataFrame
        One row per kecamatan: ``kecamatan``, ``frame_households`` (``N_h`` of the audit frame),
        ``frame_sum_p`` (Σ ``p_extreme`` over the frame), ``ranked_households``,
        ``ranked_sum_p``, ``sample_size`` (``n_h``), ``anticipated_var`` (the model-anticipated
        variance of the stratum's audit estimate, see
        :mod:`targeting.feedback.design_estimate`).
    share : float
    seed : int
    size_floor : float
    expected_finds_given_up : float
        Σ ``p_extreme`` of the plan without the audit minus that of the plan with it (the
        model's expected cost of the audit in finds).
    first_visit_date : str or None
        The plan's first visit date (names the design in the state folder).
    """

    units: pd.DataFrame
    strata: pd.DataFrame
    share: float
    seed: int
    size_floor: float = DEFAULT_SIZE_FLOOR
    expected_finds_given_up: float = 0.0
    first_visit_date: str | None = None
    method: str = field(default="randomised systematic pips, kecamatan strata")

    def summary(self) -> dict:
        """Return aggregate numbers for the plan summary (no household-level values)."""
        audit = self.units["part"] == "audit"
        return {
            "audit_share": float(self.share),
            "audit_visits": int(audit.sum()),
            "audit_expected_finds": float(self.units.loc[audit, "p_extreme"].sum()),
            "audit_expected_finds_given_up": float(self.expected_finds_given_up),
            "audit_strata": int((self.strata["sample_size"] > 0).sum()),
        }


# --- the design -------------------------------------------------------------------------------


def pips_inclusion(size: np.ndarray, n: int) -> np.ndarray:
    """First-order inclusion probabilities of a fixed-size πps design.

    Parameters
    ----------
    size : numpy.ndarray
        Size measure ``x_i > 0`` of every frame unit.
    n : int
        Sample size (``0 <= n <= len(size)``).

    Returns
    -------
    numpy.ndarray
        ``π_i = n' x_i / Σ' x`` with certainty units (``π = 1``) set aside iteratively until no
        remaining unit exceeds 1; the probabilities sum to ``n``.
    """
    size = np.asarray(size, dtype=float)
    if n < 0 or n > len(size):
        raise ValueError(f"sample size must be between 0 and the frame size {len(size)}, got {n}")
    if len(size) and not np.all(size > 0):
        raise ValueError("every size measure must be > 0 so every unit can be drawn")
    pi = np.zeros(len(size))
    certain = np.zeros(len(size), dtype=bool)
    while n > 0:
        rest = ~certain
        k = n - int(certain.sum())
        if k <= 0:
            break
        pi[rest] = k * size[rest] / size[rest].sum()
        new = rest & (pi >= 1.0)
        pi[certain | new] = 1.0
        if not new.any():
            break
        certain |= new
    return pi


def systematic_pips(pi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw a randomised systematic πps sample (Hartley & Rao, 1962).

    Parameters
    ----------
    pi : numpy.ndarray
        Inclusion probabilities in [0, 1] summing to a whole number ``n``.
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray of int
        Sorted positions of the ``n`` drawn units. Each unit is drawn with probability exactly
        ``π_i``.
    """
    pi = np.asarray(pi, dtype=float)
    n = round(float(pi.sum()))
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = rng.permutation(len(pi))
    cum = np.cumsum(pi[order])
    cum[-1] = n  # absorb rounding so the last point always lands in the frame
    points = rng.uniform() + np.arange(n)
    hit = np.searchsorted(cum, points, side="right")
    return np.sort(order[np.minimum(hit, len(pi) - 1)])


def allocate_sample(n: int, size: dict[str, float], frame: dict[str, int]) -> dict[str, int]:
    """Spread ``n`` draws over strata in proportion to ``size``, at least 2 where possible.

    Parameters
    ----------
    n : int
    size : dict
        Stratum → total size measure of its frame.
    frame : dict
        Stratum → number of frame units (a stratum never gets more draws than units).

    Returns
    -------
    dict
        Stratum → sample size; sums to ``min(n, Σ frame)``. Largest remainder, ties by name.
    """
    strata = sorted(k for k in size if frame.get(k, 0) > 0 and size[k] > 0)
    out = {k: 0 for k in size}
    n = min(int(n), sum(frame[k] for k in strata))
    if n <= 0 or not strata:
        return out
    # a minimum of 2 per stratum (variance estimable), largest strata first when n is small
    for k in sorted(strata, key=lambda s: (-size[s], s)):
        take = min(2, frame[k], n - sum(out.values()))
        out[k] = take
    while sum(out.values()) < n:
        open_ = [k for k in strata if out[k] < frame[k]]
        left = n - sum(out.values())
        total = sum(size[k] for k in open_)
        quota = {k: left * size[k] / total for k in open_}
        add = {k: min(math.floor(quota[k]), frame[k] - out[k]) for k in open_}
        if sum(add.values()) == 0:
            best = sorted(open_, key=lambda s: (-(quota[s] - math.floor(quota[s])), s))
            add = {best[0]: 1}
        for k, a in add.items():
            out[k] += a
    return out


def _size_measure(p: np.ndarray, floor: float) -> np.ndarray:
    mean = float(p.mean()) if len(p) else 0.0
    # a strictly positive floor even for an all-zero stratum, so every unit stays drawable
    return np.maximum(p, max(floor * mean, 1e-9))


def _yield_curve(plan: pd.DataFrame, previous: pd.DataFrame, capacity) -> pd.DataFrame:
    per_day = (
        daily_visits(capacity.visits_per_day, capacity.workdays)
        if capacity is not None
        else np.zeros(len(previous), dtype=np.int64)
    )
    n_days = len(per_day) if capacity is not None else len(previous)
    day = plan["workday"].to_numpy(dtype=np.int64)
    visits_day = np.bincount(day, minlength=n_days + 1)[1 : n_days + 1].astype(np.int64)
    finds = np.bincount(day, weights=plan["p_extreme"].to_numpy(float), minlength=n_days + 1)
    out = previous.copy()
    out["visits_day"] = visits_day
    out["expected_finds_day"] = finds[1 : n_days + 1]
    out["visits"] = np.cumsum(visits_day)
    out["expected_finds"] = np.cumsum(out["expected_finds_day"].to_numpy())
    return out


def _plan_days(plan: pd.DataFrame) -> pd.DataFrame:
    """One row per operator-day of ``plan`` (index ``(operator, workday)``), least promising first.

    Columns ``kecamatan, kelurahan, visits, sum_p``; sorted by the day's expected finds, then by
    the latest workday and operator, so the days that give way to the audit cost the fewest finds.
    """
    days = plan.groupby(["operator", "workday"], sort=True).agg(
        kecamatan=("kecamatan", "first"),
        kelurahan=("kelurahan", "first"),
        visits=("household_id", "size"),
        sum_p=("p_extreme", "sum"),
    )
    days["kecamatan"] = days["kecamatan"].astype(str)
    days["kelurahan"] = days["kelurahan"].astype(str)
    order = days.reset_index().sort_values(
        ["sum_p", "workday", "operator"], ascending=[True, False, True], kind="stable"
    )
    return days.loc[list(zip(order["operator"], order["workday"], strict=True))]


class _Refill:
    """The best unplanned households of each kelurahan, in rank order, each handed out once."""

    def __init__(self, ranked: pd.DataFrame, exclude: set[str]) -> None:
        free = ranked.loc[~ranked["household_id"].astype(str).isin(exclude)]
        self._rows = free.sort_values("rank", kind="stable")
        kel = self._rows["kelurahan"].astype(str).to_numpy()
        self._by_kel = pd.Series(np.arange(len(kel))).groupby(kel, sort=False).agg(list).to_dict()

    def take(self, kelurahan: str, n: int) -> list[pd.Series]:
        """The next ``n`` (or fewer, when the kelurahan runs out) households of ``kelurahan``."""
        pos = self._by_kel.get(kelurahan, [])
        out, self._by_kel[kelurahan] = pos[: max(n, 0)], pos[max(n, 0) :]
        return [self._rows.iloc[i] for i in out]


def add_audit_sample(
    plan: VerificationPlan,
    registry: pd.DataFrame,
    scores: pd.DataFrame,
    share: float = DEFAULT_AUDIT_SHARE,
    seed: int = 0,
    size_floor: float = DEFAULT_SIZE_FLOOR,
) -> VerificationPlan:
    """Give ``share`` of the plan's visits to a stratified πps audit sample of the unreached.

    Parameters
    ----------
    plan : VerificationPlan
        A plan from :func:`targeting.plan.ranking.build_plan` on the same registry and scores.
    registry, scores : pandas.DataFrame
        As given to ``build_plan``.
    share : float, default ``plan.audit_share``'s default (0.05)
        Share of the planned visits that go to the audit (0 turns the audit off).
    seed : int
        Seed of the draw.
    size_floor : float, default 2
        Floor of the size measure as a share of the stratum's mean ``p_extreme``.

    Returns
    -------
    VerificationPlan
        A new plan: same columns and slots, ``n`` ranked visits replaced by audit visits, the
        displaced households in ``not_ranked`` as ``beyond_capacity``, curves updated and
        ``audit`` holding the :class:`AuditDesign`.

    Raises
    ------
    ValueError
        If ``share`` is not in [0, 1).
    """
    if not (0.0 <= float(share) < 1.0):
        raise ValueError(f"plan.audit_share must be in [0, 1), got {share!r}; use e.g. 0.05")
    base = plan.plan
    ranked = rank_unreached(registry, scores)
    ranked["kecamatan"] = ranked["kecamatan"].astype(str)
    n_total = round(float(share) * len(base))
    planned = ranked["household_id"].isin(set(base["household_id"].astype(str)))

    # --- allocation over strata (on the frame before any slot is freed) ----------------------
    frame0 = ranked.loc[~planned]
    size0 = {}
    for kec, grp in ranked.groupby("kecamatan", sort=True):
        rest = grp.loc[~planned.loc[grp.index]]
        size0[str(kec)] = float(_size_measure(rest["p_extreme"].to_numpy(float), size_floor).sum())
    counts0 = frame0.groupby("kecamatan").size().to_dict()
    n_h = allocate_sample(n_total, size0, {k: int(counts0.get(k, 0)) for k in size0})
    n_total = sum(n_h.values())

    # --- which operator-days give way (depends on the plan only) ----------------------------
    # whole operator-days, so that every day of the plan stays in one kelurahan whatever the
    # draw: an audit household is visited on a day given to its own kelurahan (DESIGN §5)
    days = _plan_days(base)
    freed_days: dict[str, list[tuple]] = {}
    taken_days: set[tuple] = set()
    for kec in sorted(n_h):
        mine_days = days.loc[days["kecamatan"] == kec].index.tolist()[: n_h[kec]]
        freed_days[kec] = mine_days
        taken_days.update(mine_days)
    for kec in sorted(n_h):
        short = n_h[kec] - len(freed_days[kec])
        if short > 0:
            extra = [d for d in days.index.tolist() if d not in taken_days][:short]
            freed_days[kec] += extra
            taken_days.update(extra)
    day_key = list(zip(base["operator"], base["workday"], strict=True))
    displaced = np.array([k in taken_days for k in day_key], dtype=bool)
    kept_ids = set(base.loc[~displaced, "household_id"].astype(str))

    # --- the draw ------------------------------------------------------------------------------
    rng = np.random.default_rng([int(seed), 0xA0D17])
    in_frame = ~ranked["household_id"].isin(kept_ids)
    strata_rows, drawn_parts = [], []
    for kec in sorted(n_h):
        frame = ranked.loc[in_frame & (ranked["kecamatan"] == kec)]
        kept = ranked.loc[~in_frame & (ranked["kecamatan"] == kec)]
        p = frame["p_extreme"].to_numpy(float)
        pi = pips_inclusion(_size_measure(p, size_floor), min(n_h[kec], len(frame)))
        pos = systematic_pips(pi, rng)
        strata_rows.append(
            {
                "kecamatan": kec,
                "frame_households": len(frame),
                "frame_sum_p": float(p.sum()),
                "ranked_households": len(kept),
                "ranked_sum_p": float(kept["p_extreme"].sum()),
                "sample_size": len(pos),
                # the difference estimator's variance if the model were calibrated (y − p has
                # variance p(1 − p)); Poisson approximation of the πps design (Isaki & Fuller)
                "anticipated_var": float((p * (1 - p) * (1 - pi) / np.maximum(pi, 1e-300)).sum()),
            }
        )
        drawn_parts.append(frame.iloc[pos].assign(inclusion_prob=pi[pos]))
    drawn = pd.concat(drawn_parts, ignore_index=True) if drawn_parts else ranked.iloc[:0]
    if "inclusion_prob" not in drawn:
        drawn = drawn.assign(inclusion_prob=np.zeros(0))

    # --- placement: audit households by kelurahan onto the freed days, the rest refilled -----
    audit_ids = set(drawn["household_id"].astype(str))
    fill = _Refill(ranked, exclude=kept_ids | audit_ids)
    placed_rows: list[dict] = []
    fill_ids: list[str] = []
    for kec in sorted(n_h):
        free = {d: days.loc[d] for d in freed_days[kec]}
        mine = drawn.loc[drawn["kecamatan"] == kec]
        groups = sorted(
            mine.groupby(mine["kelurahan"].astype(str), sort=True).groups.items(),
            key=lambda kv: (-len(kv[1]), kv[0]),
        )
        given: dict[tuple, tuple[str, list]] = {}
        for kel, index in groups:
            todo = list(index)
            while todo:
                same = [d for d in free if free[d]["kelurahan"] == kel]
                day = same[0] if same else max(free, key=lambda d: free[d]["visits"])
                size = int(free.pop(day)["visits"])
                given[day] = (kel, todo[:size])
                todo = todo[size:]
        for day, info in free.items():
            given[day] = (str(info["kelurahan"]), [])
        for day, (kel, members) in given.items():
            rows = [
                {c: drawn.at[j, c] for c in base.columns if c in drawn.columns} for j in members
            ]
            slots = base.loc[[k == day for k in day_key]].sort_values("order_in_day")
            for extra in fill.take(kel, len(slots) - len(rows)):
                rows.append({c: extra[c] for c in base.columns if c in extra.index})
                fill_ids.append(str(extra["household_id"]))
            rows.sort(key=lambda r: (-float(r["p_extreme"]), str(r["household_id"])))
            for row, (_, slot) in zip(rows, slots.iterrows(), strict=False):
                row.update({c: slot[c] for c in _SLOT_COLUMNS})
                placed_rows.append(row)
    audit_frame = pd.DataFrame(placed_rows, columns=base.columns)
    new_plan = pd.concat([base.loc[~displaced], audit_frame], ignore_index=True)
    new_plan = new_plan.astype(base.dtypes.to_dict())
    new_plan = new_plan.sort_values(["workday", "operator", "order_in_day"], kind="stable")
    new_plan = new_plan.reset_index(drop=True)

    # --- bookkeeping: not_ranked, curves, the design -------------------------------------------
    now_ids = set(new_plan["household_id"].astype(str))
    gone = base.loc[displaced & ~base["household_id"].astype(str).isin(now_ids)]
    not_ranked = plan.not_ranked.loc[
        ~plan.not_ranked["household_id"].astype(str).isin(now_ids)
    ].copy()
    moved_out = pd.DataFrame(
        {
            "household_id": gone["household_id"].to_numpy(dtype=object),
            "kecamatan": gone["kecamatan"].astype(str).to_numpy(dtype=object),
            "kelurahan": gone["kelurahan"].astype(str).to_numpy(dtype=object),
            "reason": "beyond_capacity",
            "reason_detail": "slot given to the audit sample",
            "rank": pd.array(gone["rank"].to_numpy(), dtype="Int64"),
            "p_extreme": gone["p_extreme"].to_numpy(dtype=float),
        }
    )
    not_ranked = pd.concat([not_ranked, moved_out], ignore_index=True)
    curves = plan.kelurahan_curves
    if len(curves):
        # kelurahan_curves rows follow rank order within each kelurahan; mark what is planned now
        key = ranked.sort_values(["kecamatan", "kelurahan", "rank"], kind="stable")
        now = set(new_plan["household_id"].astype(str))
        curves = curves.copy()
        curves["planned"] = key["household_id"].astype(str).isin(now).to_numpy()
    yield_curve = _yield_curve(new_plan, plan.yield_curve, plan.capacity)

    plan_ids = new_plan["household_id"].astype(str)
    units = pd.concat(
        [
            new_plan.loc[plan_ids.isin(kept_ids)].assign(part="ranked", inclusion_prob=1.0),
            new_plan.loc[plan_ids.isin(audit_ids)]
            .merge(drawn[["household_id", "inclusion_prob"]], on="household_id")
            .assign(part="audit"),
            new_plan.loc[plan_ids.isin(set(fill_ids))].assign(part="fill", inclusion_prob=np.nan),
        ],
        ignore_index=True,
    )[_UNIT_COLUMNS]
    given_up = float(base["p_extreme"].sum()) - float(new_plan["p_extreme"].sum())
    design = AuditDesign(
        units=units.sort_values("household_id", kind="stable").reset_index(drop=True),
        strata=pd.DataFrame(strata_rows),
        share=float(share),
        seed=int(seed),
        size_floor=float(size_floor),
        expected_finds_given_up=given_up,
        first_visit_date=str(new_plan["visit_date"].min()) if len(new_plan) else None,
    )
    return replace(
        plan,
        plan=new_plan,
        not_ranked=not_ranked,
        yield_curve=yield_curve,
        kelurahan_curves=curves,
        audit=design,
    )


# --- the state folder -------------------------------------------------------------------------


def write_audit_design(design: AuditDesign, folder: str | Path) -> dict[str, Path]:
    """Write the design to ``<folder>/audit/<first visit date>_{units,strata}.csv``.

    These files hold the audit flag and inclusion probability of each planned visit; they stay
    in the state folder and never go into the field workbook.
    """
    out = Path(folder) / AUDIT_FOLDER
    out.mkdir(parents=True, exist_ok=True)
    tag = design.first_visit_date or "empty"
    strata = design.strata.assign(share=design.share, seed=design.seed)
    return {
        "audit_units": write_table(design.units, out / f"{tag}_units.csv"),
        "audit_strata": write_table(strata, out / f"{tag}_strata.csv"),
    }


def read_audit_designs(folder: str | Path) -> list[AuditDesign]:
    """Read every design written by :func:`write_audit_design`, oldest plan first."""
    out = Path(folder) / AUDIT_FOLDER
    designs = []
    for units_path in sorted(out.glob("*_units.csv")) if out.is_dir() else []:
        tag = units_path.name.removesuffix("_units.csv")
        strata = pd.read_csv(out / f"{tag}_strata.csv", dtype={"kecamatan": str})
        units = pd.read_csv(
            units_path, dtype={"household_id": str, "kecamatan": str, "kelurahan": str}
        )
        designs.append(
            AuditDesign(
                units=units,
                strata=strata.drop(columns=["share", "seed"]),
                share=float(strata["share"].iloc[0]) if len(strata) else 0.0,
                seed=int(strata["seed"].iloc[0]) if len(strata) else 0,
                first_visit_date=None if tag == "empty" else tag,
            )
        )
    return designs
