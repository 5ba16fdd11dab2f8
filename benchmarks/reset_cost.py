"""reset() after a fixed number of writes, against the size of the state (10^2 .. 10^5 entities),
next to deep copies of the same state measured in the same process (envdsl's clone() and
copy.deepcopy), which is what a copy-the-seed reset would cost. Reset undoes the journal, so its
time should stay flat while the copies grow with the state.

Run: python benchmarks/reset_cost.py [--quick]
"""

from __future__ import annotations

import copy
import json
import statistics
import time
from typing import Any

from bench_common import SHOP_SPEC, load_env_class, parse_args, print_table, write_results

from envdsl.runtime import clone

WRITES = 25  # place_order calls between resets: 4 journal entries each


def big_state(cls: Any, n: int) -> dict[str, Any]:
    state = cls().state()
    for i in range(n - len(state["products"])):
        state["products"][f"x{i}"] = {"sku": f"x{i}", "title": f"item {i}", "price": 1.0 + i % 7, "stock": 5}
    return state


def env_seeded_with(cls: Any, state: dict[str, Any]) -> Any:
    """An environment class whose seed is STATE, so reset() goes back to it by undoing the journal."""
    seeded = type(f"Seeded{cls.__name__}", (cls,), {"_seed_text": json.dumps(state)})
    return seeded()


def median_ns(fn: Any, reps: int, before: Any = None) -> float:
    xs = []
    for _ in range(reps):
        if before:
            before()
        t0 = time.perf_counter_ns()
        fn()
        xs.append(time.perf_counter_ns() - t0)
    return statistics.median(xs)


def main() -> None:
    args = parse_args(__doc__ or "")
    if args.spec != SHOP_SPEC:
        raise SystemExit("the state is grown with shop products; other specs need their own big_state")
    sizes = [100, 1000] if args.quick else [100, 1000, 10_000, 100_000]
    cls = load_env_class(args.spec)
    rows, results = [], []
    for n in sizes:
        state = big_state(cls, n)
        env = env_seeded_with(cls, state)

        def writes(env: Any = env) -> None:
            for _ in range(WRITES):
                env.call("place_order", {"customer_id": "c1", "sku": "p1", "qty": 1})

        reps = 20 if n <= 10_000 else 5
        # a reset costs microseconds whatever the size, so it gets the same (larger) number of repeats at
        # every size: with 5, one slow sample (a page fault, another process) moved the median
        reset_ns = median_ns(env.reset, 41, writes)
        journal = len(env.db.journal)
        clone_ns = median_ns(lambda state=state: clone(state), max(3, reps // 4))
        deepcopy_ns = median_ns(lambda state=state: copy.deepcopy(state), max(3, reps // 4))
        results.append({"entities": n, "writes": WRITES, "journal_after_reset": journal,
                        "reset_us": reset_ns / 1e3, "clone_us": clone_ns / 1e3, "deepcopy_us": deepcopy_ns / 1e3,
                        "deepcopy_over_reset": deepcopy_ns / reset_ns, "clone_over_reset": clone_ns / reset_ns})
        rows.append([n, reset_ns / 1e3, clone_ns / 1e3, deepcopy_ns / 1e3, deepcopy_ns / reset_ns])
    print_table(f"reset after {WRITES} write calls vs copying the state (microseconds, medians)",
                ["entities", "reset", "clone", "deepcopy", "deepcopy/reset"], rows)
    flat = results[-1]["reset_us"] / results[0]["reset_us"]
    print(f"reset time at {sizes[-1]} entities / at {sizes[0]}: {flat:.2f}x "
          f"(state grew {sizes[-1] // sizes[0]}x)")
    write_results(args.results, "reset_cost", {"quick": args.quick, "results": results,
                                               "reset_growth_largest_over_smallest": flat})


if __name__ == "__main__":
    main()
