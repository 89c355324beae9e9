"""Which model settings were chosen by looking at cross-validation results, and on what.

A setting tuned on some folds and then reported on the same folds is optimistic (issue 13: the
ensemble's ``near_weight`` 0.35 was chosen on Costa Rica's household folds, seeds 0–2, and the
EE across ``near_weight`` 0–1 is flat within one household). The honest protocol reports models
on fold seeds disjoint from the ones their settings were tuned on, and tunes what a spec declares
under ``tune:`` inside an inner loop (nested CV, :func:`targeting.evaluation.cv.tune_settings`);
:func:`tuning_notes` says, for an evaluation, which settings were tuned, on what, whether the
reported folds overlap the tuning folds, and what each outer fold's inner loop chose.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["REPORT_SEED", "TUNED_SETTINGS", "TUNING_SEEDS", "nested_sentence", "tuning_notes"]

REPORT_SEED: int = 100
"""First fold seed of reported comparisons: disjoint from every tuning seed below (0–22)."""

TUNING_SEEDS: tuple[int, ...] = tuple(range(REPORT_SEED))
"""Fold seeds open to tuning (0–99): a setting chosen by looking at CV results is chosen on these
and reported on seeds from :data:`REPORT_SEED` on."""

TUNED_SETTINGS: dict[str, dict[str, Any]] = {
    "ensemble": {
        "settings": (
            "the members' hyper-parameters (learning_rate, max_iter, max_leaf_nodes, "
            "min_samples_leaf, n_estimators, forest_min_samples_leaf, forest_max_features, C), "
            "the near_weight grid (near_weight itself is chosen by the nested inner loop; "
            "its default 0.35 was chosen on these folds) and the Costa Rica adapter's feature set "
            "(issue 13: earning-capacity, spouse and spread member features added, housing "
            "one-hot groups collapsed to their ord_* scores), chosen among member, combination, "
            "near_weight and feature candidates on seeds 0-4"
        ),
        "data": "costa-rica-ipm",
        "group_by": "household",
        "seeds": (0, 1, 2, 3, 4, 10, 11, 12, 20, 21, 22),
        "source": (
            "benchmarks/costa_rica_search.py and benchmarks/quality.py (issue 3); "
            "benchmarks/README.md 'Costa Rica features (issue 13)' lists the candidates"
        ),
    },
}
"""Model name to the settings chosen on CV results: data set, fold grouping and fold seeds."""


def nested_sentence(info: dict[str, Any]) -> str:
    """One sentence on a nested choice: grid, metric, inner folds and what the outer folds chose.

    Parameters
    ----------
    info : dict
        An entry of :meth:`targeting.evaluation.zoo.ZooEvaluation.nested`.

    Returns
    -------
    str
    """
    grid = "; ".join(
        f"{key} in [{', '.join(str(v) for v in values)}]" for key, values in info["grid"].items()
    )
    return (
        f"{grid} chosen in each outer fold by an inner {info['inner_folds']}-fold CV on that "
        f"fold's training rows ({info['metric']}); chosen: {info['summary'] or 'none'}"
    )


def tuning_notes(
    data_name: str,
    models: Iterable[str],
    seeds: Sequence[int],
    group_by: str,
    nested: dict[str, dict[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """The tuned settings of each evaluated model and whether the reported folds reuse them.

    Parameters
    ----------
    data_name : str
        The evaluated data set (``HouseholdData.name``).
    models : iterable of str
        The evaluated models.
    seeds : sequence of int
        Fold seeds of the reported repeats.
    group_by : str
        Fold grouping of the reported repeats.
    nested : dict, optional
        :meth:`targeting.evaluation.zoo.ZooEvaluation.nested`: the settings tuned inside an
        inner loop, per model.

    Returns
    -------
    dict
        Model name to ``settings``, ``tuned_on`` (a sentence), ``overlap`` (True when the
        reported folds are the tuning folds: same data, grouping and at least one seed) and
        ``verdict`` (``optimistic`` or ``disjoint folds`` or ``other data``; ``nested`` for a
        model whose only tuned settings are chosen in the inner loop); with ``nested``, also
        ``nested`` (that entry) and ``inner`` (:func:`nested_sentence`).
    """
    out: dict[str, dict[str, Any]] = {}
    nested = nested or {}
    for name in models:
        info = TUNED_SETTINGS.get(name)
        inner = nested.get(name)
        if info is None:
            if inner is not None:
                out[name] = {
                    "settings": ", ".join(inner["grid"]),
                    "tuned_on": "inner CV on each outer training fold (nested)",
                    "overlap": False,
                    "verdict": "nested",
                    "nested": inner,
                    "inner": nested_sentence(inner),
                }
            continue
        same_data = info["data"] == data_name
        overlap = (
            same_data and info["group_by"] == group_by and bool(set(seeds) & set(info["seeds"]))
        )
        seeds_text = ", ".join(str(s) for s in info["seeds"])
        out[name] = {
            "settings": info["settings"],
            "tuned_on": (
                f"{info['data']}, folds over {info['group_by']}s, seeds {seeds_text} "
                f"({info['source']})"
            ),
            "overlap": bool(overlap),
            "verdict": "optimistic"
            if overlap
            else ("disjoint folds" if same_data else "other data"),
        }
        if inner is not None:
            out[name]["nested"] = inner
            out[name]["inner"] = nested_sentence(inner)
    return out
