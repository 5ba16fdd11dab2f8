"""Command line: `python -m train --config CONFIG.yaml [--phase 1|2|all] [--dry-run] [key.path=value ...]`.

User mistakes (bad config, missing data) print one `error:` line and exit with status 2; anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import sys

from .config import ConfigError, load_config

EXIT_USAGE = 2
PHASE_CHOICES = {"all": (1, 2), "1": (1,), "2": (2,)}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m train",
        description="Two-phase SFT (general domains, then vertical domains) on envdsl trajectories.",
    )
    parser.add_argument("--config", required=True, help="YAML run config (see configs/train/)")
    parser.add_argument("--phase", choices=sorted(PHASE_CHOICES), default="all", help="run both phases or one")
    parser.add_argument("--dry-run", action="store_true", help="load and split the data, print the split, train nothing")
    parser.add_argument("overrides", nargs="*", metavar="key.path=value", help="config overrides, e.g. training.max_steps=10")
    # Intermixed: overrides may come before or after --phase and the other options.
    return parser.parse_intermixed_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = load_config(args.config, args.overrides)
        # Imported late so that config errors are reported before torch and transformers load.
        from .phases import run

        result = run(config, PHASE_CHOICES[args.phase], dry_run=args.dry_run)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.dry_run:
        print(json.dumps(result["split"], indent=2))
    elif result.get("phases"):
        from .progress import render_summary

        print(render_summary(result))
    return 0
