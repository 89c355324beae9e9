"""Design-unbiased estimate of the unreached extreme-poor stock from a plan's audit sample.

The model's estimate of the stock is ``Σ p_extreme`` over the eligible unreached; it is only as
good as the model's calibration *among the unreached*, which the survey cannot check (DESIGN §3).
Every plan with an audit sample (:mod:`targeting.plan.audit`) is a stratified probability sample
of the eligible unreached, so its outcomes give an estimate whose validity rests on the
randomisation alone.

The estimator (per kecamatan stratum ``h``)
-------------------------------------------
The eligible unreached ``U_h`` at plan time split into the ranked visits ``R_h`` (a take-all part:
every one is visited) and the audit frame ``F_h = U_h \\ R_h`` (sampled with known ``π``). With
``y = 1`` for a recorded ``extreme_poor``, ``0`` for ``not_extreme_poor`` and the model's
``p = p_extreme`` as auxiliary variable, the **difference estimator**

    Ŷ_h = Σ_{R_h} p + Σ_{R_h ∩ resp} (y − p) / ρ_h  +  Σ_{F_h} p + Σ_{s_h ∩ resp} (y − p) / π'_i

is design-unbiased (given the response rule below) whatever the model: the model only reduces the
variance (residuals ``y − p`` vary less than ``y``). A GREG estimator would estimate the slope on
``p`` from the sample; with a few hundred audit units and a rare outcome the fixed slope 1 is
exactly unbiased and loses little.

Non-response (``not_found``, ``refused``, ``moved``, or no outcome yet) is treated as missing at
random **within the stratum and part** (response homogeneity groups: kecamatan × ranked/audit):
the respondents' weights are scaled by the inverse of the weighted response rate
(``π'_i = π_i ρ̂_h``, ``ρ̂_h = Σ_resp 1/π / Σ_s 1/π``). The response phase adds variance
``Σ_resp (1 − ρ) e² / ρ²`` for the ranked part (Poisson response); for the audit part it is in
the Hájek–Deville variance of the responding sample with ``π'`` (Tillé, 2006, §7.5):

    v̂ = Σ_{k} c_k (e_k/π'_k − B)²,   c_k = (1 − π'_k) n/(n − 1),   B = Σ c_k e_k/π'_k / Σ c_k.

The variance used is the larger of ``v̂`` and the model-anticipated variance of the design
(Isaki & Fuller, 1982): ``Σ_{F_h} p(1 − p)(1 − π)/π``, scaled by ``n_h / n_resp``. Extreme poverty
among the unreached is rare, so a round's audit holds a handful of finds; when none of them is a
household the model scored low, ``v̂`` is far too small and the Wald interval under-covers
(measured: 57 % coverage at a nominal 90 % on the test population without the floor). The floor
is conservative when the model over-states poverty, as it does among the unreached.

The 90 % interval is ``Ŷ ± z_0.95 √v`` with its lower end cut at 0 (a stock is never negative;
the point estimate itself is left uncut, so it stays unbiased and can be negative when the model
over-states a small stock) (normal approximation; statsmodels has no πps design
variance, so the formula is implemented here).

What it estimates: the *recorded* stock
---------------------------------------
``y`` is the status the field records, so the estimate is design-unbiased for the number of
eligible unreached households that a verification visit *would record* as extremely poor, not
for the number that truly are. The two differ by the field's errors: ``Y_rec = TP + FP`` and
``Y_true = TP + FN``. Verification errs where it is hard to tell, close to the line, so false
positives and false negatives largely cancel; with the synthetic field's default error
(:class:`targeting.data.synthetic.FieldOutcomeSimulator`: an assessment error of 4 % on
consumption) the recorded stock is ≈ 1 % above the true one, well inside one round's interval.
An error that does not depend on the distance to the line would not cancel: 5 % of the ≈ 179,000
households of the audit frame recorded extremely poor at random is ≈ 9,000 false records, which
the audit's weights of ≈ 1,000 per visit faithfully scale up. When back-checks (a supervisor's
re-verification of a random share of visits with a full consumption module) give the share of
recorded finds that are false (``f``, the false-discovery share) and the share of truly
extremely poor households the field records as such (``s``, the sensitivity), the true stock is
``Y_true = Y_rec (1 − f) / s`` (:func:`for_true_status`; ``TP = (1 − f) Y_rec = s Y_true``).

Rounds
------
Each round's estimate refers to the stock when its plan was made. Households recorded
``extreme_poor`` since then have left the unreached stock, so ``Ŷ_t − finds_{t..T}`` estimates
the stock after the last round ``T`` (a closed population between rounds: no entrants or exits
are modelled here). Each round's design is independent given the past, so the rounds' estimates
of the current stock are combined with inverse-variance weights (:func:`combine_rounds`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from targeting.data.eligibility import eligible_for_ranking
from targeting.plan.audit import AuditDesign, read_audit_designs

__all__ = [
    "DesignEstimate",
    "audit_outcomes",
    "combine_rounds",
    "design_estimate",
    "estimate_from_state",
    "for_true_status",
    "model_stock",
    "read_design_estimate",
]

_RESULT_Y = {"extreme_poor": 1.0, "not_extreme_poor": 0.0}


@dataclass
class DesignEstimate:
    """A design-based estimate of the unreached extreme-poor stock.

    Attributes
    ----------
    estimate : float
        Estimated stock (at plan time for one round; after the last round when combined).
    se : float
        Design standard error (NaN when a stratum has fewer than 2 responding audit units).
    low, high : float
        The interval at ``level``.
    level : float
    model_estimate : float
        The model's ``Σ p_extreme`` for the same target.
    recorded_finds : int
        Households recorded ``extreme_poor`` among the plan's visits.
    by_kecamatan : pandas.DataFrame
        ``kecamatan, estimate, se, low, high, model_estimate, audit_sample, audit_responding``.
    rounds : int
        Number of rounds combined.
    target : str
        What is estimated: ``"recorded status"`` (the households a visit would record
        extremely poor, what the outcomes measure) or ``"true status"`` (after
        :func:`for_true_status`).
    """

    estimate: float
    se: float
    low: float
    high: float
    level: float
    model_estimate: float
    recorded_finds: int
    by_kecamatan: pd.DataFrame = field(default_factory=pd.DataFrame)
    rounds: int = 1
    target: str = "recorded status"

    @property
    def model_outside(self) -> bool:
        """True when the model's estimate lies outside the design interval."""
        if not np.isfinite(self.se):
            return False
        return bool(self.model_estimate < self.low or self.model_estimate > self.high)

    def summary(self) -> dict[str, Any]:
        """Aggregates only (plain types), for the CLI, the report data and tracking."""
        return {
            "design_estimate": float(self.estimate),
            "design_se": float(self.se),
            "design_low": float(self.low),
            "design_high": float(self.high),
            "design_level": float(self.level),
            "model_estimate": float(self.model_estimate),
            "model_outside_design_interval": self.model_outside,
            "design_rounds": int(self.rounds),
            "recorded_finds": int(self.recorded_finds),
            "design_target": self.target,
        }


def audit_outcomes(
    design: AuditDesign, ledger: pd.DataFrame, until: str | None = None
) -> pd.DataFrame:
    """Attach each planned visit's recorded outcome (``y``: 1, 0 or NaN for non-response).

    Parameters
    ----------
    design : AuditDesign
    ledger : pandas.DataFrame
        Outcomes (``household_id, visit_date, result``).
    until : str, optional
        Only outcomes dated before this day (the next plan's first visit) count, so a household
        visited again in a later round is credited to the round that visited it first.

    Returns
    -------
    pandas.DataFrame
        ``design.units`` plus ``y``. A household's latest conclusive outcome within the window
        counts; no conclusive outcome leaves ``y`` missing (non-response).
    """
    units = design.units.copy()
    units["household_id"] = units["household_id"].astype(str)
    if ledger is None or not len(ledger):
        return units.assign(y=np.nan)
    led = ledger.assign(
        household_id=ledger["household_id"].astype(str),
        visit_date=pd.to_datetime(ledger["visit_date"]).dt.strftime("%Y-%m-%d"),
    )
    led = led.loc[led["result"].isin(_RESULT_Y)]
    # no lower bound on the date: an audit household had no conclusive outcome when it was
    # drawn, so any conclusive one recorded for it is its status, even if the office dated the
    # visit before the plan's first day (a visit made early, or typed with the entry date)
    if until:
        led = led.loc[led["visit_date"] < until]
    led = led.sort_values(["household_id", "visit_date"], kind="stable")
    last = led.drop_duplicates("household_id", keep="last").set_index("household_id")["result"]
    units["y"] = units["household_id"].map(last).map(_RESULT_Y).astype(float)
    return units


def _stratum(units: pd.DataFrame) -> tuple[float, float, int, int]:
    """Estimate and variance of one stratum; also audit sample size and respondents."""
    est, var = 0.0, 0.0
    ranked = units.loc[units["part"] == "ranked"]
    if len(ranked):
        e = (ranked["y"] - ranked["p_extreme"]).to_numpy(float)
        resp = np.isfinite(e)
        est += float(ranked["p_extreme"].sum())
        if resp.any():
            rho = resp.mean()
            est += float(e[resp].sum()) / rho
            var += float(((1 - rho) * e[resp] ** 2).sum()) / rho**2
    audit = units.loc[units["part"] == "audit"]
    n_resp = 0
    if len(audit):
        pi = audit["inclusion_prob"].to_numpy(float)
        e = (audit["y"] - audit["p_extreme"]).to_numpy(float)
        resp = np.isfinite(e)
        n_resp = int(resp.sum())
        if n_resp == 0:
            return est, float("nan"), len(audit), 0
        rho = (1 / pi[resp]).sum() / (1 / pi).sum()
        pi_r, e_r = pi[resp] * rho, e[resp]
        est += float((e_r / pi_r).sum())
        uncertain = pi_r < 1
        n = int(uncertain.sum())
        if n == 1:
            var = float("nan")
        elif n >= 2:
            c = (1 - pi_r[uncertain]) * n / (n - 1)
            z = e_r[uncertain] / pi_r[uncertain]
            b = (c * z).sum() / c.sum()
            var += float((c * (z - b) ** 2).sum())
    return est, var, len(audit), n_resp


def design_estimate(
    design: AuditDesign, outcomes: pd.DataFrame, level: float = 0.90
) -> DesignEstimate:
    """Estimate the stock of extreme-poor eligible unreached at the time of ``design``'s plan.

    Parameters
    ----------
    design : AuditDesign
    outcomes : pandas.DataFrame
        :func:`audit_outcomes` of the design (its ``units`` with ``y``).
    level : float, default 0.90

    Returns
    -------
    DesignEstimate
    """
    z = float(stats.norm.ppf(0.5 + level / 2))
    rows = []
    units = outcomes.assign(kecamatan=outcomes["kecamatan"].astype(str))
    for _, st in design.strata.iterrows():
        kec = str(st["kecamatan"])
        mine = units.loc[units["kecamatan"] == kec]
        est, var, n_s, n_r = _stratum(mine)
        if n_r and "anticipated_var" in st:
            # the floor for the variance: with a rare outcome and a handful of finds, the
            # design-based estimate is itself noisy and far too small whenever no low-score
            # find was drawn; the model-anticipated variance (inflated for non-response) keeps
            # the interval honest there
            anticipated = float(st["anticipated_var"]) * n_s / n_r
            # a single responding audit unit gives no design-based variance: use the anticipated
            var = anticipated if not np.isfinite(var) else max(var, anticipated)
        # the audit frame's Σ p is not in the units (only sampled units are): add it here
        est += float(st["frame_sum_p"])
        se = float(np.sqrt(var)) if np.isfinite(var) else float("nan")
        rows.append(
            {
                "kecamatan": kec,
                "estimate": est,
                "se": se,
                "low": max(est - z * se, 0.0),
                "high": est + z * se,
                "model_estimate": float(st["frame_sum_p"] + st["ranked_sum_p"]),
                "audit_sample": n_s,
                "audit_responding": n_r,
            }
        )
    table = pd.DataFrame(
        rows,
        columns=[
            "kecamatan",
            "estimate",
            "se",
            "low",
            "high",
            "model_estimate",
            "audit_sample",
            "audit_responding",
        ],
    )
    total = float(table["estimate"].sum())
    se = float(np.sqrt((table["se"] ** 2).sum(skipna=False))) if len(table) else float("nan")
    finds = int((units["y"] == 1).sum())
    return DesignEstimate(
        estimate=total,
        se=se,
        low=max(total - z * se, 0.0),
        high=total + z * se,
        level=level,
        model_estimate=float(table["model_estimate"].sum()),
        recorded_finds=finds,
        by_kecamatan=table,
    )


def combine_rounds(
    estimates: list[DesignEstimate], model_estimate: float | None = None
) -> DesignEstimate:
    """Combine rounds into one estimate of the stock after the last round.

    Parameters
    ----------
    estimates : list of DesignEstimate
        One per round, oldest first, each from :func:`design_estimate`.
    model_estimate : float, optional
        The model's current ``Σ p_extreme`` over the eligible unreached (default: the last
        round's model estimate minus its recorded finds).

    Returns
    -------
    DesignEstimate
        Inverse-variance weighted mean of ``Ŷ_t − finds_{t..T}`` over the rounds with a finite
        standard error; ``by_kecamatan`` is the last round's (per-kecamatan finds are not carried
        across rounds).
    """
    if not estimates:
        raise ValueError("combine_rounds needs at least one round's estimate")
    finds = np.array([e.recorded_finds for e in estimates], dtype=float)
    after = np.cumsum(finds[::-1])[::-1]  # finds in rounds t..T
    current = np.array([e.estimate for e in estimates]) - after
    se = np.array([e.se for e in estimates])
    ok = np.isfinite(se) & (se > 0)
    last = estimates[-1]
    level = last.level
    z = float(stats.norm.ppf(0.5 + level / 2))
    if ok.any():
        w = 1 / se[ok] ** 2
        est = float((w * current[ok]).sum() / w.sum())
        s = float(np.sqrt(1 / w.sum()))
    else:
        est, s = float(current[-1]), float("nan")
    model = (
        float(model_estimate)
        if model_estimate is not None
        else float(last.model_estimate - last.recorded_finds)
    )
    return DesignEstimate(
        estimate=est,
        se=s,
        low=max(est - z * s, 0.0),
        high=est + z * s,
        level=level,
        model_estimate=model,
        recorded_finds=int(finds.sum()),
        by_kecamatan=last.by_kecamatan,
        rounds=int(ok.sum()) if ok.any() else len(estimates),
    )


def for_true_status(
    estimate: DesignEstimate, false_discovery: float, sensitivity: float
) -> DesignEstimate:
    """The design estimate of the *true* stock, from the recorded one and the field's errors.

    ``Y_true = Y_rec (1 − f) / s`` (see the module docstring), applied to the estimate, its
    standard error and interval (``f`` and ``s`` taken as known; when they come from a small
    back-check their own uncertainty widens the interval further, which this does not add).

    Parameters
    ----------
    estimate : DesignEstimate
        A recorded-status estimate (:func:`design_estimate` or :func:`combine_rounds`).
    false_discovery : float
        Share of the field's ``extreme_poor`` records that are not extremely poor, in [0, 1).
    sensitivity : float
        Share of the truly extremely poor that the field records as such, in (0, 1].

    Returns
    -------
    DesignEstimate
        The estimate scaled by ``(1 − f) / s`` (the model's estimate and finds unchanged).

    Raises
    ------
    ValueError
        If ``false_discovery`` or ``sensitivity`` is out of range.
    """
    if not (0.0 <= false_discovery < 1.0) or not (0.0 < sensitivity <= 1.0):
        raise ValueError(
            "false_discovery must be in [0, 1) and sensitivity in (0, 1], got "
            f"{false_discovery!r} and {sensitivity!r}: give the back-checks' shares"
        )
    k = (1.0 - false_discovery) / sensitivity
    return DesignEstimate(
        estimate=estimate.estimate * k,
        se=estimate.se * k,
        low=estimate.low * k,
        high=estimate.high * k,
        level=estimate.level,
        model_estimate=estimate.model_estimate,
        recorded_finds=estimate.recorded_finds,
        by_kecamatan=estimate.by_kecamatan.assign(
            **{c: estimate.by_kecamatan[c] * k for c in ["estimate", "se", "low", "high"]}
        )
        if len(estimate.by_kecamatan)
        else estimate.by_kecamatan,
        rounds=estimate.rounds,
        target="true status",
    )


def estimate_from_state(
    folder: str | Path,
    ledger: pd.DataFrame,
    model_estimate: float | None = None,
    level: float = 0.90,
) -> DesignEstimate | None:
    """The combined design estimate from every audit design in a state folder.

    Returns
    -------
    DesignEstimate or None
        None when the folder holds no audit design or no audit sample yet.
    """
    designs = [d for d in read_audit_designs(folder) if (d.units["part"] == "audit").any()]
    if not designs:
        return None
    ests = []
    for i, d in enumerate(designs):
        until = designs[i + 1].first_visit_date if i + 1 < len(designs) else None
        ests.append(design_estimate(d, audit_outcomes(d, ledger, until=until), level=level))
    return combine_rounds(ests, model_estimate=model_estimate)


def model_stock(registry: pd.DataFrame, predictions: pd.DataFrame) -> float:
    """The model's estimate of the current stock: ``Σ p_extreme`` over the eligible unreached.

    Parameters
    ----------
    registry : pandas.DataFrame
        ``household_id``, programme flags and the current ``verification_status``.
    predictions : pandas.DataFrame
        ``household_id, p_extreme`` (e.g. :func:`targeting.data.state.read_predictions`).
    """
    eligible = eligible_for_ranking(registry)
    p = predictions.assign(household_id=predictions["household_id"].astype(str))
    p = p.drop_duplicates("household_id").set_index("household_id")["p_extreme"]
    ids = registry.loc[eligible, "household_id"].astype(str)
    return float(pd.to_numeric(p.reindex(ids), errors="coerce").sum())


def read_design_estimate(
    state_dir: str | Path | None, model_estimate: float | None = None, level: float = 0.90
) -> dict[str, Any] | None:
    """The report's design-estimate block from a state folder, or None before any audit outcome.

    Parameters
    ----------
    state_dir : path-like, optional
        Folder with ``audit/`` designs and ``outcomes_ledger.parquet``.
    model_estimate : float, optional
        The model's current estimate of the stock to compare with (the report's headline).
    level : float, default 0.90

    Returns
    -------
    dict or None
        :meth:`DesignEstimate.summary` plus ``by_kecamatan`` records of the last round.
    """
    from targeting.data.state import LEDGER_FILE

    if state_dir is None or not (Path(state_dir) / LEDGER_FILE).exists():
        return None
    ledger = pd.read_parquet(Path(state_dir) / LEDGER_FILE)
    est = estimate_from_state(state_dir, ledger, model_estimate=model_estimate, level=level)
    if est is None or not np.isfinite(est.se):
        return None
    cols = ["kecamatan", "estimate", "low", "high", "audit_responding"]
    records = est.by_kecamatan[cols].replace({np.nan: None}).to_dict(orient="records")
    return {**est.summary(), "by_kecamatan": records}
