"""Costa Rica extreme-poverty benchmark: plain baseline vs engineered features and the ensemble.

Protocol (DESIGN.md §4, §9): one row per household with a head (2,973), label = head's
``Target == 1``; ``--repeats`` × stratified 5-fold cross-validation over *households* (a household
is one row, so no fold ever sees a member of a test household), fixed seeds 0, 1, 2, ...
For each model and repeat the out-of-fold scores are pooled; exclusion error EE = 1 − |S∩P|/|P|
and inclusion error IE = 1 − |S∩P|/|S| with S = the top k = round(share × n) households.
AUC is the mean ± sd over the individual folds; EE at the true share is the mean over repeats of
the pooled value, with the sd over individual folds (each fold's own top share) beside it.

Rows:

* ``baseline``: scikit-learn ``HistGradientBoostingClassifier()`` (default parameters) on the head
  rows' raw columns (all but ``Id``, ``idhogar``, ``Target``; all-missing columns dropped per
  fold);
* ``hgb-default-eng``: the same default model on the engineered household features;
* ``ensemble-binary``: :class:`~targeting.pmt.ensemble.OrdinalEnsemblePMT` fitted on the binary
  label only (no calibration);
* ``ord-boosting``, ``ord-forest``, ``ord-logit``: the members of the ordinal ensemble alone
  (scored from the champion's fits, uncalibrated scores, so no Brier);
* ``ensemble-ordinal``: the champion: ordinal-aware ensemble, Platt-calibrated (3 inner folds).

Run ``python benchmarks/costa_rica_search.py`` (about 3–5 minutes on 2 cores). ``--grouped`` adds
the robustness view (leave-one-region-out folds). Threads are pinned to one per process and the
folds run in ``--jobs`` processes.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import LeaveOneGroupOut, StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from targeting.data.costa_rica import default_costa_rica_path, load_costa_rica
from targeting.pmt.ensemble import OrdinalEnsemblePMT

BUDGETS = (0.10, 0.20, 0.40)


def raw_head_columns(ids: np.ndarray, path: Path | None = None) -> pd.DataFrame:
    """The plain baseline's design: the head rows' raw columns, aligned with ``ids``."""
    raw = pd.read_csv(path or default_costa_rica_path())
    raw["idhogar"] = raw["idhogar"].astype(str)
    heads = raw[raw["parentesco1"] == 1].drop_duplicates("idhogar").set_index("idhogar")
    return heads.loc[ids].drop(columns=["Id", "Target"]).reset_index(drop=True).astype(float)


def top_k_errors(score: np.ndarray, y: np.ndarray, share: float) -> tuple[float, float]:
    """Exclusion and inclusion error when the top ``round(share × n)`` are selected."""
    k = max(1, round(share * len(y)))
    top = np.argsort(-score, kind="stable")[:k]
    hits = y[top].sum()
    return 1.0 - hits / max(y.sum(), 1), 1.0 - hits / k


def _fit_fold(name: str, X: pd.DataFrame, y: np.ndarray, t4: np.ndarray, tr, te, seed: int):
    warnings.filterwarnings("ignore")
    if name in ("baseline", "hgb-default-eng"):
        keep = X.columns[X.iloc[tr].notna().any()]
        m = HistGradientBoostingClassifier(random_state=seed)
        m.fit(X.iloc[tr][keep], y[tr])
        return {name: m.predict_proba(X.iloc[te][keep])[:, 1]}
    if name == "ensemble-binary":
        m = OrdinalEnsemblePMT(calibration_cv=0, random_state=seed).fit(X.iloc[tr], y[tr])
        return {name: m.predict_proba(X.iloc[te])[:, 1]}
    m = OrdinalEnsemblePMT(random_state=seed).fit(X.iloc[tr], y[tr], y_ordinal=t4[tr])
    out = {f"ord-{k}": v for k, v in m.member_scores(X.iloc[te]).items()}
    out["ensemble-ordinal"] = m.predict_proba(X.iloc[te])[:, 1]
    return out


def cross_validate(
    jobs: list[tuple[str, pd.DataFrame]],
    y: np.ndarray,
    t4: np.ndarray,
    splits: list[tuple[int, np.ndarray, np.ndarray]],
    n_jobs: int,
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Out-of-fold scores per model and repeat: ``{model: array (n_repeats, n)}``."""
    n_rep = max(s for s, _, _ in splits) + 1
    tasks = [(name, X, r, tr, te) for name, X in jobs for r, tr, te in splits]
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    results = Parallel(n_jobs=n_jobs)(
        delayed(_timed)(_fit_fold, name, X, y, t4, tr, te, r) for name, X, r, tr, te in tasks
    )
    oof: dict[str, np.ndarray] = {}
    for (name, _, r, _, te), (res, sec) in zip(tasks, results, strict=True):
        seconds[name] = seconds.get(name, 0.0) + sec
        for model, score in res.items():
            oof.setdefault(model, np.full((n_rep, len(y)), np.nan))[r, te] = score
    seconds["wall"] = time.perf_counter() - t0
    return oof, seconds


def _timed(fn: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def summarise(
    oof: dict[str, np.ndarray],
    y: np.ndarray,
    splits: list[tuple[int, np.ndarray, np.ndarray]],
    brier: set[str],
) -> pd.DataFrame:
    """The comparison table (one row per model)."""
    share = float(y.mean())
    rows = []
    for model, P in oof.items():
        fold_auc = [roc_auc_score(y[te], P[r, te]) for r, _, te in splits]
        fold_ee = [top_k_errors(P[r, te], y[te], share)[0] for r, _, te in splits]
        pooled = [top_k_errors(P[r], y, share) for r in range(P.shape[0])]
        row = {
            "model": model,
            "AUC": np.mean(fold_auc),
            "AUC_sd": np.std(fold_auc),
            "EE@share": np.mean([e for e, _ in pooled]),
            "EE_fold_sd": np.std(fold_ee),
            "IE@share": np.mean([i for _, i in pooled]),
        }
        for b in BUDGETS:
            row[f"EE@{round(b * 100)}"] = np.mean([top_k_errors(p, y, b)[0] for p in P])
        row["Brier"] = np.mean([np.mean((p - y) ** 2) for p in P]) if model in brier else np.nan
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


def group_view(score: np.ndarray, y: np.ndarray, groups: pd.DataFrame) -> pd.DataFrame:
    """EE at the true share by group, as a ratio to the overall EE (one repeat's pooled scores)."""
    share = float(y.mean())
    k = round(share * len(y))
    selected = np.zeros(len(y), dtype=bool)
    selected[np.argsort(-score, kind="stable")[:k]] = True
    overall = 1 - (selected & (y == 1)).sum() / y.sum()
    rows = []
    for col in groups.columns:
        for value, idx in groups.groupby(col).groups.items():
            m = np.asarray(idx)
            pos = y[m] == 1
            if pos.sum() < 5:
                continue
            ee = 1 - selected[m][pos].mean()
            rows.append({"group": f"{col}={value}", "n": len(m), "n_extreme": int(pos.sum()),
                         "EE": ee, "ratio": ee / overall})  # fmt: skip
    return pd.DataFrame(rows).set_index("group")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="repeats of stratified 5-fold CV")
    ap.add_argument("--jobs", type=int, default=2, help="parallel processes over folds")
    ap.add_argument("--grouped", action="store_true", help="add leave-one-region-out view")
    ap.add_argument("--path", type=Path, default=None, help="Costa Rica train.csv")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    data = load_costa_rica(args.path)
    y, t4 = data.label, data.target4
    assert t4 is not None
    raw = raw_head_columns(data.ids, args.path)
    print(
        f"Costa Rica: {len(y)} households with a head ({data.notes['n_dropped_no_head']} without a "
        f"head dropped), extreme share {y.mean():.4f}, {data.X.shape[1]} engineered features, "
        f"{raw.shape[1]} raw head columns"
    )
    splits = [
        (r, tr, te)
        for r in range(args.repeats)
        for tr, te in StratifiedKFold(5, shuffle=True, random_state=r).split(raw, y)
    ]
    jobs = [
        ("baseline", raw),
        ("hgb-default-eng", data.X),
        ("ensemble-binary", data.X),
        ("ensemble-ordinal", data.X),
    ]
    oof, seconds = cross_validate(jobs, y, t4, splits, args.jobs)
    brier = {"baseline", "hgb-default-eng", "ensemble-binary", "ensemble-ordinal"}
    table = summarise(oof, y, splits, brier)
    pd.set_option("display.width", 160)
    print(f"\n{args.repeats} x stratified 5-fold CV over households (seeds 0..{args.repeats - 1})")
    print(table.round(4).to_string())
    print("\nfit seconds (sum over folds):", {k: round(v, 1) for k, v in seconds.items()})
    champion = table.loc["ensemble-ordinal"]
    base = table.loc["baseline"]
    print(
        f"\nchampion ensemble-ordinal: AUC {champion['AUC']:.4f} (bar 0.80), EE@share "
        f"{champion['EE@share']:.4f} (bar 0.65); baseline AUC {base['AUC']:.4f}, EE@share "
        f"{base['EE@share']:.4f}; bar met: "
        f"{bool(champion['AUC'] >= 0.80 and champion['EE@share'] <= 0.65)}"
    )
    print("\nEE at the true share by group (champion, repeat 0; ratio to overall EE):")
    print(group_view(oof["ensemble-ordinal"][0], y, data.group_columns).round(3).to_string())

    if args.grouped:
        groups = data.groups
        gsplits = [(0, tr, te) for tr, te in LeaveOneGroupOut().split(raw, y, groups)]
        g_oof, _ = cross_validate(jobs[:1] + jobs[3:], y, t4, gsplits, args.jobs)
        print("\nrobustness: leave-one-region-out (6 folds; AUC sd over regions)")
        print(summarise(g_oof, y, gsplits, brier).round(4).to_string())
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
