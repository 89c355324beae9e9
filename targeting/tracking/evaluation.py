"""Log a model-zoo comparison (:class:`targeting.evaluation.zoo.ZooEvaluation`) to MLflow.

One experiment, one parent run (the protocol, the comparison table, the champion), and a nested
run per model: the spec's parameters, the table's metrics, the targeting-curve and calibration
plots (PNG) and the model's group table (CSV). The champion (by the evaluation's documented
primary metric) is tagged on the parent (``champion``) and on its own run (``champion = true``).

Only aggregates are logged: no household id, name or address reaches the store (the out-of-fold
predictions stay in the ``--oof`` file on the analyst's machine).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from targeting.tracking import configure, ensure_experiment, finite_metrics, log_frame
from targeting.tracking.quiet import quietly

if TYPE_CHECKING:
    from targeting.evaluation.zoo import ZooEvaluation

__all__ = ["log_evaluation"]


def _spec_params(spec: Any) -> dict[str, str]:
    out = {
        "estimator": str(spec.estimator),
        "feature_set": str(spec.feature_set),
        "calibrate": str(bool(spec.calibrate)),
    }
    for key, value in spec.params.items():
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        out[f"param.{key}"] = text[:500]
    return out


def _plot_curve(result: ZooEvaluation, model: str, path: Path) -> None:
    import matplotlib  # slow to import: only when used

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # slow to import: only when used

    fig, ax = plt.subplots(figsize=(5, 4.5))
    for name, curve in result.curves.groupby("model", sort=False):
        mine = name == model
        ax.plot(
            curve["share_selected"],
            curve["share_found"],
            color="C0" if mine else "0.75",
            lw=2 if mine else 1,
            label=model if mine else None,
            zorder=3 if mine else 2,
        )
    ax.plot([0, 1], [0, 1], ls=":", color="0.5", label="random")
    share = result.params.get("true_share", float("nan"))
    ax.axvline(share, ls="--", color="C3", lw=1, label=f"true share {share:.3f}")
    ax.set_xlabel("share of households selected")
    ax.set_ylabel("share of the extremely poor found")
    ax.set_title(f"Targeting curve: {model} (others grey)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_calibration(result: ZooEvaluation, model: str, path: Path) -> None:
    import matplotlib  # slow to import: only when used

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # slow to import: only when used

    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.plot([0, 1], [0, 1], ls=":", color="0.5", label="perfect")
    bins = result.calibration[result.calibration["model"] == model]
    for kind, part in bins.groupby("kind", sort=False):
        ax.plot(part["p_mean"], part["observed"], marker="o", label=str(kind))
    ax.set_xlabel("mean predicted P(extreme)")
    ax.set_ylabel("observed extreme share")
    ax.set_title(f"Reliability: {model}")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _paired_metrics(paired: pd.DataFrame, model: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for _, r in paired[paired["model"] == model].iterrows():
        key = f"d_{r['metric']}_vs_{r['reference']}"
        out[key] = float(r["difference"])
        out[f"{key}_low"] = float(r["low"])
        out[f"{key}_high"] = float(r["high"])
    return out


@quietly
def log_evaluation(
    result: ZooEvaluation,
    experiment_name: str,
    tracking_uri: str | None = None,
    paired: pd.DataFrame | None = None,
    tuning: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Log a zoo comparison: a parent run with a nested run per model.

    Parameters
    ----------
    result : targeting.evaluation.zoo.ZooEvaluation
    experiment_name : str
        MLflow experiment (created when absent).
    tracking_uri : str, optional
        Default :func:`targeting.tracking.default_tracking_uri` (``sqlite:///mlflow.db`` in the
        working folder unless ``MLFLOW_TRACKING_URI`` is set).

    Returns
    -------
    dict
        ``tracking_uri``, ``experiment_id``, ``run_id`` (parent), ``model_runs`` (model name to
        nested run id), ``champion``.

    Other Parameters
    ----------------
    paired : pandas.DataFrame, optional
        :func:`targeting.evaluation.paired.paired_bootstrap` output: logged as
        ``paired_differences.csv`` on the parent and as ``d_<metric>_vs_<reference>`` (with
        ``_low``/``_high``) metrics on each model's run.
    tuning : dict, optional
        :func:`targeting.evaluation.provenance.tuning_notes` output: which settings were tuned
        on what; logged as ``tuning.json`` and as ``tuned_on``/``tuning_verdict`` tags.
    """
    import mlflow  # slow to import: only when used

    uri = configure(tracking_uri)
    experiment_id = ensure_experiment(experiment_name, uri)
    model_runs: dict[str, str] = {}
    specs = {s.name: s for s in result.specs}
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"evaluate-{result.data_name}"):
        parent = mlflow.active_run()
        assert parent is not None
        mlflow.set_tags(
            {
                "kind": "zoo-evaluation",
                "data": result.data_name,
                "champion": result.champion,
                "primary_metric": result.primary_metric,
            }
        )
        mlflow.log_params(
            {**{k: str(v) for k, v in result.params.items()}, "models": ",".join(specs)}
        )
        if result.skipped:
            mlflow.log_dict(result.skipped, "skipped_models.json")
        mlflow.log_dict(
            {k: v for k, v in result.notes.items() if isinstance(v, str | int | float | bool)},
            "notes.json",
        )
        log_frame(result.table, "model_comparison.csv")
        if paired is not None:
            log_frame(paired, "paired_differences.csv")
        mlflow.log_dict(tuning or {}, "tuning.json")
        mlflow.set_tag(
            "tuned_settings",
            "; ".join(f"{m}: {t['verdict']}" for m, t in (tuning or {}).items()) or "none",
        )
        log_frame(result.groups, "groups.csv")
        log_frame(result.curves, "targeting_curves.csv")
        log_frame(result.calibration, "calibration.csv")
        champion_row = result.table[result.table["model"] == result.champion].iloc[0].to_dict()
        mlflow.log_metrics(
            finite_metrics({f"champion_{k}": v for k, v in champion_row.items()})
            | finite_metrics({k: v for k, v in result.notes.items() if k.startswith("macro_f1")})
        )
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            for _, row in result.table.iterrows():
                name = str(row["model"])
                with mlflow.start_run(
                    experiment_id=experiment_id, run_name=name, nested=True
                ) as child:
                    model_runs[name] = child.info.run_id
                    is_champion = name == result.champion
                    mlflow.set_tags(
                        {
                            "model": name,
                            "data": result.data_name,
                            "champion": str(is_champion).lower(),
                        }
                    )
                    if name in specs:
                        mlflow.log_params(_spec_params(specs[name]))
                        if specs[name].description:
                            mlflow.set_tag("mlflow.note.content", specs[name].description)
                    mlflow.log_metrics(finite_metrics(row.to_dict()))
                    if paired is not None:
                        mlflow.log_metrics(finite_metrics(_paired_metrics(paired, name)))
                    if tuning and name in tuning:
                        mlflow.set_tags(
                            {
                                "tuned_settings": tuning[name]["settings"][:500],
                                "tuned_on": tuning[name]["tuned_on"][:500],
                                "tuning_verdict": tuning[name]["verdict"],
                            }
                        )
                    curve_png = folder / f"{name}_targeting_curve.png"
                    _plot_curve(result, name, curve_png)
                    mlflow.log_artifact(str(curve_png), artifact_path="plots")
                    calib_png = folder / f"{name}_calibration.png"
                    _plot_calibration(result, name, calib_png)
                    mlflow.log_artifact(str(calib_png), artifact_path="plots")
                    groups = result.groups[result.groups["model"] == name]
                    log_frame(groups.reset_index(drop=True), "groups.csv")
                    folds = result.fold_metrics[result.fold_metrics["model"] == name]
                    log_frame(pd.DataFrame(folds).reset_index(drop=True), "fold_metrics.csv")
    return {
        "tracking_uri": uri,
        "experiment_id": experiment_id,
        "run_id": parent.info.run_id,
        "model_runs": model_runs,
        "champion": result.champion,
    }
