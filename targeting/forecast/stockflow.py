"""Monthly stock-flow Monte Carlo of the unreached extreme-poor households (DESIGN §6).

The stock of *unreached* extreme-poor households per kelurahan evolves month by month::

    U(t) = U(t-1) - enrolled(t) - exits(t) + entrants(t) + returns(t)

found households stay unreached until they are enrolled (after the enrolment lag). Kelurahan
counts are simulated; kecamatan and city figures are their sums, so every level is coherent
in every path by construction.

How it is simulated
-------------------
Every flow is an integer count, but it is generated from *household-level* events so that
common random numbers (CRN) make the forecast exactly monotone in capacity, path by path:

* **Start.** Each path draws the starting stock of kelurahan ``k`` as a binomial whose mean and
  variance match the Poisson-binomial of the eligible households' ``p_extreme``:
  ``n* = round(mu**2 / sum(p**2))``, ``q = mu / n*`` with ``mu = unreached_extreme[k]``.
* **Where they are in the plan.** Each starting household gets a position on its kelurahan's
  yield curve, drawn with probability ``p_j / sum(p)`` (so the expected number found after ``v``
  visits is ``cumsum(p)[v]``, the plan's yield curve, scaled to the stock actually drawn); the
  draw is exact, by Walker's alias method (one uniform, two table look-ups).
* **Visits.** Capacity per month is ``operators * visits_per_day * workdays_per_month``.
  With ``allocation="yield"`` (default) the capacity walks down the *city-wide* list of eligible
  households merged by ``p_extreme`` (the greedy plan of DESIGN §5: the next operator-day goes
  where the next visit has the highest yield); a kelurahan whose list is done gets no more
  visits. With ``allocation="eligible"`` each kelurahan gets capacity in proportion to its
  eligible households. Either way the cumulative visits of every kelurahan are non-decreasing in
  capacity, capped by its eligible households. A household is found in the month its position
  is visited, if it is still extremely poor then.
* **Enrolment.** A found household is enrolled ``L`` months later (``L`` drawn per path); it
  stays in the unreached stock meanwhile and may still exit extreme poverty.
* **Exits.** Every unreached household leaves extreme poverty after a geometric time with
  monthly probability ``1 - (1 - exit_rate)**(1/12)`` (its own uniform draw).
* **Entrants.** Poisson(``near_poor * monthly entry probability * (1 + shock)``) per kelurahan
  and month, ``shock`` applying to the 12 months from ``shock_month``. Drawn as a Poisson
  process: one Poisson count per kelurahan over the horizon (the sum of the monthly means),
  each entrant's month from the monthly means by inverse CDF (same distribution as monthly
  counts, a few times fewer draws).
* **Graduation.** Households enrolled *before the start* (``CityState.enrolled_extreme``, the
  expected extreme poor among the reached) graduate with the monthly graduation probability;
  since that stock counts extremely poor households only, every graduate returns to the
  unreached stock (share still extreme = 1); the enrolled stock also shrinks by exits. Each
  such household, month by month, graduates (``g``), else exits (``x``), else stays, so the
  graduates within the horizon are ``Binomial(enrolled, g (1 - s**T) / (1 - s))`` with
  ``s = (1 - g)(1 - x)`` and each graduate's month is a geometric truncated at ``T``.
  Households enrolled during the horizon are not graduated within it (programmes such as PKH
  keep a household for years); this also keeps the forecast monotone in capacity.
* **Entrants and returns** are found too: each joins the remaining visit queue at a uniformly
  drawn depth (capped by the queue still ahead, so once a list is done newcomers are visited
  in their first month), and it is found when the capacity since its arrival reaches it.
  Their visits are not charged to the capacity (they are few beside the eligible list).

Uncertain parameters are drawn once per path: ``visits_per_day`` uniformly in its range; the
annual exit, entry and graduation rates and the shock size from a triangular distribution with
mode at the DESIGN default (:data:`~targeting.forecast.scenarios.CENTRES`) when the range
contains it, uniform otherwise; the enrolment lag from a discrete triangular with mode 1.

Common random numbers
---------------------
All uniforms come from ``numpy.random.SeedSequence`` streams keyed by ``seed`` only (never by
the scenario), and every scenario-dependent quantity is an inverse-CDF transform of a fixed
uniform: the path parameters, the exit times (geometric inverse CDF) and the entrant counts
(Poisson inverse CDF). The starting stock and the positions do not depend on the scenario at
all. Hence a scenario with more capacity (operators or visits per day), everything else equal,
finds every household no later, and the unreached stock is never higher in any path and month.
The entrants' own attributes come from a stream that depends on how many there are, so CRN is
exact for capacity comparisons and approximate (same counts structure) for rate comparisons.

Why households and not a binomial per month: a per-month binomial of the stock with hit rate
"mean of the next ``v`` curve values" is not monotone in capacity path by path (with a steep
curve, a scenario further down the list has a lower monthly hit rate on what is left), and a
graduation loop from newly enrolled households is not monotone either. Household-level events
with shared uniforms are.
How it is computed
------------------
Paths are simulated in blocks of :data:`CHUNK` (one random stream per block, so path ``i``
always gets the same uniforms), blocks on :data:`THREADS` threads. Every household event becomes
one index into a per-block tally laid out like the output, (path, kind, month, kelurahan), and
one ``bincount`` per block counts them all; no Python runs per household or per month. Counts
are stored as int16 when a bound on every count per kelurahan and month (starting stock +
enrolled stock + the largest possible entrant count) fits, int32 otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from targeting.forecast.scenarios import CENTRES, Scenario

__all__ = [
    "CityState",
    "ForecastResult",
    "capacity_needed",
    "fan_chart",
    "goal_month_chart",
    "simulate",
    "tornado",
    "tornado_chart",
]

#: Paths simulated together; fixed so that path ``i`` always uses the same random streams.
CHUNK = 128
#: Blocks of paths simulated at once (threads; numpy releases the GIL in its loops).
THREADS = min(2, os.cpu_count() or 1)
_QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)

# stream ids for SeedSequence([seed, stream, chunk])
# kinds of event tallied per (path, kelurahan, month)
_FOUND, _ENROLLED, _EXITS, _ENTRANTS, _RETURNS = range(5)
_KINDS = 5
_KIND_NAMES = ("found", "enrolled", "exits", "entrants", "returns")
_S_PARAMS, _S_START, _S_ENTRY, _S_GRAD, _S_ARRIVAL, _S_RETURN, _S_LEVEL = 1, 2, 3, 4, 5, 6, 7


# --------------------------------------------------------------------------- state
@dataclass
class CityState:
    """The starting point of a forecast, one entry per kelurahan.

    Parameters
    ----------
    kecamatan : numpy.ndarray of str
        The kecamatan of each kelurahan.
    kelurahan : numpy.ndarray of str
        Kelurahan names (unique).
    unreached_extreme : numpy.ndarray of float
        Expected unreached extreme-poor households at the start (sum of ``p_extreme`` over the
        eligible unreached). Each path draws an integer start (moment-matched binomial).
    eligible : numpy.ndarray of int
        Eligible unreached households not yet verified (the visit list's length).
    near_poor : numpy.ndarray of float
        Households at risk of entering extreme poverty (the entrants' pool).
    yield_curves : list of numpy.ndarray
        Per kelurahan, ``p_extreme`` of the eligible households in visit order (descending).
        Expected finds after ``v`` visits are ``cumsum[v]``. A curve shorter than ``eligible``
        is padded with zeros; an all-zero or empty curve means a uniform order.
    order_curves : list of numpy.ndarray, optional
        Per kelurahan, the scores of the model that *orders* the visits, aligned with
        ``yield_curves`` and sorted descending. Give them when the visits are ranked by another
        model than the one whose probabilities make ``yield_curves`` (then the yield curve need
        not be sorted: a worse ranking puts fewer extreme-poor households early). Default: the
        yield curves themselves, which must then be sorted descending.
    enrolled_extreme : numpy.ndarray of float, optional
        Expected extreme-poor households among those already reached (enrolled before the
        start); they feed graduation returns. None means no returns.
    start_sd_log : float, default 0
        Uncertainty of the estimated start stock as a whole: the standard deviation of its
        log (:func:`targeting.evaluation.stock.unreached_stock`). Each path scales every
        kelurahan's expected start by one draw of ``exp(N(0, start_sd_log))``, so the forecast
        carries the estimate's uncertainty, not a fixed number; 0 keeps the estimate fixed.
    """

    kecamatan: np.ndarray
    kelurahan: np.ndarray
    unreached_extreme: np.ndarray
    eligible: np.ndarray
    near_poor: np.ndarray
    yield_curves: list[np.ndarray]
    enrolled_extreme: np.ndarray | None = None
    order_curves: list[np.ndarray] | None = None
    start_sd_log: float = 0.0

    def __post_init__(self) -> None:
        if not np.isfinite(self.start_sd_log) or self.start_sd_log < 0:
            raise ValueError("CityState.start_sd_log must be a finite number >= 0")
        self.kecamatan = np.asarray(self.kecamatan, dtype=str)
        self.kelurahan = np.asarray(self.kelurahan, dtype=str)
        self.unreached_extreme = np.asarray(self.unreached_extreme, dtype=float)
        self.eligible = np.asarray(self.eligible).astype(np.int64)
        self.near_poor = np.asarray(self.near_poor, dtype=float)
        self.yield_curves = [np.asarray(c, dtype=float).ravel() for c in self.yield_curves]
        if self.order_curves is not None:
            self.order_curves = [np.asarray(c, dtype=float).ravel() for c in self.order_curves]
        if self.enrolled_extreme is not None:
            self.enrolled_extreme = np.asarray(self.enrolled_extreme, dtype=float)
        k = len(self.kelurahan)
        arrays = {
            "kecamatan": self.kecamatan,
            "unreached_extreme": self.unreached_extreme,
            "eligible": self.eligible,
            "near_poor": self.near_poor,
        }
        if self.enrolled_extreme is not None:
            arrays["enrolled_extreme"] = self.enrolled_extreme
        for name, a in arrays.items():
            if a.shape != (k,):
                raise ValueError(f"CityState.{name} has shape {a.shape}, expected ({k},)")
        if len(self.yield_curves) != k:
            raise ValueError(f"CityState.yield_curves has {len(self.yield_curves)} curves, not {k}")
        if len(set(self.kelurahan.tolist())) != k:
            raise ValueError("CityState.kelurahan names must be unique")
        for name in ("unreached_extreme", "eligible", "near_poor"):
            if np.any(getattr(self, name) < 0):
                raise ValueError(f"CityState.{name} must be >= 0")
        for i, c in enumerate(self.yield_curves):
            if len(c) > self.eligible[i]:
                raise ValueError(
                    f"yield curve of {self.kelurahan[i]!r} has {len(c)} values, "
                    f"more than its {self.eligible[i]} eligible households"
                )
            if np.any((c < 0) | (c > 1)):
                raise ValueError(f"yield curve of {self.kelurahan[i]!r} must be probabilities")
            order = c if self.order_curves is None else self.order_curves[i]
            if len(order) != len(c) or np.any(np.diff(order) > 1e-12):
                raise ValueError(
                    f"visit order of {self.kelurahan[i]!r} must be sorted descending and as long "
                    "as its yield curve"
                )


class _Prepared:
    """Scenario-independent lookup tables built once from a :class:`CityState`.

    The position of a starting household on its kelurahan's list is drawn with probability
    ``p_j / sum(p)`` by Walker's alias method (exact, one uniform and two table look-ups per
    household), and the tables give the household's rank in the visit queue directly.
    """

    def __init__(self, state: CityState, allocation: str) -> None:
        if allocation not in ("yield", "eligible"):
            raise ValueError(f"allocation must be 'yield' or 'eligible', not {allocation!r}")
        self.allocation = allocation
        e = state.eligible
        self.K = len(e)
        self.E = e
        offsets = np.concatenate([[0], np.cumsum(e)])
        total = int(offsets[-1])
        self.total = total
        p_all = np.zeros(total)
        order_all = np.zeros(total)
        sum_p = np.zeros(self.K)
        sum_p2 = np.zeros(self.K)
        for k, c in enumerate(state.yield_curves):
            a = offsets[k]
            p_all[a : a + len(c)] = c
            sum_p[k], sum_p2[k] = c.sum(), (c**2).sum()
            o = c if state.order_curves is None else state.order_curves[k]
            order_all[a : a + len(o)] = o
        # queue rank of each listed household
        if allocation == "yield":
            # the city-wide queue follows the ranking model's scores
            order = np.argsort(-order_all, kind="stable")
            rank = np.empty(total, dtype=np.float64)
            rank[order] = np.arange(total, dtype=np.float64)
            self.queue = np.full(self.K, float(total))
            self.share = np.ones(self.K)
        else:
            kk = np.repeat(np.arange(self.K), e)
            rank = (np.arange(total) - offsets[kk]).astype(np.float64)
            self.queue = e.astype(float)
            self.share = e / total if total > 0 else np.zeros(self.K)
        # alias tables, one slot more per kelurahan: float32 rounding of u * n can give n
        size = total + self.K
        # float32 while slots and ranks are exact in it (below 2**24), float64 beyond
        self.rank_dtype = np.dtype(np.float32 if size < 2**24 else np.float64)
        self.n_slots = np.maximum(e, 1).astype(self.rank_dtype)
        self.slot0 = (offsets[:-1] + np.arange(self.K)).astype(self.rank_dtype)
        self.alias_thr = np.full(size, 2.0, dtype=np.float32)  # > any fraction: keep "lo"
        pair = np.zeros((size, 2), dtype=self.rank_dtype)  # rank of the slot, of its alias
        for k in range(self.K):
            n = int(e[k])
            s0 = int(offsets[k]) + k
            if n == 0:
                continue
            w = p_all[offsets[k] : offsets[k + 1]]
            thr, alias = _alias_table(w if sum_p[k] > 0 else np.ones(n))
            r = rank[offsets[k] : offsets[k + 1]] + 1.0  # rank + 1: visits needed
            self.alias_thr[s0 : s0 + n] = thr
            pair[s0 : s0 + n, 0] = r
            pair[s0 : s0 + n, 1] = r[alias]
            pair[s0 + n] = r[n - 1]
        # one 8-byte gather fetches both ranks of a slot
        self.alias_pair = pair.view(np.float64 if size < 2**24 else np.complex128).ravel()
        # moment-matched binomial for the starting stock
        mu = state.unreached_extreme
        q = np.where(sum_p > 0, sum_p2 / np.where(sum_p > 0, sum_p, 1.0), 1.0)
        n_star = np.where(mu > 0, np.maximum(np.rint(mu / q), 1), 0).astype(np.int64)
        self.n_start = n_star
        self.start_sd_log = float(state.start_sd_log)
        self.q_start = np.where(n_star > 0, np.minimum(mu / np.maximum(n_star, 1), 1.0), 0.0)
        self.reachable = e > 0
        self.near_poor = state.near_poor
        self.enrolled0 = (
            np.rint(state.enrolled_extreme).astype(np.int64)
            if state.enrolled_extreme is not None
            else np.zeros(self.K, dtype=np.int64)
        )


def _alias_table(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker's alias table (Vose's construction) for weights ``w`` (non-negative, sum > 0).

    Returns
    -------
    threshold : numpy.ndarray of float
        Slot ``i`` is drawn as itself when the uniform's fraction is below ``threshold[i]``.
    alias : numpy.ndarray of int
        Otherwise as ``alias[i]``.
    """
    n = len(w)
    q = w * (n / w.sum())
    alias = np.arange(n)
    thr = np.ones(n)
    small = np.flatnonzero(q < 1.0).tolist()
    large = np.flatnonzero(q >= 1.0).tolist()
    ql = q.tolist()
    while small and large:
        s = small.pop()
        g = large[-1]
        thr[s] = ql[s]
        alias[s] = g
        ql[g] -= 1.0 - ql[s]
        if ql[g] < 1.0:
            large.pop()
            small.append(g)
    # what is left is 1 up to rounding
    return thr, alias


# --------------------------------------------------------------------------- random helpers
def _rng(seed: int, stream: int, chunk: int = 0) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), stream, chunk]))


def _triangular(u: np.ndarray, lo: float, hi: float, mode: float | None) -> np.ndarray:
    """Inverse CDF of a triangular (or uniform, if ``mode`` is None or outside) on [lo, hi]."""
    if hi <= lo:
        return np.full_like(u, lo, dtype=float)
    if mode is None or not lo <= mode <= hi:
        return lo + u * (hi - lo)
    fc = (mode - lo) / (hi - lo)
    left = lo + np.sqrt(u * (hi - lo) * (mode - lo))
    right = hi - np.sqrt((1 - u) * (hi - lo) * (hi - mode))
    return np.where(u < fc, left, right)


def _lag_probabilities(lo: int, hi: int, mode: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Discrete triangular probabilities on ``lo..hi`` with the given mode (clipped)."""
    values = np.arange(lo, hi + 1)
    m = min(max(mode, lo), hi)
    w = (hi - lo + 1) - np.abs(values - m)
    return values, w / w.sum()


def _poisson_cap(lam_max: float) -> int:
    """Largest count :func:`_poisson_ppf` returns for means up to ``lam_max``."""
    return int(lam_max + 12 * np.sqrt(lam_max) + 40)


def _poisson_ppf(u: np.ndarray, lam: np.ndarray, kmax: int | None = None) -> np.ndarray:
    """Vectorised Poisson inverse CDF, capped at ``kmax`` (default :func:`_poisson_cap`).

    Returns the smallest ``k`` with ``P(X <= k) >= u``; monotone in ``u`` and ``lam``. Small
    means use a sequential search; means above 500 (where ``exp(-lam)`` underflows in the
    search) use :func:`scipy.stats.poisson.ppf`.
    """
    u, lam = np.broadcast_arrays(np.asarray(u, dtype=float), np.asarray(lam, dtype=float))
    shape = u.shape
    u, lam = u.ravel(), lam.ravel()
    if kmax is None:
        kmax = _poisson_cap(float(np.max(lam, initial=0)))
    out = np.zeros(u.shape, dtype=np.int64)
    big = lam > 500.0
    if big.any():
        from scipy.stats import poisson

        out[big] = np.minimum(poisson.ppf(u[big], lam[big]), kmax).astype(np.int64)
    small = np.flatnonzero(~big)
    pmf = np.exp(-lam[small])
    cdf = pmf.copy()
    live = np.flatnonzero(u[small] > cdf)
    idx = small[live]
    pmf, cdf = pmf[live], cdf[live]
    k = 0
    while idx.size and k < kmax:
        k += 1
        pmf = pmf * lam[idx] / k
        cdf = cdf + pmf
        out[idx] = k
        keep = u[idx] > cdf
        idx, pmf, cdf = idx[keep], pmf[keep], cdf[keep]
    return out.reshape(shape)


def _monthly(rate_per_year: np.ndarray) -> np.ndarray:
    return 1.0 - (1.0 - rate_per_year) ** (1.0 / 12.0)


# --------------------------------------------------------------------------- parameters
_PARAM_COLUMNS = ("visits_per_day", "lag", "exit", "entry", "graduation", "shock")


def _path_parameters(scenario: Scenario, n_paths: int, seed: int) -> dict[str, np.ndarray]:
    """Draw the per-path uncertain parameters (CRN: uniforms depend on ``seed`` only)."""
    u = _rng(seed, _S_PARAMS).random((n_paths, len(_PARAM_COLUMNS)))
    vpd = scenario.visits_per_day
    if isinstance(vpd, tuple):
        v = vpd[0] + u[:, 0] * (vpd[1] - vpd[0])
    else:
        v = np.full(n_paths, float(vpd))
    values, probs = _lag_probabilities(*scenario.enrolment_lag_months)
    lag = values[
        np.minimum(np.searchsorted(np.cumsum(probs), u[:, 1], side="right"), len(values) - 1)
    ]
    out = {
        "visits_per_day": v,
        "lag": lag.astype(np.int64),
        "exit": _triangular(u[:, 2], *scenario.exit_rate_per_year, CENTRES["exit_rate_per_year"]),
        "entry": _triangular(
            u[:, 3], *scenario.entry_rate_per_year, CENTRES["entry_rate_per_year"]
        ),
        "graduation": _triangular(
            u[:, 4], *scenario.graduation_rate_per_year, CENTRES["graduation_rate_per_year"]
        ),
        "shock": _triangular(u[:, 5], *scenario.shock_size, CENTRES["shock_size"]),
    }
    out["capacity"] = scenario.operators * v * scenario.workdays_per_month
    return out


# --------------------------------------------------------------------------- result
@dataclass
class ForecastResult:
    """Monte Carlo paths of the unreached stock and its flows.

    Attributes
    ----------
    months : pandas.PeriodIndex
        Monthly; ``months[0]`` is the start (the starting stock, no flows).
    kelurahan, kecamatan : numpy.ndarray of str
        Area of each column.
    unreached : numpy.ndarray of int, shape (paths, months, kelurahan)
        Unreached extreme-poor households at the end of each month (found but not yet enrolled
        households included).
    found, enrolled, exits, entrants, returns : numpy.ndarray of int, same shape
        Flows in each month: households found by a visit (while still extremely poor), enrolled,
        leaving extreme poverty while unreached, newly entering extreme poverty, and returning
        after graduation. ``unreached[t] = unreached[t-1] - enrolled[t] - exits[t] +
        entrants[t] + returns[t]``.
    scenario : Scenario
    seed, n_paths : int
    parameters : dict of numpy.ndarray
        The per-path draws (visits_per_day, lag, exit, entry, graduation, shock, capacity).
    """

    months: pd.PeriodIndex
    kelurahan: np.ndarray
    kecamatan: np.ndarray
    unreached: np.ndarray
    found: np.ndarray
    enrolled: np.ndarray
    exits: np.ndarray
    entrants: np.ndarray
    scenario: Scenario
    seed: int
    n_paths: int
    returns: np.ndarray | None = None
    parameters: dict[str, np.ndarray] = field(default_factory=dict)

    # ------------------------------------------------------------------ levels
    def city_paths(self) -> np.ndarray:
        """City total of the unreached stock, shape (paths, months)."""
        return self.unreached.sum(axis=2)

    def level_paths(self, level: str = "city") -> tuple[np.ndarray, np.ndarray]:
        """Unreached stock summed to a level.

        Parameters
        ----------
        level : {'city', 'kecamatan', 'kelurahan'}

        Returns
        -------
        values : numpy.ndarray, shape (paths, months, areas)
        areas : numpy.ndarray of str
        """
        if level == "city":
            return self.city_paths()[:, :, None], np.array(["city"])
        if level == "kelurahan":
            return self.unreached, self.kelurahan
        if level == "kecamatan":
            areas = np.array(sorted(set(self.kecamatan.tolist())))
            vals = np.stack(
                [self.unreached[:, :, self.kecamatan == a].sum(axis=2) for a in areas], axis=2
            )
            return vals, areas
        raise ValueError(f"level must be 'city', 'kecamatan' or 'kelurahan', not {level!r}")

    def quantiles(self, level: str = "city", q: tuple[float, ...] = _QUANTILES) -> pd.DataFrame:
        """Quantiles and mean of the unreached stock per month and area.

        Parameters
        ----------
        level : {'city', 'kecamatan', 'kelurahan'}
        q : tuple of float
            Probabilities; columns are named ``q05``, ``q10``, ... (percent, two digits).

        Returns
        -------
        pandas.DataFrame
            Tidy: ``month`` ('YYYY-MM'), ``area``, one column per quantile, ``mean``.
        """
        vals, areas = self.level_paths(level)
        qs = np.quantile(vals, q, axis=0)  # (q, months, areas)
        n_m, n_a = vals.shape[1], vals.shape[2]
        df = pd.DataFrame(
            {
                "month": np.repeat(self.months.astype(str).to_numpy(), n_a),
                "area": np.tile(areas, n_m),
            }
        )
        for i, p in enumerate(q):
            df[f"q{round(p * 100):02d}"] = qs[i].ravel()
        df["mean"] = vals.mean(axis=0).ravel()
        return df

    # ------------------------------------------------------------------ goal
    def _month_index(self, deadline: str | None) -> int:
        period = pd.Period(deadline or self.scenario.deadline, freq="M")
        if period < self.months[0] or period > self.months[-1]:
            raise ValueError(
                f"deadline {period} outside the horizon {self.months[0]}..{self.months[-1]}"
            )
        return int(period.ordinal - self.months[0].ordinal)

    def _tol(self, tolerance: int | None) -> int:
        return self.scenario.tolerance if tolerance is None else int(tolerance)

    def p_goal(
        self, deadline: str | None = None, tolerance: int | None = None
    ) -> tuple[float, float]:
        """P(city unreached <= tolerance at the deadline month) and its Monte Carlo error.

        Returns
        -------
        p, se : float
            The share of paths reaching the goal and ``sqrt(p (1 - p) / n_paths)``.
        """
        t = self._month_index(deadline)
        hit = self.city_paths()[:, t] <= self._tol(tolerance)
        p = float(hit.mean())
        return p, float(np.sqrt(p * (1 - p) / len(hit)))

    def p_near_zero(self, share: float = 0.05, deadline: str | None = None) -> tuple[float, float]:
        """P(city unreached at the deadline <= ``share`` of the path's starting stock), its SE."""
        t = self._month_index(deadline)
        city = self.city_paths()
        hit = city[:, t] <= share * city[:, 0]
        p = float(hit.mean())
        return p, float(np.sqrt(p * (1 - p) / len(hit)))

    def _first_hit(self, tolerance: int | None) -> np.ndarray:
        below = self.city_paths() <= self._tol(tolerance)
        first = np.argmax(below, axis=1).astype(float)
        first[~below.any(axis=1)] = np.inf
        return first

    def goal_month_distribution(self, tolerance: int | None = None) -> pd.Series:
        """Share of paths whose city stock first reaches ``<= tolerance`` in each month.

        Returns
        -------
        pandas.Series
            Indexed by 'YYYY-MM' for every month of the horizon, then ``'never'`` (not within
            the horizon); sums to 1.
        """
        first = self._first_hit(tolerance)
        n_m = len(self.months)
        idx = np.where(np.isinf(first), n_m, first).astype(int)
        counts = np.bincount(idx, minlength=n_m + 1) / len(first)
        labels = [*self.months.astype(str).tolist(), "never"]
        return pd.Series(counts, index=pd.Index(labels, name="month"), name="share")

    def median_goal_month(self, tolerance: int | None = None) -> str | None:
        """'YYYY-MM' in which the median path reaches the goal, None if beyond the horizon."""
        first = np.sort(self._first_hit(tolerance))
        med = first[(len(first) - 1) // 2]
        if np.isinf(med):
            return None
        return str(self.months[int(med)])

    def median_near_zero_month(self, share: float = 0.05) -> str | None:
        """'YYYY-MM' in which the median path first holds at most ``share`` of its starting
        stock ("near zero", DESIGN §6), None if beyond the horizon.

        Entrants keep the stock from staying at exactly zero, so this is the month a planner
        can aim at when :meth:`median_goal_month` is never reached.
        """
        city = self.city_paths()
        below = city <= share * city[:, :1]
        first = np.argmax(below, axis=1).astype(float)
        first[~below.any(axis=1)] = np.inf
        med = np.sort(first)[(len(first) - 1) // 2]
        if np.isinf(med):
            return None
        return str(self.months[int(med)])

    def summary(self) -> dict:
        """Headline numbers of the forecast (JSON-friendly).

        Returns
        -------
        dict
            scenario, n_paths, seed, deadline, tolerance, p_goal, p_goal_se, p_near_zero,
            p_near_zero_se, median_goal_month, median_near_zero_month, start_stock_median,
            end_stock quantiles
            (``end_q05``..``end_q95`` at the last month) and deadline_stock_median.
        """
        p, se = self.p_goal()
        pn, sen = self.p_near_zero()
        city = self.city_paths()
        t = self._month_index(None)
        out = {
            "scenario": self.scenario.name,
            "n_paths": self.n_paths,
            "seed": self.seed,
            "deadline": str(self.scenario.deadline_period),
            "tolerance": self.scenario.tolerance,
            "p_goal": p,
            "p_goal_se": se,
            "p_near_zero": pn,
            "p_near_zero_se": sen,
            "median_goal_month": self.median_goal_month(),
            "median_near_zero_month": self.median_near_zero_month(),
            "start_stock_median": float(np.median(city[:, 0])),
            "deadline_stock_median": float(np.median(city[:, t])),
        }
        for p_ in _QUANTILES:
            out[f"end_q{round(p_ * 100):02d}"] = float(np.quantile(city[:, -1], p_))
        return out


# --------------------------------------------------------------------------- simulation
def simulate(
    state: CityState,
    scenario: Scenario,
    n_paths: int = 2000,
    seed: int = 0,
    allocation: str = "yield",
) -> ForecastResult:
    """Simulate the monthly unreached stock per kelurahan (see the module docstring).

    Parameters
    ----------
    state : CityState
        The starting point.
    scenario : Scenario
        Capacity and dynamics.
    n_paths : int
        Monte Carlo paths.
    seed : int
        Seed of the common random numbers (independent of the scenario).
    allocation : {'yield', 'eligible'}
        How the monthly capacity is spread over kelurahan.

    Returns
    -------
    ForecastResult
    """
    return _simulate_prepared(_Prepared(state, allocation), state, scenario, n_paths, seed)


def _simulate_prepared(
    prep: _Prepared, state: CityState, scenario: Scenario, n_paths: int, seed: int
) -> ForecastResult:
    """:func:`simulate` with the scenario-free tables already built (searches reuse them)."""
    if n_paths < 1:
        raise ValueError("n_paths must be >= 1")
    months = pd.period_range(scenario.start_period, scenario.end_period, freq="M")
    T = len(months) - 1
    K = prep.K
    par = _path_parameters(scenario, n_paths, seed)
    if scenario.shock_month is not None:
        s0 = pd.Period(scenario.shock_month, freq="M").ordinal - months[0].ordinal
        shock_on = (np.arange(T + 1) >= s0) & (np.arange(T + 1) < s0 + 12)
    else:
        shock_on = np.zeros(T + 1, dtype=bool)
    # entrants: one Poisson count per (path, kelurahan) over the horizon, split over the
    # months in proportion to the monthly rate (a Poisson process, as monthly counts are)
    weight = T + par["shock"] * int(shock_on[1:].sum())
    lam = prep.near_poor[None, :] * (_monthly(par["entry"]) * weight)[:, None]
    kmax = _poisson_cap(float(lam.max(initial=0.0)))
    # every count per kelurahan and month is at most the households that can ever be there
    # a start-level draw can scale the start stock up (6 sd covers every draw in practice)
    level_max = float(np.exp(6.0 * prep.start_sd_log))
    bound = int((np.ceil(prep.n_start * level_max) + prep.enrolled0).max(initial=0)) + kmax
    dtype = np.int16 if bound < 2**14 else np.int32  # int16 halves the memory of the paths
    shape = (n_paths, T + 1, K)
    out = {
        name: np.zeros(shape, dtype=dtype)
        for name in ("unreached", "found", "enrolled", "exits", "entrants", "returns")
    }
    blocks = [
        (ci, slice(c0, min(c0 + CHUNK, n_paths))) for ci, c0 in enumerate(range(0, n_paths, CHUNK))
    ]

    def run(block: tuple[int, slice]) -> None:
        ci, sl = block
        _simulate_block(prep, par, lam[sl], kmax, shock_on, T, seed, ci, sl, out)

    workers = min(THREADS, len(blocks))
    if workers > 1:
        # numpy releases the GIL in its loops; each block writes only its own paths
        with ThreadPoolExecutor(workers) as pool:
            for _ in pool.map(run, blocks):
                pass
    else:
        for b in blocks:
            run(b)

    return ForecastResult(
        months=months,
        kelurahan=state.kelurahan.copy(),
        kecamatan=state.kecamatan.copy(),
        unreached=out["unreached"],
        found=out["found"],
        enrolled=out["enrolled"],
        exits=out["exits"],
        entrants=out["entrants"],
        returns=out["returns"],
        scenario=scenario,
        seed=seed,
        n_paths=n_paths,
        parameters=par,
    )


def _simulate_block(
    prep: _Prepared,
    par: dict[str, np.ndarray],
    lam: np.ndarray,
    kmax: int,
    shock_on: np.ndarray,
    T: int,
    seed: int,
    ci: int,
    sl: slice,
    out: dict[str, np.ndarray],
) -> None:
    """Simulate the paths ``sl`` (random-stream block ``ci``) into ``out``."""
    K = prep.K
    P = sl.stop - sl.start
    PK = P * K
    W = T + 2  # months 0..T, then "beyond the horizon"
    T1 = np.float32(T + 1)
    cap = par["capacity"][sl]
    x_m = _monthly(par["exit"][sl])
    g_m = _monthly(par["graduation"][sl])
    rate = cap[:, None] * prep.share[None, :]
    rate = np.where(prep.reachable[None, :], rate, 0.0)
    with np.errstate(divide="ignore"):
        inv_rate = np.where(rate > 0, 1.0 / np.where(rate > 0, rate, 1.0), np.inf)
        lg = np.log1p(-x_m)
        inv_lg = np.where(lg < 0, -1.0 / np.where(lg < 0, lg, -1.0), np.inf)
    pk = _PerArea(
        rate=rate.astype(np.float32).ravel(),
        inv_rate=inv_rate.astype(np.float32).ravel(),
        inv_lg=np.repeat(inv_lg.astype(np.float32), K),
        lag=np.repeat(par["lag"][sl].astype(np.float32), K),
        # tally index: ((path * kinds + kind) * months + month) * K + kelurahan, so that
        # each kind is a contiguous (months, kelurahan) block per path, as the output is
        # (float32 while exact: adding in float32 is cheaper than in int64)
        base=(np.arange(P)[:, None] * (_KINDS * W * K) + np.arange(K))
        .ravel()
        .astype(np.float32 if PK * _KINDS * W < 2**24 else np.float64),
        K=K,
        T1=T1,
        W=W,
    )
    # ---- counts: starting households (scenario-free), entrants (Poisson inverse CDF of
    # fixed uniforms), graduation returns
    rng_s = _rng(seed, _S_START, ci)
    if prep.start_sd_log > 0:
        # one level draw per path (its own stream: the other draws stay common)
        level = np.exp(prep.start_sd_log * _rng(seed, _S_LEVEL, ci).standard_normal(CHUNK))
        n_trials = np.rint(prep.n_start[None, :] * level[:, None]).astype(np.int64)
        n0 = rng_s.binomial(n_trials, prep.q_start[None, :])[:P]
    else:
        n0 = rng_s.binomial(prep.n_start, prep.q_start, size=(CHUNK, K))[:P]
    c0 = n0.ravel()
    rng_e = _rng(seed, _S_ENTRY, ci)
    c_e = _poisson_ppf(rng_e.random((CHUNK, K))[:P], lam, kmax).ravel()
    rng_g = _rng(seed, _S_GRAD, ci)
    # per household and month: graduate (g), else leave extreme poverty (x), else stay
    stay = (1.0 - g_m) * (1.0 - x_m)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_grad = np.where(stay < 1.0, g_m * (1.0 - stay**T) / (1.0 - stay), 0.0)
    p_block = np.zeros(CHUNK)
    p_block[:P] = p_grad
    c_r = rng_g.binomial(prep.enrolled0[None, :], p_block[:, None], size=(CHUNK, K))[:P].ravel()
    m0, m_e, m_r = int(c0.sum()), int(c_e.sum()), int(c_r.sum())
    # tally indices of every event of the block (see pk.base), counted by one bincount
    idx = np.empty(2 * m0 + 3 * (m_e + m_r), dtype=np.intp)

    # ---- starting households: position on the list (scenario-free), exit time
    u = rng_s.random(m0, dtype=np.float32)
    ex = rng_s.random(m0, dtype=np.float32)  # exit uniform
    x = u * np.repeat(np.tile(prep.n_slots, P), c0)
    del u
    slot = np.floor(x)
    x -= slot  # fraction within the slot
    slot += np.repeat(np.tile(prep.slot0, P), c0)
    g = slot.astype(np.intp)
    del slot
    # np.take is faster than fancy indexing, and arithmetic with a 0/1 mask than np.where
    # (the masks are random, so selecting branches mispredicts)
    both = np.take(prep.alias_pair, g).view(prep.rank_dtype).reshape(-1, 2)
    keep = x < np.take(prep.alias_thr, g)
    rank = np.subtract(both[:, 0], both[:, 1])
    rank *= keep
    rank += both[:, 1]
    del keep
    del x, g, both
    rank *= np.repeat(pk.inv_rate, c0)  # the table holds rank + 1
    tf = np.ceil(rank, out=rank)  # visited in month ceil((rank + 1) / rate)
    np.minimum(tf, T1, out=tf)
    tx = _exit_month(ex, np.repeat(pk.inv_lg, c0), T1)
    _tally(idx[: 2 * m0], tf, tx, c0, pk)
    del tf, tx

    # ---- arrivals
    s_e = _entry_month(
        rng_e.random(m_e, dtype=np.float32),
        np.repeat(np.repeat(par["shock"][sl].astype(np.float32), K), c_e),
        shock_on[1:],
    )
    i0 = 2 * m0
    _arrive(idx[i0 : i0 + 3 * m_e], _ENTRANTS, s_e, c_e, _rng(seed, _S_ARRIVAL, ci), prep, pk, P)
    del s_e
    if m_r:
        st = np.repeat(np.repeat(stay.astype(np.float32), K), c_r)
        u_r = rng_g.random(m_r, dtype=np.float32)
        # truncated geometric month: P(t) proportional to stay**(t - 1), t = 1..T
        u_r *= np.float32(1.0) - st**T
        with np.errstate(divide="ignore", invalid="ignore"):
            s_r = np.ceil(np.log1p(-u_r) / np.log(st))
        s_r = np.clip(np.nan_to_num(s_r, nan=1.0), 1, T)
        i0 += 3 * m_e
        _arrive(idx[i0:], _RETURNS, s_r, c_r, _rng(seed, _S_RETURN, ci), prep, pk, P)

    # ---- one tally, then (paths, months, kelurahan)
    tally = np.bincount(idx, minlength=PK * _KINDS * W)
    del idx
    c = tally.astype(out["found"].dtype).reshape(P, _KINDS, W, K)[:, :, : T + 1]
    o = {name: out[name][sl] for name in _KIND_NAMES}
    for kind, name in enumerate(_KIND_NAMES):
        o[name][...] = c[:, kind]
    # counts fit the output's integer type (see _simulate_prepared), so do the flows' sums
    d = o["entrants"] + o["returns"]
    d -= o["enrolled"]
    d -= o["exits"]
    d[:, 0] += n0.astype(d.dtype)
    u = out["unreached"][sl]
    u[:, 0] = d[:, 0]
    for t in range(1, T + 1):  # faster than cumsum along the middle axis
        np.add(u[:, t - 1], d[:, t], out=u[:, t])


@dataclass
class _PerArea:
    """Per (path, kelurahan) constants of a block, flattened path-major."""

    rate: np.ndarray
    inv_rate: np.ndarray
    inv_lg: np.ndarray
    lag: np.ndarray
    base: np.ndarray
    K: int
    T1: np.float32
    W: int


def _exit_month(u: np.ndarray, inv_lg: np.ndarray, T1: np.float32) -> np.ndarray:
    """Geometric exit month ``max(ceil(log(1 - u) / log(1 - x)), 1)`` of uniforms ``u`` in [0, 1).

    ``u`` is overwritten. ``E = -log(1 - u)`` is a standard exponential; a zero is lifted to a
    tiny positive value so that a zero exit rate (``inv_lg = -1 / log(1 - x)`` infinite) gives
    no exit rather than NaN.
    """
    np.subtract(np.float32(1.0), u, out=u)
    np.log(u, out=u)
    np.minimum(u, np.float32(-1e-30), out=u)
    u *= inv_lg
    np.negative(u, out=u)
    np.ceil(u, out=u)
    return np.clip(u, np.float32(1.0), T1, out=u)


def _tally(idx: np.ndarray, tf: np.ndarray, tx: np.ndarray, counts: np.ndarray, pk) -> None:
    """Write households' found and enrolled-or-exit tally indices into ``idx`` (2 per household).

    ``tf`` (visit month) and ``tx`` (exit month) are capped at the overflow month ``T + 1``
    and are overwritten. A household is found at ``tf`` if still extremely poor then
    (``tf <= tx``); it is enrolled at ``tf + lag`` unless it left extreme poverty before
    (``tx < tf + lag``: an exit at ``tx``). The tally of a block is one ``bincount`` of all
    its indices (its bins are about as many as its households).
    """
    T1, W, K = pk.T1, pk.W, pk.K
    m = len(tf)
    base = np.repeat(pk.base, counts)
    # indices are computed in the base's type (float32 only while exact)
    tf, tx = tf.astype(base.dtype, copy=False), tx.astype(base.dtype, copy=False)
    found = np.multiply(tx < tf, T1, dtype=tf.dtype)  # left before the visit: overflow
    np.maximum(found, tf, out=found)
    found *= K
    found += base
    np.copyto(idx[:m], found, casting="unsafe")
    del found
    te = tf
    te += np.repeat(pk.lag, counts)
    np.minimum(te, T1, out=te)
    left = tx < te
    # enrolled at te (slot W + te), or an exit at tx (slot 2W + tx), without a branch
    tx += np.float32((_EXITS - _ENROLLED) * W)
    tx -= te
    tx *= left
    te += np.float32(_ENROLLED * W)
    te += tx
    te *= K
    te += base
    np.copyto(idx[m:], te, casting="unsafe")


def _arrive(
    idx: np.ndarray,
    kind: int,
    s: np.ndarray,
    counts: np.ndarray,
    rng: np.random.Generator,
    prep: _Prepared,
    pk: _PerArea,
    P: int,
) -> None:
    """Households arriving in months ``s`` (sorted by path and kelurahan, ``counts`` each).

    Each joins the remaining visit queue at a uniformly drawn depth (capped by the queue still
    ahead) and is found when the capacity since its arrival reaches it; its visits are not
    charged to the capacity. Their tally indices go to ``idx`` (3 per household: found,
    enrolled or exit, arrival as ``kind``).
    """
    W, T1 = pk.W, pk.T1
    m = len(s)
    u_depth = rng.random(m, dtype=np.float32)
    ex = rng.random(m, dtype=np.float32)  # exit uniform
    before = s.astype(np.float32) - np.float32(1.0)
    queue = np.repeat(np.tile(prep.queue.astype(np.float32), P), counts)
    visited = np.floor(before * np.repeat(pk.rate, counts))  # queue visited before arrival
    depth = np.minimum(np.floor(u_depth * queue), np.maximum(queue - visited, 0.0))
    del queue, visited, u_depth
    depth += 1.0
    depth *= np.repeat(pk.inv_rate, counts)
    tf = np.ceil(depth, out=depth)
    tf += before
    np.minimum(tf, T1, out=tf)
    tx = _exit_month(ex, np.repeat(pk.inv_lg, counts), T1)
    tx += before
    np.minimum(tx, T1, out=tx)
    _tally(idx[: 2 * m], tf, tx, counts, pk)
    arrived = idx[2 * m :]
    a = (s.astype(pk.base.dtype) + kind * W) * pk.K
    a += np.repeat(pk.base, counts)
    np.copyto(arrived, a, casting="unsafe")


def _entry_month(u: np.ndarray, shock: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Month (1..T) of an entrant: inverse CDF of the monthly entry weights.

    The weight of month ``t`` is 1, or ``1 + shock`` in the shock's window ``on`` (contiguous).
    """
    T = len(on)
    window = np.flatnonzero(on)
    if window.size == 0:
        return np.clip(np.ceil(u * np.float32(T)), 1, T)
    a = window[0]  # months 1..a before the window, then n_on months of weight 1 + shock
    n_on = window.size
    h = 1.0 + shock
    y = u * (T + shock * n_on)
    inside = a + np.ceil((y - a) / h)
    after = a + n_on + np.ceil(y - a - n_on * h)
    s = np.where(y <= a, np.ceil(y), np.where(y <= a + n_on * h, inside, after))
    return np.clip(s, 1, T)


# --------------------------------------------------------------------------- inverse questions
def capacity_needed(
    state: CityState,
    scenario: Scenario,
    target_p: float = 0.8,
    parameter: str = "operators",
    n_paths: int = 1000,
    seed: int = 0,
    max_value: float | None = None,
    resolution: float = 0.05,
    allocation: str = "yield",
    goal: str = "goal",
) -> dict:
    """Smallest capacity with P(goal) >= ``target_p``, by bisection under CRN.

    Under common random numbers P(goal) is non-decreasing in capacity, so bisection is exact
    for the simulated paths.

    Parameters
    ----------
    state : CityState
    scenario : Scenario
        Everything but the searched parameter is kept.
    target_p : float
        Required probability of the goal at the scenario's deadline and tolerance.
    parameter : {'operators', 'visits_per_day'}
        The capacity lever searched (integers for operators; ``resolution`` steps for visits).
    n_paths, seed : int
    max_value : float, optional
        Upper end of the search: default ``max(20 * operators, 500)`` operators or 10 visits
        per operator-day (DESIGN §6's upper range).
    resolution : float
        Step of the visits-per-day search.
    allocation : {'yield', 'eligible'}
    goal : {'goal', 'near_zero'}
        ``'goal'``: the city stock at the deadline is at most the scenario's tolerance;
        ``'near_zero'``: at most 5 % of the path's starting stock (also monotone in capacity).

    Returns
    -------
    dict
        ``parameter``, ``goal``, ``value`` (None if not reachable), ``p_goal`` and ``p_goal_se``
        at that value (or at ``max_value``; the probability of ``goal``), ``max_value``,
        ``target_p``, ``n_paths``, ``evaluations`` (number of simulations) and ``reason``
        (None when found).
    """
    if parameter not in ("operators", "visits_per_day"):
        raise ValueError("parameter must be 'operators' or 'visits_per_day'")
    if goal not in ("goal", "near_zero"):
        raise ValueError("goal must be 'goal' or 'near_zero'")
    to_value: Callable[[int], float]
    if parameter == "operators":
        hi = int(max_value if max_value is not None else max(20 * scenario.operators, 500))
        to_value = int
        steps = hi
    else:
        hi_v = float(max_value if max_value is not None else 10.0)
        steps = int(np.ceil(hi_v / resolution))

        def by_resolution(i: int) -> float:
            return round(i * resolution, 10)

        to_value = by_resolution

    cache: dict[int, tuple[float, float]] = {}
    prep = _Prepared(state, allocation)  # scenario-free: built once for the whole search

    def prob(i: int) -> tuple[float, float]:
        if i not in cache:
            sc = scenario.replace(**{parameter: to_value(i)})
            res = _simulate_prepared(prep, state, sc, n_paths, seed)
            cache[i] = res.p_goal() if goal == "goal" else res.p_near_zero()
        return cache[i]

    base = {
        "parameter": parameter,
        "goal": goal,
        "max_value": to_value(steps),
        "target_p": target_p,
        "n_paths": n_paths,
        "seed": seed,
    }
    p_hi = prob(steps)
    if p_hi[0] < target_p:
        return {
            **base,
            "value": None,
            "p_goal": p_hi[0],
            "p_goal_se": p_hi[1],
            "evaluations": len(cache),
            "reason": (
                f"P(goal) = {p_hi[0]:.3f} < {target_p} even at {parameter} = "
                f"{to_value(steps)} (max_value); entrants and the enrolment lag may keep "
                "the stock above the tolerance: see p_near_zero"
            ),
        }
    lo_i, hi_i = 0, steps  # invariant: prob(hi_i) >= target
    if prob(0)[0] >= target_p:
        hi_i = 0
    while hi_i - lo_i > 1:
        mid = (lo_i + hi_i) // 2
        if prob(mid)[0] >= target_p:
            hi_i = mid
        else:
            lo_i = mid
    p, se = prob(hi_i)
    return {
        **base,
        "value": to_value(hi_i),
        "p_goal": p,
        "p_goal_se": se,
        "evaluations": len(cache),
        "reason": None,
    }


_TORNADO_FIELDS = (
    "visits_per_day",
    "enrolment_lag_months",
    "exit_rate_per_year",
    "entry_rate_per_year",
    "graduation_rate_per_year",
    "shock_size",
)
_TORNADO_METRICS = ("p_goal", "p_near_zero", "deadline_median")


def _metric(result: ForecastResult, metric: str) -> float:
    if metric == "p_goal":
        return result.p_goal()[0]
    if metric == "p_near_zero":
        return result.p_near_zero()[0]
    t = result._month_index(None)
    return float(np.median(result.city_paths()[:, t]))


def tornado(
    state: CityState,
    scenario: Scenario,
    n_paths: int = 1000,
    seed: int = 0,
    allocation: str = "yield",
    metric: str = "p_goal",
) -> pd.DataFrame:
    """A forecast metric with each uncertain parameter fixed at its low and at its high end.

    Parameters
    ----------
    state : CityState
    scenario : Scenario
    n_paths, seed : int
        The same seed is used throughout (CRN), so the swings are not Monte Carlo noise.
    allocation : {'yield', 'eligible'}
    metric : {'p_goal', 'p_near_zero', 'deadline_median'}
        What is compared: P(goal), P(near zero: <= 5 % of the start) or the median city stock
        at the deadline (informative even where both probabilities are 0).

    Returns
    -------
    pandas.DataFrame
        One row per parameter with a range: ``parameter``, ``low``, ``high``, ``metric``,
        ``value_low``, ``value_high``, ``value_base``, ``swing`` (absolute difference), sorted
        by swing. For ``metric='p_goal'`` the value columns are also named ``p_goal_low``,
        ``p_goal_high`` and ``p_goal_base``.
    """
    if metric not in _TORNADO_METRICS:
        raise ValueError(f"metric must be one of {_TORNADO_METRICS}, not {metric!r}")
    fields_ = [f for f in _TORNADO_FIELDS if f != "shock_size" or scenario.shock_month]
    prep = _Prepared(state, allocation)

    def run(sc: Scenario) -> float:
        return _metric(_simulate_prepared(prep, state, sc, n_paths, seed), metric)

    base_v = run(scenario)
    rows = []
    for f in fields_:
        rng_ = getattr(scenario, f)
        if not isinstance(rng_, tuple) or rng_[0] == rng_[1]:
            continue
        lo, hi = rng_
        v_lo = run(scenario.replace(**{f: (lo, lo)}))
        v_hi = run(scenario.replace(**{f: (hi, hi)}))
        rows.append(
            {
                "parameter": f,
                "low": lo,
                "high": hi,
                "metric": metric,
                "value_low": v_lo,
                "value_high": v_hi,
                "value_base": base_v,
                "swing": abs(v_hi - v_lo),
            }
        )
    cols = ["parameter", "low", "high", "metric", "value_low", "value_high", "value_base", "swing"]
    df = pd.DataFrame(rows, columns=cols)
    if metric == "p_goal":
        df["p_goal_low"], df["p_goal_high"] = df["value_low"], df["value_high"]
        df["p_goal_base"] = df["value_base"]
    return df.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- plot
def fan_chart(
    result: ForecastResult, level: str = "city", path: str | None = None, area: str | None = None
):
    """Fan chart of the unreached stock: 5–95 % and 25–75 % bands, median, deadline.

    Parameters
    ----------
    result : ForecastResult
    level : {'city', 'kecamatan', 'kelurahan'}
    path : str, optional
        If given, the figure is also saved there (PNG, 120 dpi).
    area : str, optional
        The kecamatan or kelurahan to draw (default: the first; ignored for the city).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib  # slow to import: only when used

    matplotlib.use("Agg")
    from matplotlib.figure import Figure  # slow to import: only when used

    vals, areas = result.level_paths(level)
    j = 0 if area is None else int(np.flatnonzero(areas == area)[0])
    v = vals[:, :, j]
    x = result.months.to_timestamp().to_numpy()
    q = np.quantile(v, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
    fig = Figure(figsize=(8, 4.5))
    ax = fig.add_subplot()
    ax.fill_between(x, q[0], q[4], alpha=0.2, color="C0", label="5–95 %")
    ax.fill_between(x, q[1], q[3], alpha=0.35, color="C0", label="25–75 %")
    ax.plot(x, q[2], color="C0", lw=2, label="median")
    dl = result.scenario.deadline_period
    if result.months[0] <= dl <= result.months[-1]:
        ax.axvline(dl.to_timestamp(), color="k", ls="--", lw=1, label=f"deadline {dl}")
    ax.axhline(result.scenario.tolerance, color="C3", lw=1, ls=":", label="tolerance")
    ax.set_ylim(bottom=0)
    title = "city" if level == "city" else f"{level} {areas[j]}"
    ax.set_title(f"Unreached extreme-poor households, {title} — {result.scenario.name}")
    ax.set_ylabel("households")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


_METRIC_LABELS = {
    "p_goal": "P(goal by the deadline)",
    "p_near_zero": "P(near zero, <= 5 % of the start, by the deadline)",
    "deadline_median": "median unreached households at the deadline",
}


def tornado_chart(table: pd.DataFrame, path: str | None = None, title: str = ""):
    """Horizontal tornado chart of a :func:`tornado` table.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`tornado`.
    path : str, optional
        If given, the figure is also saved there (PNG, 120 dpi).
    title : str
        Extra title text (e.g. the scenario).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib  # slow to import: only when used

    matplotlib.use("Agg")
    from matplotlib.figure import Figure  # slow to import: only when used

    t = table.iloc[::-1].reset_index(drop=True)
    metric = str(t["metric"].iloc[0]) if len(t) else "p_goal"
    base = float(t["value_base"].iloc[0]) if len(t) else 0.0
    fig = Figure(figsize=(8, 0.6 * max(len(t), 1) + 1.6))
    ax = fig.add_subplot()
    y = np.arange(len(t))
    for i, row in t.iterrows():
        for value, colour, label in (
            (row["value_low"], "C0", "parameter at its low end"),
            (row["value_high"], "C3", "parameter at its high end"),
        ):
            ax.barh(
                i, value - base, left=base, color=colour, alpha=0.8, label=label if i == 0 else None
            )
    ax.axvline(base, color="k", lw=1)
    ax.set_yticks(y)
    ax.set_yticklabels(
        [f"{r.parameter} [{r.low:g}, {r.high:g}]" for r in t.itertuples()], fontsize=8
    )
    ax.set_xlabel(_METRIC_LABELS.get(metric, metric))
    ax.set_title(f"Which uncertain parameter moves the forecast most {title}".strip())
    if len(t):
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def goal_month_chart(results: dict, path: str | None = None, tolerance: int | None = None):
    """Distribution of the month in which the city first reaches the goal, per scenario.

    Parameters
    ----------
    results : dict of str to ForecastResult
    path : str, optional
        If given, the figure is also saved there (PNG, 120 dpi).
    tolerance : int, optional
        Default: each scenario's own tolerance.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib  # slow to import: only when used

    matplotlib.use("Agg")
    from matplotlib.figure import Figure  # slow to import: only when used

    fig = Figure(figsize=(9, 4.5))
    ax = fig.add_subplot()
    n = max(len(results), 1)
    width = 0.8 / n
    labels: list[str] = []
    for j, (name, res) in enumerate(results.items()):
        dist = res.goal_month_distribution(tolerance)
        labels = list(dist.index)
        x = np.arange(len(dist)) + j * width
        ax.bar(x, dist.to_numpy(), width=width, label=name)
    ax.set_xticks(np.arange(len(labels)) + 0.4 - width / 2)
    ax.set_xticklabels(labels, rotation=90, fontsize=7)
    ax.set_ylabel("share of paths")
    ax.set_title("Month in which the unreached stock first reaches the goal")
    ax.legend(fontsize=8)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
