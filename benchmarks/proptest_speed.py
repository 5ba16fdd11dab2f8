"""Seconds per domain for `envdsl test` at its default example count, over the specs in specs/
(or the paths given). The gate must stay cheap enough to run on thousands of synthesised domains.

Each domain is compiled first (not timed), then gated once; the figure is wall-clock time of
gate_domain (seeds, generator, every tool's single-call and schema tests, call sequences),
plus examples per second. Failures found are counted, not judged: that is `envdsl test`'s job.
Run: python benchmarks/proptest_speed.py [--quick] [PATH ...]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from bench_common import DEFAULT_RESULTS, REPO, print_table, write_results


def main() -> None:
    from envdsl.proptest.runner import DEFAULT_EXAMPLES, Options, gate_domain
    from envdsl.proptest.targets import Targets

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("paths", nargs="*", help="specs, folders of specs or packages (default: specs/)")
    ap.add_argument("--quick", action="store_true", help="5 examples, first 2 domains: checks the script runs")
    ap.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="folder for proptest_speed.json")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    paths = args.paths or [str(REPO / "specs")]
    examples = 5 if args.quick else DEFAULT_EXAMPLES
    rows: list[list[Any]] = []
    per_domain: list[dict[str, Any]] = []
    with Targets(paths) as targets:
        domains = targets.domains[:2] if args.quick else targets.domains
        for domain in domains:
            t0 = time.perf_counter()
            cpu0 = time.process_time()
            result = gate_domain(domain, Options(examples=examples, seed=args.seed))
            seconds = time.perf_counter() - t0
            cpu = time.process_time() - cpu0
            per_domain.append({"domain": domain.name, "tools": result.tools, "examples": result.examples,
                               "failures": len(result.failures), "seconds": round(seconds, 3),
                               "cpu_seconds": round(cpu, 3)})
            rows.append([domain.name, result.tools, result.examples, len(result.failures), seconds, cpu,
                         result.examples / seconds if seconds else 0.0])
        load_failures = len(targets.failures)
    if not per_domain:
        raise SystemExit("no domain compiled: nothing to measure")
    secs = [d["seconds"] for d in per_domain]
    summary = {"domains": len(per_domain), "examples_per_test": examples,
               "mean_seconds_per_domain": round(statistics.fmean(secs), 3),
               "median_seconds_per_domain": round(statistics.median(secs), 3),
               "max_seconds_per_domain": round(max(secs), 3),
               "mean_cpu_seconds_per_domain": round(statistics.fmean(d["cpu_seconds"] for d in per_domain), 3),
               "specs_not_compiling": load_failures}
    print_table(f"envdsl test at {examples} examples per test", ["domain", "tools", "examples", "failures",
                                                                  "seconds", "cpu s", "examples/s"], rows)
    print(f"mean {summary['mean_seconds_per_domain']} s/domain (cpu {summary['mean_cpu_seconds_per_domain']} s), "
          f"median {summary['median_seconds_per_domain']} s, max {summary['max_seconds_per_domain']} s")
    write_results(args.results, "proptest_speed", {"quick": args.quick, **summary, "per_domain": per_domain})


if __name__ == "__main__":
    main()
