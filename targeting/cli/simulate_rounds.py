"""``targeting simulate-rounds``: the feedback loop on the synthetic city, round by round."""

from __future__ import annotations

import argparse
import json
from typing import Any

from targeting.cli.common import DEFAULT_SPEC, Formatter, load_spec, print_json, table

__all__ = ["register"]


def _cmd_simulate(args: argparse.Namespace) -> int:
    # the pipeline imports scikit-learn: imported when the command runs, so that
    # 'targeting --help' and argument errors answer at once
    from targeting.config.experiment import SpecError
    from targeting.console import Progress
    from targeting.pipeline import simulate_feedback_rounds
    from targeting.pmt.registry import load_specs

    # command-line numbers are checked by the spec's own types, before any work
    spec = load_spec(args.spec).with_overrides(
        {"seed": args.seed, "data.n_households": args.households},
        {"seed": "--seed", "data.n_households": "--households"},
    )
    if args.rounds < 1:
        raise SpecError(f"--rounds must be a whole number >= 1 (got {args.rounds})")
    # a bad model spec fails before the city is built
    load_specs(names=[args.model], spec_path=spec.path)
    sim = simulate_feedback_rounds(
        spec,
        households=spec.data.n_households,
        model=args.model,
        rounds=args.rounds,
        seed=spec.seed,
        method=args.method,
        group_offsets=not args.no_group_offsets,
        progress=Progress(total=3, enabled=not args.quiet),
    )
    frame, verdict, seed, capacity = sim.rounds.table, sim.verdict, sim.seed, sim.capacity
    households = spec.data.n_households
    payload = {
        "households": households,
        "seed": seed,
        "model": args.model,
        "capacity_visits_per_round": capacity.total_visits,
        "rounds": json.loads(frame.to_json(orient="records")),
        "verdict": verdict,
    }
    if args.json:
        print_json(payload)
        return 0
    cols = [
        "round",
        "visits",
        "unreached_extreme_at_start",
        "finds",
        "cumulative_share_found",
        "realised_hit_rate",
        "predicted_hit_rate",
        "true_hit_rate",
        "true_hit_rate_without_feedback",
        "feedback_gain",
    ]
    print(
        f"\nFeedback loop on synthetic Serang ({households:,} households, seed {seed}, "
        f"{args.model}, {capacity.total_visits:,} visits per round):"
    )
    print(table(frame[cols]))
    extra = [c for c in ["labels", "recalibration_intercept", "recalibration_slope"] if c in frame]
    if extra:
        print("\nRecalibration after each round:")
        print(table(frame[["round", *extra]]))
    from targeting.feedback.rounds import DESIGN_STOCK_COLUMNS

    design = ["round", *DESIGN_STOCK_COLUMNS]
    if "design_estimate_at_start" in frame:
        print("\nUnreached extreme-poor stock: truth, model and audit-sample (design) estimate:")
        print(table(frame[design]))
    print(
        f"\nRound {verdict['round']} plan (after {verdict['feedback_rounds_before']} feedback "
        f"round(s)): true hit rate {verdict['true_hit_rate']:.3f} vs "
        f"{verdict['true_hit_rate_without_feedback']:.3f} without learning from the field -> "
        + ("not worse" if verdict["not_worse"] else "WORSE")
    )
    return 0


def register(sub: Any) -> None:
    """Add the ``simulate-rounds`` sub-command to the parser's sub-parsers."""
    sim = sub.add_parser(
        "simulate-rounds",
        help="simulate plan → field → ingest → refit → re-plan rounds on synthetic Serang",
        formatter_class=Formatter,
        description=(
            "Run the feedback loop on the synthetic city whose truth is known: each round's plan "
            "is answered by the field simulator, the outcomes are ingested, the champion is "
            "recalibrated on every verified household so far and the registry re-scored for the "
            "next plan. Prints finds, the cumulative share of the truly unreached extreme-poor "
            "found, realised vs predicted hit rate, and the hit rate the plan would have had "
            "without learning from the field."
        ),
        epilog="Example:\n  targeting simulate-rounds --rounds 3\n"
        "  targeting simulate-rounds --households 20000 --rounds 4 --json",
    )
    sim.add_argument(
        "--spec",
        default=DEFAULT_SPEC,
        help=f"experiment spec for capacity (default {DEFAULT_SPEC})",
    )
    sim.add_argument("--rounds", type=int, default=3, help="number of rounds (default 3)")
    sim.add_argument(
        "--households", type=int, help="synthetic households (default the spec's n_households)"
    )
    sim.add_argument("--seed", type=int, help="seed (default the spec's)")
    sim.add_argument("--model", default="ols", help="model spec to start from (default ols)")
    sim.add_argument("--method", choices=["platt", "intercept"], default="platt")
    sim.add_argument(
        "--no-group-offsets",
        action="store_true",
        help="one map for the city (no kelurahan offsets)",
    )
    sim.add_argument("--quiet", action="store_true", help="no progress lines")
    sim.add_argument("--json", action="store_true", help="print the rounds as one JSON object")
    sim.set_defaults(handler=_cmd_simulate)
