"""``targeting synth``: the synthetic city."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from targeting.cli.common import Formatter, print_json, table

__all__ = ["register"]


def _cmd_synth(args: argparse.Namespace) -> int:
    # imported on use, so that 'targeting --help' answers without loading them
    from targeting.data.synthetic import calibration_summary, generate_city, write_city

    city = generate_city(n_households=args.households, seed=args.seed)
    paths = {} if args.no_write else write_city(city, Path(args.output))
    payload: dict[str, Any] = {
        "households": len(city.registry),
        "survey_households": len(city.survey),
        "seed": args.seed,
        "outputs": {k: str(v) for k, v in paths.items()},
    }
    calibration = calibration_summary(city) if args.summary else None
    if calibration is not None:
        payload["calibration"] = json.loads(calibration.to_json(orient="records"))
        payload["all_within_10pct"] = bool(calibration["within_10pct"].all())
    if args.json:
        print_json(payload)
        return 0
    print(
        f"Synthetic Kota Serang: {len(city.registry):,} households, "
        f"survey of {len(city.survey):,} (seed {args.seed})"
    )
    for key, path in paths.items():
        print(f"  {key}: {path}")
    if calibration is not None:
        print("\nCalibration against DESIGN.md §7:")
        print(table(calibration))
    return 0


def register(sub: Any) -> None:
    """Add the ``synth`` sub-command to the parser's sub-parsers."""
    synth = sub.add_parser(
        "synth",
        help="generate synthetic Kota Serang (survey, registry, truth)",
        formatter_class=Formatter,
        description="Generate the synthetic city of DESIGN.md §7 as Parquet files.",
        epilog="Example:\n  targeting synth --summary\n"
        "  targeting synth --households 20000 --seed 7 --output data/small",
    )
    synth.add_argument(
        "--households", type=int, default=206_600, help="number of households (default 206600)"
    )
    synth.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    synth.add_argument("--output", default="data/synthetic", help="folder for the Parquet files")
    synth.add_argument(
        "--summary",
        action="store_true",
        help="print each calibration target beside the generated value",
    )
    synth.add_argument(
        "--no-write", action="store_true", help="do not write files (with --summary)"
    )
    synth.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    synth.set_defaults(handler=_cmd_synth)
