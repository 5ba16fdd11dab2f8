"""Microseconds per tool call (mean, p50, p99) for a read tool and a write tool, against a baseline
measured in the same process: a plain dict lookup of the same record plus json.dumps of it, which is
the least any tool call must do. The ratio says what validation, dispatch and journaling cost.

Write calls are undone after each timed call (restore to a snapshot, not timed), so every call sees
the same state. Run: python benchmarks/tool_latency.py [--quick] [--spec PATH]
"""

from __future__ import annotations

import json
import time
from typing import Any

from bench_common import SHOP_SPEC, load_env_class, parse_args, print_table, summarize_us, write_results


def time_calls(env: Any, tool: str, args: dict[str, Any], n: int, undo: bool) -> list[int]:
    samples = []
    snap = env.snapshot()
    for _ in range(n):
        t0 = time.perf_counter_ns()
        r = env.call(tool, args)
        samples.append(time.perf_counter_ns() - t0)
        if not r.ok:
            raise SystemExit(f"{tool} failed: {r.content}")
        if undo:
            env.restore(snap)
    return samples


def time_baseline(state: dict[str, Any], coll: str, key: str, n: int) -> list[int]:
    samples = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        json.dumps(state[coll][key])
        samples.append(time.perf_counter_ns() - t0)
    return samples


def main() -> None:
    args = parse_args(__doc__ or "")
    if args.spec != SHOP_SPEC:
        raise SystemExit("only the shop fixture's calls are defined here; add yours to CALLS")
    n = 300 if args.quick else 20000
    cls = load_env_class(args.spec)
    env = cls()
    calls = [  # (label, tool, arguments, is a write)
        ("read get_product", "get_product", {"sku": "p1"}, False),
        ("read list_products", "list_products", {"max_price": 5.0}, False),
        ("write place_order", "place_order", {"customer_id": "c1", "sku": "p1", "qty": 2}, True),
        ("write set_status", "set_status", {"order_id": "o0001", "status": "paid"}, True),
    ]
    for _, tool, a, write in calls:  # warm up caches and code paths
        time_calls(env, tool, a, 50, write)
    base = summarize_us(time_baseline(env.db.data, "products", "p1", n))
    rows = [["baseline dict lookup + json.dumps", base["mean_us"], base["p50_us"], base["p99_us"], 1.0, 1.0]]
    results: dict[str, Any] = {"baseline": base}
    for label, tool, a, write in calls:
        s = summarize_us(time_calls(env, tool, a, n, write))
        s["ratio_to_baseline_mean"] = s["mean_us"] / base["mean_us"]
        s["ratio_to_baseline_p50"] = s["p50_us"] / base["p50_us"]  # robust to a busy machine's outliers
        results[label] = s
        rows.append([label, s["mean_us"], s["p50_us"], s["p99_us"], s["ratio_to_baseline_mean"],
                     s["ratio_to_baseline_p50"]])
    print_table(f"tool call latency, {n} calls each (microseconds)",
                ["call", "mean", "p50", "p99", "x baseline (mean)", "x baseline (p50)"], rows)
    write_results(args.results, "tool_latency", {"quick": args.quick, "calls_each": n, "spec": args.spec.name,
                                                 "results": results})


if __name__ == "__main__":
    main()
