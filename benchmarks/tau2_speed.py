"""tau2-bench retail and airline: how fast envdsl runs the benchmark's own work.

Per domain: environment construction, reset, tool call, state hash and per-task evaluation
(fresh environment, replay of the gold actions, comparison with the gold final database).

Two baselines:
- the benchmark's own figures on this class of machine (given in the issue), and
- naive ways of doing the same job, measured in this process: a fresh environment by parsing
  db.json again (what a reload costs), a hash by serialising the whole database.

Usage: python benchmarks/tau2_speed.py [--quick] [--out benchmarks/results/tau2_speed.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any, Callable

from envdsl.replay import load_reference, replay
from envdsl.session import environment_from_spec

ROOT = Path(__file__).resolve().parents[1]
TAU2 = ROOT.parent / "shared" / "data" / "tau2"
os.environ.setdefault("ENVDSL_ALLOW_DIRS", str(TAU2.parent))  # the specs read policy and db from there

# tau2-bench's own figures on this class of machine (milliseconds), from the issue
REFERENCE_MS = {
    "retail": {"construction": 63.0, "tool_call": 0.051, "state_hash": 41.0, "task_evaluation": 230.0},
    "airline": {"construction": 180.0, "tool_call": 0.085, "state_hash": 100.0, "task_evaluation": 506.0},
}


def timed(fn: Callable[[], Any], repeat: int) -> float:
    """Median milliseconds of fn over repeat runs."""
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def bench_domain(name: str, quick: bool) -> dict[str, Any]:
    env = environment_from_spec(ROOT / "specs" / "tau2" / f"{name}.env")
    cls = type(env)
    tasks, gold = load_reference(TAU2 / name)
    if quick:
        tasks = tasks[:10]
    repeat = 3 if quick else 7
    raw = (TAU2 / name / "db.json").read_text(encoding="utf-8")
    out: dict[str, Any] = {}

    out["construction_ms"] = timed(lambda: cls(), repeat)
    out["baseline_reload_db_ms"] = timed(lambda: json.loads(raw), repeat)

    # tool calls: every gold call, on a fresh environment per task
    calls = [(a["name"], a.get("arguments") or {}) for t in tasks
             for a in (t.get("evaluation_criteria") or {}).get("actions") or []]
    elapsed = 0.0
    for t in tasks:
        env.reset()
        for action in (t.get("evaluation_criteria") or {}).get("actions") or []:
            t0 = time.perf_counter()
            env.call(action["name"], action.get("arguments") or {})
            elapsed += time.perf_counter() - t0
    out["tool_call_ms"] = elapsed * 1000 / max(1, len(calls))

    # reset after a task's writes
    writes = [t for t in tasks if any(a["name"] not in ("get_order_details",) for a in
                                      (t.get("evaluation_criteria") or {}).get("actions") or [])]
    sample = writes[0]

    def replay_one() -> None:
        for action in sample["evaluation_criteria"]["actions"]:
            env.call(action["name"], action.get("arguments") or {})

    resets = []
    for _ in range(repeat * 5):
        replay_one()
        t0 = time.perf_counter()
        env.reset()
        resets.append((time.perf_counter() - t0) * 1000)
    out["reset_ms"] = statistics.median(resets)

    # state hash: full serialisation (baseline) and envdsl's incremental hash after a task
    out["baseline_full_hash_ms"] = timed(
        lambda: hashlib.sha256(json.dumps(env.db.data, sort_keys=True).encode()).hexdigest(), repeat)
    env.state_hash()
    hashes = []
    for _ in range(repeat):
        replay_one()
        t0 = time.perf_counter()
        env.state_hash()
        hashes.append((time.perf_counter() - t0) * 1000)
        env.reset()
    out["state_hash_ms"] = statistics.median(hashes)

    # per-task evaluation: fresh environment, replay, compare (every task)
    report = replay(env, tasks, gold, mode="fast")
    out["task_evaluation_ms"] = report.seconds * 1000 / max(1, report.tasks)
    out["tasks"] = report.tasks
    out["all_tasks_match"] = report.db_match == report.tasks and report.outputs_match == report.outputs_total

    ref = REFERENCE_MS[name]
    out["speedup_vs_tau2"] = {
        "construction": ref["construction"] / out["construction_ms"],
        "reset (vs tau2 construction)": ref["construction"] / out["reset_ms"],
        "tool_call": ref["tool_call"] / out["tool_call_ms"],
        "state_hash": ref["state_hash"] / out["state_hash_ms"],
        "task_evaluation": ref["task_evaluation"] / out["task_evaluation_ms"],
    }
    out["speedup_vs_in_process_baseline"] = {
        "reset vs reloading db.json": out["baseline_reload_db_ms"] / out["reset_ms"],
        "incremental hash vs full hash": out["baseline_full_hash_ms"] / out["state_hash_ms"],
    }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10 tasks per domain, fewer repeats (a smoke run)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "tau2_speed.json"))
    args = ap.parse_args()
    results = {name: bench_domain(name, args.quick) for name in ("retail", "airline")}
    results["_meta"] = {"quick": args.quick, "reference_ms": REFERENCE_MS}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(out)
    print(f"{'':26}{'retail':>12}{'airline':>12}")
    rows = [("construction ms", "construction_ms"), ("reset ms", "reset_ms"), ("tool call ms", "tool_call_ms"),
            ("state hash ms", "state_hash_ms"), ("task evaluation ms", "task_evaluation_ms")]
    for label, key in rows:
        print(f"{label:26}{results['retail'][key]:>12.4f}{results['airline'][key]:>12.4f}")
    for key in results["retail"]["speedup_vs_tau2"]:
        r, a = results["retail"]["speedup_vs_tau2"][key], results["airline"]["speedup_vs_tau2"][key]
        print(f"{'x vs tau2 ' + key:26}{r:>12.1f}{a:>12.1f}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
